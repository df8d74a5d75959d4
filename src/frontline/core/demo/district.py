"""The core generator: the jurisdiction tree with boundaries (county → township → village → grid).

Two halves: `plan_regions` is pure (numpy/shapely, no database) and decides codes, names,
populations and polygons; `write_regions` stores the plan. Tests rebuild the plan without the
database to check determinism and geometry.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry import Polygon

from frontline.core.demo.framework import DemoContext, Scale, make_rngs, register
from frontline.core.demo.geometry import Frame, noisy_outline, partition, to_geojson
from frontline.core.demo.names import (
    KEQIAO_STREETS,
    KEQIAO_TOWNS,
    KEYAN_VILLAGES,
    SHAOXING_COUNTIES,
    ZHEJIANG_CITIES,
    UniqueNames,
    county_name_for,
)
from frontline.core.geo import boundary_summary
from frontline.core.models import Region, RegionLevel

REGIONS_STEP = "core.regions"
HOME_COUNTY = "330603"  # 柯桥区: the district scale, and the well-known accounts at any scale
_KEQIAO_CENTRE = (120.46, 30.08)
_COUNTY_RADIUS_KM = 15.0  # ≈ 30 km across, about Keqiao's size
TOWNSHIPS_PER_COUNTY = 16
STREETS_PER_GENERATED_COUNTY = 9
VILLAGES_PER_TOWNSHIP = (14, 24)  # inclusive range; 16 townships give ≈ 300 villages
GRIDS_PER_VILLAGE = (3, 7)  # ≈ 1,500 grids per county
# Share of communities (社区) among a township's villages: streets are urban.
COMMUNITY_SHARE = {"street": 0.55, "town": 0.12}
# Residents per grid: community grids are denser than rural ones.
GRID_POPULATION = {"community": (500, 1800), "village": (250, 800)}


@dataclass
class RegionPlan:
    code: str
    name: str
    level: str
    polygon: Polygon
    kind: str = ""  # township: street / town; village: community / village
    population: int = 0
    children: list[RegionPlan] = field(default_factory=list)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


# --- the pure plan -------------------------------------------------------------------------


@dataclass
class _Drawing:
    """What every level of the plan needs: the frame, the random streams, and a progress
    hook ticked once per township (the unit of work that takes time)."""

    frame: Frame
    rng: random.Random
    np_rng: np.random.Generator
    report: Callable[[int, int], None] | None
    total_townships: int
    townships_done: int = 0

    def township_done(self) -> None:
        self.townships_done += 1
        if self.report is not None:
            self.report(self.townships_done, self.total_townships)


def plan_regions(
    scale: Scale,
    rng: random.Random,
    np_rng: np.random.Generator,
    report: Callable[[int, int], None] | None = None,
) -> RegionPlan:
    """The whole tree for a scale: a county (district), a city of ten counties, or a province
    of ten such cities. Areas grow with the number of counties, so every county is about the
    same size whatever the scale."""
    counties = max(scale.cities, 1) * scale.counties_per_city
    radius = _COUNTY_RADIUS_KM * math.sqrt(counties)
    centre = {0: _KEQIAO_CENTRE, 1: (120.58, 29.85)}.get(scale.cities, (120.15, 29.25))
    frame = Frame(*centre)
    drawing = _Drawing(frame, rng, np_rng, report, counties * TOWNSHIPS_PER_COUNTY)
    outline = noisy_outline(frame, radius, np_rng)
    if scale.cities == 0:
        root = RegionPlan(HOME_COUNTY, "柯桥区", RegionLevel.COUNTY, outline)
        _plan_county(root, drawing)
    elif scale.cities == 1:
        root = RegionPlan("330600", "绍兴市", RegionLevel.CITY, outline)
        _plan_city(root, SHAOXING_COUNTIES[: scale.counties_per_city], drawing)
    else:
        root = RegionPlan("330000", "浙江省", RegionLevel.PROVINCE, outline)
        cells = _north_to_south(partition(outline, scale.cities, np_rng, frame))
        for (code, name), cell in zip(ZHEJIANG_CITIES, cells, strict=False):
            city = RegionPlan(code, name, RegionLevel.CITY, cell)
            _plan_city(city, _county_codes(code, scale.counties_per_city), drawing)
            root.children.append(city)
    _sum_population(root)
    return root


def plan_for_seed(scale: Scale, seed: int) -> RegionPlan:
    """The plan exactly as `run_seed(scale, seed)` draws it."""
    return plan_regions(scale, *make_rngs(seed, REGIONS_STEP))


def _county_codes(city_code: str, count: int) -> list[tuple[str, str]]:
    if city_code == "330600":
        return SHAOXING_COUNTIES[:count]
    codes = [f"{city_code[:4]}{index + 2:02d}" for index in range(count)]
    return [(code, county_name_for(code, index)) for index, code in enumerate(codes)]


def _plan_city(city: RegionPlan, counties, drawing: _Drawing) -> None:
    cells = partition(city.polygon, len(counties), drawing.np_rng, drawing.frame)
    for (code, name), cell in zip(counties, _north_to_south(cells), strict=True):
        county = RegionPlan(code, name, RegionLevel.COUNTY, cell)
        _plan_county(county, drawing)
        city.children.append(county)


def _north_to_south(cells: list[Polygon]) -> list[Polygon]:
    return sorted(cells, key=lambda cell: (-round(cell.centroid.y, 6), round(cell.centroid.x, 6)))


def _township_names(county: RegionPlan, names: UniqueNames) -> list[tuple[str, str, str]]:
    """(code suffix, name, kind) of the county's townships, streets first (001–), towns
    after (101–)."""
    if county.code == HOME_COUNTY:
        streets, towns = KEQIAO_STREETS, KEQIAO_TOWNS
        for name in streets + towns:
            names.claim(name)
    else:
        streets = [names.township("街道") for _ in range(STREETS_PER_GENERATED_COUNTY)]
        towns = [
            names.township("镇") for _ in range(TOWNSHIPS_PER_COUNTY - STREETS_PER_GENERATED_COUNTY)
        ]
    rows = [(f"{index + 1:03d}", name, "street") for index, name in enumerate(streets)]
    rows += [(f"{index + 101:03d}", name, "town") for index, name in enumerate(towns)]
    return rows


def _plan_county(county: RegionPlan, drawing: _Drawing) -> None:
    names = UniqueNames(drawing.rng)
    townships = _township_names(county, names)
    # Towns lie in the hilly south of Keqiao, streets on the northern plain.
    cells = partition(county.polygon, len(townships), drawing.np_rng, drawing.frame)
    for (suffix, name, kind), cell in zip(townships, _north_to_south(cells), strict=True):
        township = RegionPlan(county.code + suffix, name, RegionLevel.TOWNSHIP, cell, kind=kind)
        _plan_township(township, drawing, names)
        county.children.append(township)
        drawing.township_done()


def _plan_township(township: RegionPlan, drawing: _Drawing, names: UniqueNames) -> None:
    rng = drawing.rng
    count = rng.randint(*VILLAGES_PER_TOWNSHIP)
    communities = max(1, round(count * COMMUNITY_SHARE[township.kind]))
    cells = partition(township.polygon, count, drawing.np_rng, drawing.frame)
    # Communities are the built-up core: give them the cells nearest the township's middle.
    middle = township.polygon.centroid
    cells.sort(key=lambda cell: (round(cell.centroid.distance(middle), 9), cell.centroid.x))
    real_names = list(KEYAN_VILLAGES) if township.code == HOME_COUNTY + "001" else []
    for index, cell in enumerate(cells):
        kind = "community" if index < communities else "village"
        serial = index + 1 if kind == "community" else 201 + index - communities
        village = RegionPlan(
            f"{township.code}{serial:03d}",
            _village_name(kind, names, real_names),
            RegionLevel.VILLAGE,
            cell,
            kind=kind,
        )
        _plan_village(village, drawing)
        township.children.append(village)


def _village_name(kind: str, names: UniqueNames, real_names: list[str]) -> str:
    suffix = "社区" if kind == "community" else "村"
    for name in real_names:
        if name.endswith(suffix) and names.claim(name):
            real_names.remove(name)
            return name
    return names.place(suffix)


def _plan_village(village: RegionPlan, drawing: _Drawing) -> None:
    rng = drawing.rng
    count = rng.randint(*GRIDS_PER_VILLAGE)
    cells = partition(village.polygon, count, drawing.np_rng, drawing.frame)
    # Number grids west to east so "第1网格" sits at one end of the village, as drawn by hand.
    cells.sort(key=lambda cell: (round(cell.centroid.x, 6), round(cell.centroid.y, 6)))
    low, high = GRID_POPULATION[village.kind]
    for index, cell in enumerate(cells, start=1):
        village.children.append(
            RegionPlan(
                f"{village.code}{index:03d}",
                f"{village.name}第{index}网格",
                RegionLevel.GRID,
                cell,
                population=rng.randint(low, high),
            )
        )


def _sum_population(plan: RegionPlan) -> int:
    if plan.children:
        plan.population = sum(_sum_population(child) for child in plan.children)
    return plan.population


# --- writing the plan ----------------------------------------------------------------------


def _region_row(plan: RegionPlan, parent: Region | None) -> Region:
    """The same fields services.create_region fills in, without its per-row checks: the plan
    builds codes that are valid by construction."""
    boundary = to_geojson(plan.polygon)
    summary = boundary_summary(boundary)
    region = Region(
        code=plan.code,
        name=plan.name,
        level=plan.level,
        parent=parent,
        path=(parent.path if parent else "") + plan.code + "/",
        depth=(parent.depth + 1) if parent else 0,
        boundary=boundary,
        population=plan.population,
    )
    region.centroid_lon, region.centroid_lat = summary.centroid
    region.min_lon, region.min_lat, region.max_lon, region.max_lat = summary.bbox
    return region


def write_regions(root: RegionPlan, ctx: DemoContext) -> dict[str, Region]:
    """Store the plan level by level with bulk_create (parents first, so children can point
    at their ids). A system job creating a fresh tree bypasses the per-row services on
    purpose: they would cost a transaction, an audit entry and a locator reset per region."""
    total = sum(1 for _ in root.walk())
    regions: dict[str, Region] = {}
    level_plans = [(root, None)]
    done = 0
    while level_plans:
        rows = [_region_row(plan, parent) for plan, parent in level_plans]
        Region.objects.bulk_create(rows, batch_size=500)
        next_level = []
        for (plan, _parent), region in zip(level_plans, rows, strict=True):
            regions[region.code] = region
            ctx.count(f"regions.{region.level}")
            next_level.extend((child, region) for child in plan.children)
        done += len(rows)
        ctx.report(done, total)
        level_plans = next_level
    return regions


def generate_regions(ctx: DemoContext) -> None:
    def planned(done: int, total: int) -> None:
        ctx.report(done, total, label="绘制乡镇、村社区和网格边界")

    root = plan_regions(ctx.scale, ctx.rng, ctx.np_rng, report=planned)
    regions = write_regions(root, ctx)
    ctx.state["region_plan"] = root
    ctx.state["regions"] = regions
    ctx.state["plans"] = {plan.code: plan for plan in root.walk()}


register(REGIONS_STEP, order=10, generate_fn=generate_regions, label="行政区划与网格边界")
