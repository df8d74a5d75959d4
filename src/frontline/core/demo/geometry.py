"""Plausible, non-overlapping demo boundaries: noisy outlines cut into Voronoi cells.

Everything here is pure (numpy + scipy + shapely, no database), so the geometry of a seed can
be rebuilt and compared in tests. Cells are computed in a local kilometre frame (Voronoi is
only invariant under similarities, and degrees of longitude are shorter than degrees of
latitude at 30°N) and clipped in lon/lat on a 1e-6° grid: the stored GeoJSON is rounded to six
decimals, and clipping children against the already rounded parent keeps them inside what
the database holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import Voronoi
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

# Six decimals of a degree are about 0.1 m: finer than any boundary a station draws.
GRID_SIZE = 1e-6
_KM_PER_DEGREE_LAT = 110.574
_KM_PER_DEGREE_LON_EQUATOR = 111.320


@dataclass(frozen=True)
class Frame:
    """An equirectangular frame around (lon0, lat0) in kilometres; good enough over a
    province for drawing demo cells."""

    lon0: float
    lat0: float

    @property
    def km_per_lon(self) -> float:
        return _KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(self.lat0))

    def to_km(self, lonlat: np.ndarray) -> np.ndarray:
        return np.column_stack(
            (
                (lonlat[:, 0] - self.lon0) * self.km_per_lon,
                (lonlat[:, 1] - self.lat0) * _KM_PER_DEGREE_LAT,
            )
        )

    def to_lonlat(self, km: np.ndarray) -> np.ndarray:
        return np.column_stack(
            (
                self.lon0 + km[:, 0] / self.km_per_lon,
                self.lat0 + km[:, 1] / _KM_PER_DEGREE_LAT,
            )
        )


def snap(geometry) -> Polygon:
    """The geometry on the 1e-6° grid, reduced to one valid polygon."""
    return largest_polygon(shapely.set_precision(geometry, GRID_SIZE))


def largest_polygon(geometry) -> Polygon:
    """Clipping a cell against a non-convex parent can leave slivers: a region is one
    polygon, so keep the largest part (the slivers simply stay with the parent)."""
    if geometry.is_empty:
        raise ValueError("empty geometry")
    if geometry.geom_type == "Polygon":
        return geometry
    parts = [part for part in shapely.get_parts(geometry) if part.geom_type == "Polygon"]
    if not parts:
        raise ValueError(f"no polygon in {geometry.geom_type}")
    return max(parts, key=lambda part: part.area)


def noisy_outline(
    frame: Frame, radius_km: float, rng: np.random.Generator, vertices: int = 120
) -> Polygon:
    """An irregular, roughly round outline (a county, a city, a province) around the frame's
    centre: a circle whose radius wobbles with a few low harmonics, so it looks drawn by
    rivers and ridges and stays star-shaped (hence valid)."""
    angles = np.linspace(0.0, 2.0 * math.pi, vertices, endpoint=False)
    wobble = np.zeros_like(angles)
    for harmonic in range(2, 9):
        amplitude = rng.uniform(0.02, 0.12) / harmonic**0.6
        wobble += amplitude * np.cos(harmonic * angles + rng.uniform(0.0, 2.0 * math.pi))
    wobble += rng.normal(0.0, 0.012, size=vertices)  # small-scale roughness of a real border
    radii = radius_km * np.clip(1.0 + wobble, 0.55, 1.45)
    km = np.column_stack((radii * np.cos(angles), radii * np.sin(angles)))
    return snap(Polygon(frame.to_lonlat(km)))


def sample_points(parent: Polygon, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` uniform random points inside `parent` (lon/lat), by rejection from its box."""
    minx, miny, maxx, maxy = parent.bounds
    found: list[np.ndarray] = []
    total = 0
    while total < count:
        batch = max(16, 3 * (count - total))
        xs = rng.uniform(minx, maxx, batch)
        ys = rng.uniform(miny, maxy, batch)
        inside = shapely.contains_xy(parent, xs, ys)
        points = np.column_stack((xs[inside], ys[inside]))
        found.append(points)
        total += len(points)
    return np.concatenate(found)[:count]


def voronoi_cells(seeds_km: np.ndarray) -> list[np.ndarray]:
    """Finite Voronoi cells (vertex arrays, km) of the seeds. Four far-away sentinels close
    the outer cells, so a handful of seeds works as well as thousands."""
    span = float(np.ptp(seeds_km, axis=0).max()) + 1.0
    centre = seeds_km.mean(axis=0)
    far = 50.0 * span
    sentinels = centre + np.array([[-far, -far], [far, -far], [far, far], [-far, far]])
    diagram = Voronoi(np.vstack((seeds_km, sentinels)))
    cells = []
    for index in range(len(seeds_km)):
        region = diagram.regions[diagram.point_region[index]]
        cells.append(diagram.vertices[region])
    return cells


def _clipped_cells(parent: Polygon, seeds: np.ndarray, frame: Frame) -> list[Polygon | None]:
    cells: list[Polygon | None] = []
    for vertices_km in voronoi_cells(frame.to_km(seeds)):
        cell = Polygon(frame.to_lonlat(vertices_km))
        clipped = shapely.intersection(cell, parent, grid_size=GRID_SIZE)
        try:
            cells.append(largest_polygon(clipped))
        except ValueError:
            cells.append(None)
    return cells


def partition(
    parent: Polygon, count: int, rng: np.random.Generator, frame: Frame, relax: int = 2
) -> list[Polygon]:
    """Cut `parent` into `count` non-overlapping polygons inside it.

    Random seeds give a few slivers and a few giants; two rounds of Lloyd relaxation (move
    each seed to its cell's centroid) even the sizes out the way real units tend to be.
    The centroid is affine-invariant, so taking it in lon/lat is exact.
    """
    if count <= 1:
        return [parent]
    seeds = sample_points(parent, count, rng)
    for _ in range(relax):
        cells = _clipped_cells(parent, seeds, frame)
        seeds = np.array(
            [
                (cell.centroid.x, cell.centroid.y) if cell is not None else tuple(seed)
                for cell, seed in zip(cells, seeds, strict=True)
            ]
        )
    cells = _clipped_cells(parent, seeds, frame)
    if any(cell is None for cell in cells):
        raise ValueError("a Voronoi cell vanished while clipping")
    return cells  # type: ignore[return-value]


def to_geojson(polygon: Polygon) -> dict:
    """GeoJSON Polygon, counter-clockwise outer ring (RFC 7946), six decimals."""
    oriented = orient(polygon, sign=1.0)
    rings = [oriented.exterior, *oriented.interiors]
    return {
        "type": "Polygon",
        "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring.coords] for ring in rings],
    }
