"""The nearby search: the index against a brute-force answer on random data, the rebuild when a
team moves or changes status, the database confirmation, scope, and the supplies search."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.core.errors import InvalidInput
from frontline.resources.models import (
    Capability,
    EquipmentStatus,
    RescueTeam,
    StockLot,
    TeamStatus,
    capability_bits,
    pack_capabilities,
)
from frontline.resources.services import search as services
from frontline.resources.services import search_index
from frontline.resources.services.search_index import UnitIndex, haversine_km
from frontline.resources.testing import make_depot, make_equipment, make_item, make_team

CAPS = Capability.values
# The world's township lies in [120.40, 120.50] × [30.00, 30.10]; the sibling east of it.
HERE = (120.42, 30.02)


@pytest.fixture(autouse=True)
def _fresh_index():
    search_index.forget_indexes()
    yield
    search_index.forget_indexes()


def point(lon=HERE[0], lat=HERE[1], radius_km=10.0):
    return services.clean_point(lon, lat, radius_km)


def names(answer) -> list[str]:
    return [row.name for row in answer.results]


# --- the index on random data ---------------------------------------------------------------


def random_index(rng: random.Random, n: int) -> UnitIndex:
    """n units over a county-sized area (≈ 60 × 60 km) in 12 regions of two townships."""
    paths = [f"33/3306/330603/33060300{t}/33060300{t}00{v}/" for t in (1, 2) for v in range(6)]
    caps = [
        capability_bits(pack_capabilities(rng.sample(CAPS, rng.randint(0, 4)))) for _ in range(n)
    ]
    return UnitIndex(
        kind="team",
        ids=np.arange(1, n + 1, dtype=np.int64),
        lon=np.array([rng.uniform(120.1, 120.7) for _ in range(n)]),
        lat=np.array([rng.uniform(29.8, 30.35) for _ in range(n)]),
        caps=np.array(caps, dtype=np.int64),
        available=np.array([rng.random() < 0.7 for _ in range(n)]),
        region_slot=np.array([rng.randrange(len(paths)) for _ in range(n)], dtype=np.int64),
        paths=paths,
        fingerprint=(n, None),
    )


def brute_force(index: UnitIndex, lon, lat, radius_km, bits, scope, want) -> list[int]:
    found = []
    for i in range(len(index)):
        if not index.available[i] or (int(index.caps[i]) & bits) != bits:
            continue
        path = index.paths[index.region_slot[i]]
        if scope is not None and not any(path.startswith(p) for p in scope):
            continue
        distance = haversine_km(lon, lat, index.lon[i], index.lat[i])
        if distance <= radius_km:
            found.append((distance, int(index.ids[i])))
    return [pk for _d, pk in sorted(found)[:want]]


@pytest.mark.parametrize("brute_force_max", [search_index.BRUTE_FORCE_MAX, 0])
def test_index_agrees_with_brute_force_on_random_data(monkeypatch, brute_force_max):
    # 0 sends every query down the tree walk with a growing k; the default scans small sets.
    monkeypatch.setattr(search_index, "BRUTE_FORCE_MAX", brute_force_max)
    rng = random.Random(7)
    index = random_index(rng, 3000)
    scopes = [
        None,
        ["33/3306/330603/"],
        ["33/3306/330603/330603001/"],
        ["33/3306/330603/3306030020/"],
    ]
    scopes.append(["33/3306/330603/330603002/33060300200"])  # a village prefix
    for _case in range(300):
        lon, lat = rng.uniform(120.0, 120.8), rng.uniform(29.7, 30.4)
        radius = rng.choice([0.5, 2, 5, 10, 30, 100])
        bits = capability_bits(pack_capabilities(rng.sample(CAPS, rng.choice([0, 1, 1, 2]))))
        scope = rng.choice(scopes)
        want = rng.choice([1, 5, 10, 40])
        got = index.nearest(lon, lat, radius, bits=bits, paths=scope, want=want)
        expected = brute_force(index, lon, lat, radius, bits, scope, want)
        assert [int(index.ids[p]) for p, _c in got] == expected, (lon, lat, radius, bits, scope)
        # The chord the index reports is the same distance the haversine gives.
        for position, chord in got:
            km = float(search_index.km_for_chord(chord))
            exact = haversine_km(lon, lat, index.lon[position], index.lat[position])
            assert math.isclose(km, exact, abs_tol=1e-6)


def test_empty_index_and_nothing_eligible(db):
    empty = search_index.build_index("team")
    assert len(empty) == 0 and empty.nearest(*HERE, 10) == []
    rng = random.Random(1)
    index = random_index(rng, 50)
    assert index.nearest(*HERE, 10, paths=[]) == []
    assert index.nearest(*HERE, 10, want=0) == []


# --- teams and equipment from the database --------------------------------------------------


def test_nearest_available_teams_with_the_capability(world):
    township = world.township
    near = make_team(township, capabilities=["water_rescue"], lon=120.43, lat=30.02, name="近")
    far = make_team(township, capabilities=["water_rescue", "hazmat"], lon=120.48, lat=30.02)
    make_team(township, capabilities=["hazmat"], lon=120.421, lat=30.02, name="无此能力")
    make_team(
        township, capabilities=["water_rescue"], lon=120.422, lat=30.02, status=TeamStatus.DEPLOYED
    )
    make_team(township, capabilities=["water_rescue"], lon=120.42, lat=30.30, name="太远")

    answer = services.nearby_units(
        user=world.same, point=point(), kind="team", capability="water_rescue"
    )
    assert [row.id for row in answer.results] == [near.pk, far.pk]
    first = answer.results[0]
    assert first.distance_km == pytest.approx(haversine_km(*HERE, 120.43, 30.02), abs=1e-3)
    assert first.direction == "东" and 85 < first.bearing_deg < 95
    assert first.url == f"/teams/{near.pk}/" or first.url.endswith(f"/{near.pk}/")
    assert first.capabilities == ["water_rescue"] and first.ready_now == 0

    limited = services.nearby_units(
        user=world.same, point=point(), kind="team", capability="water_rescue", limit=1
    )
    assert [row.id for row in limited.results] == [near.pk]
    anything = services.nearby_units(user=world.same, point=point(), kind="team")
    assert len(anything.results) == 3  # the deployed and the far one are left out


def test_equipment_search_and_answer_costs_three_queries(world):
    engine = make_equipment(
        world.township, capabilities=["firefighting"], lon=120.425, lat=30.021, name="水罐车"
    )
    make_equipment(
        world.township,
        capabilities=["firefighting"],
        lon=120.424,
        lat=30.02,
        status=EquipmentStatus.MAINTENANCE,
    )
    services.nearby_units(user=world.same, point=point(), kind="equipment")  # warm up
    with CaptureQueriesContext(connection) as queries:
        answer = services.nearby_units(
            user=world.same, point=point(), kind="equipment", capability="firefighting"
        )
    assert [row.id for row in answer.results] == [engine.pk]
    # The fingerprint, the confirmation and nothing else (the scope is cached on the user).
    assert len(queries) == 2, [q["sql"] for q in queries]


def test_index_rebuilds_when_a_team_moves_or_changes_status(world):
    a = make_team(world.township, capabilities=["hazmat"], lon=120.43, lat=30.02, name="甲")
    b = make_team(world.township, capabilities=["hazmat"], lon=120.44, lat=30.02, name="乙")

    def nearest() -> list[int]:
        answer = services.nearby_units(user=world.same, point=point(), capability="hazmat")
        return [row.id for row in answer.results]

    assert nearest() == [a.pk, b.pk]
    built = search_index.get_index("team")

    # Saved through the model (as the services do): updated_at moves, the index rebuilds.
    b.lon = 120.421
    b.save()
    assert nearest() == [b.pk, a.pk]
    assert search_index.get_index("team") is not built

    b.status = TeamStatus.DEPLOYED
    b.save()
    assert nearest() == [a.pk]

    # A bulk update that bypasses updated_at is not seen by the index, but the database
    # confirmation still refuses the team that cannot go.
    stale = search_index.get_index("team")
    RescueTeam.objects.filter(pk=a.pk).update(status=TeamStatus.UNAVAILABLE)
    assert nearest() == []
    assert search_index.get_index("team") is stale

    # A new team and a deleted one change the fingerprint too.
    c = make_team(world.township, capabilities=["hazmat"], lon=120.45, lat=30.02)
    assert nearest() == [c.pk]
    c.delete()
    assert nearest() == []


def test_scope_township_county_sibling(world):
    ours = make_team(world.township, capabilities=["collapse"], lon=120.45, lat=30.02)
    theirs = make_team(world.sibling_township, capabilities=["collapse"], lon=120.52, lat=30.02)
    make_team(world.other_county, capabilities=["collapse"], lon=120.82, lat=30.02)
    wide = point(radius_km=200)

    def seen(user) -> set[int]:
        answer = services.nearby_units(user=user, point=wide, capability="collapse")
        return {row.id for row in answer.results}

    assert seen(world.same) == {ours.pk}
    assert seen(world.sibling) == {theirs.pk}
    assert seen(world.parent) == {ours.pk, theirs.pk}
    assert ours.pk not in seen(world.outsider) and theirs.pk not in seen(world.outsider)
    from django.contrib.auth.models import AnonymousUser

    assert seen(AnonymousUser()) == set()


def test_input_is_refused_with_field_messages():
    for lon, lat, radius, field in [
        ("nan", 30, 10, "lon"),
        (181, 30, 10, "lon"),
        (120, -91, 10, "lat"),
        (120, "inf", 10, "lat"),
        (120, 30, 0, "radius_km"),
        (120, 30, -1, "radius_km"),
        (120, 30, 500.01, "radius_km"),
        (120, 30, "abc", "radius_km"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            services.clean_point(lon, lat, radius)
        assert field in caught.value.details, (lon, lat, radius)
    with pytest.raises(InvalidInput):
        services.clean_capability("flying")
    assert services.clean_point(120, 30, 500).radius_km == 500


def test_gcj02_point_is_converted_to_wgs84():
    from frontline.core.geo import wgs84_to_gcj02

    glon, glat = wgs84_to_gcj02(*HERE)
    centre = services.clean_point(glon, glat, 5, "gcj02")
    assert haversine_km(centre.lon, centre.lat, *HERE) < 0.001


# --- supplies -------------------------------------------------------------------------------


def add_lot(depot, item, quantity, **kw):
    return StockLot.objects.create(depot=depot, item=item, quantity=quantity, **kw)


def test_depots_holding_enough_nearest_first_without_expired_lots(world):
    tent = make_item("3999101", "帐篷", unit="顶")
    other_tent = make_item("3999102", "棉帐篷", unit="顶")
    water = make_item("3999201", "饮用水", unit="箱")
    today = timezone.localdate()
    near = make_depot(world.township, lon=120.43, lat=30.02, name="近库")
    far = make_depot(world.township, lon=120.47, lat=30.02, name="远库")
    expired_only = make_depot(world.township, lon=120.425, lat=30.02, name="过期库")
    add_lot(near, tent, 30)
    add_lot(near, tent, 25, expiry_date=today + timedelta(days=3))
    add_lot(near, other_tent, 5)
    add_lot(far, tent, 80)
    add_lot(expired_only, tent, 500, expiry_date=today - timedelta(days=1))
    add_lot(near, water, 1000)
    theirs = make_depot(world.sibling_township, lon=120.52, lat=30.02)
    add_lot(theirs, tent, 900)

    answer = services.nearby_supplies(user=world.same, point=point(), item="3999101")
    assert [(d.name, d.quantity) for d in answer.results] == [("近库", 55), ("远库", 80)]
    assert answer.results[0].items[0].unit == "顶" and answer.name == "帐篷"

    enough = services.nearby_supplies(
        user=world.same, point=point(), item="3999101", min_quantity=60
    )
    assert [d.name for d in enough.results] == ["远库"]

    # A class adds up its items (tents of both kinds).
    by_class = services.nearby_supplies(user=world.same, point=point(), item="39991")
    assert [(d.name, d.quantity) for d in by_class.results] == [("近库", 60), ("远库", 80)]

    small = services.nearby_supplies(user=world.same, point=point(radius_km=2), item="3999101")
    assert [d.name for d in small.results] == ["近库"]

    county = services.nearby_supplies(user=world.parent, point=point(radius_km=50), item="3999101")
    assert theirs.pk in {d.id for d in county.results}
    with pytest.raises(InvalidInput) as caught:
        services.nearby_supplies(user=world.same, point=point(), item="9999999")
    assert "item" in caught.value.details


def test_teams_short_of_people_on_duty_are_passed_over(world):
    """A micro fire station must keep 3 on duty; with fewer ready it cannot go, and the
    search asks the index for more until it finds teams that can."""
    from frontline.resources.models import DutyShift
    from frontline.resources.testing import make_member

    now = timezone.now()
    short = [
        make_team(
            world.township, capabilities=["firefighting"], lon=120.421 + i / 10000, lat=30.02,
            min_on_duty=3,
        )
        for i in range(30)
    ]  # fmt: skip
    staffed = make_team(
        world.township, capabilities=["firefighting"], lon=120.45, lat=30.02, min_on_duty=3
    )
    for team in (staffed, short[0]):
        for _n in range(3 if team is staffed else 2):
            member = make_member(team)
            DutyShift.objects.create(
                team=team,
                member=member,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
            )
    answer = services.nearby_units(
        user=world.same, point=point(), capability="firefighting", limit=1
    )
    assert [(row.id, row.ready_now) for row in answer.results] == [(staffed.pk, 3)]


def test_the_compiled_confirmation_answers_as_the_queryset(world):
    """The confirmation query is compiled once per kind, capability and scope and re-run
    with new ids and a new moment: it must answer exactly what the queryset answers."""
    from frontline.resources.models import DutyShift
    from frontline.resources.testing import make_member

    rng = random.Random(3)
    now = timezone.now()
    teams = []
    for n in range(40):
        region = world.township if n % 3 else world.sibling_township
        team = make_team(
            region,
            capabilities=rng.sample(CAPS[:4], rng.randint(1, 2)),
            lon=120.4 + rng.random() / 5,
            lat=30.0 + rng.random() / 10,
            min_on_duty=rng.choice([0, 0, 2]),
            status=rng.choice([TeamStatus.AVAILABLE] * 3 + [TeamStatus.DEPLOYED]),
        )
        for _n in range(rng.randint(0, 3)):
            # Some shifts cover now, some ended an hour ago.
            ended = rng.random() < 0.3
            DutyShift.objects.create(
                team=team,
                member=make_member(team),
                starts_at=now - timedelta(hours=3),
                ends_at=now - timedelta(hours=1) if ended else now + timedelta(hours=3),
            )
        teams.append(team)
    equipment = [
        make_equipment(
            world.township,
            capabilities=rng.sample(CAPS[:4], 1),
            status=rng.choice(list(EquipmentStatus.values)),
        )
        for _n in range(20)
    ]

    def key(row):
        return row["id"]

    for user in (world.same, world.parent, world.sibling):
        for capability in ("", *CAPS[:4]):
            for kind, pool in (("team", teams), ("equipment", equipment)):
                for size in (3, 17, len(pool)):
                    ids = [obj.pk for obj in rng.sample(pool, min(size, len(pool)))]
                    got = services._confirmed(user, kind, ids, capability)
                    expected = list(services.confirm_queryset(user, kind, ids, capability))
                    assert sorted(got, key=key) == sorted(expected, key=key), (kind, capability)
    # Compiled once per key: a second run builds nothing new.
    kept = len(search_index._templates)
    services._confirmed(world.same, "team", [teams[0].pk], "")
    assert len(search_index._templates) == kept
