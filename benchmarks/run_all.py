"""Run every benchmark in this directory, each in its own process (fresh settings and
database each time), and report which met its target.

    .venv/bin/python benchmarks/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmark_scripts() -> list[Path]:
    return [
        path
        for path in sorted(HERE.glob("*.py"))
        if path.name != Path(__file__).name and not path.name.startswith("_")
    ]


def main() -> int:
    failures = []
    for script in benchmark_scripts():
        print(f"=== {script.name}", flush=True)
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False)
        elapsed = time.perf_counter() - started
        print(f"=== {script.name}: exit {completed.returncode}, {elapsed:.1f} s\n")
        if completed.returncode != 0:
            failures.append(script.name)
    if failures:
        print(f"missed their target or failed: {', '.join(failures)}")
        return 1
    print("all benchmarks met their targets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
