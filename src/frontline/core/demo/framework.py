"""The demo-data framework: every app plugs in a generator, `run_seed` runs them in order.

An app adds its part of the demo in its own `demo.py`:

    from frontline.core.demo import register

    def generate(ctx):
        grids = ctx.state["grids"]            # left by the core generator
        ...
        ctx.count("hazards", len(rows))

    register("hazards", order=200, generate_fn=generate, label="隐患与检查")

`run_seed` imports every installed app's `demo` module (Django's autodiscovery, like the
admin), so no list has to be kept by hand. Each generator gets its own random streams derived
from the seed and its name: adding a generator never changes what the others produce.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.utils.module_loading import autodiscover_modules

# Re-exported: `frontline demo` imports it from here; `frontline.core.demo` is its home.
from frontline.core.demo.accounts import demo_accounts  # noqa: F401
from frontline.core.geo import invalidate_locator
from frontline.core.maintenance import refresh_planner_statistics
from frontline.core.models import DemoDataset, Region

DEFAULT_SEED = 2026

# progress(step label, done, total): called by generators through `ctx.report`.
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Scale:
    name: str
    cities: int  # 0: the county is the root of the tree
    counties_per_city: int
    description: str


SCALES: dict[str, Scale] = {
    "district": Scale("district", 0, 1, "1 区县，16 个乡镇街道，约 300 个村社区、1,500 个网格"),
    "city": Scale("city", 1, 10, "1 个市，10 个区县（约为 district 的 10 倍）"),
    "province": Scale("province", 10, 10, "1 个省，10 个市，100 个区县（仅用于性能测试）"),
}


class DemoDataExists(Exception):
    """The database already holds regions or a demo dataset: seeding would mix data."""


@dataclass
class DemoContext:
    """What a generator receives: the scale, its own random streams, a place to leave
    objects for later generators (`state`), counters for the summary and a progress hook."""

    scale: Scale
    seed: int
    rng: random.Random
    np_rng: np.random.Generator
    state: dict
    counts: Counter
    step_label: str = ""
    progress: ProgressFn | None = None
    last_total: int = 0

    def count(self, key: str, amount: int = 1) -> None:
        self.counts[key] += amount

    def report(self, done: int, total: int, label: str | None = None) -> None:
        """Progress of the step (or of a named phase of it, shown as its own bar)."""
        if label is None:
            self.last_total = total
        if self.progress is not None:
            self.progress(label or self.step_label, done, total)


GenerateFn = Callable[[DemoContext], None]


@dataclass(frozen=True, order=True)
class Generator:
    order: int
    name: str
    generate_fn: GenerateFn = field(compare=False)
    label: str = field(default="", compare=False)


_registry: dict[str, Generator] = {}


def register(name: str, order: int, generate_fn: GenerateFn, *, label: str = "") -> None:
    """Add (or replace, when a module is imported again) the generator called `name`.
    Lower `order` runs first; the core's regions, organizations and people take 10–30."""
    _registry[name] = Generator(order, name, generate_fn, label or name)


def generators() -> list[Generator]:
    autodiscover_modules("demo")
    return sorted(_registry.values())


def stream_seed(seed: int, name: str) -> list[int]:
    """Entropy for one generator's streams: stable across runs and Python versions (unlike
    `hash()`, which is salted per process)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [seed, int.from_bytes(digest[:8], "big")]


def make_rngs(seed: int, name: str) -> tuple[random.Random, np.random.Generator]:
    entropy = stream_seed(seed, name)
    return random.Random(f"{entropy[0]}:{entropy[1]}"), np.random.default_rng(entropy)


def _forget_caches() -> None:
    from frontline.core.context_processors import forget_demo_flag

    invalidate_locator()
    forget_demo_flag()  # the 演示数据 banner shows at once, not after the flag's minute


def check_empty() -> None:
    if DemoDataset.objects.exists():
        raise DemoDataExists(
            "数据库中已有演示数据，不能重复生成。"
            " / The database already holds a demo dataset; refusing to seed again."
        )
    if Region.objects.exists():
        raise DemoDataExists(
            "数据库中已有行政区划数据，演示数据只能生成到空数据库中。"
            " / The database already holds regions; demo data can only be seeded into an"
            " empty database."
        )


@dataclass
class SeedResult:
    dataset: DemoDataset
    counts: dict[str, int]
    seconds: float


def run_seed(
    scale: str = "district", seed: int = DEFAULT_SEED, progress: ProgressFn | None = None
) -> SeedResult:
    """Run every registered generator in one transaction and record a DemoDataset.

    Deterministic for a given (scale, seed, set of generators)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    started = time.perf_counter()
    steps = generators()
    state: dict = {}
    counts: Counter = Counter()
    with transaction.atomic():
        check_empty()
        for step in steps:
            rng, np_rng = make_rngs(seed, step.name)
            ctx = DemoContext(
                scale=SCALES[scale],
                seed=seed,
                rng=rng,
                np_rng=np_rng,
                state=state,
                counts=counts,
                step_label=step.label,
                progress=progress,
            )
            ctx.report(0, 1)
            step.generate_fn(ctx)
            ctx.report(ctx.last_total or 1, ctx.last_total or 1)
        summary = dict(sorted(counts.items()))
        dataset = DemoDataset.objects.create(scale=scale, seed=seed, summary=summary)
        transaction.on_commit(_forget_caches)
        # Thousands of rows arrived at once: the planner's statistics are stale.
        transaction.on_commit(refresh_planner_statistics)
    # Also now: when an outer transaction (a test) holds ours, on_commit waits for it, but
    # this connection already sees the new regions.
    _forget_caches()
    return SeedResult(dataset=dataset, counts=summary, seconds=time.perf_counter() - started)
