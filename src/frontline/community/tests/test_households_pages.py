"""Pages of households, residents and vulnerable people."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from frontline.community.models import Household, HouseholdVisit, Resident
from frontline.community.testing import make_building, make_household, make_resident
from frontline.community.tests.test_residents import id_number
from frontline.core.roles import Role
from frontline.core.testing import assert_page_matrix, make_person, make_user, page_queries


def test_detail_pages_follow_the_authorization_matrix(world):
    household = make_household(world.grid)
    resident = make_resident(household)
    assert_page_matrix(world, f"/households/{household.pk}/")
    assert_page_matrix(world, f"/residents/{resident.pk}/")


def test_household_page_shows_residents_masked_risks_building_and_visits(world):
    building = make_building(world.grid, name="7幢")
    household = make_household(world.grid, address="7幢2单元301", building=building, low_lying=True)
    make_resident(household, name="陈阿婆", categories=["elderly_alone"], mobility="needs_help")
    client = world.client_for(world.grid_worker)

    posted = client.post(f"/households/{household.pk}/visit/", {"resident": "", "note": "已走访"})
    page = client.get(f"/households/{household.pk}/").content.decode()

    assert posted.status_code == 302
    assert HouseholdVisit.objects.filter(household=household, visitor=world.grid_worker).exists()
    assert "陈**" in page and "陈阿婆" not in page
    assert "低洼易涝" in page and f"/buildings/{building.pk}/" in page
    assert "已走访" in page and "需搀扶/轮椅" in page


def test_vulnerable_list_filters_counts_per_category_and_masks(world):
    household = make_household(world.grid)
    helper = make_person(world.grid)
    old = timezone.now() - timedelta(days=40)
    make_resident(household, name="甲甲", categories=["disabled"], mobility="stretcher")
    make_resident(
        household,
        name="乙乙",
        categories=["disabled", "aged_80"],
        helper=helper,
        last_visited_at=timezone.now(),
    )
    make_resident(household, name="丙丙", categories=["pregnant"], last_visited_at=old)
    make_resident(household, name="丁丁")
    client = world.client_for(world.same)

    def names(query: str = "") -> set[str]:
        page = client.get(f"/residents/vulnerable/{query}").content.decode()
        return {name for name in ("甲*", "乙*", "丙*", "丁*") if name in page}

    assert names() == {"甲*", "乙*", "丙*"}
    assert names("?category=disabled") == {"甲*", "乙*"}
    assert names("?mobility=stretcher") == {"甲*"}
    assert names("?without_helper=1") == {"甲*", "丙*"}
    assert names("?not_visited=1") == {"甲*", "丙*"}
    response = client.get("/residents/vulnerable/")
    bars = {bar["value"]: bar["count"] for bar in response.context["bars"]}
    assert bars["disabled"] == 2 and bars["aged_80"] == 1 and bars["pregnant"] == 1
    assert 'role="progressbar"' in response.content.decode()


def test_list_pages_use_a_constant_number_of_queries(world):
    client = world.client_for(world.same)
    household = make_household(world.grid)
    make_resident(household, categories=["disabled"])
    urls = ["/households/", "/residents/vulnerable/"]
    few = {url: len(page_queries(client, url)[1]) for url in urls}
    for n in range(8):
        extra = make_household(world.grid, address=f"加{n}号")
        make_resident(extra, categories=["other"], helper=make_person(world.grid))
    for url in urls:
        response, queries = page_queries(client, url)
        assert response.status_code == 200
        assert len(queries) == few[url], url


def test_resident_page_reveals_one_field_with_a_reason(world):
    resident = make_resident(make_household(world.grid), phone="13600001111")
    client = world.client_for(world.grid_worker)
    page = client.get(f"/residents/{resident.pk}/").content.decode()
    assert f"/residents/{resident.pk}/reveal/phone/" in page and "136****1111" in page

    revealed = client.post(f"/residents/{resident.pk}/reveal/phone/", {"reason": "联系转移"})
    assert revealed.status_code == 200 and "13600001111" in revealed.content.decode()
    unknown = client.post(f"/residents/{resident.pk}/reveal/relation/", {"reason": "x"})
    assert unknown.status_code == 404
    assert Resident.objects.count() == 1


def test_household_and_resident_forms_create_edit_and_remove(world):
    client = world.client_for(world.grid_worker)
    helper = make_person(world.grid, name="包保干部丙")

    created = client.post(
        "/households/new/", {"region": world.grid.pk, "address": "州山村20号", "geohazard": "on"}
    )
    assert created.status_code == 302, created.content.decode()
    household = Household.objects.get(address="州山村20号")
    assert household.geohazard

    number = id_number("33060319300707212")
    added = client.post(
        f"/households/{household.pk}/residents/new/",
        {
            "name": "钱老太",
            "relation": "head",
            "id_number": number,
            "phone": "13700001234",
            "categories": ["elderly_alone", "aged_80"],
            "mobility": "needs_help",
            "helper": helper.pk,
        },
    )
    assert added.status_code == 302, added.content.decode()
    resident = Resident.objects.get(household=household)
    assert resident.birth_year == 1930 and resident.helper == helper

    form = client.get(f"/residents/{resident.pk}/edit/").content.decode()
    assert number not in form and "13700001234" not in form and "钱老太" not in form
    edited = client.post(
        f"/residents/{resident.pk}/edit/",
        {"name": "", "relation": "head", "mobility": "stretcher", "clear_categories": "on"},
    )
    assert edited.status_code == 302
    resident.refresh_from_db()
    assert resident.name == "钱老太" and resident.id_number == number  # left as they were
    assert resident.mobility == "stretcher" and not resident.is_vulnerable

    bad = client.post(
        f"/households/{household.pk}/residents/new/",
        {"name": "重复", "relation": "head", "id_number": number},
    )
    assert bad.status_code == 422 and "该身份证号已登记" in bad.content.decode()

    assert client.post(f"/residents/{resident.pk}/remove/").status_code == 302
    assert not Resident.objects.filter(pk=resident.pk).exists()


def test_who_may_not_read_the_roll_gets_no_form(world):
    leader = world.client_for(make_user(Role.LEADER, world.township))
    household = make_household(world.grid)
    assert leader.get("/households/new/").status_code == 403
    assert leader.get(f"/households/{household.pk}/residents/new/").status_code == 404
    sibling = world.client_for(world.sibling)
    answer = sibling.post("/households/new/", {"region": world.grid.pk, "address": "x"})
    assert answer.status_code == 422  # the grid is not among the choices
    assert not Household.objects.filter(address="x").exists()


def test_household_list_finds_an_address_or_an_exact_resident_name(world):
    make_resident(make_household(world.grid, address="州山村30号"), name="周大伯")
    make_resident(make_household(world.grid, address="州山村31号"), name="周小妹")
    client = world.client_for(world.same)

    def addresses(query: str) -> set[str]:
        page = client.get("/households/", {"q": query}).content.decode()
        return {a for a in ("州山村30号", "州山村31号") if a in page}

    assert addresses("30号") == {"州山村30号"}
    assert addresses("周大伯") == {"州山村30号"}
    assert addresses("周") == set()
