"""Geometry helpers: boundary summaries and the point → region locator.

The locator keeps an STRtree of every region boundary in memory, so "which grid is this
point in" costs a few microseconds instead of a database scan. It rebuilds itself when the
regions change (checked by a cheap fingerprint query, at most once every few seconds).
"""

from __future__ import annotations

import math
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


# --- Chinese coordinate systems ------------------------------------------------------------
#
# WGS-84 is what GPS receivers and the database use (CGCS2000 differs from it by centimetres).
# GCJ-02 ("Mars coordinates") is the obfuscated system that AMap, Tencent and most Chinese
# phone maps display and report; it shifts a point by a smooth, position-dependent offset of
# up to ~700 m. BD-09 is Baidu's further rotation/shift of GCJ-02. The forward formulas are
# public; the GCJ-02 inverse has no closed form and is found by fixed-point iteration.
#
# Functions take and return (lon, lat) in that order, like GeoJSON.

_KRASOVSKY_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02
_KRASOVSKY_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_FACTOR = math.pi * 3000.0 / 180.0
# Out-of-China rule used by every GCJ-02 implementation: a rough box outside which no
# offset is applied.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

COORDINATE_SYSTEMS = ("wgs84", "gcj02", "bd09")


def outside_china(lon: float, lat: float) -> bool:
    """True outside the rough box where GCJ-02 applies an offset."""
    return not (_CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1])


def _gcj_offset(lon, lat):
    """The GCJ-02 shift (dlon, dlat) in degrees at a WGS-84 point; works on floats and on
    numpy arrays alike."""
    lib = np if isinstance(lon, np.ndarray) else math
    x = lon - 105.0
    y = lat - 35.0
    # Two polynomial-plus-harmonics fields, in metres-ish units before scaling.
    ripple = (20.0 * lib.sin(6.0 * x * math.pi) + 20.0 * lib.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    root = np.sqrt(np.abs(x)) if lib is np else math.sqrt(abs(x))
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root
    north = north + ripple
    north = north + (20.0 * lib.sin(y * math.pi) + 40.0 * lib.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    north = north + (160.0 * lib.sin(y / 12.0 * math.pi) + 320.0 * lib.sin(y * math.pi / 30.0)) * (
        2.0 / 3.0
    )
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root
    east = east + ripple
    east = east + (20.0 * lib.sin(x * math.pi) + 40.0 * lib.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    east = east + (150.0 * lib.sin(x / 12.0 * math.pi) + 300.0 * lib.sin(x / 30.0 * math.pi)) * (
        2.0 / 3.0
    )
    # Scale the fields to degrees on the Krasovsky ellipsoid at this latitude.
    phi = lat / 180.0 * math.pi
    sin_phi = lib.sin(phi)
    w = 1.0 - _KRASOVSKY_EE * sin_phi * sin_phi
    sqrt_w = lib.sqrt(w)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w * sqrt_w)
    parallel_radius = _KRASOVSKY_A / sqrt_w * lib.cos(phi)
    dlat = north * 180.0 / (meridian_radius * math.pi)
    dlon = east * 180.0 / (parallel_radius * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if outside_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


_INVERSE_TOLERANCE = 1e-10  # degrees, ≈ 0.01 mm
_INVERSE_MAX_STEPS = 30


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Inverse of `wgs84_to_gcj02` by fixed-point iteration: the offset varies slowly, so
    subtracting the forward error converges in a handful of steps (well under 1 mm)."""
    if outside_china(lon, lat):
        return lon, lat
    guess_lon, guess_lat = lon, lat
    for _step in range(_INVERSE_MAX_STEPS):
        shifted_lon, shifted_lat = wgs84_to_gcj02(guess_lon, guess_lat)
        error_lon, error_lat = shifted_lon - lon, shifted_lat - lat
        guess_lon -= error_lon
        guess_lat -= error_lat
        if abs(error_lon) < _INVERSE_TOLERANCE and abs(error_lat) < _INVERSE_TOLERANCE:
            break
    return guess_lon, guess_lat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    radius = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _BD_FACTOR)
    angle = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_FACTOR)
    return radius * math.cos(angle) + 0.0065, radius * math.sin(angle) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    radius = math.hypot(x, y) - 0.00002 * math.sin(y * _BD_FACTOR)
    angle = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_FACTOR)
    return radius * math.cos(angle), radius * math.sin(angle)


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon: float, lat: float, system: str) -> tuple[float, float]:
    """A point given in `system` ("wgs84", "gcj02" or "bd09") as WGS-84 (lon, lat)."""
    if system == "wgs84":
        return lon, lat
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown coordinate system {system!r}; expected one of {COORDINATE_SYSTEMS}")


def from_wgs84(lon: float, lat: float, system: str) -> tuple[float, float]:
    """A WGS-84 point expressed in `system`."""
    if system == "wgs84":
        return lon, lat
    if system == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if system == "bd09":
        return wgs84_to_bd09(lon, lat)
    raise ValueError(f"unknown coordinate system {system!r}; expected one of {COORDINATE_SYSTEMS}")


def coords_wgs84_to_gcj02(coords: np.ndarray) -> np.ndarray:
    """Vectorised WGS-84 → GCJ-02 for an (n, 2) array of lon/lat, e.g. a polygon's vertices
    through `shapely.transform`; points outside China are left alone."""
    coords = np.asarray(coords, dtype=float)
    if coords.size == 0:
        return coords
    lon, lat = coords[:, 0], coords[:, 1]
    dlon, dlat = _gcj_offset(lon, lat)
    inside = (
        (lon >= _CHINA_LON[0])
        & (lon <= _CHINA_LON[1])
        & (lat >= _CHINA_LAT[0])
        & (lat <= _CHINA_LAT[1])
    )
    out = coords.copy()
    out[:, 0] = np.where(inside, lon + dlon, lon)
    out[:, 1] = np.where(inside, lat + dlat, lat)
    return out
