"""The ingest service with rules on, against a bare bulk insert of the same rows.

    .venv/bin/python benchmarks/monitoring_ingest.py [--readings 200000] [--devices 2000]
        [--batch 20000] [--database sqlite|postgres] [--phases] [--profile]

Seeds the demo district's regions, registers `devices` devices (residual current, cable
temperature, temperature/humidity, occupancy), then feeds `readings` readings through
`ingest_readings` in batches of `batch` (validation, observations, latest values, device
status, every default rule with its persisted state, alarms). Each device reads around its
own level with noise; one device in fifty goes through an episode over its thresholds in the
middle of the run, so alarms are raised, repeated and cleared, as on a real day (the alarm
path itself is timed by the MQTT latency benchmark).
Then the same rows (other timestamps) go in again with no rules: with the ORM's
`Observation.objects.bulk_create`, as a bulk INSERT … ON CONFLICT (the target's "bare bulk
insert"), and on PostgreSQL with COPY, which the ingest itself uses there (its share is
printed too). `--phases` times each step of the ingest; `--profile` runs it under cProfile.

Targets (issue): at least 50,000 readings/s with rules on, on SQLite and on PostgreSQL,
and at least a third of the rate of the bare bulk insert in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import time
from datetime import timedelta

from _common import fresh_django, machine

TARGET_RATE = 50_000
TARGET_SHARE = 1 / 3

KINDS = {
    "residual_current": ("residual_current", 150, 120),  # mean, spread
    "cable_temperature": ("cable_temperature", 40, 8),
    "temperature_humidity": ("temperature", 24, 3),
    "occupancy": ("occupancy", 18, 6),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest loop")
    parser.add_argument("--phases", action="store_true", help="time each step of the ingest")
    args = parser.parse_args()
    if args.database == "postgres":
        os.environ["DATABASE_URL"] = os.environ.get(
            "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/frontline_bench"
        )
        _recreate_postgres(os.environ["DATABASE_URL"])
    var_dir = fresh_django("ingest", keep_database_url=args.database == "postgres")
    try:
        return run(args)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def _time_phases() -> dict[str, float]:
    """Wrap each step of ingest_readings with a stopwatch; returns the running totals."""
    from frontline.monitoring.services import alarms, ingest

    totals: dict[str, float] = {}

    def timed(module, name):
        inner = getattr(module, name)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - started

        setattr(module, name, wrapper)

    for name in ("validate", "_store_observations", "_latest_of",
                 "_move_latest", "_mark_seen_and_faults", "_run_rules"):  # fmt: skip
        timed(ingest, name)
    timed(alarms, "apply_signals")
    return totals


def _recreate_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def run(args) -> int:
    from django.db import connection
    from django.utils import timezone

    from frontline.core.demo import run_seed
    from frontline.core.models import Region, RegionLevel
    from frontline.monitoring.models import Alarm, Observation
    from frontline.monitoring.readings import Reading
    from frontline.monitoring.services.devices import register_device
    from frontline.monitoring.services.ingest import ingest_readings

    rng = random.Random(args.seed)
    run_seed("district", args.seed)
    villages = list(Region.objects.filter(level=RegionLevel.VILLAGE))
    devices = []
    for i in range(args.devices):
        kind = list(KINDS)[i % len(KINDS)]
        attributes = {"occupancy_limit": 30, "temperature_limit": 35} if kind in (
            "occupancy", "temperature_humidity") else {}  # fmt: skip
        device, _token = register_device(
            actor=None,
            region=villages[i % len(villages)],
            code=f"bench-{i:05d}",
            name=f"压测设备{i}",
            kind=kind,
            attributes=attributes,
        )
        devices.append((device.code, *KINDS[kind]))
    start = timezone.now() - timedelta(days=2)
    step = timedelta(seconds=1)

    levels = [mean + rng.uniform(-spread, spread) for _code, _metric, mean, spread in devices]

    def reading(i: int, offset: timedelta) -> Reading:
        index = i % len(devices)
        code, metric, _mean, spread = devices[index]
        value = levels[index] + rng.gauss(0, spread / 10)
        if index % 50 == 0 and args.readings / 3 < i < 2 * args.readings / 3:
            value += 5 * spread  # the episode: over the thresholds for a while
        value = max(0.0, value)
        return Reading(code, metric, round(value, 1), start + offset + (i // len(devices)) * step)

    batches = [
        [reading(i, timedelta()) for i in range(first, min(first + args.batch, args.readings))]
        for first in range(0, args.readings, args.batch)
    ]
    # Warm up like a process that has been running: caches filled, the alarm path (imports,
    # URL resolver) taken once, on a device of its own.
    ingest_readings(batches[0][:10], source="bench")
    register_device(actor=None, region=villages[0], code="bench-warm", name="预热设备",
                    kind="occupancy", attributes={"occupancy_limit": 30})  # fmt: skip
    for value, offset in ((90, 0), (5, 1)):
        moment = start + timedelta(seconds=offset)
        ingest_readings([Reading("bench-warm", "occupancy", value, moment)], source="bench")
    warm_alarms = Alarm.objects.count()
    phases = _time_phases() if args.phases else None
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    stored = 0
    for batch in batches:
        stored += ingest_readings(batch, source="bench").stored
    ingest_seconds = time.perf_counter() - started
    if phases is not None:
        for name, seconds in sorted(phases.items(), key=lambda item: -item[1]):
            print(f"  {name:24s} {seconds:6.2f} s  {seconds / args.readings * 1e6:6.1f} µs/reading")
    if profiler:
        import pstats

        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime"))
        stats.print_stats(30)
        if os.environ.get("BENCH_CALLEES"):
            stats.print_callees(os.environ["BENCH_CALLEES"])
    alarms = Alarm.objects.count() - warm_alarms

    device_ids = dict(Observation.objects.values_list("device__code", "device_id").distinct())
    bare_rows = [
        Observation(
            device_id=device_ids.get(r.device) or 0,
            metric=r.metric,
            at=r.at + timedelta(days=1),
            value=r.value,
        )
        for batch in batches
        for r in batch
    ]
    started = time.perf_counter()
    for first in range(0, len(bare_rows), args.batch):
        Observation.objects.bulk_create(bare_rows[first : first + args.batch])
    orm_seconds = time.perf_counter() - started

    # The same rows again (other days), with no rules: as one multi-row INSERT … ON CONFLICT
    # per batch (SQLite: one prepared statement stepped per row; PostgreSQL: arrays through
    # unnest), and on PostgreSQL also with COPY, which the ingest itself uses there.
    bulk_seconds, bulk_rate = _bare(bare_rows, args.batch, days=1, copy=False)
    copy = connection.vendor == "postgresql"
    copy_seconds, copy_rate = _bare(bare_rows, args.batch, days=2, copy=True) if copy else (0, 0)

    rate = args.readings / ingest_seconds
    orm_rate = len(bare_rows) / orm_seconds
    print(f"monitoring_ingest: {args.readings:,} readings, {args.devices:,} devices, "
          f"batches of {args.batch:,}, {connection.vendor}")  # fmt: skip
    print(f"  ({machine()})")
    print(f"  ingest_readings, rules on:  {ingest_seconds:6.2f} s  {rate:9,.0f} readings/s  "
          f"({stored:,} stored, {alarms:,} alarms)")  # fmt: skip
    print(f"  bare bulk_create (ORM):     {orm_seconds:6.2f} s  {orm_rate:9,.0f} rows/s")
    print(f"  bare bulk INSERT:           {bulk_seconds:6.2f} s  {bulk_rate:9,.0f} rows/s")
    if copy:
        print(f"  bare COPY:                  {copy_seconds:6.2f} s  {copy_rate:9,.0f} rows/s  "
              f"(share {rate / copy_rate:.2f})")  # fmt: skip
    share = rate / bulk_rate
    ok = rate >= TARGET_RATE and share >= TARGET_SHARE
    print(f"  share of the bulk INSERT rate: {share:.2f} (target ≥ {TARGET_SHARE:.2f}); "
          f"target ≥ {TARGET_RATE:,}/s: {'OK' if ok else 'NOT MET'}")  # fmt: skip
    return 0 if ok else 1


def _bare(rows, batch: int, *, days: int, copy: bool) -> tuple[float, float]:
    """Store `rows` `days` later with nothing else: seconds and rows per second."""
    from django.db import transaction

    from frontline.monitoring.models.instants import to_micros
    from frontline.monitoring.services import ingest

    shift = timedelta(days=days)
    tuples = [(row.device_id, row.metric, to_micros(row.at + shift), row.value) for row in rows]
    started = time.perf_counter()
    written = 0
    for first in range(0, len(tuples), batch):
        chunk = tuples[first : first + batch]
        with transaction.atomic():
            if copy:
                written += ingest._copy_new_observations(chunk)
            else:
                written += ingest._write_rows(
                    "monitoring_observation", ingest._READING_COLUMNS, ingest._READING_TYPES,
                    chunk, "ON CONFLICT DO NOTHING",
                )  # fmt: skip
    seconds = time.perf_counter() - started
    assert written == len(tuples), f"the bare insert stored {written} of {len(tuples)} rows"
    return seconds, len(tuples) / seconds


if __name__ == "__main__":
    raise SystemExit(main())
