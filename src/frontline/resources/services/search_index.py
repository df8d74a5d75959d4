"""The in-memory spatial index behind "the nearest N available teams (or equipment) with
capability X within R km" (see docs/resources-search.md).

One index per kind (teams, equipment) per process: positions as 3-D unit vectors in a
`cKDTree` (the chord between two unit vectors grows with the great-circle distance, so the
tree's order is the true nearest-first order on the sphere, with no projection error across
a county), capability bit masks (`capability_bits`), the indexed status, and each unit's
region path for the scope prefilter.

Freshness: before every search one aggregate query reads COUNT(*) and MAX(updated_at) of
the table (both cheap: `updated_at` is indexed). The team and equipment services save
through the model, so `auto_now` moves MAX(updated_at) on every edit, and a deletion moves
COUNT; either rebuilds the index. A bulk `QuerySet.update()` that bypasses `updated_at` is
not seen until the next edit, which is why the caller confirms status and scope of the
candidates against the database in one query: the index only ever proposes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from django.db import connection
from django.utils import timezone
from scipy.spatial import cKDTree

from frontline.resources.models import (
    Equipment,
    EquipmentStatus,
    RescueTeam,
    TeamStatus,
    capability_bits,
)

EARTH_RADIUS_KM = 6371.0088
# Below this many eligible units a vectorised scan of just those units beats walking the
# tree with a growing k (a township user's scope, a rare capability); above it the tree wins.
BRUTE_FORCE_MAX = 2048

KINDS = {
    "team": (RescueTeam, TeamStatus.AVAILABLE),
    "equipment": (Equipment, EquipmentStatus.AVAILABLE),
}


def unit_vectors(lon, lat) -> np.ndarray:
    """(n, 3) unit vectors of WGS-84 lon/lat degrees (on a sphere: metres of error at most)."""
    lon_r = np.radians(np.asarray(lon, dtype=float))
    lat_r = np.radians(np.asarray(lat, dtype=float))
    cos_lat = np.cos(lat_r)
    return np.column_stack((cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)))


def chord_for_km(km: float) -> float:
    """The straight-line distance between unit vectors `km` apart on the Earth's surface."""
    return 2.0 * math.sin(min(km / EARTH_RADIUS_KM, math.pi) / 2.0)


