"""The demo data framework and the district generator.

The district is seeded once for the module (≈ 4 s) and removed at the end, so the other
test modules still start from an empty database. Geometry checks run on the pure plan.
"""

from __future__ import annotations

import itertools

import pytest
import shapely
from auditlog.context import disable_auditlog
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, ProtectedError, RestrictedError
from django.test import Client, RequestFactory

from frontline.core.context_processors import forget_demo_flag
from frontline.core.demo import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    SCALES,
    DemoDataExists,
    SeedResult,
    demo_accounts,
    framework,
    register,
    run_seed,
)
from frontline.core.demo.district import plan_for_seed
from frontline.core.demo.geometry import to_geojson
from frontline.core.geo import boundary_summary, get_locator, invalidate_locator, parse_boundary
from frontline.core.models import (
    DemoDataset,
    Organization,
    OrganizationKind,
    Person,
    Region,
    RegionLevel,
    RoleAssignment,
)
from frontline.core.roles import Role

SEED = 2026
# Clipping snaps to the 1e-6° grid of the stored coordinates: a child may cross its parent's
# edge by at most one grid step (≈ 10 cm), and siblings share edges exactly.
NEST_TOLERANCE = 2e-6
OVERLAP_TOLERANCE = 1e-10  # deg², ≈ 1 m²


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan():
    return plan_for_seed(SCALES["district"], SEED)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        before = _last_ids()
        result = run_seed("district", SEED)
    yield result
    with django_db_blocker.unblock():
        _remove_demo_data(before)


def _last_ids() -> dict:
    """The highest id of every table before seeding: what lies above it is demo data, what
    lies below (reference data from migrations, e.g. checklists) stays."""
    return {
        model: model._base_manager.aggregate(last=Max("pk"))["last"] or 0
        for model in apps.get_models()
        if model._meta.pk.get_internal_type() in {"AutoField", "BigAutoField"}
    }


def _delete_newer_rows(model, last_id: int) -> None:
    rows = model._base_manager.filter(pk__gt=last_id)
    with transaction.atomic():
        # Tables that point to themselves (a region's parent) are unlinked first.
        for field in model._meta.fields:
            if field.is_relation and field.related_model is model and field.null:
                rows.update(**{field.name: None})
        rows.delete()


def _remove_demo_data(before: dict) -> None:
    # Every app adds its part to the demo. Delete what the seed added, table by table, and
    # retry the tables another one still points to until nothing is left.
    pending = list(before)
    with disable_auditlog():
        for _ in range(len(pending) + 1):
            blocked = []
            for model in pending:
                try:
                    _delete_newer_rows(model, before[model])
                except (ProtectedError, RestrictedError, IntegrityError):
                    blocked.append(model)
            if not blocked:
                break
            pending = blocked
        assert not blocked, f"demo rows left behind in {blocked}"
    invalidate_locator()
    forget_demo_flag()


def _login(username: str, password: str) -> bool:
    # django-axes wants the request that carries the credentials.
    request = RequestFactory().post("/login/")
    return Client().login(request=request, username=username, password=password)


# --- the pure plan -------------------------------------------------------------------------


