# Observations and latest values keyed by what identifies them, with time as integer
# microseconds. Django cannot migrate a primary key to a composite one, so the tables are
# rebuilt here by hand and their rows copied across; the state operations tell Django what
# the tables now are.
#
# On SQLite the new tables are WITHOUT ROWID: the row lives in the key's own B-tree, so a
# reading is one insert instead of a row plus an index entry. Django's SQLite schema editor
# rebuilds a table for most later changes and would drop that clause: a later migration that
# touches these tables must write it again (test_readings_storage checks it).

import django.db.models.deletion
from django.db import migrations, models

import frontline.monitoring.models.instants

# Observations carry no foreign-key constraint (see the model): checking each reading
# against the device table would cost PostgreSQL more than storing it.
SQLITE = {
    "observation": (
        "device_id bigint NOT NULL, metric varchar(32) NOT NULL, at bigint NOT NULL, "
        "value real NOT NULL, PRIMARY KEY (device_id, metric, at)"
    ),
    "latestvalue": (
        "device_id bigint NOT NULL REFERENCES monitoring_device (id) DEFERRABLE INITIALLY "
        "DEFERRED, metric varchar(32) NOT NULL, at bigint NOT NULL, value real NOT NULL, "
        "PRIMARY KEY (device_id, metric)"
    ),
}
POSTGRES = {
    "observation": (
        "device_id bigint NOT NULL, metric varchar(32) NOT NULL, at bigint NOT NULL, "
        "value double precision NOT NULL, "
        "CONSTRAINT monitoring_observation_pk PRIMARY KEY (device_id, metric, at)"
    ),
    "latestvalue": (
        "device_id bigint NOT NULL REFERENCES monitoring_device (id) DEFERRABLE INITIALLY "
        "DEFERRED, metric varchar(32) NOT NULL, at bigint NOT NULL, value double precision "
        "NOT NULL, CONSTRAINT monitoring_latestvalue_pk PRIMARY KEY (device_id, metric)"
    ),
}
# Latest values and rule states are rewritten by every batch: with room left in each page,
# PostgreSQL updates a row in place (a HOT update) instead of touching its index too.
POSTGRES_FILLFACTOR = ("monitoring_latestvalue", "monitoring_rulestate")

# Django stored the times as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC on SQLite.
SQLITE_MICROS = (
    "CAST(strftime('%s', substr(at, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr(at || '.000000', 21, 6) AS INTEGER)"
)
POSTGRES_MICROS = "(extract(epoch FROM at) * 1000000)::bigint"


def rebuild(apps, schema_editor):
    connection = schema_editor.connection
    sqlite = connection.vendor == "sqlite"
    columns = SQLITE if sqlite else POSTGRES
    micros = SQLITE_MICROS if sqlite else POSTGRES_MICROS
    with connection.cursor() as cursor:
        for name, definition in columns.items():
            table, new = f"monitoring_{name}", f"monitoring_{name}_new"
            tail = " WITHOUT ROWID" if sqlite else ""
            cursor.execute(f"CREATE TABLE {new} ({definition}){tail}")
            cursor.execute(
                f"INSERT INTO {new} (device_id, metric, at, value) "
                f"SELECT device_id, metric, {micros}, value FROM {table} "
                "ORDER BY device_id, metric, at"
            )
            cursor.execute(f"DROP TABLE {table}")
            cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
        if not sqlite:
            for table in POSTGRES_FILLFACTOR:
                cursor.execute(f"ALTER TABLE {table} SET (fillfactor = 70)")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0003_condition_labels"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(rebuild)],
            state_operations=[
                migrations.RemoveConstraint(model_name="latestvalue", name="latest_value_once"),
                migrations.RemoveConstraint(model_name="observation", name="observation_once"),
                migrations.RemoveField(model_name="latestvalue", name="id"),
                migrations.RemoveField(model_name="observation", name="id"),
                migrations.AlterField(
                    model_name="latestvalue",
                    name="at",
                    field=frontline.monitoring.models.instants.InstantField(verbose_name="时间"),
                ),
                migrations.AlterField(
                    model_name="observation",
                    name="device",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="monitoring.device",
                    ),
                ),
                migrations.AlterField(
                    model_name="observation",
                    name="at",
                    field=frontline.monitoring.models.instants.InstantField(verbose_name="时间"),
                ),
                migrations.AddField(
                    model_name="latestvalue",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "device", "metric", blank=True, editable=False, primary_key=True,
                        serialize=False,
                    ),  # fmt: skip
                ),
                migrations.AddField(
                    model_name="observation",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "device", "metric", "at", blank=True, editable=False, primary_key=True,
                        serialize=False,
                    ),  # fmt: skip
                ),
            ],
        ),
    ]
