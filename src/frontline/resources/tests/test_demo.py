"""The resources part of the demo, on the real district: the core's regions, units and people
(seeded once for the module, ≈ 5–10 s) and the resources steps on top, without the other
apps' steps, which the resources do not need. Removed at the end, like the core's demo test.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from frontline.core.crypto import keyed_digest
from frontline.core.demo import DemoDataExists, run_seed
from frontline.core.demo.framework import SCALES, DemoContext, generators, make_rngs
from frontline.core.models import Organization, OrganizationKind, Person, Region, RegionLevel
from frontline.core.services.validation import is_valid_id_number
from frontline.core.tests.test_demo import _last_ids, _remove_demo_data
from frontline.resources.models import (
    FOUR_DEPOTS,
    MOVEMENT_PREFIX,
    Depot,
    DepotKind,
    DutyShift,
    Equipment,
    EquipmentStatus,
    Evacuee,
    Expert,
    LedgerEntry,
    MemberCertificate,
    MovementKind,
    RescueTeam,
    ResourceEvent,
    Shelter,
    ShelterClass,
    ShelterStatus,
    StockLot,
    StockMinimum,
    StockMovement,
    StorageLocation,
    SupplyItem,
    TeamKind,
    TeamMember,
    TeamStatus,
    capacity_for_area,
)
from frontline.resources.services.stock import (
    Receipt,
    Take,
    issue_stock,
    on_hand,
    receive_stock,
    rederive_stock,
)

SEED = 2026
STEPS = ("core.", "resources.")
NUMBER = re.compile(r"^(RK|CK|DBD|TZ|PD)-(\d{6}|\d{9})-(\d{4})-(\d{5})$")

pytestmark = pytest.mark.django_db


def seed(scale: str = "district", seed: int = SEED) -> dict[str, float]:
    """run_seed with only the core's and the resources' steps; seconds per step."""
    seconds = {}
    state: dict = {}
    counts: Counter = Counter()
    with transaction.atomic():
        for step in generators():
            if not step.name.startswith(STEPS):
                continue
            rng, np_rng = make_rngs(seed, step.name)
            ctx = DemoContext(SCALES[scale], seed, rng, np_rng, state, counts)
            started = time.perf_counter()
            step.generate_fn(ctx)
            seconds[step.name] = time.perf_counter() - started
    seconds["counts"] = counts
    return seconds


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        before = _last_ids()
        result = seed()
    yield result
    with django_db_blocker.unblock():
        _remove_resources(before)
        _remove_demo_data(before)


def _remove_resources(before: dict) -> None:
    """The resources rows first, children before parents, each in one DELETE: the generic
    clean-up would walk Django's collector over every row of them."""
    models = [LedgerEntry, StockMovement, StockMinimum, StockLot, DutyShift, MemberCertificate,
              TeamMember, Equipment, Evacuee, ResourceEvent, Expert, RescueTeam, Shelter,
              StorageLocation, Depot]  # fmt: skip
    with transaction.atomic():
        for model in models:
            rows = model._base_manager.filter(pk__gt=before.get(model, 0))
            rows._raw_delete(rows.db)


def test_the_resources_steps_are_registered_in_order_and_fast(seeded):
    names = [step.name for step in generators() if step.name.startswith("resources.")]
    assert names == [
        "resources.depots",
        "resources.teams",
        "resources.equipment",
        "resources.shelters",
        "resources.stock",
    ]
    spent = sum(seconds for name, seconds in seeded.items() if name.startswith("resources."))
    print(
        "\nresources demo steps: "
        + ", ".join(f"{n} {s:.2f} s" for n, s in seeded.items() if n.startswith("resources."))
        + f"; total {spent:.2f} s"
    )
    # A few seconds on a quiet machine; generous here because the test machine is shared.
    assert spent < 60


def test_every_township_keeps_the_four_depots_and_the_county_its_own(seeded):
    townships = list(Region.objects.filter(level=RegionLevel.TOWNSHIP))
    assert len(townships) == 16
    kinds = defaultdict(set)
    for region_id, kind in Depot.objects.values_list("region_id", "kind"):
        kinds[region_id].add(kind)
    for township in townships:
        assert kinds[township.pk] == set(FOUR_DEPOTS), township.name
    county = Region.objects.get(code="330603")
    assert DepotKind.COMPREHENSIVE in kinds[county.pk]
    assert Depot.objects.get(name="柯桥区应急物资储备中心").kind == DepotKind.COMPREHENSIVE
    depots = list(Depot.objects.annotate(places=Count("locations")).select_related("keeper"))
    assert all(d.keeper is not None and d.places >= 2 for d in depots)
    stations = {o.region_id: o for o in Organization.objects.filter(kind=OrganizationKind.STATION)}
    for depot in depots:
        if depot.region_id in stations:  # beside the station: within 200 m
            station = stations[depot.region_id]
            assert abs(depot.lon - station.lon) < 0.0025 and abs(depot.lat - station.lat) < 0.002


