"""Registering devices, their credentials, and the lookups every door makes per reading."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from frontline.core.models import Region
from frontline.core.roles import Capability
from frontline.core.services.validation import Cleaner, require
from frontline.hazards.models import Enterprise, Place
from frontline.hazards.services.objects import clean_location, clean_number
from frontline.monitoring.kinds import DeviceKind
from frontline.monitoring.models import Device

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
TOKEN_PREFIX = "fld_"


def new_device_token() -> str:
    return f"{TOKEN_PREFIX}{secrets.token_urlsafe(24)}"


def hash_device_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def clean_device(cleaner: Cleaner, actor, data: dict) -> dict:
    data["code"] = cleaner.text(data.get("code"), "code", required=True, max_length=64)
    if data["code"] and not _CODE.fullmatch(data["code"]):
        cleaner.fail("code", _("设备编码只能包含字母、数字、点、横线和下划线"))
    data["name"] = cleaner.text(data.get("name"), "name", required=True, max_length=100)
    data["kind"] = cleaner.choice(data.get("kind"), "kind", DeviceKind)
    data["location"] = cleaner.text(
        data.get("location"), "location", required=False, max_length=200
    )
    clean_location(cleaner, data)
    minutes = clean_number(
        cleaner, data.get("offline_after_minutes"), "offline_after_minutes", minimum=1,
        maximum=7 * 24 * 60, integer=True,
    )  # fmt: skip
    data["offline_after_minutes"] = minutes or 30
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in attributes.values()
    ):
        cleaner.fail("attributes", _("设备参数应为“名称: 数值”"))
        attributes = {}
    data["attributes"] = attributes
    return data


def owner_in_region(
    cleaner: Cleaner, region: Region, enterprise, place, building=None, household=None
) -> None:
    """The device and what it watches (enterprise, place, building, household) lie on one
    branch of the tree (the device in the enterprise's village, or in a grid inside it), so
    alarms count where both are."""
    owners = (
        ("enterprise", enterprise),
        ("place", place),
        ("building", building),
        ("household", household),
    )
    for field, obj in owners:
        if obj is None:
            continue
        owner = obj.region.path
        if not (owner.startswith(region.path) or region.path.startswith(owner)):
            cleaner.fail(field, _("与设备不在同一区划"))


@transaction.atomic
def register_device(
    *,
    actor,
    region: Region,
    code: str,
    name: str,
    kind: str,
    enterprise: Enterprise | None = None,
    place: Place | None = None,
    building=None,
    household=None,
    location: str = "",
    lon: float | None = None,
    lat: float | None = None,
    attributes: dict | None = None,
    offline_after_minutes: int | None = None,
) -> tuple[Device, str]:
    """Register a device; returns it with its token in clear, shown to the user once.

    A household implies its building; a building given with a household must be the
    household's own."""
    require(actor, Capability.EDIT, region)
    cleaner = Cleaner()
    data = clean_device(
        cleaner,
        actor,
        {
            "code": code,
            "name": name,
            "kind": kind,
            "location": location,
            "lon": lon,
            "lat": lat,
            "attributes": attributes,
            "offline_after_minutes": offline_after_minutes,
        },
    )
    if household is not None and household.building_id is not None:
        if building is not None and building.pk != household.building_id:
            cleaner.fail("building", _("与住户所在楼栋不一致"))
        building = household.building
    owner_in_region(cleaner, region, enterprise, place, building, household)
    if data["code"] and Device.objects.filter(code=data["code"]).exists():
        cleaner.fail("code", _("设备编码已存在"))
    cleaner.done()
    token = new_device_token()
    device = Device.objects.create(
        region=region,
        enterprise=enterprise,
        place=place,
        building=building,
        household=household,
        token_hash=hash_device_token(token),
        token_prefix=token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
        **data,
    )
    forget_devices()
    return device, token


@transaction.atomic
def rotate_device_token(*, actor, device: Device) -> str:
    """A new token; the old one stops working at once (in every process within a few
    seconds, see `_CACHE_SECONDS`)."""
    require(actor, Capability.EDIT, device.region)
    token = new_device_token()
    device.token_hash = hash_device_token(token)
    device.token_prefix = token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8]
    device.save(update_fields=["token_hash", "token_prefix"])
    forget_devices()
    return token


