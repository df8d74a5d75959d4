"""Time the re-derivation of the stock of 50,000 lots from their ledger entries.

    .venv/bin/python benchmarks/stock_rederive.py [--lots 50000] [--runs 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontline_bench_stock \\
        .venv/bin/python benchmarks/stock_rederive.py --postgres

Builds a county of 10 townships with the four depots each (44 depots with the county's),
200 items, and N lots, each with a realistic ledger of 4 to 6 entries: the receipt, then
issues to incidents, adjustments, transfers out and stocktakes (zero differences included),
every entry with the lot's balance after it. Lots are booked five at a time on one movement,
as a receipt or an issue slip lists several lots. Rows go in with `core.bulk.insert_rows`
(COPY on PostgreSQL). Then it times:

- `rederive_stock()`: every lot recomputed from its entries and compared (the report);
- the same for the depots one township's station chief sees (`check_ledger`);
- `rederive_stock(repair=True)` after 100 lots were tampered with.

`--postgres` uses the (empty, freshly created) database of DATABASE_URL; without it a new
SQLite file. Target (issue 7): the stock of 50,000 lots recomputed in under 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import time
from datetime import timedelta

from _common import fresh_django, machine

TARGET_SECONDS = 5.0
LOTS_PER_MOVEMENT = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--postgres", action="store_true", help="use DATABASE_URL (PostgreSQL)")
    args = parser.parse_args()
    if args.postgres:
        _recreate_postgres(os.environ["DATABASE_URL"])
    var_dir = fresh_django("stock-rederive", keep_database_url=args.postgres)
    try:
        return run(args.lots, args.runs, args.seed)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def _recreate_postgres(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


# --- the world -------------------------------------------------------------------------------


def build_places():
    from frontline.core.models import RegionLevel
    from frontline.core.roles import Role
    from frontline.core.testing import make_region, make_user
    from frontline.resources.models import FOUR_DEPOTS, Depot, SupplyCategory, SupplyItem

    county = make_region("330603", RegionLevel.COUNTY, name="柯桥区")
    townships = [
        make_region(f"330603{n:03d}", RegionLevel.TOWNSHIP, county, name=f"街道{n}")
        for n in range(1, 11)
    ]
    depots = [
        Depot(region=region, kind=kind, name=f"{region.name}{kind.label}", lon=120.4, lat=30.0)
        for region in [county, *townships]
        for kind in FOUR_DEPOTS
    ]
    Depot.objects.bulk_create(depots)
    top, _ = SupplyCategory.objects.get_or_create(code="1", defaults={"name": "基本生活保障物资"})
    middle, _ = SupplyCategory.objects.get_or_create(
        code="199", defaults={"name": "其他生活物资", "parent": top}
    )
    smalls = [
        SupplyCategory.objects.get_or_create(
            code=f"199{n:02d}", defaults={"name": f"小类{n}", "parent": middle}
        )[0]
        for n in range(1, 11)
    ]
    items = SupplyItem.objects.bulk_create(
        SupplyItem(
            code=f"{small.code}{m:02d}",
            category=small,
            name=f"物资{small.code}{m:02d}",
            unit="件",
            shelf_life_days=730 if m % 2 else None,
        )
        for small in smalls
        for m in range(1, 21)
    )
    chief = make_user(Role.STATION_CHIEF, townships[0], "bench-chief")
    return list(Depot.objects.select_related("region")), items, chief


def write_ledger(depots, items, lot_count: int, seed: int) -> tuple[int, int]:
    """Lots, movements and entries, straight to the tables. Returns (movements, entries)."""
    from django.db import connection
    from django.utils import timezone

    from frontline.core.bulk import insert_rows
    from frontline.resources.models import (
        MOVEMENT_PREFIX,
        LedgerEntry,
        MovementKind,
        StockLot,
        StockMovement,
    )

    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate()
    when = connection.ops.adapt_datetimefield_value if connection.vendor == "sqlite" else _same
    day = connection.ops.adapt_datefield_value if connection.vendor == "sqlite" else _same
    lots, movements, entries = [], [], []
    sequence: dict[str, int] = {}
    lot_id = movement_id = entry_id = 0
    for group_start in range(0, lot_count, LOTS_PER_MOVEMENT):
        depot = depots[rng.randrange(len(depots))]
        group = []
        started = now - timedelta(days=rng.uniform(60, 365))
        for _ in range(min(LOTS_PER_MOVEMENT, lot_count - group_start)):
            lot_id += 1
            item = items[rng.randrange(len(items))]
            made = today - timedelta(days=rng.randrange(30, 700))
            expiry = made + timedelta(days=item.shelf_life_days) if item.shelf_life_days else None
            group.append([lot_id, item, rng.randrange(50, 500), made, expiry])
        # 4–6 entries a lot: the receipt and 3–5 later movements of the same five lots.
        later = rng.choices(
            [MovementKind.ISSUE, MovementKind.ISSUE, MovementKind.TRANSFER,
             MovementKind.ADJUST, MovementKind.STOCKTAKE],
            k=rng.randint(3, 5),
        )  # fmt: skip
        steps = [MovementKind.RECEIVE, *later]
        balances = {lot[0]: 0 for lot in group}
        at = started
        for kind in steps:
            movement_id += 1
            at = at + timedelta(days=rng.uniform(1, 10))
            year = timezone.localtime(at).year
            prefix = f"{MOVEMENT_PREFIX[kind]}-{depot.region.code}-{year}-"
            sequence[prefix] = sequence.get(prefix, 0) + 1
            to_depot = depots[(depots.index(depot) + 1) % len(depots)].pk
            movements.append(
                (
                    movement_id,
                    f"{prefix}{sequence[prefix]:06d}",
                    kind.value,
                    depot.pk,
                    to_depot if kind == MovementKind.TRANSFER else None,
                    when(at),
                    "incident" if kind == MovementKind.ISSUE else "",
                    "SJ-2026-00001" if kind == MovementKind.ISSUE else "",
                    "",
                    "盘点" if kind == MovementKind.STOCKTAKE else "",
                    False,
                    "",
                    when(at),
                )
            )
            for lot in group:
                lot_pk, item, received, _made, _expiry = lot
                balance = balances[lot_pk]
                counted = None
                if kind == MovementKind.RECEIVE:
                    delta = received
                elif kind == MovementKind.STOCKTAKE:
                    counted = max(0, balance + rng.choice((0, 0, 0, -1, 1, -2)))
                    delta = counted - balance
                elif kind == MovementKind.ADJUST:
                    delta = -min(balance, rng.randint(1, 3))
                else:
                    delta = -min(balance, rng.randint(0, max(1, balance // 4)))
                balances[lot_pk] = balance + delta
                entry_id += 1
                entries.append(
                    (entry_id, movement_id, lot_pk, depot.pk, item.pk, when(at), delta,
                     balances[lot_pk], counted)
                )  # fmt: skip
        for lot_pk, item, _received, made, expiry in group:
            lots.append(
                (lot_pk, depot.pk, item.pk, None, f"L{lot_pk:06d}", day(made),
                 day(expiry) if expiry else None, balances[lot_pk], when(started), None)
            )  # fmt: skip
    for rows, model, columns in (
        (
            lots,
            StockLot,
            ("id", "depot_id", "item_id", "location_id", "lot_no", "production_date",
             "expiry_date", "quantity", "received_at", "expiry_alerted_at"),
        ),
        (
            movements,
            StockMovement,
            ("id", "number", "kind", "depot_id", "to_depot_id", "at", "purpose",
             "incident_ref", "supplier", "reason", "expired_override", "source_number",
             "created_at"),
        ),
        (
            entries,
            LedgerEntry,
            ("id", "movement_id", "lot_id", "depot_id", "item_id", "at", "delta", "balance",
             "counted"),
        ),
    ):  # fmt: skip
        for start in range(0, len(rows), 20_000):
            insert_rows(model, columns, rows[start : start + 20_000])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return len(movements), len(entries)


def _same(value):
    return value


# --- the timings -----------------------------------------------------------------------------


def timed(function, runs: int) -> tuple[list[float], object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def run(lot_count: int, runs: int, seed: int) -> int:
    from django.db import connection, transaction

    from frontline.resources.models import StockLot
    from frontline.resources.services import stock

    depots, items, chief = build_places()
    started = time.perf_counter()
    with transaction.atomic():
        movement_count, entry_count = write_ledger(depots, items, lot_count, seed)
    built = time.perf_counter() - started

    all_lots, report = timed(stock.rederive_stock, runs)
    assert report.lots == lot_count and report.mismatches == [], report.mismatches[:5]
    township, chief_report = timed(lambda: stock.check_ledger(actor=chief), runs)
    assert chief_report.mismatches == []

    rng = random.Random(seed)
    tampered = rng.sample(range(1, lot_count + 1), 100)
    StockLot.objects.filter(pk__in=tampered).update(quantity=123_456)
    repair, repaired = timed(lambda: stock.rederive_stock(repair=True), 1)
    assert repaired.repaired == 100 and stock.rederive_stock().mismatches == []

    print(f"stock_rederive: {lot_count:,} lots, {connection.vendor} ({machine()})")
    print(f"  ledger: {movement_count:,} movements, {entry_count:,} entries "
          f"({entry_count / lot_count:.1f} a lot), {len(depots)} depots, {len(items)} items; "
          f"written in {built:.1f} s")  # fmt: skip
    print()
    print("| step | lots | runs | best | median |")
    print("|---|---|---|---|---|")
    for name, lots, seconds in (
        ("rederive_stock() — every lot, report", report.lots, all_lots),
        ("check_ledger(station chief) — one township", chief_report.lots, township),
        ("rederive_stock(repair=True) — 100 tampered", repaired.lots, repair),
    ):
        print(
            f"| {name} | {lots:,} | {len(seconds)} | {min(seconds):.2f} s "
            f"| {statistics.median(seconds):.2f} s |"
        )
    best = min(all_lots)
    verdict = "OK" if best < TARGET_SECONDS else "TOO SLOW"
    print(f"\n  target: {lot_count:,} lots re-derived in < {TARGET_SECONDS:.0f} s: {verdict}")
    return 0 if best < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
