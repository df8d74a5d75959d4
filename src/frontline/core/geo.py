"""Geometry helpers: boundary summaries and the point → region locator.

The locator keeps an STRtree of every region boundary in memory, so "which grid is this
point in" costs a few microseconds instead of a database scan. It rebuilds itself when the
regions change (checked by a cheap fingerprint query, at most once every few seconds).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree


@dataclass(frozen=True)
class BoundarySummary:
    centroid: tuple[float, float]
    bbox: tuple[float, float, float, float]


def parse_boundary(geojson: dict):
    """A shapely polygon from a GeoJSON Polygon / MultiPolygon (or a Feature holding one)."""
    if not isinstance(geojson, dict):
        raise ValueError("GeoJSON must be an object")
    if geojson.get("type") == "Feature":
        geojson = geojson.get("geometry") or {}
    if geojson.get("type") not in {"Polygon", "MultiPolygon"}:
        raise ValueError("boundary must be a GeoJSON Polygon or MultiPolygon")
    try:
        geometry = shape(geojson)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValueError(f"malformed GeoJSON: {exc}") from None
    if geometry.is_empty:
        raise ValueError("boundary is empty")
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValueError("coordinates must be WGS-84 longitude/latitude")
    return geometry


def boundary_summary(geojson: dict) -> BoundarySummary:
    geometry = parse_boundary(geojson)
    point = (
        geometry.representative_point()
        if not geometry.centroid.within(geometry)
        else (geometry.centroid)
    )
    return BoundarySummary(centroid=(point.x, point.y), bbox=tuple(geometry.bounds))


class RegionLocator:
    """Finds the finest region whose boundary contains a point."""

    def __init__(self, rows: list[tuple[int, int, dict]]):
        # rows: (region id, depth, boundary GeoJSON)
        geometries = []
        self._ids = []
        self._depths = []
        for region_id, depth, boundary in rows:
            try:
                geometry = parse_boundary(boundary)
            except ValueError:
                continue
            shapely.prepare(geometry)
            geometries.append(geometry)
            self._ids.append(region_id)
            self._depths.append(depth)
        self._geometries = np.array(geometries, dtype=object)
        self._ids_array = np.array(self._ids, dtype=np.int64)
        self._depth_array = np.array(self._depths, dtype=np.int64)
        self._tree = STRtree(self._geometries) if geometries else None

    def __len__(self) -> int:
        return len(self._ids)

    def locate(self, lon: float, lat: float) -> int | None:
        if self._tree is None:
            return None
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        best = hits[np.argmax(self._depth_array[hits])]
        return int(self._ids_array[best])

    def locate_many(self, lons, lats) -> list[int | None]:
        """Vectorised lookup for imports and ingest batches."""
        result: list[int | None] = [None] * len(lons)
        if self._tree is None or len(lons) == 0:
            return result
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        point_index, geometry_index = self._tree.query(points, predicate="intersects")
        best_depth = [-1] * len(lons)
        for p, g in zip(point_index.tolist(), geometry_index.tolist(), strict=True):
            depth = self._depths[g]
            if depth > best_depth[p]:
                best_depth[p] = depth
                result[p] = self._ids[g]
        return result


_lock = threading.Lock()
_cached: dict = {"locator": None, "fingerprint": None, "checked": 0.0}
_RECHECK_SECONDS = 5.0


def _fingerprint():
    from django.db.models import Count, Max

    from frontline.core.models import Region

    row = Region.objects.aggregate(n=Count("id"), changed=Max("updated_at"))
    return (row["n"], row["changed"])


def get_locator() -> RegionLocator:
    from frontline.core.models import Region

    now = time.monotonic()
    with _lock:
        locator = _cached["locator"]
        if locator is not None and now - _cached["checked"] < _RECHECK_SECONDS:
            return locator
        fingerprint = _fingerprint()
        _cached["checked"] = now
        if locator is not None and fingerprint == _cached["fingerprint"]:
            return locator
        rows = list(
            Region.objects.exclude(boundary__isnull=True).values_list("id", "depth", "boundary")
        )
        locator = RegionLocator(rows)
        _cached.update(locator=locator, fingerprint=fingerprint)
        return locator


def invalidate_locator() -> None:
    with _lock:
        _cached.update(locator=None, fingerprint=None, checked=0.0)
