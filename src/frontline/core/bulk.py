"""Rows straight to the database, for the bulk writers (imports, the demo) whose rows are
already checked and whose protected fields are already encrypted."""

from __future__ import annotations

from django.db import connection


def insert_rows(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY on PostgreSQL, executemany on SQLite. Values must be what the database takes:
    encrypted text, ids for foreign keys, `connection.ops.adapt_datetimefield_value` for
    times on SQLite.

    The ORM's bulk_create spends most of a large write building a model instance and
    preparing every value of it; these rows skip both (and the model's signals)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    if connection.vendor == "postgresql":
        # COPY: no SQL text to parse for 20,000 rows, psycopg streams them.
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    if connection.vendor == "sqlite":
        # sqlite3's executemany loops in C over one prepared statement.
        connection.ensure_connection()
        marks = ", ".join("?" * len(columns))
        connection.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        return
    with connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
