"""Builders and the shared authorization matrix, for the tests of every app.

    def test_hazard_scoping(world):
        hazard = make_hazard(region=world.village)
        assert_queryset_matrix(Hazard.objects, hazard, world)
        assert_api_matrix(world, f"/api/v1/hazards/{hazard.pk}")

The world is one county with two townships. The object under test lives in a village of the
first township; the personas are: `same` (station staff of that township), `parent` (county
administrator), `sibling` (station staff of the other township), `outsider` (a county
administrator of another county) and anonymous.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from frontline.core import services
from frontline.core.models import OrganizationKind, Person, Region, RegionLevel
from frontline.core.roles import Role

User = get_user_model()
_serial = itertools.count(1)
PASSWORD = "Frontline-test-2026"


def square(lon: float, lat: float, size: float = 0.01) -> dict:
    """A GeoJSON square polygon with its south-west corner at (lon, lat)."""
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [lon, lat],
                [lon + size, lat],
                [lon + size, lat + size],
                [lon, lat + size],
                [lon, lat],
            ]
        ],
    }


def make_region(code: str, level: str, parent: Region | None = None, name: str | None = None, **kw):
    return services.create_region(
        actor=None, code=code, name=name or f"区划{code}", level=level, parent=parent, **kw
    )


def make_organization(
    region: Region, kind: str = OrganizationKind.STATION, name: str | None = None
):
    return services.create_organization(
        actor=None, name=name or f"单位{next(_serial)}", kind=kind, region=region
    )


def make_person(region: Region, name: str | None = None, **kw) -> Person:
    return services.create_person(
        actor=None, name=name or f"人员{next(_serial)}", region=region, **kw
    )


def make_user(role: str | None, region: Region | None, username: str | None = None):
    person = make_person(region) if region is not None else None
    username = username or f"user{next(_serial)}"
    if person is not None:
        user = services.create_account(
            actor=None, person=person, username=username, password=PASSWORD
        )
    else:
        user = User.objects.create_user(username=username, password=PASSWORD)
    if role is not None and region is not None:
        services.grant_role(actor=None, user=user, role=role, region=region)
    return User.objects.get(pk=user.pk)


@dataclass
class World:
    county: Region
    township: Region
    village: Region
    grid: Region
    sibling_township: Region
    other_county: Region
    same: object
    parent: object
    sibling: object
    outsider: object
    grid_worker: object

    def personas(self) -> dict[str, object]:
        return {
            "same": self.same,
            "parent": self.parent,
            "sibling": self.sibling,
            "outsider": self.outsider,
        }

    def client_for(self, user) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client


def build_world() -> World:
    county = make_region(
        "330603", RegionLevel.COUNTY, name="柯桥区", boundary=square(120.40, 30.00, 0.2)
    )
    township = make_region(
        "330603001",
        RegionLevel.TOWNSHIP,
        county,
        name="柯岩街道",
        boundary=square(120.40, 30.00, 0.1),
    )
    village = make_region(
        "330603001001",
        RegionLevel.VILLAGE,
        township,
        name="州山村",
        boundary=square(120.40, 30.00, 0.05),
    )
    grid = make_region(
        "330603001001001",
        RegionLevel.GRID,
        village,
        name="州山村第一网格",
        boundary=square(120.40, 30.00, 0.02),
    )
    sibling_township = make_region(
        "330603002",
        RegionLevel.TOWNSHIP,
        county,
        name="安昌街道",
        boundary=square(120.50, 30.00, 0.1),
    )
    other_county = make_region(
        "330602", RegionLevel.COUNTY, name="越城区", boundary=square(120.80, 30.00, 0.2)
    )
    return World(
        county=county,
        township=township,
        village=village,
        grid=grid,
        sibling_township=sibling_township,
        other_county=other_county,
        same=make_user(Role.STATION_STAFF, township, "same"),
        parent=make_user(Role.COUNTY_ADMIN, county, "parent"),
        sibling=make_user(Role.STATION_STAFF, sibling_township, "sibling"),
        outsider=make_user(Role.COUNTY_ADMIN, other_county, "outsider"),
        grid_worker=make_user(Role.GRID_WORKER, grid, "gridworker"),
    )


VISIBLE = {"same": True, "parent": True, "sibling": False, "outsider": False}


def assert_queryset_matrix(manager, obj, world: World) -> None:
    """`obj` (placed under world.township) is visible to same and parent only."""
    from django.contrib.auth.models import AnonymousUser

    for persona, user in world.personas().items():
        seen = manager.visible_to(user).filter(pk=obj.pk).exists()
        assert seen == VISIBLE[persona], (
            f"{persona} {'should' if VISIBLE[persona] else 'must not'} see {obj!r}"
        )
    assert not manager.visible_to(AnonymousUser()).filter(pk=obj.pk).exists(), "anonymous sees it"


def assert_api_matrix(world: World, url: str) -> None:
    """GET `url` answers 200 to same and parent, 404 to sibling and outsider, 401 to anonymous."""
    for persona, user in world.personas().items():
        response = world.client_for(user).get(url)
        expected = 200 if VISIBLE[persona] else 404
        assert response.status_code == expected, (
            f"{persona}: GET {url} answered {response.status_code}, expected {expected}"
        )
        if expected == 404:
            assert response.json()["code"] == "not_found"
    anonymous = world.client_for(None).get(url)
    assert anonymous.status_code == 401, f"anonymous: GET {url} answered {anonymous.status_code}"


def assert_page_matrix(world: World, url: str) -> None:
    """A page answers 200 to same and parent, 404 to sibling and outsider, and sends an
    anonymous visitor to the login page."""
    for persona, user in world.personas().items():
        response = world.client_for(user).get(url)
        expected = 200 if VISIBLE[persona] else 404
        assert response.status_code == expected, (
            f"{persona}: GET {url} answered {response.status_code}, expected {expected}"
        )
    anonymous = world.client_for(None).get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"], (
        f"anonymous: GET {url} answered {anonymous.status_code}"
    )


def page_queries(client: Client, url: str):
    """GET a page with every shell cache emptied first; return the response and its queries.

    The shell caches a few counts for seconds (the alarm badge, the demo banner). Two
    measurements that each start warm differ by a query whenever one of those expires in
    between, which a slow machine makes likely; starting both cold makes them comparable.
    """
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return response, queries