def test_the_ledger_rederives_and_never_goes_negative(seeded):
    report = rederive_stock()
    assert report.lots > 1000 and report.mismatches == []
    assert not StockLot.objects.filter(quantity__lt=0).exists()
    assert not LedgerEntry.objects.filter(balance__lt=0).exists()
    running: dict[int, int] = defaultdict(int)
    entries = LedgerEntry.objects.order_by("pk").values_list("lot_id", "delta", "balance")
    for lot_id, delta, balance in entries.iterator(chunk_size=5000):
        running[lot_id] += delta
        assert running[lot_id] == balance, lot_id
    quantities = dict(StockLot.objects.values_list("pk", "quantity"))
    assert all(quantities[lot_id] == total for lot_id, total in running.items())


def test_a_year_of_every_kind_of_movement_numbered_in_sequence(seeded):
    now = timezone.now()
    span = StockMovement.objects.aggregate(first=Min("at"), last=Max("at"))
    assert now - timedelta(days=366) <= span["first"] and span["last"] < now
    kinds = Counter(StockMovement.objects.values_list("kind", flat=True))
    assert set(kinds) == set(MovementKind.values), kinds
    # Quarterly in every township depot (three when today is a quarter end before the count).
    assert kinds[MovementKind.STOCKTAKE] >= 3 * 16 * 4
    sequences: dict[str, list[int]] = defaultdict(list)
    for kind, number, region, at in StockMovement.objects.order_by("pk").values_list(
        "kind", "number", "depot__region__code", "at"
    ):
        match = NUMBER.match(number)
        assert match, number
        prefix, code, year, serial = match.groups()
        assert prefix == MOVEMENT_PREFIX[kind] and code == region
        assert int(year) == timezone.localtime(at).year
        sequences[number.rsplit("-", 1)[0]].append(int(serial))
    assert all(serials == list(range(1, len(serials) + 1)) for serials in sequences.values())
    assert not StockMovement.objects.annotate(n=Count("entries")).filter(n=0).exists()
    # Stocktakes found a few differences; each line records what was counted.
    takes = LedgerEntry.objects.filter(movement__kind=MovementKind.STOCKTAKE)
    assert not takes.filter(counted__isnull=True).exists()
    assert takes.exclude(delta=0).exists()
    assert LedgerEntry.objects.filter(movement__kind=MovementKind.TRANSFER).count() % 2 == 0


def test_issues_follow_the_services_rules(seeded):
    issues = LedgerEntry.objects.filter(movement__kind=MovementKind.ISSUE).select_related(
        "movement", "lot"
    )
    for entry in issues.filter(movement__expired_override=False).iterator(chunk_size=2000):
        expiry = entry.lot.expiry_date
        assert expiry is None or expiry >= timezone.localdate(entry.at), entry.movement.number
        assert entry.delta < 0
    purposes = Counter(StockMovement.objects.filter(kind="issue").values_list("purpose", flat=True))
    assert {"incident", "unit", "shelter", "drill", "scrap"} <= set(purposes), purposes
    for movement in StockMovement.objects.filter(kind="issue"):
        if movement.purpose == "incident":
            assert movement.incident_ref
        if movement.purpose == "unit":
            assert movement.recipient_id
        if movement.purpose == "shelter":
            assert movement.shelter_id
        if movement.expired_override:
            assert movement.reason


def test_some_lots_near_expiry_a_few_expired_and_a_few_depots_short(seeded):
    today = timezone.localdate()
    in_stock = StockLot.objects.filter(quantity__gt=0).select_related("item")
    near = [
        lot
        for lot in in_stock.filter(expiry_date__gte=today)
        if lot.expiry_date <= today + timedelta(days=lot.item.expiry_warning_days)
    ]
    expired = in_stock.filter(expiry_date__lt=today)
    assert len(near) >= 3 and 1 <= expired.count() <= len(near) * 3
    totals = {
        (row["depot_id"], row["item_id"]): row["total"]
        for row in StockLot.objects.values("depot_id", "item_id").annotate(total=Sum("quantity"))
    }
    short = 0
    for minimum in StockMinimum.objects.all():
        below = totals.get((minimum.depot_id, minimum.item_id), 0) < minimum.minimum
        assert below == (minimum.low_since is not None), minimum
        short += below
    assert 1 <= short <= StockMinimum.objects.count() // 4