def test_plan_is_deterministic_for_a_seed(plan):
    again = plan_for_seed(SCALES["district"], SEED)
    grids = [node for node in plan.walk() if node.level == RegionLevel.GRID]
    grids_again = [node for node in again.walk() if node.level == RegionLevel.GRID]
    assert [g.code for g in grids] == [g.code for g in grids_again]
    for index in (0, len(grids) // 2, len(grids) - 1):
        assert grids[index].name == grids_again[index].name
        assert to_geojson(grids[index].polygon) == to_geojson(grids_again[index].polygon)


def test_another_seed_draws_another_district(plan):
    other = plan_for_seed(SCALES["district"], SEED + 1)
    first_grid = next(node for node in plan.walk() if node.level == RegionLevel.GRID)
    other_grid = next(node for node in other.walk() if node.level == RegionLevel.GRID)
    assert to_geojson(first_grid.polygon) != to_geojson(other_grid.polygon)


def test_plan_codes_follow_the_rules(plan):
    townships = plan.children
    assert plan.code == "330603" and len(townships) == 16
    assert townships[0].name == "柯岩街道" and townships[0].code == "330603001"
    for township in townships:
        suffix = int(township.code[6:])
        assert (1 <= suffix <= 99) == township.name.endswith("街道")
        assert (100 <= suffix <= 199) == township.name.endswith("镇")
        for village in township.children:
            assert village.code.startswith(township.code) and len(village.code) == 12
            serial = int(village.code[9:])
            assert (1 <= serial <= 199) == village.name.endswith("社区")
            assert (200 <= serial <= 399) == village.name.endswith("村")
            for grid in village.children:
                assert grid.code.startswith(village.code) and len(grid.code) == 15
                assert grid.name.startswith(village.name) and grid.name.endswith("网格")


def test_plan_boundaries_are_valid_nested_and_disjoint(plan):
    for parent in plan.walk():
        outline = parse_boundary(to_geojson(parent.polygon))
        assert outline.geom_type == "Polygon" and outline.is_valid, parent.code
        children = [parse_boundary(to_geojson(child.polygon)) for child in parent.children]
        if not children:
            continue
        allowed = outline.buffer(NEST_TOLERANCE)
        for child, node in zip(children, parent.children, strict=True):
            assert child.is_valid and allowed.contains(child), f"{node.code} leaves {parent.code}"
        for a, b in itertools.combinations(children, 2):
            assert a.intersection(b).area < OVERLAP_TOLERANCE, parent.code
        # Slivers dropped while clipping are tiny: the children cover their parent.
        covered = shapely.union_all(children).area / outline.area
        assert covered > 0.995, parent.code


def test_plan_population_adds_up(plan):
    for node in plan.walk():
        assert node.population > 0
        if node.children:
            assert node.population == sum(child.population for child in node.children)


# --- the seeded database -------------------------------------------------------------------


@pytest.mark.django_db
def test_district_counts(seeded):
    regions = Region.objects
    assert regions.filter(level=RegionLevel.COUNTY).count() == 1
    assert regions.filter(level=RegionLevel.TOWNSHIP).count() == 16
    assert 250 <= regions.filter(level=RegionLevel.VILLAGE).count() <= 350
    assert 1300 <= regions.filter(level=RegionLevel.GRID).count() <= 1700
    # Staff of the organizations; the community demo adds the household group leaders
    # (十户长) of the home township, one per ten households.
    group_leaders = Person.objects.filter(position="十户长").count()
    # The resources demo adds the crews of micro fire stations and volunteer teams, the
    # county depots' keepers and more experts.
    crews = seeded.counts["people.resources"]
    assert 1800 <= Person.objects.count() - group_leaders - crews <= 2400
    # One per ten households of each grid: a grid's last group may be smaller.
    households = seeded.counts["households"]
    assert households / 10 <= group_leaders <= households / 10 + 100
    assert Organization.objects.filter(kind=OrganizationKind.STATION).count() == 16
    assert Organization.objects.filter(kind=OrganizationKind.BUREAU).count() == 1
    for role in Role.values:
        assert RoleAssignment.objects.filter(role=role).exists(), role
    dataset = DemoDataset.objects.get()
    assert (dataset.scale, dataset.seed) == ("district", SEED)
    assert dataset.summary["regions.grid"] == regions.filter(level=RegionLevel.GRID).count()
    assert dataset.summary == seeded.counts


@pytest.mark.django_db
def test_every_person_with_an_account_has_a_role(seeded):
    users_with_person = Person.objects.filter(user__isnull=False).values_list("user", flat=True)
    with_role = set(RoleAssignment.objects.values_list("user", flat=True))
    assert set(users_with_person) == with_role
    assert len(with_role) == seeded.counts["accounts"]


@pytest.mark.django_db
def test_stored_regions_match_the_plan(seeded, plan):
    planned = {node.code: node for node in plan.walk()}
    stored = Region.objects.filter(code__in=["330603", "330603001", "330603001001001"])
    for region in stored:
        node = planned[region.code]
        assert (region.name, region.population) == (node.name, node.population)
        assert region.boundary == to_geojson(node.polygon)


@pytest.mark.django_db
def test_region_fields_are_filled_like_the_service_does(seeded):
    grid = Region.objects.select_related("parent__parent__parent").get(code="330603001001001")
    assert grid.path == "330603/330603001/330603001001/330603001001001/"
    assert grid.depth == 3 and grid.parent.parent.parent.code == "330603"
    summary = boundary_summary(grid.boundary)
    assert (grid.centroid_lon, grid.centroid_lat) == summary.centroid
    assert (grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat) == summary.bbox
    assert grid.is_within(grid.parent.parent)


@pytest.mark.django_db
def test_mobiles_are_encrypted_at_rest(seeded):
    person = Person.objects.exclude(mobile="").first()
    assert len(person.mobile) == 11 and person.mobile[:2] in {"13", "15", "18"}
    assert person.mobile_tail == person.mobile[-4:]
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile FROM core_person WHERE id = %s", [person.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("v1:") and person.mobile not in raw


@pytest.mark.django_db
def test_locator_finds_every_grid_at_its_centroid(seeded):
    invalidate_locator()
    locator = get_locator()
    grids = list(
        Region.objects.filter(level=RegionLevel.GRID).values_list(
            "id", "centroid_lon", "centroid_lat"
        )
    )
    ids, lons, lats = zip(*grids, strict=True)
    assert locator.locate_many(lons, lats) == list(ids)
    for region_id, lon, lat in grids[::97]:
        assert locator.locate(lon, lat) == region_id


@pytest.mark.django_db
def test_well_known_accounts_log_in(seeded, settings):
    # The module's data was seeded with the production hasher, before the suite's
    # fast-hashing fixture applied; let the test verify it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    for _role, username in DEMO_ACCOUNTS:
        assert _login(username, DEMO_PASSWORD), username
    assert not _login("grid", "wrong-password")
    assert not get_user_model().objects.filter(is_superuser=True).exists()


@pytest.mark.django_db
def test_well_known_accounts_hold_their_role_and_scope(seeded):
    rows = {row.username: row for row in demo_accounts()}
    assert set(rows) == {username for _, username in DEMO_ACCOUNTS}
    assert rows["county"].scope == "柯桥区" and rows["chief"].scope == "柯岩街道"
    assert rows["grid"].scope.endswith("第1网格")
    for role, username in DEMO_ACCOUNTS:
        assignments = RoleAssignment.objects.filter(user__username=username)
        assert {a.role for a in assignments} == {role}, username


@pytest.mark.django_db
def test_grid_account_sees_only_its_grid(seeded):
    user = get_user_model().objects.get(username="grid")
    visible = list(Region.objects.visible_to(user).values_list("code", flat=True))
    assert visible == ["330603001001001"]


@pytest.mark.django_db
def test_chief_sees_only_the_first_township(seeded):
    user = get_user_model().objects.get(username="chief")
    visible = Region.objects.visible_to(user)
    assert visible.count() == Region.objects.filter(path__startswith="330603/330603001/").count()
    assert not visible.filter(code="330603002").exists()
    assert Person.objects.visible_to(user).exists()


@pytest.mark.django_db
def test_refuses_to_seed_over_a_demo_dataset(seeded):
    with pytest.raises(DemoDataExists, match="演示数据"):
        run_seed("district", SEED)
    with pytest.raises(CommandError, match="already holds a demo dataset"):
        call_command("seed_demo", "--scale", "district")


@pytest.mark.django_db
def test_refuses_to_seed_over_existing_regions(seeded):
    DemoDataset.objects.all().delete()  # rolled back with the test
    with pytest.raises(DemoDataExists, match="already holds regions"):
        run_seed("district", SEED)


@pytest.mark.django_db
def test_command_shows_progress_summary_and_accounts(seeded, monkeypatch):
    from io import StringIO

    from frontline.core.management.commands import seed_demo

    def fake_run_seed(*, scale, seed, progress):
        progress("行政区划与网格边界", 5, 10)
        progress("行政区划与网格边界", 10, 10)
        return SeedResult(DemoDataset(scale=scale, seed=seed), {"regions.grid": 1554}, 1.5)

    monkeypatch.setattr(seed_demo, "run_seed", fake_run_seed)
    out = StringIO()
    call_command("seed_demo", "--scale", "city", "--seed", "7", stdout=out)
    text = out.getvalue()
    assert "种子 7" in text and "1,554" in text and "1.5 秒" in text
    assert "county" in text and DEMO_PASSWORD in text
    quiet = StringIO()
    call_command("seed_demo", "--no-accounts", stdout=quiet)
    assert "county" not in quiet.getvalue()


def test_unknown_scale_is_rejected():
    with pytest.raises(ValueError, match="unknown scale"):
        run_seed("galaxy", SEED)


# --- the registry --------------------------------------------------------------------------


def test_generators_run_in_order_and_get_their_own_streams(monkeypatch):
    monkeypatch.setattr(framework, "_registry", dict(framework._registry))
    register("test.late", order=900, generate_fn=lambda ctx: None)
    register("test.early", order=5, generate_fn=lambda ctx: None)
    names = [generator.name for generator in framework.generators()]
    assert names[0] == "test.early" and names[-1] == "test.late"
    assert names.index("core.regions") < names.index("core.organizations")
    assert names.index("core.organizations") < names.index("core.people")
    first, _ = framework.make_rngs(SEED, "test.early")
    second, _ = framework.make_rngs(SEED, "test.late")
    again, _ = framework.make_rngs(SEED, "test.early")
    assert first.random() == again.random() != second.random()
