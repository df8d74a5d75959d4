"""Shelters and evacuee registration, at the service level: the capacity rule with and
without a reason, opening and closing, the open ↔ full status that follows the occupancy,
check-in of a person and of a family, check-out, ID numbers, duplicate stays, and the last
place taken by exactly one of several registrars at once (threads, SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import OperationalError, connection

from frontline.community.testing import make_household, make_resident
from frontline.core.crypto import keyed_digest
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.roles import Role
from frontline.core.services.validation import id_check_digit
from frontline.core.testing import build_world, make_person, make_user
from frontline.resources.models import (
    Evacuee,
    ResourceEvent,
    Shelter,
    ShelterStatus,
    capacity_for_area,
)
from frontline.resources.services import evacuees as ev
from frontline.resources.services import shelters as services
from frontline.resources.services.events import timeline
from frontline.resources.testing import make_shelter


def id_number(body: str = "33060319800101001") -> str:
    """A valid GB 11643 number from its first 17 digits."""
    return body + id_check_digit(body)


def kinds(shelter) -> list[str]:
    return list(timeline(shelter).values_list("kind", flat=True))


def opened(world, area_m2=1500.0, **kw) -> Shelter:
    shelter = make_shelter(world.township, area_m2=area_m2, **kw)
    return services.open_shelter(actor=world.same, shelter=shelter)


def new_shelter(world, **kw):
    fields = {
        "region": world.township,
        "name": "柯岩中学避难场所",
        "shelter_class": "III",
        "level": "township",
        "lon": 120.401,
        "lat": 30.001,
        "usable_area_m2": 1500,
    }
    fields.update(kw)
    return services.create_shelter(actor=world.same, **fields)


# --- the capacity rule ------------------------------------------------------------------------


def test_capacity_comes_from_the_area_when_not_given(world):
    shelter = new_shelter(world, facilities=["power", "water", "water"])
    assert shelter.capacity == capacity_for_area(1500) == 1000
    assert shelter.status == ShelterStatus.CLOSED and shelter.occupancy == 0
    assert shelter.facilities == "water,power"  # known codes, fixed order, no repeats
    assert kinds(shelter) == ["created"]


def test_a_capacity_above_the_area_rule_needs_a_reason(world):
    with pytest.raises(InvalidInput) as refused:
        new_shelter(world, usable_area_m2=150, capacity=120)
    assert refused.value.status == 422
    assert "面积标准" in refused.value.details["capacity"]
    assert "100" in refused.value.details["capacity"]  # what the area holds
    assert not Shelter.objects.exists()

    shelter = new_shelter(
        world, usable_area_m2=150, capacity=120, capacity_reason="双层床铺，经县应急局核准"
    )
    assert (shelter.capacity, shelter.capacity_reason) == (120, "双层床铺，经县应急局核准")
    override = ResourceEvent.objects.get(kind="capacity_override", object_id=shelter.pk)
    assert override.note == "双层床铺，经县应急局核准"
    assert override.data["area_capacity"] == 100 and override.data["capacity"] == 120


def test_a_capacity_within_the_rule_keeps_no_reason(world):
    shelter = new_shelter(world, usable_area_m2=150, capacity=80, capacity_reason="无需理由")
    assert (shelter.capacity, shelter.capacity_reason) == (80, "")
    assert "capacity_override" not in kinds(shelter)


def test_bad_shelter_input_is_refused_field_by_field(world):
    with pytest.raises(InvalidInput) as refused:
        new_shelter(world, name="", shelter_class="IV", usable_area_m2=0, lon=None, lat=None)
    assert set(refused.value.details) >= {"name", "shelter_class", "usable_area_m2", "lon"}
    new_shelter(world)
    with pytest.raises(InvalidInput) as twice:
        new_shelter(world)
    assert "同名" in twice.value.details["name"]


def test_the_manager_comes_from_the_shelter_branch(world):
    local = make_person(world.village)
    elsewhere = make_person(world.sibling_township)
    shelter = new_shelter(world, manager=local)
    assert shelter.manager == local
    with pytest.raises(InvalidInput) as refused:
        services.update_shelter(actor=world.same, shelter=shelter, manager=elsewhere)
    assert "manager" in refused.value.details


def test_update_rederives_the_capacity_and_refuses_less_than_the_people_inside(world):
    shelter = opened(world, area_m2=15.0)  # 10 places
    ev.check_in(
        actor=world.same, shelter=shelter, people=[ev.Arrival(name=f"人{i}") for i in range(6)]
    )
    with pytest.raises(InvalidInput) as refused:
        services.update_shelter(actor=world.same, shelter=shelter, capacity=5)
    assert "当前安置人数 6" in refused.value.details["capacity"]
    shelter = services.update_shelter(actor=world.same, shelter=shelter, usable_area_m2=9.0)
    assert (shelter.capacity, shelter.status) == (6, ShelterStatus.FULL)  # the area rule: 6
    shelter = services.update_shelter(actor=world.same, shelter=shelter, usable_area_m2=30.0)
    assert (shelter.capacity, shelter.status) == (20, ShelterStatus.OPEN)
    assert kinds(shelter)[-4:] == ["updated", "full", "updated", "reopened"]


def test_only_resource_managers_write_shelters(world):
    leader = make_user(Role.LEADER, world.township)
    with pytest.raises(PermissionDenied):
        services.create_shelter(
            actor=world.grid_worker,
            region=world.grid,
            name="网格员不能建",
            shelter_class="III",
            level="village",
            lon=120.4,
            lat=30.0,
            usable_area_m2=100,
        )
    shelter = make_shelter(world.township)
    for user in (leader, world.grid_worker, world.sibling):
        with pytest.raises(PermissionDenied):
            services.open_shelter(actor=user, shelter=shelter)


# --- open, close, full ------------------------------------------------------------------------


def test_open_and_close_are_events_and_closing_with_people_inside_is_refused(world):
    shelter = make_shelter(world.township, area_m2=150.0)
    services.open_shelter(actor=world.same, shelter=shelter, note="台风转移")
    with pytest.raises(DomainError) as twice:
        services.open_shelter(actor=world.same, shelter=shelter)
    assert twice.value.status == 409
    stays = ev.check_in(actor=world.same, shelter=shelter, people=[ev.Arrival(name="张三")])
    with pytest.raises(DomainError) as refused:
        services.close_shelter(actor=world.same, shelter=shelter)
    assert refused.value.status == 409 and refused.value.code == "shelter_not_empty"
    assert Shelter.objects.get(pk=shelter.pk).status == ShelterStatus.OPEN
    ev.check_out(actor=world.same, evacuees=stays, destination="返家")
    shelter = services.close_shelter(actor=world.same, shelter=shelter, note="解除转移")
    assert shelter.status == ShelterStatus.CLOSED
    assert kinds(shelter) == ["opened", "check_in", "check_out", "closed"]
    events = {e.kind: e for e in timeline(shelter)}
    assert (events["opened"].from_state, events["opened"].to_state) == ("closed", "open")
    assert events["opened"].note == "台风转移"
    assert events["closed"].actor == world.same


def test_status_turns_full_at_capacity_and_open_when_a_place_frees(world):
    shelter = opened(world, area_m2=4.5)  # 3 places
    family = ev.check_in(
        actor=world.same,
        shelter=shelter,
        people=[ev.Arrival(name="王大"), ev.Arrival(name="王二")],
    )
    assert Shelter.objects.get(pk=shelter.pk).status == ShelterStatus.OPEN
    last = ev.check_in(actor=world.same, shelter=shelter, people=[ev.Arrival(name="李四")])
    shelter.refresh_from_db()
    assert (shelter.occupancy, shelter.status) == (3, ShelterStatus.FULL)
    with pytest.raises(ev.ShelterFull) as full:
        ev.check_in(actor=world.same, shelter=shelter, people=[ev.Arrival(name="赵五")])
    assert full.value.status == 409 and full.value.details["free"] == 0
    ev.check_out(actor=world.same, evacuees=last, destination="投亲")
    shelter.refresh_from_db()
    assert (shelter.occupancy, shelter.status) == (2, ShelterStatus.OPEN)
    # A family of two does not fit in one place: all or none.
    with pytest.raises(ev.ShelterFull):
        ev.check_in(
            actor=world.same,
            shelter=shelter,
            people=[ev.Arrival(name="钱一"), ev.Arrival(name="钱二")],
        )
    assert Evacuee.objects.filter(shelter=shelter).count() == 3
    assert [k for k in kinds(shelter) if k in {"full", "reopened"}] == ["full", "reopened"]
    assert family[0].group_no == family[1].group_no != last[0].group_no


def test_no_check_in_into_a_closed_shelter(world):
    shelter = make_shelter(world.township)
    with pytest.raises(DomainError) as refused:
        ev.check_in(actor=world.same, shelter=shelter, people=[ev.Arrival(name="张三")])
    assert refused.value.status == 409 and refused.value.code == "shelter_closed"
    assert Shelter.objects.get(pk=shelter.pk).occupancy == 0


# --- check-in and check-out --------------------------------------------------------------------


def test_a_family_checks_in_with_one_group_number_and_facts_from_the_id(world):
    shelter = opened(world)
    father = id_number("33060319800101001")  # born 1980-01-01, 17th digit odd: male
    daughter = id_number("33060320200601002")  # born 2020-06-01, even: female
    stays = ev.check_in(
        actor=world.same,
        shelter=shelter,
        household_head="",
        home_address="州山村5组12号",
        people=[
            ev.Arrival(name="陈建国", id_number=father, phone="13812345678"),
            ev.Arrival(name="陈小雨", id_number=daughter, needs=["child", "diet"], bed_no="A-3"),
            ev.Arrival(name="陈奶奶", age=82, gender="female", needs=["medication", "elderly"]),
        ],
    )
    assert len(stays) == 3 and len({s.group_no for s in stays}) == 1
    assert {s.household_head for s in stays} == {"陈建国"}
    assert {s.home_address for s in stays} == {"州山村5组12号"}
    by_name = {s.name: s for s in Evacuee.objects.filter(shelter=shelter)}
    assert by_name["陈建国"].gender == "male" and by_name["陈建国"].age >= 45
    assert by_name["陈小雨"].gender == "female" and by_name["陈小雨"].needs == "child,diet"
    assert by_name["陈奶奶"].needs == "elderly,medication"
    assert by_name["陈建国"].checked_in_by == world.same
    shelter.refresh_from_db()
    assert shelter.occupancy == 3
    summary = services.needs_summary(shelter)
    assert summary["total"] == 3 and summary["elderly"] == 1 and summary["child"] == 1
    assert summary["medication"] == 1 and summary["disabled"] == 0
    event = ResourceEvent.objects.get(object_id=shelter.pk, kind="check_in")
    assert event.data["count"] == 3 and "陈" not in str(event.data) and "陈" not in event.note


def test_a_bad_id_number_is_refused_on_its_field(world):
    shelter = opened(world)
    wrong = id_number()[:-1] + ("0" if id_number()[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as refused:
        ev.check_in(
            actor=world.same,
            shelter=shelter,
            people=[ev.Arrival(name="甲"), ev.Arrival(name="乙", id_number=wrong)],
        )
    assert refused.value.status == 422
    assert "校验位" in refused.value.details["people.1.id_number"]
    assert Shelter.objects.get(pk=shelter.pk).occupancy == 0 and not Evacuee.objects.exists()
    with pytest.raises(InvalidInput) as empty:
        ev.check_in(actor=world.same, shelter=shelter, people=[ev.Arrival(name="")])
    assert "people.0.name" in empty.value.details
    with pytest.raises(InvalidInput) as twice:
        ev.check_in(
            actor=world.same,
            shelter=shelter,
            people=[
                ev.Arrival(name="甲", id_number=id_number()),
                ev.Arrival(name="乙", id_number=id_number()),
            ],
        )
    assert "第 1 人" in twice.value.details["people.1.id_number"]


def test_a_second_open_stay_of_the_same_id_number_is_refused_anywhere_in_the_county(world):
    here = opened(world, name="州山小学")
    there = make_shelter(world.sibling_township, name="安昌中学")
    services.open_shelter(actor=world.parent, shelter=there)
    number = id_number()
    first = ev.check_in(
        actor=world.same, shelter=here, people=[ev.Arrival(name="张三", id_number=number)]
    )
    with pytest.raises(DomainError) as same_place:
        ev.check_in(
            actor=world.same, shelter=here, people=[ev.Arrival(name="张三", id_number=number)]
        )
    assert same_place.value.status == 409 and "本场所" in same_place.value.message
    with pytest.raises(DomainError) as elsewhere:
        ev.check_in(
            actor=world.sibling, shelter=there, people=[ev.Arrival(name="张三", id_number=number)]
        )
    assert elsewhere.value.code == "already_registered"
    # The sibling township does not see 州山小学: the message does not name it.
    assert "州山小学" not in str(elsewhere.value.message)
    assert "people.0.id_number" in elsewhere.value.details
    # Moved, not duplicated: out of one, into the other.
    ev.check_out(actor=world.same, evacuees=first, destination="转往安昌中学")
    moved = ev.check_in(
        actor=world.sibling, shelter=there, people=[ev.Arrival(name="张三", id_number=number)]
    )
    assert moved[0].shelter == there
    assert Shelter.objects.get(pk=here.pk).occupancy == 0


def test_a_resident_of_the_roll_is_linked_by_id_number_and_fills_the_blanks(world):
    shelter = opened(world)
    household = make_household(world.grid, address="州山村8号")
    number = id_number("33060319500305002")
    resident = make_resident(
        household,
        name="周桂英",
        id_number=number,
        id_digest=keyed_digest(number),
        phone="13900001111",
    )
    stays = ev.check_in(
        actor=world.same, shelter=shelter, people=[ev.Arrival(name="周桂英", id_number=number)]
    )
    assert stays[0].resident == resident
    by_record = ev.check_in(
        actor=world.same,
        shelter=opened(world, name="第二场所"),
        people=[ev.Arrival(resident=make_resident(household, name="周大山"))],
    )
    assert by_record[0].name == "周大山" and by_record[0].home_address == "州山村8号"
    with pytest.raises(InvalidInput) as outside:
        ev.check_in(
            actor=world.sibling,
            shelter=make_shelter(world.sibling_township, status="open"),
            people=[ev.Arrival(resident=resident)],
        )
    assert "people.0.resident" in outside.value.details


def test_check_out_records_time_and_destination_once(world):
    shelter = opened(world)
    stays = ev.check_in(
        actor=world.same,
        shelter=shelter,
        people=[ev.Arrival(name="甲"), ev.Arrival(name="乙"), ev.Arrival(name="丙")],
    )
    done = ev.check_out(actor=world.same, evacuees=stays[:2], destination="返家")
    assert all(s.checked_out_at and s.destination == "返家" for s in done)
    assert Shelter.objects.get(pk=shelter.pk).occupancy == 1
    with pytest.raises(DomainError) as twice:
        ev.check_out(actor=world.same, evacuees=stays[:1])
    assert twice.value.status == 409
    assert Shelter.objects.get(pk=shelter.pk).occupancy == 1
    leader = make_user(Role.LEADER, world.township)
    with pytest.raises(PermissionDenied):
        ev.check_out(actor=leader, evacuees=stays[2:])


def test_grid_workers_register_leaders_do_not(world):
    township_worker = make_user(Role.GRID_WORKER, world.township)
    leader = make_user(Role.LEADER, world.township)
    shelter = opened(world)
    ev.check_in(actor=township_worker, shelter=shelter, people=[ev.Arrival(name="甲")])
    village_shelter = make_shelter(world.grid, name="网格内场所", status=ShelterStatus.OPEN)
    ev.check_in(actor=world.grid_worker, shelter=village_shelter, people=[ev.Arrival(name="乙")])
    for user in (leader, world.sibling, world.grid_worker):
        with pytest.raises(PermissionDenied):
            ev.check_in(actor=user, shelter=shelter, people=[ev.Arrival(name="丙")])


def test_facts_from_an_id_number():
    assert ev.facts_from_id(id_number("33060319800101001"), date(2026, 1, 1)) == (46, "male")
    assert ev.facts_from_id(id_number("33060319800102002"), date(2026, 1, 1)) == (45, "female")


# --- the last place, taken at once by several registrars -----------------------------------------


def _retrying(work):
    """Run `work`; the test database of SQLite is in memory with a shared cache, where a
    second writer is told "table is locked" at once instead of waiting the busy timeout as
    the file database of production does: wait like that timeout would."""
    for _attempt in range(1000):
        try:
            return work()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.005)
    raise AssertionError("the database stayed locked")


def test_concurrent_check_ins_into_the_last_place_exactly_one_succeeds(transactional_db):
    world = build_world()
    shelter = make_shelter(world.township, area_m2=4.5)  # 3 places
    services.open_shelter(actor=world.same, shelter=shelter)
    ev.check_in(
        actor=world.same, shelter=shelter, people=[ev.Arrival(name="甲"), ev.Arrival(name="乙")]
    )
    stale = Shelter.objects.get(pk=shelter.pk)  # every thread starts from the same snapshot
    workers = 6
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []

    def register(n: int) -> None:
        try:
            barrier.wait()
            _retrying(
                lambda: ev.check_in(
                    actor=world.same, shelter=stale, people=[ev.Arrival(name=f"后到{n}")]
                )
            )
            outcomes.append("ok")
        except ev.ShelterFull:
            outcomes.append("full")
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full"] * (workers - 1) + ["ok"], outcomes
    shelter.refresh_from_db()
    assert (shelter.occupancy, shelter.status) == (3, ShelterStatus.FULL)
    assert Evacuee.objects.filter(shelter=shelter, checked_out_at__isnull=True).count() == 3
    assert [k for k in kinds(shelter) if k == "full"] == ["full"]


def test_concurrent_check_ins_of_the_same_id_number_register_one_stay(transactional_db):
    world = build_world()
    first = make_shelter(world.township, name="甲场所", status=ShelterStatus.OPEN)
    second = make_shelter(world.township, name="乙场所", status=ShelterStatus.OPEN)
    number = id_number()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def register(shelter) -> None:
        try:
            barrier.wait()
            _retrying(
                lambda: ev.check_in(
                    actor=world.same,
                    shelter=shelter,
                    people=[ev.Arrival(name="张三", id_number=number)],
                )
            )
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_registered", "ok"], outcomes
    assert Evacuee.objects.count() == 1
    assert sum(Shelter.objects.values_list("occupancy", flat=True)) == 1
