"""Shared set-up for benchmarks: a fresh SQLite database in a temporary directory.

Import this before anything from Django: the settings read FRONTLINE_VAR and DATABASE_URL
once, at django.setup().
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from pathlib import Path

_SRC = Path(__file__).resolve().parent.parent / "src"


def fresh_django(prefix: str, *, keep_database_url: bool = False) -> Path:
    """Point Frontline at an empty temporary directory, set Django up and migrate.

    `keep_database_url`: the caller prepared an empty database in DATABASE_URL (PostgreSQL);
    otherwise a new SQLite file in the directory."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"frontline-bench-{prefix}-"))
    os.environ["FRONTLINE_VAR"] = str(var_dir)
    if not keep_database_url:
        os.environ["DATABASE_URL"] = f"sqlite:///{var_dir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontline.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(_SRC) not in sys.path:
        sys.path.insert(0, str(_SRC))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return var_dir


def machine() -> str:
    cores = os.cpu_count() or 0
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"