def test_teams_of_every_kind_with_people_on_duty_now(seeded):
    teams = list(RescueTeam.objects.annotate(n=Count("members")))
    assert {t.kind for t in teams} == set(TeamKind.values)
    assert all(t.leader_id for t in teams)
    micro = [t for t in teams if t.kind == TeamKind.MICRO_FIRE_STATION]
    villages = Region.objects.filter(level=RegionLevel.VILLAGE).count()
    assert len(micro) >= villages * 0.6 and all(t.n >= 6 for t in micro)
    assert all(t.min_on_duty == 3 and t.response_minutes == 3 for t in micro)
    per_shift = Counter(
        DutyShift.objects.filter(team__kind=TeamKind.MICRO_FIRE_STATION).values_list(
            "team_id", "starts_at"
        )
    )
    assert min(per_shift.values()) >= 3
    on_now = set(DutyShift.objects.covering().values_list("team_id", flat=True))
    rostered = [t for t in teams if t.kind != TeamKind.EXPERT]
    assert all(t.pk in on_now for t in rostered)
    ahead = timezone.now() + timedelta(days=6)
    assert DutyShift.objects.covering(ahead).values("team_id").distinct().count() == len(rostered)
    statuses = Counter(t.status for t in teams)
    assert statuses[TeamStatus.AVAILABLE] > 0.9 * len(teams)
    assert statuses[TeamStatus.DEPLOYED] and statuses[TeamStatus.RESTING]
    assert TeamMember.objects.filter(certificates__isnull=False).exists()
    # New people (micro fire stations of the villages, volunteers) have encrypted mobiles.
    person = TeamMember.objects.filter(team__kind=TeamKind.VOLUNTEER).first().person
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile FROM core_person WHERE id = %s", [person.pk])
        (stored,) = cursor.fetchone()
    assert stored.startswith("v1:") and Person.objects.get(pk=person.pk).mobile.isdigit()


def test_equipment_has_a_home_plates_and_some_overdue(seeded):
    units = list(Equipment.objects.all())
    assert len(units) > 300
    assert all((u.team_id is None) != (u.depot_id is None) for u in units)
    plates = [u.plate_no for u in units if u.plate_no]
    assert plates and len(plates) == len(set(plates))
    today = timezone.localdate()
    overdue = sum(bool(u.overdue(today)) for u in units)
    assert 0.02 * len(units) < overdue < 0.3 * len(units)
    assert {u.status for u in units} == set(EquipmentStatus.values)


def test_shelters_of_every_class_with_consistent_occupancy(seeded):
    shelters = list(Shelter.objects.all())
    assert {s.shelter_class for s in shelters} == set(ShelterClass.values)
    overridden = [s for s in shelters if s.capacity_reason]
    assert len(overridden) == 1 and overridden[0].capacity > overridden[0].area_capacity
    assert all(
        s.capacity == capacity_for_area(s.usable_area_m2) for s in shelters if not s.capacity_reason
    )
    open_ = [s for s in shelters if s.status != ShelterStatus.CLOSED]
    assert 1 <= len(open_) <= 2
    for shelter in shelters:
        present = Evacuee.objects.filter(shelter=shelter).present().count()
        assert shelter.occupancy == present
    stays = list(Evacuee.objects.all())
    assert stays and all(is_valid_id_number(s.id_number) for s in stays)
    assert all(s.id_digest == keyed_digest(s.id_number) for s in stays)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, needs FROM resources_evacuee WHERE needs <> ''")
        stored = cursor.fetchall()
    assert stored and all(i.startswith("v1:") and n.startswith("v1:") for i, n in stored)
    assert all(s.checked_in_at >= s.shelter.opened_at for s in stays)
    assert any(s.checked_out_at for s in stays)
    # The open shelters got their first supplies from the township's relief depot.
    assert StockMovement.objects.filter(shelter__in=open_, purpose="shelter").exists()


def test_experts_across_fields(seeded):
    experts = list(Expert.objects.select_related("person"))
    assert 12 <= len(experts) <= 24
    assert len({e.field for e in experts}) >= 8
    assert all(e.person.mobile_tail and e.title and e.employer for e in experts)


def test_the_services_carry_on_where_the_demo_left(seeded):
    """The ledger's ids and numbers continue: a receipt and an issue booked by the station
    chief get the next numbers, and the stock still re-derives."""
    depot = Depot.objects.get(name="柯岩街道救灾物资库")
    chief = get_user_model().objects.get(username="chief")
    quilt = SupplyItem.objects.get(code="1020101")
    year = timezone.localtime().year
    prefix = f"RK-330603001-{year}-"
    last = StockMovement.objects.filter(number__startswith=prefix).order_by("-number").first()
    before = on_hand(depot, [quilt.pk]).get(quilt.pk, 0)

    received = receive_stock(
        actor=chief, depot=depot, lines=[Receipt(item=quilt, quantity=10)], supplier="测试"
    )
    issued = issue_stock(
        actor=chief,
        depot=depot,
        lines=[Take(quantity=before + 10, item=quilt)],
        purpose="incident",
        incident_ref="测试事件",
    )

    serial = int(last.number.rsplit("-", 1)[1]) if last else 0
    assert received.number == f"{prefix}{serial + 1:05d}"
    assert issued.number.startswith(f"CK-330603001-{year}-")
    assert on_hand(depot, [quilt.pk]).get(quilt.pk, 0) == 0
    assert rederive_stock(depot_ids=[depot.pk]).mismatches == []


def test_seeding_again_changes_nothing(seeded):
    before = (Depot.objects.count(), StockMovement.objects.count(), RescueTeam.objects.count())
    with pytest.raises(DemoDataExists):
        run_seed("district", SEED)
    after = (Depot.objects.count(), StockMovement.objects.count(), RescueTeam.objects.count())
    assert before == after
