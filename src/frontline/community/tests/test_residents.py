"""Households, residents and home visits: the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from frontline.community.models import Gender, HouseholdVisit, Mobility, Resident
from frontline.community.services.households import (
    create_household,
    record_visit,
    update_household,
    visible_households,
    visible_residents,
)
from frontline.community.services.residents import (
    create_resident,
    move_resident,
    remove_resident,
    update_resident,
)
from frontline.community.testing import make_building, make_household, make_resident
from frontline.core.crypto import keyed_digest
from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.models import RegionLevel
from frontline.core.roles import Role
from frontline.core.services.validation import _ID_CHECK, _ID_WEIGHTS
from frontline.core.testing import make_person, make_region, make_user


def id_number(body: str = "33060319400101123") -> str:
    """A valid GB 11643 number for 17 digits (the check character computed)."""
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def test_a_household_is_created_on_a_grid_with_its_home_risks(world):
    building = make_building(world.grid)
    leader = make_person(world.grid, name="十户长甲")

    household = create_household(
        actor=world.same,
        region=world.grid,
        address="3单元502",
        building=building,
        group_leader=leader,
        low_lying=True,
    )

    assert household.home_risks == ["low_lying"]
    assert (household.lon, household.lat) == (building.lon, building.lat)
    assert visible_households(world.grid_worker).filter(pk=household.pk).exists()


def test_a_door_address_is_unique_per_grid(world):
    create_household(actor=world.same, region=world.grid, address="州山路1号")

    with pytest.raises(InvalidInput) as error:
        create_household(actor=world.same, region=world.grid, address="州山路1号")

    assert error.value.details == {"address": "本网格已有相同门牌地址的住户"}


def test_a_household_needs_a_grid_a_local_leader_and_a_building_of_its_grid(world):
    other_grid = make_region("330603002001001", RegionLevel.GRID, name="别处网格")
    with pytest.raises(InvalidInput) as error:
        create_household(
            actor=world.parent,
            region=world.village,
            address="x",
            group_leader=make_person(world.sibling_township),
            building=make_building(other_grid),
        )

    assert set(error.value.details) == {"region", "group_leader", "building"}


def test_a_leader_or_a_liaison_may_not_register_households(world):
    for role in (Role.LEADER, Role.LIAISON):
        user = make_user(role, world.township)
        with pytest.raises(PermissionDenied):
            create_household(actor=user, region=world.grid, address=f"{role}号")


def test_update_household_changes_flags_and_refuses_other_fields(world):
    household = make_household(world.grid)

    update_household(actor=world.same, household=household, dilapidated=True, notes="老房")

    household.refresh_from_db()
    assert household.home_risks == ["dilapidated"]
    with pytest.raises(InvalidInput):
        update_household(actor=world.same, household=household, region=world.village)


def test_birth_year_and_gender_follow_from_the_id_number(world):
    household = make_household(world.grid)

    resident = create_resident(
        actor=world.same,
        household=household,
        name="张三",
        id_number=id_number("33060319400101123"),
        phone="138 1234 5678",
        categories=["elderly_alone", "独居老人", "残疾人"],
        mobility=Mobility.NEEDS_HELP,
    )

    resident.refresh_from_db()
    assert resident.birth_year == 1940
    assert resident.gender == Gender.MALE  # 17th digit 3 is odd
    assert resident.phone_tail == "5678"
    assert resident.category_list == ["elderly_alone", "disabled"]
    assert resident.is_vulnerable
    assert resident.id_digest == keyed_digest(resident.id_number)


def test_bad_input_is_reported_field_by_field_and_nothing_is_written(world):
    household = make_household(world.grid)
    helper = make_person(world.grid)

    with pytest.raises(InvalidInput) as error:
        create_resident(
            actor=world.same,
            household=household,
            name="",
            id_number="330603194001011230",
            phone="abc",
            categories="独居老人、外星人",
            mobility="flies",
            helper=helper,
            backup_helper=helper,
        )

    assert error.value.details == {
        "name": "此字段为必填项",
        "id_number": "应为 18 位身份证号码且校验位正确",
        "phone": "电话号码格式不正确，如 0575-84123456",
        "categories": "未知的重点人群类别：外星人",
        "mobility": "请选择",
        "backup_helper": "备用包保人不能与包保责任人相同",
    }
    assert not Resident.objects.exists()


def test_an_id_number_contradicting_the_given_gender_is_refused(world):
    with pytest.raises(InvalidInput) as error:
        create_resident(
            actor=world.same,
            household=make_household(world.grid),
            name="李四",
            id_number=id_number("33060319400101123"),
            gender=Gender.FEMALE,
            birth_year=1950,
        )

    assert set(error.value.details) == {"gender", "birth_year"}


def test_the_same_id_number_is_registered_once(world):
    number = id_number("33060319400101123")
    create_resident(
        actor=world.same, household=make_household(world.grid), name="张三", id_number=number
    )

    with pytest.raises(InvalidInput) as error:
        create_resident(
            actor=world.same,
            household=make_household(world.grid),
            name="张三",
            id_number=number.lower() if number[-1] == "X" else " " + number,
        )

    assert error.value.details == {"id_number": "该身份证号已登记（同一人不能重复登记）"}


def test_a_helper_must_be_local(world):
    with pytest.raises(InvalidInput) as error:
        create_resident(
            actor=world.same,
            household=make_household(world.grid),
            name="王五",
            helper=make_person(world.sibling_township),
        )

    assert error.value.details == {"helper": "人员不在本住户所在村社区或其上级区划"}


def test_protected_fields_are_encrypted_in_the_table(world):
    number = id_number("33060319400101123")
    resident = create_resident(
        actor=world.same,
        household=make_household(world.grid),
        name="张三",
        id_number=number,
        phone="13812345678",
        categories=["bedridden"],
        health_notes="糖尿病，需胰岛素",
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, phone, categories, health_notes, id_digest "
            "FROM community_resident WHERE id = %s",
            [resident.pk],
        )
        raw = cursor.fetchone()

    stored = " ".join(raw)
    for clear in (number, "13812345678", "bedridden", "糖尿病"):
        assert clear not in stored
    assert all(value.startswith("v1:") for value in raw[:4])
    assert number not in raw[4] and len(raw[4]) == 64


def test_update_move_and_remove_a_resident(world):
    household = make_household(world.grid)
    other = make_household(world.grid)
    resident = make_resident(household, name="赵六", helper=make_person(world.grid))

    update_resident(actor=world.same, resident=resident, categories="孕产妇", phone="")
    resident.refresh_from_db()
    assert resident.category_list == ["pregnant"] and resident.is_vulnerable

    update_resident(actor=world.same, resident=resident, categories=[])
    resident.refresh_from_db()
    assert not resident.is_vulnerable

    move_resident(actor=world.same, resident=resident, household=other)
    resident.refresh_from_db()
    assert resident.household_id == other.pk and resident.helper is not None

    remove_resident(actor=world.same, resident=resident)
    assert not Resident.objects.filter(pk=resident.pk).exists()


def test_a_visit_dates_the_residents_it_concerns(world):
    household = make_household(world.grid)
    first = make_resident(household)
    second = make_resident(household)
    earlier = timezone.now() - timedelta(days=3)

    record_visit(actor=world.grid_worker, household=household, resident=first, note="安全")
    record_visit(actor=world.grid_worker, household=household, at=earlier)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.last_visited_at > earlier  # a late entry never moves the date back
    assert second.last_visited_at == earlier
    assert HouseholdVisit.objects.filter(household=household).count() == 2


def test_a_visit_in_the_future_or_of_another_household_is_refused(world):
    household = make_household(world.grid)
    stranger = make_resident(make_household(world.grid))

    with pytest.raises(InvalidInput) as error:
        record_visit(
            actor=world.grid_worker,
            household=household,
            resident=stranger,
            at=timezone.now() + timedelta(days=1),
        )

    assert set(error.value.details) == {"at", "resident"}
    assert not HouseholdVisit.objects.exists()


def test_the_roll_is_read_only_where_the_user_holds_view_residents(world):
    resident = make_resident(make_household(world.grid))
    allowed = {"same": True, "parent": True, "sibling": False, "outsider": False}
    for persona, user in world.personas().items():
        assert visible_residents(user).filter(pk=resident.pk).exists() == allowed[persona]
    assert visible_residents(world.grid_worker).filter(pk=resident.pk).exists()
    for role in (Role.LEADER, Role.LIAISON, Role.ENTERPRISE_OFFICER):
        user = make_user(role, world.township)
        assert not visible_residents(user).exists()
        assert not visible_households(user).exists()
