"""Time the enterprise spreadsheet import into a fresh SQLite database.

    .venv/bin/python benchmarks/hazards_import.py [--rows 10000]

Generates N enterprise rows (valid credit codes, spread over the villages of one township)
into an XLSX, then imports the file as the county administrator twice: once creating every
enterprise, once updating them all (the upsert path). Target (issue 4): < 10 s for 10,000 rows.
"""

from __future__ import annotations

import argparse
import io
import shutil
import time

from _common import fresh_django, machine

TARGET_SECONDS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    var_dir = fresh_django("hazards-import")
    try:
        return run(args.rows)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def run(count: int) -> int:
    from frontline.core.models import RegionLevel
    from frontline.core.roles import Role
    from frontline.core.testing import make_region, make_user
    from frontline.hazards import services
    from frontline.hazards.models import Enterprise

    county = make_region("330603", RegionLevel.COUNTY, name="柯桥区")
    township = make_region("330603101", RegionLevel.TOWNSHIP, county, name="杨汛桥街道")
    villages = [
        make_region(f"330603101{n:03d}", RegionLevel.VILLAGE, township, name=f"村{n}")
        for n in range(1, 21)
    ]
    admin = make_user(Role.COUNTY_ADMIN, county, "bench-admin")

    started = time.perf_counter()
    content = workbook_bytes(count, villages, staff=0)
    generated = time.perf_counter() - started
    changed = workbook_bytes(count, villages, staff=1)

    started = time.perf_counter()
    first = services.import_enterprises(actor=admin, file=io.BytesIO(content))
    created_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = services.import_enterprises(actor=admin, file=io.BytesIO(changed))
    updated_seconds = time.perf_counter() - started
    started = time.perf_counter()
    exported = services.export_enterprises(actor=admin)
    export_seconds = time.perf_counter() - started

    assert first.imported and first.created == count, first.errors[:5]
    assert second.imported and second.updated == count, second.errors[:5]
    assert Enterprise.objects.count() == count

    print(f"hazards_import: {count:,} enterprise rows ({machine()})")
    print(f"  generate XLSX ({len(content) / 1024:,.0f} KiB): {generated:.2f} s")
    print(f"  import, all new:            {created_seconds:.2f} s")
    print(f"  import again, all changed:  {updated_seconds:.2f} s")
    print(f"  export ({len(exported) / 1024:,.0f} KiB):       {export_seconds:.2f} s")
    worst = max(created_seconds, updated_seconds)
    verdict = "OK" if worst < TARGET_SECONDS else "TOO SLOW"
    print(f"  target < {TARGET_SECONDS:.0f} s: {verdict}")
    return 0 if worst < TARGET_SECONDS else 1


def workbook_bytes(count: int, villages, *, staff: int) -> bytes:
    """`staff` shifts the employee numbers and names, so a second file changes every row."""
    from openpyxl import Workbook

    from frontline.hazards.services.importing import ENTERPRISE_COLUMNS
    from frontline.hazards.testing import credit_code

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("企业")
    sheet.append(list(ENTERPRISE_COLUMNS.values()))
    industries = ["纺织", "印染", "化工", "机械制造", "仓储物流"]
    for n in range(count):
        sheet.append(
            [
                f"测试企业{n:05d}有限公司",
                credit_code(n + 1),
                industries[n % len(industries)],
                "是" if n % 3 == 0 else "否",
                10 + n % 500 + staff,
                f"法人{(n + staff) % 97}",
                f"安全员{n % 89}",
                f"138{n:08d}",
                f"杨汛桥街道工业路{n}号",
                120.30 + (n % 1000) / 10000,
                30.05 + (n // 1000) / 1000,
                villages[n % len(villages)].code,
                "",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
