"""Database upkeep the worker does on its own."""

from __future__ import annotations

from django.db import connection

# Rows SQLite samples per index: enough for the planner to tell a selective index from an
# unselective one, and it keeps ANALYZE in milliseconds however large the tables grow.
_ANALYSIS_LIMIT = 1000


def refresh_planner_statistics() -> str:
    """Give SQLite the table statistics its query planner needs.

    SQLite keeps none by itself (PostgreSQL's autovacuum does). Without them it guesses, and
    on a county's 100,000 hazards it guessed a full sort over a walk of the list's index
    (see docs/benchmarks.md). Run hourly by the worker and after seeding or bulk imports.
    """
    if connection.vendor != "sqlite":
        return "skipped: the database keeps its own statistics"
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={_ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
    return "analysed"
