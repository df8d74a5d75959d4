# Observations and latest values keyed by what identifies them, with time as integer
# microseconds, and the rules' memory of a device (formerly one RuleState row per rule and
# device) kept on the latest value of the metric the rules watch: ingest then reads and
# writes one row per (device, metric) and batch instead of two. Django cannot migrate a
# primary key to a composite one, so the tables are rebuilt here by hand and their rows
# copied across; the state operations tell Django what the tables now are.
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
        "rule_states text NOT NULL DEFAULT '{}' CHECK (JSON_VALID(rule_states)), "
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
        "NOT NULL, rule_states jsonb NOT NULL DEFAULT '{}', "
        "CONSTRAINT monitoring_latestvalue_pk PRIMARY KEY (device_id, metric)"
    ),
}
# Latest values and rule states are rewritten by every batch: with room left in each page,
# PostgreSQL updates a row in place (a HOT update) instead of touching its index too.
POSTGRES_FILLFACTOR = ("monitoring_latestvalue",)

# Each rule state goes to the latest value of its rule's metric, under the rule's id.
SQLITE_STATES = (
    "UPDATE monitoring_latestvalue SET rule_states = ("
    " SELECT json_group_object(CAST(s.rule_id AS TEXT), json(s.state))"
    " FROM monitoring_rulestate s JOIN monitoring_rule r ON r.id = s.rule_id"
    " WHERE s.device_id = monitoring_latestvalue.device_id"
    " AND r.metric = monitoring_latestvalue.metric)"
    " WHERE EXISTS (SELECT 1 FROM monitoring_rulestate s JOIN monitoring_rule r"
    " ON r.id = s.rule_id WHERE s.device_id = monitoring_latestvalue.device_id"
    " AND r.metric = monitoring_latestvalue.metric)"
)
POSTGRES_STATES = (
    "UPDATE monitoring_latestvalue l SET rule_states = m.states FROM ("
    " SELECT s.device_id, r.metric, jsonb_object_agg(s.rule_id::text, s.state) AS states"
    " FROM monitoring_rulestate s JOIN monitoring_rule r ON r.id = s.rule_id"
    " GROUP BY s.device_id, r.metric) m"
    " WHERE l.device_id = m.device_id AND l.metric = m.metric"
)

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
            if sqlite:
                tail = " WITHOUT ROWID"
            else:
                tail = " WITH (fillfactor = 70)" if table in POSTGRES_FILLFACTOR else ""
            cursor.execute(f"CREATE TABLE {new} ({definition}){tail}")
            cursor.execute(
                f"INSERT INTO {new} (device_id, metric, at, value) "
                f"SELECT device_id, metric, {micros}, value FROM {table} "
                "ORDER BY device_id, metric, at"
            )
            if not sqlite:
                # The copied rows' deferred foreign-key checks are pending; PostgreSQL
                # refuses to alter a table that has some, so run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"DROP TABLE {table}")
            cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
        cursor.execute(SQLITE_STATES if sqlite else POSTGRES_STATES)
        cursor.execute("DROP TABLE monitoring_rulestate")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0003_condition_labels"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(rebuild)],
            state_operations=[
                migrations.DeleteModel(name="RuleState"),
                migrations.AddField(
                    model_name="latestvalue",
                    name="rule_states",
                    field=models.JSONField(default=dict),
                ),
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
                    ),
                ),
                migrations.AddField(
                    model_name="observation",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "device", "metric", "at", blank=True, editable=False, primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
        ),
    ]
