"""Region services: codes, levels, development zones, moving a subtree, the locator."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontline.core import services
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.geo import RegionLocator, get_locator
from frontline.core.models import Region, RegionLevel
from frontline.core.testing import make_region, square


def test_codes_must_fit_the_level(world):
    with pytest.raises(InvalidInput) as error:
        make_region("33060300", RegionLevel.TOWNSHIP, world.county)
    assert "9 位" in str(error.value.details["code"])
    with pytest.raises(InvalidInput):
        make_region("330604003", RegionLevel.TOWNSHIP, world.county)  # wrong parent prefix
    with pytest.raises(InvalidInput):
        make_region("330603001002", RegionLevel.COUNTY, world.township)  # level not below parent
    with pytest.raises(InvalidInput) as duplicate:
        make_region("330603002", RegionLevel.TOWNSHIP, world.county)
    assert duplicate.value.details == {"code": "代码重复"}


@pytest.mark.django_db
def test_gb2260_prefixes_above_the_county():
    province = make_region("330000", RegionLevel.PROVINCE, name="浙江省")
    city = make_region("330600", RegionLevel.CITY, province, name="绍兴市")
    county = make_region("330603", RegionLevel.COUNTY, city, name="柯桥区")
    assert county.path == "330000/330600/330603/"
    assert county.depth == 2


@pytest.mark.django_db
def test_development_zone_keeps_an_explicit_parent():
    make_region("330600", RegionLevel.CITY, name="绍兴市")
    city = Region.objects.get(code="330600")
    zone = make_region("339901", RegionLevel.COUNTY, city, name="滨海新区", is_virtual=True)
    township = make_region("339901001", RegionLevel.TOWNSHIP, zone, name="马鞍街道")
    assert township.path == "330600/339901/339901001/"
    assert set(Region.objects.within(city.path).values_list("code", flat=True)) == {
        "330600",
        "339901",
        "339901001",
    }


def test_move_region_rewrites_the_subtree(world):
    services.move_region(actor=None, region=world.village, new_parent=world.sibling_township)
    world.grid.refresh_from_db()
    assert world.grid.path == "330603/330603002/330603001001/330603001001001/"
    assert world.grid in Region.objects.visible_to(world.sibling)
    assert world.grid not in Region.objects.visible_to(world.same)
    with pytest.raises(DomainError):
        services.move_region(actor=None, region=world.county, new_parent=world.grid)


def test_only_region_managers_change_regions(world):
    with pytest.raises(PermissionDenied):
        services.update_region(actor=world.same, region=world.village, name="新名")
    services.update_region(actor=world.parent, region=world.village, name="州山社区")
    assert Region.objects.get(pk=world.village.pk).name == "州山社区"


def test_boundary_is_validated(world):
    with pytest.raises(InvalidInput):
        services.update_region(
            actor=None, region=world.village, boundary={"type": "Point", "coordinates": [1, 2]}
        )
    with pytest.raises(InvalidInput):
        services.update_region(
            actor=None,
            region=world.village,
            boundary={"type": "Polygon", "coordinates": [[[500, 1]]]},
        )
    region = services.update_region(
        actor=None, region=world.village, boundary=square(120.4, 30.0, 0.04)
    )
    assert region.centroid_lon == pytest.approx(120.42)
    assert (region.min_lon, region.max_lat) == pytest.approx((120.4, 30.04))


def test_locator_picks_the_finest_region(world):
    locator = get_locator()
    assert locator.locate(120.405, 30.005) == world.grid.pk
    assert locator.locate(120.445, 30.045) == world.village.pk
    assert locator.locate(120.55, 30.05) == world.sibling_township.pk
    assert locator.locate(10, 10) is None
    assert locator.locate_many([120.405, 10], [30.005, 10]) == [world.grid.pk, None]


def test_locator_follows_changes(world):
    assert get_locator().locate(120.61, 30.01) is None
    services.update_region(
        actor=None, region=world.sibling_township, boundary=square(120.5, 30.0, 0.2)
    )
    assert get_locator().locate(120.61, 30.01) == world.sibling_township.pk


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=0.999, allow_nan=False),
    st.floats(min_value=0.0, max_value=0.999, allow_nan=False),
)
def test_locator_on_a_grid_of_cells(x, y):
    # 10 × 10 cells of 0.1°; every point lands in the cell its coordinates name.
    rows = [(i * 10 + j, 1, square(i / 10, j / 10, 0.1)) for i in range(10) for j in range(10)]
    locator = RegionLocator(rows)
    found = locator.locate(x, y)
    i, j = int(x * 10), int(y * 10)
    on_edge = abs(x * 10 - round(x * 10)) < 1e-9 or abs(y * 10 - round(y * 10)) < 1e-9
    if not on_edge:
        assert found == i * 10 + j
