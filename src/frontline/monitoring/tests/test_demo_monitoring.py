"""The monitoring part of the demo, on the real district (seeded once for the module and
removed at the end, like the core's demo test)."""

from __future__ import annotations

from collections import Counter

import pytest
from shapely.geometry import Point, shape

from frontline.core.demo import SCALES, run_seed
from frontline.core.demo.district import plan_for_seed
from frontline.core.demo.framework import DemoContext, make_rngs
from frontline.core.models import Region, RegionLevel
from frontline.core.tests.test_demo import _last_ids, _remove_demo_data
from frontline.hazards.models import Enterprise, Place
from frontline.monitoring import demo
from frontline.monitoring.gb26875.frames import address_code, code_address
from frontline.monitoring.kinds import DeviceKind
from frontline.monitoring.models import (
    OPEN_ALARM_STATES,
    Alarm,
    AlarmState,
    Device,
    DeviceStatus,
    LatestValue,
    Observation,
)
from frontline.monitoring.services.devices import (
    authenticate_device,
    forget_devices_now,
    hash_device_token,
)

SEED = 2026
STEP = "monitoring.devices"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        before = _last_ids()
        result = run_seed("district", SEED)
    yield result
    with django_db_blocker.unblock():
        _remove_demo_data(before)


def replay(seed: int) -> list[Device]:
    """The generator's device plan again, from the seed and what the earlier steps left."""
    plan = plan_for_seed(SCALES["district"], SEED)
    rng, np_rng = make_rngs(seed, STEP)
    ctx = DemoContext(
        scale=SCALES["district"],
        seed=seed,
        rng=rng,
        np_rng=np_rng,
        state={
            "regions": {r.code: r for r in Region.objects.all()},
            "plans": {node.code: node for node in plan.walk()},
            "enterprises": list(Enterprise.objects.select_related("region").order_by("pk")),
            "places": list(Place.objects.select_related("region").order_by("pk")),
        },
        counts=Counter(),
    )
    return demo.plan_devices(ctx)


def fields(device: Device) -> tuple:
    return (device.code, device.name, device.kind, device.region_id, device.enterprise_id,
            device.place_id, device.lon, device.lat, device.attributes)  # fmt: skip


@pytest.mark.django_db
def test_the_devices_are_the_seeds(seeded):
    # The community demo then moves the home township's smoke alarms into real homes: their
    # position follows the household, everything else stays as the monitoring demo drew it.
    in_homes = set(Device.objects.filter(household__isnull=False).values_list("code", flat=True))
    assert in_homes and all(code.startswith("YG330603001") for code in in_homes)

    def drawn(device) -> tuple:
        row = fields(device)
        return row[:6] + row[8:] if device.code in in_homes else row

    stored = [drawn(d) for d in Device.objects.order_by("pk")]
    assert stored == [drawn(d) for d in replay(SEED)]
    assert [drawn(d) for d in replay(SEED + 1)] != stored


@pytest.mark.django_db
def test_every_township_has_its_mix_of_devices(seeded):
    assert seeded.counts["devices"] == Device.objects.count() > 500
    townships = Region.objects.filter(level=RegionLevel.TOWNSHIP)
    kinds_by_township = {t.code: set() for t in townships}
    for path, kind in Device.objects.values_list("region__path", "kind"):
        kinds_by_township[path.split("/")[1]].add(kind)
    everywhere = {DeviceKind.SMOKE, DeviceKind.HYDRANT_PRESSURE, DeviceKind.WATER_LEVEL,
                  DeviceKind.RAIN_GAUGE, DeviceKind.CAMERA}  # fmt: skip
    for code, kinds in kinds_by_township.items():
        assert everywhere <= kinds, code
    assert set().union(*kinds_by_township.values()) == set(DeviceKind) - {DeviceKind.HEAT}
    # Smoke alarms of the elderly are in villages; workshops have their approved occupancy.
    assert not Device.objects.filter(kind="smoke").exclude(region__level="village").exists()
    for attributes in Device.objects.filter(kind="occupancy").values_list("attributes", flat=True):
        assert attributes["occupancy_limit"] > 0 and attributes["temperature_limit"] == 35
    for device in Device.objects.filter(kind="occupancy").select_related("enterprise"):
        assert device.enterprise.industry == "fireworks"


@pytest.mark.django_db
def test_devices_lie_inside_their_region(seeded):
    polygons = {r.pk: shape(r.boundary).buffer(2e-6) for r in Region.objects.all()}
    for region_id, lon, lat in Device.objects.values_list("region_id", "lon", "lat"):
        assert polygons[region_id].contains(Point(lon, lat))


@pytest.mark.django_db
def test_tokens_are_derived_from_the_seed_and_stored_hashed(seeded):
    forget_devices_now()
    for code, token_hash, prefix in Device.objects.values_list(
        "code", "token_hash", "token_prefix"
    ):
        token = demo.demo_token(SEED, code)
        assert hash_device_token(token) == token_hash and token[4:12] == prefix
        assert token not in (token_hash, code)
    code = Device.objects.filter(is_active=True).values_list("code", flat=True).first()
    assert authenticate_device(code, demo.demo_token(SEED, code))
    assert not authenticate_device(code, demo.demo_token(SEED + 1, code))


@pytest.mark.django_db
def test_fire_controllers_are_coded_by_their_gb26875_address(seeded):
    codes = list(Device.objects.filter(kind="fire_controller").values_list("code", flat=True))
    assert codes
    for code in codes:
        assert address_code(code_address(code)) == code and int(code) < 2**48


@pytest.mark.django_db
def test_history_and_alarms_fill_the_console(seeded):
    numeric = Device.objects.exclude(kind__in=["camera", "fire_controller"]).first()
    times = Observation.objects.filter(device=numeric).values_list("at", flat=True)
    assert (max(times) - min(times)).days >= 2
    assert LatestValue.objects.values("device").distinct().count() == Device.objects.count()
    states = Counter(Alarm.objects.values_list("state", flat=True))
    assert all(states[state] > 0 for state in AlarmState.values), states
    open_keys = list(
        Alarm.objects.filter(state__in=OPEN_ALARM_STATES).values_list("device", "alarm_type")
    )
    assert len(open_keys) == len(set(open_keys))
    for alarm in Alarm.objects.filter(state=AlarmState.CLEARED):
        assert alarm.first_at <= alarm.cleared_at and alarm.raised_at == alarm.first_at
    # Broken devices: offline for days with their offline alarm open, never simulated.
    broken = Device.objects.filter(status=DeviceStatus.OFFLINE)
    assert broken.exists()
    for device in broken:
        assert demo.is_broken(SEED, device.code)
        assert device.alarms.filter(alarm_type="offline", state__in=OPEN_ALARM_STATES).exists()
