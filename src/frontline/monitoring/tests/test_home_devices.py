"""Devices in homes: bound to a building and a household, and an alarm there reaches the
one-to-one helpers (包保责任人) of the vulnerable people who live in it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from frontline.community.models import VulnerableCategory
from frontline.community.testing import make_building, make_household, make_resident
from frontline.core.errors import InvalidInput
from frontline.core.models import Channel, Notification
from frontline.core.testing import make_person
from frontline.monitoring.models import Alarm
from frontline.monitoring.readings import Reading
from frontline.monitoring.services.devices import forget_devices_now
from frontline.monitoring.services.ingest import ingest_readings
from frontline.monitoring.testing import make_device


@pytest.fixture
def home(world):
    building = make_building(world.grid)
    household = make_household(world.grid, building=building, address="3单元502室")
    return building, household


def test_a_household_brings_its_building_and_must_agree_with_it(world, home):
    building, household = home
    device, _token = make_device(world.grid, kind="smoke", household=household)
    assert (device.building, device.household) == (building, household)
    with pytest.raises(InvalidInput) as refused:
        make_device(
            world.grid, kind="smoke", household=household, building=make_building(world.grid)
        )
    assert "building" in refused.value.details


def test_a_home_out_of_the_devices_branch_is_refused(world, home):
    _building, household = home
    with pytest.raises(InvalidInput) as refused:
        make_device(world.sibling_township, kind="smoke", household=household)
    assert refused.value.details["household"] == "与设备不在同一区划"


def test_api_registers_a_home_device_and_refuses_a_household_out_of_scope(world, home):
    building, household = home
    client = world.client_for(world.same)
    payload = {"code": "smoke-home-1", "name": "烟感", "kind": "smoke",
               "region_code": world.grid.code, "household_id": household.pk}  # fmt: skip
    created = client.post("/api/v1/devices", payload, content_type="application/json")
    assert created.status_code == 201, created.content
    device = created.json()["device"]
    assert (device["building_id"], device["building_name"]) == (building.pk, building.name)
    assert device["household_id"] == household.pk
    sibling = world.client_for(world.sibling)
    payload = {**payload, "code": "smoke-home-2", "region_code": world.sibling_township.code}
    refused = sibling.post("/api/v1/devices", payload, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["details"]["household_id"] == "不存在或不在您的管辖范围内"


def test_a_smoke_alarm_at_home_tells_the_helpers_by_platform_and_sms(world, home):
    _building, household = home
    helper = world.grid_worker.person
    helper.mobile = "13800001111"
    helper.save()
    backup = make_person(world.grid, name="邻居王", mobile="13900002222")
    make_resident(household, categories=[VulnerableCategory.ELDERLY_ALONE], helper=helper,
                  backup_helper=backup)  # fmt: skip
    make_resident(household, name="不需关注的家人")
    device, _token = make_device(world.grid, kind="smoke", code="smoke-home", household=household,
                                 location="3单元502室厨房")  # fmt: skip
    forget_devices_now()
    ingest_readings([Reading(device.code, "smoke", 1, timezone.now())], source="test")
    alarm = Alarm.objects.get(device=device)
    told = Notification.objects.filter(kind="alarm_helper", related_id=str(alarm.pk))
    assert set(told.filter(channel=Channel.IN_APP).values_list("recipient", flat=True)) == {
        world.grid_worker.pk
    }
    sms = {n.address for n in told.filter(channel=Channel.SMS)}
    assert sms == {"13800001111", "13900002222"}
    assert "3单元502室厨房" in told.first().body


def test_a_device_without_a_household_tells_no_helper(world, home):
    make_device(world.grid, kind="smoke", code="smoke-street")
    forget_devices_now()
    ingest_readings([Reading("smoke-street", "smoke", 1, timezone.now())], source="test")
    assert Alarm.objects.filter(device__code="smoke-street").exists()
    assert not Notification.objects.filter(kind="alarm_helper").exists()
