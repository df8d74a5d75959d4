"""Time demo seeding into a fresh SQLite database.

    .venv/bin/python benchmarks/seed_demo.py [--scale district|city|province] [--seed N]

Target (issue): district scale in under 60 s on a 2-core machine, aiming well under 20 s.
"""

from __future__ import annotations

import argparse
import shutil
import time

from _common import fresh_django, machine

TARGET_SECONDS = {"district": 60.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="district", choices=["district", "city", "province"])
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    started = time.perf_counter()
    var_dir = fresh_django("seed")
    migrated = time.perf_counter() - started
    from frontline.core.demo import run_seed

    try:
        result = run_seed(scale=args.scale, seed=args.seed)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"seed_demo: scale={args.scale} seed={args.seed} ({machine()})")
    print(f"  migrate (fresh SQLite): {migrated:.2f} s")
    print(f"  seed:                   {result.seconds:.2f} s")
    for key in ("regions.township", "regions.village", "regions.grid", "organizations",
                "people", "accounts", "role_assignments"):  # fmt: skip
        print(f"  {key:<24}{result.counts.get(key, 0):>8,}")
    target = TARGET_SECONDS.get(args.scale)
    if target is not None:
        verdict = "OK" if result.seconds < target else "TOO SLOW"
        print(f"  target < {target:.0f} s: {verdict}")
        return 0 if result.seconds < target else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
