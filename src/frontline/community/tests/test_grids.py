"""The grid pages and the grid worker's day."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from frontline.community.models import GridPost, GridRole, PatrolRun, RunState
from frontline.community.testing import (
    GRID_LAT,
    GRID_LON,
    make_building,
    make_facility,
    make_household,
    make_plan,
    make_resident,
)
from frontline.core.models import RegionLevel
from frontline.core.roles import Role
from frontline.core.testing import assert_page_matrix, make_region, make_user, page_queries
from frontline.hazards.testing import make_enterprise


def text(response) -> str:
    return response.content.decode()


def populate(world):
    building = make_building(world.grid, name="州山1幢")
    household = make_household(world.grid, building=building, address="州山1幢1单元101室")
    make_resident(household, name="张阿婆", categories=["elderly_alone"])
    make_resident(household, name="张家人")
    yesterday = timezone.localdate() - timedelta(days=1)
    make_facility(world.grid, name="逾期消火栓", next_check_due=yesterday)
    make_facility(world.grid, name="正常灭火器箱")
    # Filed under the village, standing inside the grid: it is the grid's too.
    make_enterprise(world.village, name="网格内纺织厂", lon=GRID_LON + 0.001, lat=GRID_LAT)
    make_enterprise(world.village, name="网格外印染厂", lon=GRID_LON + 0.03, lat=GRID_LAT)
    return household


def test_grid_page_shows_people_buildings_places_facilities_and_counts(world):
    populate(world)
    GridPost.objects.create(region=world.grid, person=world.grid_worker.person,
                            role=GridRole.GRID_WORKER, started_on=timezone.localdate())  # fmt: skip
    url = f"/grids/{world.grid.code}/"
    assert_page_matrix(world, url)
    body = text(world.client_for(world.same).get(url))
    assert 'data-count="buildings">1<' in body and 'data-count="households">1<' in body
    assert 'data-count="residents">2<' in body and 'data-count="vulnerable">1<' in body
    assert 'data-count="facilities">2 / 1<' in body
    assert "网格内纺织厂" in body and "网格外印染厂" not in body
    assert "逾期消火栓" in body and world.grid_worker.person.name in body


def test_grid_page_hides_resident_counts_from_a_role_without_the_roll(world):
    populate(world)
    liaison = make_user(Role.LIAISON, world.township, "liaison")
    body = text(world.client_for(liaison).get(f"/grids/{world.grid.code}/"))
    assert 'data-count="households">1<' in body
    assert 'data-count="residents"' not in body and 'data-count="vulnerable"' not in body


def test_a_region_that_is_not_a_grid_has_no_grid_page(world):
    client = world.client_for(world.same)
    assert client.get(f"/grids/{world.village.code}/").status_code == 404


def test_grid_list_is_scoped_and_its_queries_do_not_grow_with_grids(world):
    populate(world)
    client = world.client_for(world.same)
    client.get("/grids/")
    _, few = page_queries(client, "/grids/")
    for number in range(2, 8):
        make_region(f"330603001001{number:03d}", RegionLevel.GRID, world.village)
    response, many = page_queries(client, "/grids/")
    assert text(response).count("data-grid=") == 7
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    sibling = text(world.client_for(world.sibling).get("/grids/"))
    assert world.grid.code not in sibling


def test_grid_list_tells_which_grids_were_not_patrolled_today(world):
    plan = make_plan(world.grid)
    client = world.client_for(world.same)
    assert 'data-testid="not-patrolled"' in text(client.get("/grids/"))
    for round_number in (1, 2):
        PatrolRun.objects.create(plan=plan, region=world.grid, walker=world.grid_worker,
                                 state=RunState.FINISHED, day=timezone.localdate(),
                                 round=round_number)  # fmt: skip
    assert 'data-testid="not-patrolled"' not in text(client.get("/grids/"))


def test_my_day_lists_rounds_visits_and_overdue_checks_with_names_masked(world):
    populate(world)
    make_plan(world.grid)
    client = world.client_for(world.grid_worker)
    body = text(client.get("/my-day/"))
    assert "已完成 0 / 2 轮" in body
    assert "张*" in body and "张阿婆" not in body and "张家人" not in body
    assert "逾期消火栓" in body and "正常灭火器箱" not in body
    assert 'href="/my-day/"' in body  # the grid worker's home in the navigation


def test_my_day_is_not_in_the_navigation_of_station_staff(world):
    body = text(world.client_for(world.same).get("/grids/"))
    assert 'href="/my-day/"' not in body and 'href="/grids/"' in body