def km_for_chord(chord):
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north, in [0, 360)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlambda = math.radians(lon2 - lon1)
    y = math.sin(dlambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


@dataclass
class UnitIndex:
    """Teams or equipment of every region, as arrays; immutable once built."""

    kind: str
    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    caps: np.ndarray
    available: np.ndarray
    region_slot: np.ndarray
    paths: list[str]
    fingerprint: tuple
    built_seconds: float = 0.0
    tree: cKDTree | None = None
    _scope_masks: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.xyz = unit_vectors(self.lon, self.lat) if len(self.ids) else np.zeros((0, 3))
        if len(self.ids):
            self.tree = cKDTree(self.xyz)

    def __len__(self) -> int:
        return len(self.ids)

    def scope_mask(self, paths: list[str] | None) -> np.ndarray:
        """Which units lie under one of `paths` (None: everything). Decided once per distinct
        region and cached per scope: a county has hundreds of regions, not thousands."""
        if paths is None:
            return np.ones(len(self.ids), dtype=bool)
        key = tuple(sorted(paths))
        with self._lock:
            mask = self._scope_masks.get(key)
        if mask is None:
            allowed = np.fromiter(
                (any(path.startswith(p) for p in key) for path in self.paths),
                dtype=bool,
                count=len(self.paths),
            )
            mask = allowed[self.region_slot] if len(self.paths) else np.zeros(0, dtype=bool)
            with self._lock:
                if len(self._scope_masks) > 256:  # many distinct scopes: start over
                    self._scope_masks.clear()
                self._scope_masks[key] = mask
        return mask

    def eligible(self, bits: int, paths: list[str] | None) -> np.ndarray:
        mask = self.available & self.scope_mask(paths)
        if bits:
            mask = mask & ((self.caps & np.int64(bits)) == bits)
        return mask

    def nearest(
        self,
        lon: float,
        lat: float,
        radius_km: float,
        *,
        bits: int = 0,
        paths: list[str] | None = None,
        want: int = 10,
    ) -> list[tuple[int, float]]:
        """Up to `want` (position in the arrays, chord) of eligible units within the radius,
        nearest first."""
        if not len(self.ids) or want <= 0:
            return []
        mask = self.eligible(bits, paths)
        eligible_count = int(np.count_nonzero(mask))
        if eligible_count == 0:
            return []
        query = unit_vectors([lon], [lat])[0]
        limit = chord_for_km(radius_km)
        if eligible_count <= BRUTE_FORCE_MAX:
            return self._scan(query, limit, mask, want)
        return self._walk(query, limit, mask, want, eligible_count)

    def _scan(self, query, limit: float, mask: np.ndarray, want: int):
        positions = np.flatnonzero(mask)
        chords = np.linalg.norm(self.xyz[positions] - query, axis=1)
        inside = chords <= limit
        positions, chords = positions[inside], chords[inside]
        if len(positions) > want:
            keep = np.argpartition(chords, want - 1)[:want]
            positions, chords = positions[keep], chords[keep]
        order = np.lexsort((self.ids[positions], chords))
        return [(int(positions[i]), float(chords[i])) for i in order]

    def _walk(self, query, limit: float, mask: np.ndarray, want: int, eligible_count: int):
        """Ask the tree for the k nearest within the radius, growing k until `want` of them
        are eligible or the radius holds no more. The first k is sized by the share of
        eligible units, so a common capability needs one round."""
        total = len(self.ids)
        k = min(total, max(want * 2, int(want * total / eligible_count * 1.5) + 1))
        while True:
            chords, positions = self.tree.query(query, k=k, distance_upper_bound=limit)
            chords, positions = np.atleast_1d(chords), np.atleast_1d(positions)
            found = np.isfinite(chords)
            chords, positions = chords[found], positions[found]
            ok = mask[positions]
            if np.count_nonzero(ok) >= want or len(positions) < k or k >= total:
                break
            k = min(total, k * 4)
        chords, positions = chords[ok], positions[ok]
        # The tree breaks ties arbitrarily; the scan breaks them by id: do the same here so
        # both paths answer alike.
        order = np.lexsort((self.ids[positions], chords))[:want]
        return [(int(positions[i]), float(chords[i])) for i in order]


def _fingerprint(model) -> tuple:
    """(COUNT(*), MAX(updated_at)) of the table, as two scalar subqueries: each is answered
    from an index on its own (SQLite counts a b-tree, MAX reads the end of the updated_at
    index), where one aggregate over both would scan the table — 0.05 ms against 3."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("updated_at").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {table}), (SELECT MAX({column}) FROM {table})"
        )
        count, changed = cursor.fetchone()
    return (count, str(changed))


def build_index(kind: str, fingerprint: tuple | None = None) -> UnitIndex:
    """Read every team (or piece of equipment) once: one query over the table joined to its
    region for the path."""
    model, available_status = KINDS[kind]
    started = time.perf_counter()
    if fingerprint is None:
        fingerprint = _fingerprint(model)
    rows = list(
        model.objects.order_by()
        .values_list("id", "lon", "lat", "capabilities", "status", "region__path")
        .iterator(chunk_size=5000)
    )
    slots: dict[str, int] = {}
    ids, lons, lats, caps, available, region_slot = [], [], [], [], [], []
    for pk, lon, lat, capabilities, status, path in rows:
        if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
            continue
        ids.append(pk)
        lons.append(lon)
        lats.append(lat)
        caps.append(capability_bits(capabilities))
        available.append(status == available_status)
        region_slot.append(slots.setdefault(path, len(slots)))
    index = UnitIndex(
        kind=kind,
        ids=np.asarray(ids, dtype=np.int64),
        lon=np.asarray(lons, dtype=float),
        lat=np.asarray(lats, dtype=float),
        caps=np.asarray(caps, dtype=np.int64),
        available=np.asarray(available, dtype=bool),
        region_slot=np.asarray(region_slot, dtype=np.int64),
        paths=list(slots),
        fingerprint=fingerprint,
    )
    index.built_seconds = time.perf_counter() - started
    return index


_cache: dict[str, UnitIndex] = {}
_build_lock = threading.Lock()


def get_index(kind: str) -> UnitIndex:
    """The current index of `kind`: one fingerprint query, and a rebuild when the table
    changed since the last one. Builds are serialised so a burst of searches after an edit
    builds once."""
    model, _status = KINDS[kind]
    fingerprint = _fingerprint(model)
    index = _cache.get(kind)
    if index is not None and index.fingerprint == fingerprint:
        return index
    with _build_lock:
        index = _cache.get(kind)
        if index is not None and index.fingerprint == fingerprint:
            return index
        # The fingerprint read before the rows: a change in between makes the next search
        # rebuild again, never keeps a stale index.
        index = build_index(kind, fingerprint)
        _cache[kind] = index
        return index


def forget_indexes() -> None:
    """Drop the cached indexes (tests, and after a bulk load that bypassed `updated_at`)."""
    with _build_lock:
        _cache.clear()
    forget_templates()


# --- the confirmation query, compiled once --------------------------------------------------
#
# Django spends a few milliseconds turning the confirmation queryset (scope, status, the
# teams' people-on-duty subqueries) into SQL, ten times what the database needs to answer
# it for a dozen ids by primary key. The SQL depends only on the kind, the capability, the
# scope and how many ids there are; the values that change per search are the ids and the
# moment `now`. So the queryset is built once per such key with sentinel ids and a sentinel
# moment, compiled, and then run with the real values in the sentinels' places.

_SENTINEL_NOW = datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
_SENTINEL_ID = -(10**15)
_ID_BUCKETS = (16, 64, 256, 1024, 4096)
_TEMPLATES_KEPT = 512


@dataclass(frozen=True)
class _Template:
    sql: str
    params: tuple
    id_slots: tuple[tuple[int, int], ...]  # (position in params, index of the id)
    now_slots: tuple[int, ...]
    names: tuple[str, ...]


_templates: OrderedDict = OrderedDict()
_templates_lock = threading.Lock()


def _compile(build, bucket: int, uses_now: bool) -> _Template | None:
    sentinels = [_SENTINEL_ID - i for i in range(bucket)]
    queryset = build(sentinels, _SENTINEL_NOW)
    sql, params = queryset.query.sql_with_params()
    adapted_now = connection.ops.adapt_datetimefield_value(_SENTINEL_NOW)
    id_slots, now_slots = [], []
    for position, value in enumerate(params):
        if isinstance(value, int) and _SENTINEL_ID - bucket < value <= _SENTINEL_ID:
            id_slots.append((position, _SENTINEL_ID - value))
        elif value in (adapted_now, _SENTINEL_NOW):
            now_slots.append(position)
    if len(id_slots) != bucket or (uses_now and not now_slots):
        return None  # a shape this does not understand: run the queryset as it is
    query = queryset.query
    # The column order of `.values()`, as Django's ValuesIterable reads it.
    if query.selected:
        names = tuple(query.selected)
    else:
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
    return _Template(sql, tuple(params), tuple(id_slots), tuple(now_slots), names)


def compiled_rows(key: tuple, build, ids: list[int], *, uses_now: bool) -> list[dict]:
    """`build(ids, now)` (a `.values()` queryset) run for `ids` and the present moment,
    compiled once per `key` and id-count bucket. `key` must name everything else the SQL
    depends on (kind, capability, scope); the day is added, for rules that read the date."""
    now = timezone.now()
    bucket = next((size for size in _ID_BUCKETS if size >= len(ids)), None)
    if bucket is None:
        return list(build(ids, now))
    full_key = (connection.alias, timezone.localdate(now), bucket, *key)
    with _templates_lock:
        template = _templates.get(full_key)
        if template is not None:
            _templates.move_to_end(full_key)
    if template is None:
        template = _compile(build, bucket, uses_now) or False
        with _templates_lock:
            _templates[full_key] = template
            while len(_templates) > _TEMPLATES_KEPT:
                _templates.popitem(last=False)
    if template is False:
        return list(build(ids, now))
    params = list(template.params)
    # Padding with 0 (never a primary key) keeps the SQL of the bucket.
    padded = [*ids, *([0] * (bucket - len(ids)))]
    for position, index in template.id_slots:
        params[position] = padded[index]
    moment = connection.ops.adapt_datetimefield_value(now)
    for position in template.now_slots:
        params[position] = moment
    with connection.cursor() as cursor:
        cursor.execute(template.sql, params)
        return [dict(zip(template.names, row, strict=True)) for row in cursor.fetchall()]


def forget_templates() -> None:
    with _templates_lock:
        _templates.clear()
