"""Map layer responses for the whole demo district, through the Django test client.

    .venv/bin/python benchmarks/map_layers.py [--runs 20]

Seeds the district into a fresh SQLite database and logs in as the county administrator.
It then times GET /api/v1/map/layers/<key> for the county's bounding box: the regions layer
at county zoom (11: townships) and at grid zoom (14: every grid), first call (cold geometry
cache) and the median of N warm calls, and the organizations layer (525 points).
Target: a warm response under 500 ms for each, so panning the map stays smooth.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time

from _common import fresh_django, machine

TARGET_MS = 500.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    var_dir = fresh_django("map")
    try:
        from django.test import Client

        from frontline.core.demo import run_seed
        from frontline.core.maps import geometry_cache, popup_cache, scope_bbox
        from frontline.core.models import Region, RegionLevel, RoleAssignment
        from frontline.core.roles import Role

        run_seed("district", 2026)
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
        box = ",".join(f"{value:.6f}" for value in scope_bbox(admin))
        cases = [
            ("regions, county zoom 11", "regions", 11),
            ("regions, grid zoom 14", "regions", 14),
            ("organizations, zoom 11", "organizations", 11),
        ]
        results = []
        for label, key, zoom in cases:
            url = f"/api/v1/map/layers/{key}?bbox={box}&zoom={zoom}"
            geometry_cache.clear()
            popup_cache.clear()
            started = time.perf_counter()
            response = client.get(url)
            cold = time.perf_counter() - started
            assert response.status_code == 200, response.content[:300]
            body = response.json()
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - started)
            results.append(
                (
                    label,
                    len(body["features"]),
                    body["properties"]["truncated"],
                    len(response.content),
                    cold * 1000,
                    statistics.median(timings) * 1000,
                )
            )
        boundaries = Region.objects.exclude(boundary__isnull=True).count()
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    print(f"map_layers: demo district, {boundaries:,} boundaries, {args.runs} runs ({machine()})")
    print(f"  {'layer':<26}{'features':>9}{'KiB':>8}{'cold ms':>9}{'median ms':>11}")
    ok = True
    for label, count, truncated, size, cold, median in results:
        flag = " (truncated)" if truncated else ""
        print(f"  {label:<26}{count:>9,}{size / 1024:>8,.0f}{cold:>9.0f}{median:>11.1f}{flag}")
        ok = ok and median < TARGET_MS
    print(f"  target: warm median < {TARGET_MS:.0f} ms: {'OK' if ok else 'TOO SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
