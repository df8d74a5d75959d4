"""100,000 hazards: the hazard list API, the 隐患清单 page API and the XLSX export.

    .venv/bin/python benchmarks/hazards_ledger.py [--hazards 100000] [--runs 50]

Seeds the demo district into a fresh SQLite database, writes N hazards with bulk_create
(spread over the villages, a quarter with enterprises, states across the whole loop), logs in
as the county administrator and times, through the Django test client:

- GET /api/v1/hazards?page=P (p50 / p95 over `runs` requests of pages spread over the list);
- GET /api/v1/ledgers/hazards?page=P (the 隐患清单 as rows, same pages);
- the 隐患清单 XLSX export of every hazard (service call and the HTTP download).

Targets (issue): list page and API p95 under 200 ms; the XLSX export of 100,000 rows
under 30 s. The list targets are checked on every paged row, deep pages included.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import statistics
import time
from datetime import timedelta

from _common import fresh_django, machine

TARGET_XLSX_SECONDS = 30.0
TARGET_LIST_P95_MS = 200.0


def seed_hazards(count: int, seed: int) -> float:
    from django.utils import timezone

    from frontline.core.models import Region, RegionLevel
    from frontline.hazards.models import Enterprise, Hazard, HazardLevel, HazardSource, HazardState
    from frontline.hazards.testing import credit_code

    rng = random.Random(seed)
    started = time.perf_counter()
    villages = list(Region.objects.filter(level=RegionLevel.VILLAGE).only("pk", "path", "code"))
    enterprises = Enterprise.objects.bulk_create(
        Enterprise(
            region=village,
            name=f"企业{i:05d}",
            credit_code=credit_code(i + 1),
            industry="textiles",
        )
        for i, village in enumerate(villages * 2)
    )
    by_region: dict[int, list] = {}
    for enterprise in enterprises:
        by_region.setdefault(enterprise.region_id, []).append(enterprise)
    states = list(HazardState.values)
    sources = list(HazardSource.values)
    now = timezone.now()
    year = timezone.localtime(now).year
    batch = []
    for i in range(count):
        village = villages[i % len(villages)]
        township = next(code for code in village.path.split("/") if len(code) == 9)
        found = now - timedelta(days=rng.uniform(0, 400))
        state = rng.choice(states)
        closed = state == HazardState.CLOSED
        due = found + timedelta(days=rng.choice((7, 15, 30, 60)))
        batch.append(
            Hazard(
                number=f"YH-{township}-{year}-{i + 1:06d}",
                region_id=village.pk,
                enterprise=rng.choice(by_region[village.pk]) if i % 4 == 0 else None,
                source=rng.choice(sources),
                title=rng.choice(("消防通道堵塞", "灭火器过期", "电线私拉乱接", "超员作业")),
                level=rng.choice((HazardLevel.GENERAL, HazardLevel.GENERAL, HazardLevel.MAJOR, "")),
                state=state,
                found_at=found,
                due_at=due if state != HazardState.FOUND else None,
                rectified_at=due - timedelta(days=1) if closed else None,
                closed_at=due + timedelta(days=2) if closed else None,
                responsible_person="张三",
            )
        )
        if len(batch) == 5000:
            Hazard.objects.bulk_create(batch)
            batch = []
    Hazard.objects.bulk_create(batch)
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_pages(client, url: str, runs: int, pages: int) -> tuple[float, float, int]:
    response = client.get(url + "1")
    assert response.status_code == 200, response.content[:300]
    timings = []
    for run in range(runs):
        page = 1 + (run * 37) % pages
        started = time.perf_counter()
        response = client.get(f"{url}{page}")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
    return (
        statistics.median(timings) * 1000,
        percentile(timings, 0.95) * 1000,
        len(response.content),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hazards", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    var_dir = fresh_django("hazards")
    try:
        from django.test import Client
        from openpyxl import load_workbook

        from frontline.core.demo import run_seed
        from frontline.core.maintenance import refresh_planner_statistics
        from frontline.core.models import RegionLevel, RoleAssignment
        from frontline.core.roles import Role
        from frontline.hazards import services
        from frontline.hazards.models import Hazard
        from frontline.hazards.services import ledgers

        run_seed("district", args.seed)
        seeded = seed_hazards(args.hazards, args.seed)
        # What the worker's hourly sweep does: the planner needs statistics of the new rows.
        refresh_planner_statistics()
        admin = (
            RoleAssignment.objects.filter(
                role=Role.COUNTY_ADMIN, region__level=RegionLevel.COUNTY, revoked_at__isnull=True
            )
            .select_related("user")
            .first()
            .user
        )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(admin)
        township_user = (
            RoleAssignment.objects.filter(
                region__level=RegionLevel.TOWNSHIP, revoked_at__isnull=True
            )
            .select_related("user")
            .first()
            .user
        )
        township = Client(HTTP_HOST="127.0.0.1")
        township.force_login(township_user)
        pages = max(1, args.hazards // 50)
        # What a station sees when it opens the list (page 1, overdue first), then pages
        # spread over the whole list (deep pages pay for the OFFSET).
        results = [
            (
                "GET /api/v1/hazards, first page",
                *time_pages(client, "/api/v1/hazards?page=", args.runs, 1),
            ),
            (
                "GET /hazards/ (list page), first page",
                *time_pages(client, "/hazards/?page=", args.runs, 1),
            ),
        ]
        for label, url in (
            ("GET /api/v1/hazards (50 a page)", "/api/v1/hazards?page_size=50&page="),
            ("GET /hazards/?state=all (the page, 20 a page)", "/hazards/?state=all&page="),
            (
                "GET /api/v1/ledgers/hazards (50 a page)",
                "/api/v1/ledgers/hazards?page_size=50&page=",
            ),
        ):
            deepest = pages if "page_size=50" in url else args.hazards // 20
            results.append((label, *time_pages(client, url, args.runs, deepest)))
        results.append(
            (
                "township user: GET /hazards/, first page",
                *time_pages(township, "/hazards/?page=", args.runs, 1),
            )
        )

        started = time.perf_counter()
        content = services.ledger_xlsx(admin, ledgers.HAZARDS)
        export_seconds = time.perf_counter() - started
        started = time.perf_counter()
        response = client.get("/api/v1/ledgers/hazards/xlsx")
        download_seconds = time.perf_counter() - started
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(content), read_only=True).active
        rows = sum(1 for _row in sheet.iter_rows(values_only=True)) - 1
        total = Hazard.objects.count()
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    demo = total - args.hazards
    print(f"hazards_ledger: {args.hazards:,} hazards + {demo:,} demo, {args.runs} requests")
    print(f"  ({machine()})")
    print(f"  bulk_create hazards:            {seeded:.1f} s")
    for label, p50, p95, size in results:
        print(f"  {label:<42} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({size / 1024:.0f} KiB)")
    print(f"  隐患清单 XLSX, service:          {export_seconds:.1f} s, {rows:,} rows, "
          f"{len(content) / 1024 / 1024:.1f} MiB")  # fmt: skip
    print(f"  隐患清单 XLSX, HTTP download:    {download_seconds:.1f} s")
    lists_ok = all(p95 < TARGET_LIST_P95_MS for _label, _p50, p95, _size in results)
    export_ok = export_seconds < TARGET_XLSX_SECONDS
    print(f"  target list p95 < {TARGET_LIST_P95_MS:.0f} ms: {'OK' if lists_ok else 'TOO SLOW'}")
    print(f"  target XLSX < {TARGET_XLSX_SECONDS:.0f} s: {'OK' if export_ok else 'TOO SLOW'}")
    return 0 if lists_ok and export_ok and rows == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
