"""Time the stock ledger import (XLSX → lots, movements and ledger entries).

    .venv/bin/python benchmarks/stock_import.py [--rows 20000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontline_bench_stock \\
        .venv/bin/python benchmarks/stock_import.py --postgres

Generates a year of ledger rows for the eight depots of two townships (the four depots of
each, 40 catalogue items): receipts in documents of five lines with lot numbers and
expiries, issues earliest-expiry-first, transfers between the depots of a township,
adjustments and stocktakes of named lots — every row valid, in time order. Imports it as the
county administrator into a fresh database, checks that the ledger re-derives to the same
stock, then exports the movements ledger. `--postgres` drops and recreates the database of
DATABASE_URL; without it a new SQLite file. Target (issue 7): 20,000 rows in under 10 s.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import time
from datetime import datetime, timedelta

from _common import fresh_django, machine

TARGET_SECONDS = 10.0
ITEMS = 40


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true", help="use DATABASE_URL (PostgreSQL)")
    args = parser.parse_args()
    if args.postgres:
        _recreate_postgres(os.environ["DATABASE_URL"])
    var_dir = fresh_django("stock-import", keep_database_url=args.postgres)
    try:
        return run(args.rows)
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


def _world():
    from frontline.core.models import RegionLevel
    from frontline.core.roles import Role
    from frontline.core.testing import make_region, make_user
    from frontline.resources.models import FOUR_DEPOTS, Depot, StorageLocation
    from frontline.resources.testing import make_item

    county = make_region("330603", RegionLevel.COUNTY, name="柯桥区")
    depots = []
    for n, name in enumerate(("柯岩街道", "安昌街道"), start=1):
        township = make_region(f"330603{n:03d}", RegionLevel.TOWNSHIP, county, name=name)
        for kind in FOUR_DEPOTS:
            depot = Depot.objects.create(
                region=township, name=f"{name}{kind.label}", kind=kind, lon=120.4, lat=30.0
            )
            for shelf in range(1, 4):
                StorageLocation.objects.create(depot=depot, code=f"A-{shelf:02d}")
            depots.append(depot)
    items = [
        make_item(f"1998{n:03d}", f"基准物资{n}", shelf_life_days=730 if n % 2 else None)
        for n in range(ITEMS)
    ]
    admin = make_user(Role.COUNTY_ADMIN, county, "bench-admin")
    return admin, depots, items


def ledger_rows(count: int, depots, items, seed: int = 7) -> list[list]:
    """`count` valid rows in the import's columns, replaying FEFO to stay valid."""
    from frontline.resources.services.importing_stock import STOCK_COLUMNS

    rng = random.Random(seed)
    headers = list(STOCK_COLUMNS)
    start = datetime.now().replace(microsecond=0, second=0) - timedelta(days=365)
    step = timedelta(days=364) / count
    lots: dict[tuple[int, int], list[list]] = {}  # pair → [[expiry, serial, lot_no, qty]]
    serial = 0
    rows: list[list] = []

    def row(at, kind, depot, item, quantity, **kw) -> list:
        values = {
            "at": at,
            "kind": kind,
            "region": depot.region.code,
            "depot": depot.name,
            "item": item.code,
            "quantity": quantity,
        } | kw
        return [values.get(name) for name in headers]

    def stocked(depot):
        return [i for i in items if any(lot[3] > 0 for lot in lots.get((depot.pk, i.pk), []))]

    document = 0
    while len(rows) < count:
        at = start + step * len(rows)
        depot = rng.choice(depots)
        roll = rng.random()
        have = stocked(depot)
        if roll < 0.35 or not have:
            document += 1
            for item in rng.sample(items, min(5, count - len(rows))):
                serial += 1
                lot_no = f"P{serial:06d}"
                # One expiry per lot: earliest-expiry-first has no ties to break.
                expiry = (start + timedelta(days=400 + serial)).date()
                quantity = rng.randrange(20, 200)
                lots.setdefault((depot.pk, item.pk), []).append([expiry, serial, lot_no, quantity])
                rows.append(
                    row(
                        at,
                        "入库",
                        depot,
                        item,
                        quantity,
                        lot_no=lot_no,
                        expiry_date=expiry,
                        location=f"A-{rng.randrange(1, 4):02d}",
                        supplier="县应急管理局",
                        document=f"SRC-{document:06d}",
                    )
                )
            continue
        item = rng.choice(have)
        # Emptied lots drop out of the generator's books (the import still knows them, and
        # narrows a lot number that matches several to the one in stock).
        pair = lots[(depot.pk, item.pk)] = sorted(
            lot for lot in lots[(depot.pk, item.pk)] if lot[3]
        )
        live = pair
        total = sum(lot[3] for lot in live)
        if roll < 0.80:
            quantity = rng.randrange(1, max(2, total // 3 + 1))
            quantity = min(quantity, total)
            taken = []
            wanted = quantity
            for lot in live:
                n = min(wanted, lot[3])
                lot[3] -= n
                wanted -= n
                taken.append((lot, n))
                if not wanted:
                    break
            if roll < 0.70:
                rows.append(row(at, "出库", depot, item, quantity, purpose="演练/培训"))
                continue
            siblings = [d for d in depots if d.region_id == depot.region_id and d.pk != depot.pk]
            target = rng.choice(siblings)
            for lot, n in taken:
                arrived = lots.setdefault((target.pk, item.pk), [])
                same = next((x for x in arrived if x[2] == lot[2]), None)
                if same is None:
                    arrived.append([lot[0], lot[1], lot[2], n])
                else:
                    same[3] += n
            rows.append(
                row(at, "调拨", depot, item, quantity, to_region=target.region.code,
                    to_depot=target.name, reason="调配")
            )  # fmt: skip
            continue
        lot = rng.choice(live)
        matching = [x for x in pair if x[2] == lot[2]]
        if len(matching) > 1:
            continue
        if roll < 0.90:
            delta = rng.choice([-1, 1, 2]) if lot[3] > 1 else 1
            lot[3] += delta
            rows.append(row(at, "调整", depot, item, delta, lot_no=lot[2], reason="核对更正"))
        else:
            counted = max(0, lot[3] + rng.choice([0, 0, 0, -1, 1]))
            lot[3] = counted
            rows.append(row(at, "盘点", depot, item, counted, lot_no=lot[2]))
    return rows[:count]


def workbook_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    from frontline.resources.services.importing_stock import STOCK_COLUMNS

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("出入库明细")
    sheet.append(list(STOCK_COLUMNS.values()))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(count: int) -> int:
    from django.db import connection

    from frontline.resources.models import LedgerEntry, StockMovement
    from frontline.resources.services import stock
    from frontline.resources.services.exporting_stock import export_movements
    from frontline.resources.services.importing_stock import import_stock_ledger

    admin, depots, items = _world()
    started = time.perf_counter()
    content = workbook_bytes(ledger_rows(count, depots, items))
    generated = time.perf_counter() - started
    # Wall times on a shared machine include waiting for a core; CPU times of this process
    # (the database server's work excluded) are printed beside them.

    started, cpu_started = time.perf_counter(), time.process_time()
    report = import_stock_ledger(actor=admin, file=io.BytesIO(content))
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    assert report.imported, report.errors[:5]
    assert report.total == count
    check = stock.rederive_stock()
    assert check.mismatches == [], check.mismatches[:5]

    started, cpu_started = time.perf_counter(), time.process_time()
    exported = export_movements(actor=admin)
    export_seconds = time.perf_counter() - started
    export_cpu = time.process_time() - cpu_started

    print(f"stock_import: {count:,} ledger rows, {connection.vendor} ({machine()})")
    print(f"  generate XLSX ({len(content) / 1024:,.0f} KiB): {generated:.2f} s")
    print(
        f"  import: {seconds:.2f} s = {count / seconds:,.0f} rows/s "
        f"({report.movements:,} movements, {report.entries:,} entries, "
        f"{report.lots_created:,} lots)"
    )
    print(f"  of which CPU in this process: {cpu_seconds:.2f} s")
    print(
        f"  re-derived {check.lots:,} lots from {LedgerEntry.objects.count():,} entries in "
        f"{check.seconds:.2f} s: no mismatch"
    )
    print(
        f"  export of the movements ledger ({StockMovement.objects.count():,} movements, "
        f"{len(exported) / 1024:,.0f} KiB): {export_seconds:.2f} s, CPU {export_cpu:.2f} s"
    )
    verdict = "OK" if seconds < TARGET_SECONDS else "TOO SLOW"
    print(f"  target < {TARGET_SECONDS:.0f} s: {verdict}")
    return 0 if seconds < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
