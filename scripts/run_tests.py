"""What `make test` runs: lint, migration check, the suite on SQLite, then on PostgreSQL.

PostgreSQL is taken from TEST_DATABASE_URL, or the local server of the test machines
(127.0.0.1:5432, trust auth, user postgres). When neither answers the PostgreSQL pass is
skipped with a message, unless FRONTLINE_REQUIRE_POSTGRES=1 (set by .ci/run), which makes
a missing server a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/frontline"


def step(title: str, command: list[str], env: dict | None = None) -> float:
    print(f"\n==> {title}\n    {' '.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})})
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        print(f"\nFAILED: {title} (exit {result.returncode}, {elapsed:.0f} s)", flush=True)
        sys.exit(result.returncode)
    print(f"    ok ({elapsed:.0f} s)", flush=True)
    return elapsed


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGRES
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=2
        ):
            return url
    except OSError:
        return None


def main() -> None:
    pytest = [str(BIN / "python"), "-m", "pytest", *sys.argv[1:]]
    step("ruff check", [str(BIN / "ruff"), "check", "."])
    step("ruff format --check", [str(BIN / "ruff"), "format", "--check", "."])
    step(
        "makemigrations --check",
        [str(BIN / "frontline"), "makemigrations", "--check", "--dry-run"],
    )
    step("tests on SQLite", pytest, env={"DATABASE_URL": ""})

    url = postgres_url()
    if url is None:
        message = "PostgreSQL not reachable (set TEST_DATABASE_URL or start the local server)"
        if os.environ.get("FRONTLINE_REQUIRE_POSTGRES") == "1":
            print(f"\nFAILED: {message}", flush=True)
            sys.exit(1)
        print(f"\n==> tests on PostgreSQL SKIPPED: {message}", flush=True)
        return
    # The browser tests drive the same pages; once (on SQLite) is enough.
    step("tests on PostgreSQL", [*pytest, "-m", "not browser"], env={"DATABASE_URL": url})


if __name__ == "__main__":
    main()