# --- the per-reading lookups -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What ingest needs about a device, cached per process."""

    id: int
    code: str
    kind: str
    region_id: int
    token_hash: str
    attributes: dict
    is_active: bool


# Devices change rarely and ingest looks one up per reading: a process keeps them for a
# few seconds. A change made here clears this process at once; others catch up in time.
_CACHE_SECONDS = 5.0
_cache: dict[str, DeviceInfo] = {}
_by_token: dict[str, DeviceInfo] = {}
_cache_loaded = 0.0
_lock = threading.Lock()


# The devices this process last marked seen and online, with that moment. Until it is half
# a minute old, ingest's last-seen UPDATE would match no row of theirs (fresh and online),
# so a batch leaves them out and a stream of readings costs no statement at all. Written
# only after commit. The offline sweep needs a minute of silence, so it cannot have taken
# such a device offline meanwhile, and it forgets the devices it does take offline.
_seen_online: dict[int, datetime] = {}


def not_seen_lately(device_ids: set[int], stale: datetime, watched: set[int]) -> set[int]:
    """The devices that may need their last-seen time or status written: not marked seen
    by this process since `stale`, or reporting a fault or its repair (`watched`)."""
    if not _seen_online:
        return device_ids
    seen = _seen_online.get
    return {pk for pk in device_ids if pk in watched or (seen(pk) or stale) <= stale}


def remember_seen(device_ids: list[int], moment: datetime) -> None:
    if device_ids:
        transaction.on_commit(lambda: _seen_online.update(dict.fromkeys(device_ids, moment)))


def forget_seen(device_ids) -> None:
    """Devices whose status changed elsewhere (the offline sweep)."""
    for pk in device_ids:
        _seen_online.pop(pk, None)


def forget_devices_now() -> None:
    global _cache_loaded
    with _lock:
        _cache_loaded = 0.0
        _seen_online.clear()


def forget_devices() -> None:
    """Now, and again after the commit: a read in between must not keep the old rows."""
    forget_devices_now()
    transaction.on_commit(forget_devices_now)


def devices_by_code() -> dict[str, DeviceInfo]:
    _refresh()
    return _cache


def _refresh() -> None:
    global _cache, _by_token, _cache_loaded
    now = time.monotonic()
    if now - _cache_loaded < _CACHE_SECONDS:
        return
    with _lock:
        if now - _cache_loaded >= _CACHE_SECONDS:
            rows = Device.objects.values_list(
                "pk", "code", "kind", "region_id", "token_hash", "attributes", "is_active"
            )
            infos = [DeviceInfo(*row) for row in rows]
            _cache = {info.code: info for info in infos}
            _by_token = {info.token_hash: info for info in infos}
            _cache_loaded = now


def device_info(code: str) -> DeviceInfo | None:
    return devices_by_code().get(code)


def authenticate_device(code: str, token: str) -> bool:
    """Does `token` belong to the active device `code`? Constant-time comparison."""
    info = device_info(code)
    if info is None or not info.is_active or not token:
        return False
    return hmac.compare_digest(info.token_hash, hash_device_token(token))


def device_for_token(token: str) -> DeviceInfo | None:
    """The active device whose token this is (the HTTP door: the token names the device)."""
    if not token:
        return None
    _refresh()
    # The token is random and only its SHA-256 is looked up, so a dictionary lookup leaks
    # nothing an attacker could use to guess it.
    info = _by_token.get(hash_device_token(token))
    return info if info is not None and info.is_active else None
