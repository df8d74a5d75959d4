"""Demo data: the framework every app plugs its generator into, and the core's own part
(regions with boundaries, organizations, people and accounts). See docs/demo-data.md."""

from frontline.core.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD, DemoAccount, demo_accounts
from frontline.core.demo.framework import (
    DEFAULT_SEED,
    SCALES,
    DemoContext,
    DemoDataExists,
    SeedResult,
    register,
    run_seed,
)

# Importing the core generators registers them (regions 10, organizations 20, people 30).
from frontline.core.demo import district, organizations, people  # noqa: F401  isort: skip

__all__ = [
    "DEFAULT_SEED",
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "SCALES",
    "DemoAccount",
    "DemoContext",
    "DemoDataExists",
    "SeedResult",
    "demo_accounts",
    "register",
    "run_seed",
]
