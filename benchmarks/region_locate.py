"""Point → region lookups per second with the in-memory locator, on the demo district.

    .venv/bin/python benchmarks/region_locate.py [--points N]

Seeds the district (≈ 1,900 boundaries) into a fresh SQLite database, then looks up N random
points inside the county one by one (`locate`) and in one batch (`locate_many`).
Target (issue): ≥ 10,000 lookups per second.
"""

from __future__ import annotations

import argparse
import shutil
import time

from _common import fresh_django, machine

TARGET_PER_SECOND = 10_000


def random_points_in(polygon, count: int, seed: int):
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = polygon.bounds
    lons: list[float] = []
    lats: list[float] = []
    while len(lons) < count:
        xs = rng.uniform(minx, maxx, count)
        ys = rng.uniform(miny, maxy, count)
        inside = shapely.contains_xy(polygon, xs, ys)
        lons.extend(xs[inside].tolist())
        lats.extend(ys[inside].tolist())
    return lons[:count], lats[:count]


def best_of(repeats: int, fn) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    var_dir = fresh_django("locate")
    try:
        from frontline.core.demo import run_seed
        from frontline.core.geo import get_locator, invalidate_locator, parse_boundary
        from frontline.core.models import Region, RegionLevel

        run_seed("district", 2026)
        invalidate_locator()
        started = time.perf_counter()
        locator = get_locator()
        build = time.perf_counter() - started
        county = Region.objects.get(level=RegionLevel.COUNTY)
        grid_ids = set(Region.objects.filter(level=RegionLevel.GRID).values_list("id", flat=True))
        lons, lats = random_points_in(parse_boundary(county.boundary), args.points, seed=7)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    def one_by_one():
        return [locator.locate(x, y) for x, y in zip(lons, lats, strict=True)]

    single = best_of(args.repeats, one_by_one)
    batch = best_of(args.repeats, lambda: locator.locate_many(lons, lats))
    found = locator.locate_many(lons, lats)
    assert found == one_by_one(), "locate() and locate_many() disagree"
    single_rate, batch_rate = args.points / single, args.points / batch

    print(f"region_locate: {len(locator):,} boundaries, {args.points:,} points ({machine()})")
    print(f"  build locator (from the database): {build * 1000:.0f} ms")
    each = single * 1e6 / args.points
    print(f"  locate()      : {single_rate:>10,.0f} lookups/s  ({each:.1f} µs each)")
    print(f"  locate_many() : {batch_rate:>10,.0f} lookups/s")
    # Clipping drops a few slivers at township and village edges; points there resolve to
    # the village or township instead of a grid.
    outside = sum(1 for region_id in found if region_id not in grid_ids)
    print(f"  points resolved to a coarser region than a grid: {outside}")
    ok = min(single_rate, batch_rate) >= TARGET_PER_SECOND
    print(f"  target ≥ {TARGET_PER_SECOND:,}/s: {'OK' if ok else 'TOO SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
