"""The web shell: authentication, scoped pages, the clear view of personal data, the
jurisdiction switcher, forms that call services, tokens and query counts."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from frontline.core import services
from frontline.core.context_processors import forget_demo_flag
from frontline.core.middleware import FOCUS_SESSION_KEY
from frontline.core.models import (
    ApiToken,
    DemoDataset,
    Organization,
    OrganizationKind,
    Person,
    Region,
    SensitiveAccess,
)
from frontline.core.roles import Role
from frontline.core.testing import (
    PASSWORD,
    assert_page_matrix,
    make_organization,
    make_person,
    make_user,
)

VALID_ID = "11010519491231002X"


@pytest.fixture(autouse=True)
def fresh_demo_flag():
    forget_demo_flag()
    yield
    forget_demo_flag()


def login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/regions/", "/organizations/", "/people/", "/tokens/", "/password/"]
)
def test_anonymous_is_sent_to_login(world, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_is_chinese(db):
    response = Client().get("/login/")
    assert response.status_code == 200
    assert "登录" in response.content.decode()


def test_login_and_logout(world):
    client = Client()
    response = login(client, "same")
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "工作台" in home.content.decode()

    assert client.get("/logout/").status_code == 405, "logout must be a POST"
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_the_form_again(world):
    response = login(Client(), "same", "wrong-password")
    assert response.status_code == 200
    assert "form" in response.context


def test_lockout_after_five_wrong_passwords(world):
    client = Client()
    responses = [login(client, "same", f"wrong-{n}") for n in range(5)]
    assert [r.status_code for r in responses[:4]] == [200] * 4
    locked = login(client, "same")  # even the right password is refused now
    for response in (responses[4], locked):
        assert response.status_code == 429
        text = response.content.decode()
        assert "登录失败次数过多，账号已暂时锁定，请 15 分钟后再试" in text


def test_password_change(world):
    client = Client()
    login(client, "same")
    new_password = "Another-secret-2026"
    response = client.post(
        "/password/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302 and response["Location"] == "/password/done/"
    assert client.get("/password/done/").status_code == 200
    assert get_user_model().objects.get(username="same").check_password(new_password)


def test_password_change_rejects_wrong_old_password(world):
    client = Client()
    login(client, "same")
    response = client.post(
        "/password/",
        {"old_password": "nope", "new_password1": "X-new-2026-x", "new_password2": "X-new-2026-x"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors


# --- scoped pages --------------------------------------------------------------------------


def test_region_detail_matrix(world):
    assert_page_matrix(world, f"/regions/{world.village.code}/")


def test_organization_detail_matrix(world):
    organization = make_organization(world.village)
    assert_page_matrix(world, f"/organizations/{organization.pk}/")


def test_person_detail_matrix(world):
    person = make_person(world.village, mobile="13812345678")
    assert_page_matrix(world, f"/people/{person.pk}/")


def test_region_index_shows_the_top_of_the_scope(world):
    page = world.client_for(world.grid_worker).get("/regions/").content.decode()
    assert world.grid.name in page
    assert world.sibling_township.name not in page

    page = world.client_for(world.parent).get(f"/regions/{world.county.code}/").content.decode()
    assert world.township.name in page and world.sibling_township.name in page


def test_breadcrumbs_show_only_visible_ancestors(world):
    response = world.client_for(world.same).get(f"/regions/{world.village.code}/")
    ancestors = [region.code for region in response.context["ancestors"]]
    assert ancestors == [world.township.code]


def test_people_list_masks_phones_and_searches_by_tail(world):
    make_person(world.village, name="王小明", mobile="13812345678")
    make_person(world.village, name="李四", mobile="13900001111")
    client = world.client_for(world.same)

    page = client.get("/people/").content.decode()
    assert "138****5678" in page and "13812345678" not in page

    found = client.get("/people/", {"q": "5678"}).context["page"].object_list
    assert [p.name for p in found] == ["王小明"]
    found = client.get("/people/", {"q": "13900001111"}).context["page"].object_list
    assert [p.name for p in found] == ["李四"]
    found = client.get("/people/", {"q": "小明"}).context["page"].object_list
    assert [p.name for p in found] == ["王小明"]


def test_organization_list_filters_by_kind_and_name(world):
    make_organization(world.village, OrganizationKind.MICRO_FIRE_STATION, "州山村微型消防站")
    make_organization(world.village, OrganizationKind.STATION, "柯岩应急管理站")
    client = world.client_for(world.same)
    found = client.get("/organizations/", {"kind": "micro_fire_station"}).context["page"]
    assert [o.name for o in found] == ["州山村微型消防站"]
    found = client.get("/organizations/", {"q": "应急"}).context["page"]
    assert [o.name for o in found] == ["柯岩应急管理站"]


def test_region_filter_outside_scope_is_404(world):
    client = world.client_for(world.same)
    response = client.get("/people/", {"region": world.sibling_township.code})
    assert response.status_code == 404


# --- personal data in clear ----------------------------------------------------------------


def test_reveal_returns_the_clear_value_and_logs_it(world):
    person = make_person(world.village, mobile="13812345678", id_number=VALID_ID)
    client = world.client_for(world.parent)
    detail = client.get(f"/people/{person.pk}/").content.decode()
    assert "138****5678" in detail and "13812345678" not in detail
    assert "显示明文" in detail

    response = client.post(f"/people/{person.pk}/reveal/mobile/")
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")
    access = SensitiveAccess.objects.get()
    assert (access.user, access.field, access.object_id) == (world.parent, "mobile", str(person.pk))
    assert access.remote_addr == "127.0.0.1"


@pytest.mark.parametrize("who", ["grid_worker", "leader"])
def test_reveal_is_refused_without_the_permission(world, who):
    person = make_person(world.grid, mobile="13812345678")
    user = world.grid_worker if who == "grid_worker" else make_user(Role.LEADER, world.county)
    client = world.client_for(user)
    assert "显示明文" not in client.get(f"/people/{person.pk}/").content.decode()

    response = client.post(f"/people/{person.pk}/reveal/mobile/")
    assert response.status_code == 403
    text = response.content.decode()
    assert "您没有查看个人敏感信息明文的权限" in text and "13812345678" not in text
    assert not SensitiveAccess.objects.exists()


def test_reveal_of_an_unknown_field_or_hidden_person_is_404(world):
    person = make_person(world.village, mobile="13812345678")
    assert (
        world.client_for(world.parent).post(f"/people/{person.pk}/reveal/name/").status_code == 404
    )
    hidden = world.client_for(world.sibling).post(f"/people/{person.pk}/reveal/mobile/")
    assert hidden.status_code == 404


# --- jurisdiction switcher -----------------------------------------------------------------


def test_switcher_narrows_the_home_counts(world):
    make_person(world.sibling_township, name="安昌人员")
    client = world.client_for(world.parent)
    everything = client.get("/").context["person_count"]
    options = [option.code for option in client.get("/").context["shell"].switcher]
    assert options == [world.county.code, world.township.code, world.sibling_township.code]

    response = client.post("/focus/", {"region": world.township.code, "next": "/people/"})
    assert response.status_code == 302 and response["Location"] == "/people/"
    assert client.session[FOCUS_SESSION_KEY] == world.township.path
    home = client.get("/")
    narrowed = home.context["person_count"]
    assert narrowed == Person.objects.visible_to(world.same).count() < everything
    assert home.context["shell"].jurisdiction == world.township.name
    assert home.context["chart"]["labels"] == [world.village.name]

    client.post("/focus/", {"region": ""})
    assert FOCUS_SESSION_KEY not in client.session
    assert client.get("/").context["person_count"] == everything


def test_switcher_refuses_a_region_outside_the_scope(world):
    client = world.client_for(world.parent)
    assert client.post("/focus/", {"region": world.other_county.code}).status_code == 404
    same = world.client_for(world.same)
    assert same.post("/focus/", {"region": world.sibling_township.code}).status_code == 404
    assert FOCUS_SESSION_KEY not in same.session


def test_switcher_ignores_an_unsafe_next(world):
    client = world.client_for(world.parent)
    response = client.post("/focus/", {"region": "", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_switcher_offers_villages_to_a_township_and_nothing_to_a_grid(world):
    township_options = world.client_for(world.same).get("/").context["shell"].switcher
    assert [o.code for o in township_options] == [world.township.code, world.village.code]
    assert world.client_for(world.grid_worker).get("/").context["shell"].switcher == []


# --- home ----------------------------------------------------------------------------------


def test_home_counts_and_chart_follow_the_scope(world):
    make_person(world.village)
    response = world.client_for(world.parent).get("/")
    context = response.context
    levels = dict(context["level_counts"])
    assert levels == {"区县": 1, "乡镇街道": 2, "村社区": 1, "网格": 1}
    assert context["person_count"] == Person.objects.visible_to(world.parent).count()
    assert context["account_count"] == 4  # same, parent, sibling, grid worker
    assert context["chart"]["labels"] == [world.township.name, world.sibling_township.name]
    text = response.content.decode()
    assert 'id="people-chart-data"' in text and "vendor/echarts/echarts.min.js" in text
    assert "区县管理员" in text  # 我的角色


def test_nav_follows_the_role(world):
    admin_page = world.client_for(world.parent).get("/").content.decode()
    staff_page = world.client_for(world.same).get("/").content.decode()
    assert "管理后台" in admin_page and "/admin/" in admin_page
    assert "管理后台" not in staff_page
    for label in ("首页", "区划", "单位", "人员", "接口令牌", "修改密码", "退出"):
        assert label in staff_page


def test_demo_banner_when_a_demo_dataset_exists(world):
    client = world.client_for(world.same)
    assert "演示数据" not in client.get("/").content.decode()
    DemoDataset.objects.create(scale="small", seed=1)
    forget_demo_flag()
    assert "演示数据" in client.get("/").content.decode()
    assert "演示数据" in Client().get("/login/").content.decode()


# --- forms call services -------------------------------------------------------------------


def person_data(world, **changes):
    data = {
        "name": "赵六",
        "region": world.village.code,
        "organization": "",
        "position": "网格长",
        "mobile": "13700001234",
        "office_phone": "",
        "id_number": VALID_ID,
    }
    data.update(changes)
    return data


def test_leader_sees_no_edit_buttons_and_gets_403(world):
    leader = make_user(Role.LEADER, world.county)
    person = make_person(world.village)
    client = world.client_for(leader)
    assert "新增人员" not in client.get("/people/").content.decode()
    assert f"/people/{person.pk}/edit/" not in client.get(f"/people/{person.pk}/").content.decode()
    response = client.post("/people/new/", person_data(world))
    assert response.status_code == 403
    assert "您没有维护组织和人员的权限" in response.content.decode()
    assert client.post(f"/people/{person.pk}/edit/", person_data(world)).status_code == 403
    assert not Person.objects.filter(name="赵六").exists()


def test_station_staff_creates_a_person(world):
    client = world.client_for(world.same)
    assert client.get("/people/new/").status_code == 200
    response = client.post("/people/new/", person_data(world))
    person = Person.objects.get(name="赵六")
    assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"
    assert (person.mobile, person.mobile_tail, person.id_number) == (
        "13700001234",
        "1234",
        VALID_ID,
    )


def test_service_errors_show_on_the_form(world):
    client = world.client_for(world.same)
    response = client.post("/people/new/", person_data(world, id_number="330603199001011234"))
    assert response.status_code == 422
    assert response.context["form"].errors["id_number"] == ["应为 18 位身份证号码且校验位正确"]


def test_regions_outside_the_managed_scope_are_not_offered(world):
    client = world.client_for(world.same)
    response = client.post("/people/new/", person_data(world, region=world.sibling_township.code))
    assert response.status_code == 422
    assert "region" in response.context["form"].errors


def test_edit_keeps_secrets_when_left_blank(world):
    person = make_person(world.village, name="钱七", mobile="13812345678", id_number=VALID_ID)
    client = world.client_for(world.same)
    form_page = client.get(f"/people/{person.pk}/edit/").content.decode()
    assert "13812345678" not in form_page and VALID_ID not in form_page
    assert "138****5678" in form_page
    data = person_data(world, name="钱七七", mobile="", id_number="")
    response = client.post(f"/people/{person.pk}/edit/", data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.name, person.mobile, person.id_number) == ("钱七七", "13812345678", VALID_ID)


def test_organization_create_and_edit(world):
    client = world.client_for(world.same)
    data = {"name": "州山村微型消防站", "kind": "micro_fire_station", "region": world.village.code}
    response = client.post("/organizations/new/", data)
    organization = Organization.objects.get(name="州山村微型消防站")
    assert response["Location"] == f"/organizations/{organization.pk}/"

    duplicate = client.post("/organizations/new/", data)
    assert duplicate.status_code == 422
    assert duplicate.context["form"].errors["name"] == ["名称重复"]

    data.update(name="州山村微型消防站（一站）", duty_phone="0575-1234567")
    response = client.post(f"/organizations/{organization.pk}/edit/", data)
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.duty_phone == "0575-1234567"


def test_sibling_cannot_edit_an_organization_it_cannot_see(world):
    organization = make_organization(world.village)
    client = world.client_for(world.sibling)
    assert client.get(f"/organizations/{organization.pk}/edit/").status_code == 404


# --- tokens --------------------------------------------------------------------------------


def test_token_is_shown_once_and_can_be_revoked(world):
    client = world.client_for(world.same)
    assignment = world.same.role_assignments.get()
    response = client.post("/tokens/", {"assignment": assignment.pk, "name": "县级平台"})
    assert response.status_code == 200
    clear = response.context["clear_token"]
    assert clear.startswith("fl_") and clear in response.content.decode()
    token = ApiToken.objects.get()
    assert token.name == "县级平台" and token.assignment == assignment

    listing = client.get("/tokens/").content.decode()
    assert clear not in listing and token.key_prefix in listing

    response = client.post(f"/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_tokens_of_others_are_not_found(world):
    assignment = world.same.role_assignments.get()
    world.client_for(world.same).post("/tokens/", {"assignment": assignment.pk, "name": "x"})
    token = ApiToken.objects.get()
    response = world.client_for(world.parent).post(f"/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    other = world.parent.role_assignments.get()
    response = world.client_for(world.same).post("/tokens/", {"assignment": other.pk, "name": "y"})
    assert response.status_code == 422 and ApiToken.objects.count() == 1


def test_token_expiry_in_the_past_is_refused(world):
    assignment = world.same.role_assignments.get()
    response = world.client_for(world.same).post(
        "/tokens/", {"assignment": assignment.pk, "name": "x", "expires_on": "2000-01-01"}
    )
    assert response.status_code == 422
    assert response.context["form"].errors["expires_on"] == ["有效期不能早于今天"]


# --- query counts --------------------------------------------------------------------------


def _many(world, count: int) -> None:
    organizations = [make_organization(world.village) for _ in range(count)]
    for index, organization in enumerate(organizations):
        make_person(world.village, organization=organization, mobile=f"1380000{index:04d}")


# Session, user, assignments, count, page, switcher options, the account's person (7 today)
# and one spare: a fixed number however many rows the page shows.
MAX_LIST_QUERIES = 8


def test_people_list_has_no_n_plus_one(world, django_assert_max_num_queries):
    _many(world, 30)
    client = world.client_for(world.parent)
    client.get("/")  # warm the demo flag cache
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get("/people/")
    assert len(response.context["page"].object_list) >= 30


def test_organizations_list_has_no_n_plus_one(world, django_assert_max_num_queries):
    _many(world, 30)
    client = world.client_for(world.parent)
    client.get("/")
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get("/organizations/")
    assert len(response.context["page"].object_list) == 30


# --- shell ---------------------------------------------------------------------------------


def test_language_switcher_sets_the_language(world):
    client = world.client_for(world.same)
    assert '<html lang="zh-hans">' in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/people/"})
    assert response.status_code == 302 and response["Location"] == "/people/"
    assert '<html lang="en">' in client.get("/").content.decode()


def test_superuser_pages_cover_everything(world, django_user_model):
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    client = world.client_for(root)
    for url in ("/", "/regions/", "/organizations/", "/people/", "/tokens/"):
        assert client.get(url).status_code == 200, url
    regions = client.get("/regions/").context["page"].object_list
    assert {r.code for r in regions} == {world.county.code, world.other_county.code}
    client.post("/focus/", {"region": world.sibling_township.code})
    assert client.get("/").context["shell"].jurisdiction == world.sibling_township.name


def test_not_found_page_is_chinese(world):
    response = world.client_for(world.sibling).get(f"/regions/{world.village.code}/")
    assert response.status_code == 404
    assert "不在您的管辖范围内" in response.content.decode()


def test_overlong_ids_are_404_not_500(world):
    client = world.client_for(world.parent)
    assert client.get("/people/999999999999999999999999/").status_code == 404
    assert client.get("/organizations/999999999999999999999999/").status_code == 404


# --- findings of the first user walk -------------------------------------------------------


def visible_text(response) -> str:
    """The page as a reader sees it: tags dropped, white space collapsed."""
    text = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", text)


def _brigade_and_station(world):
    brigade = make_organization(world.county, OrganizationKind.FIRE_BRIGADE, "柯桥区消防救援大队")
    station = services.create_organization(
        actor=None,
        name="柯岩消防救援站",
        kind=OrganizationKind.FIRE_BRIGADE,
        region=world.township,
        parent=brigade,
    )
    return brigade, station


def test_editing_keeps_a_parent_outside_the_scope(world, monkeypatch):
    brigade, station = _brigade_and_station(world)
    client = world.client_for(world.same)
    form = client.get(f"/organizations/{station.pk}/edit/").context["form"]
    assert brigade in form.fields["parent"].queryset, "the current parent is offered"
    assert form.fields["parent"].disabled, "an out-of-scope parent is shown read-only"
    page = client.get(f"/organizations/{station.pk}/edit/").content.decode()
    assert re.search(rf'<option value="{brigade.pk}" selected>柯桥区消防救援大队', page)

    calls = []
    real = services.update_organization
    monkeypatch.setattr(
        services, "update_organization", lambda **kw: calls.append(kw) or real(**kw)
    )
    # A browser does not send a disabled select.
    data = {"name": station.name, "kind": station.kind, "duty_phone": "0575-84123456"}
    response = client.post(f"/organizations/{station.pk}/edit/", data)
    assert response.status_code == 302
    station.refresh_from_db()
    assert station.parent == brigade and station.duty_phone == "0575-84123456"
    assert set(calls[0]) == {"actor", "organization", "duty_phone"}, "only changed fields"


def test_editing_a_person_keeps_a_unit_outside_the_scope(world):
    brigade = make_organization(world.county, OrganizationKind.FIRE_BRIGADE, "柯桥区消防救援大队")
    person = make_person(world.village, name="消防员甲", organization=brigade)
    client = world.client_for(world.same)
    data = person_data(world, name="消防员乙", mobile="", id_number="")
    del data["organization"]
    assert client.post(f"/people/{person.pk}/edit/", data).status_code == 302
    person.refresh_from_db()
    assert (person.name, person.organization) == ("消防员乙", brigade)


def test_organization_kind_must_be_chosen(world):
    client = world.client_for(world.same)
    page = client.get("/organizations/new/").content.decode()
    select = re.search(r'<select name="kind"[^>]*>\s*<option value="([^"]*)"[^>]*>([^<]*)<', page)
    assert select.groups() == ("", "请选择")
    response = client.post("/organizations/new/", {"name": "某单位", "region": world.village.code})
    assert response.status_code == 422 and "kind" in response.context["form"].errors
    assert not Organization.objects.filter(name="某单位").exists()


def test_reveal_asks_for_a_reason_and_links_the_phone(world):
    person = make_person(world.village, mobile="13812345678")
    client = world.client_for(world.parent)
    assert 'name="reason"' in client.get(f"/people/{person.pk}/").content.decode()
    response = client.post(f"/people/{person.pk}/reveal/mobile/", {"reason": "联系值班"})
    assert 'href="tel:13812345678"' in response.content.decode()
    assert SensitiveAccess.objects.get().reason == "联系值班"

    too_long = client.post(f"/people/{person.pk}/reveal/mobile/", {"reason": "长" * 201})
    assert too_long.status_code == 422 and "13812345678" not in too_long.content.decode()
    assert SensitiveAccess.objects.count() == 1


def test_duty_phones_are_links(world):
    organization = services.create_organization(
        actor=None,
        name="州山村微型消防站",
        kind=OrganizationKind.MICRO_FIRE_STATION,
        region=world.village,
        duty_phone="0575-84123456",
    )
    client = world.client_for(world.same)
    for url in ("/organizations/", f"/organizations/{organization.pk}/"):
        assert 'href="tel:0575-84123456"' in client.get(url).content.decode(), url


def test_lists_keep_names_on_one_line(world):
    make_person(world.village, name="欧阳明明")
    page = world.client_for(world.same).get("/people/").content.decode()
    assert '<div class="table-wrap">' in page
    assert re.search(r'<td class="nowrap"><a href="/people/\d+/">欧阳明明</a>', page)


def test_breadcrumb_separators_are_spaced(world):
    text = visible_text(world.client_for(world.parent).get(f"/regions/{world.grid.code}/"))
    assert "区划 › 柯桥区 › 柯岩街道 › 州山村 › 州山村第一网格" in text


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_thousands_separators_in_both_languages(world, language):
    services.update_region(actor=None, region=world.village, name="州山村")
    Region.objects.filter(pk=world.village.pk).update(population=12345)
    client = world.client_for(world.parent)
    client.post("/i18n/setlang/", {"language": language})
    assert "12,345" in client.get(f"/regions/{world.township.code}/").content.decode()
    assert "12,345" in client.get(f"/regions/{world.village.code}/").content.decode()
    empty = client.get(f"/regions/{world.grid.code}/").content.decode()
    assert "None" not in empty


def test_favicon(world):
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("frontline/favicon.svg")
    page = world.client_for(world.same).get("/").content.decode()
    assert 'rel="icon"' in page and "frontline/favicon.svg" in page


def test_logout_says_so(world):
    client = world.client_for(world.same)
    response = client.post("/logout/", follow=True)
    assert "您已退出登录" in response.content.decode()


def test_token_revoke_by_get_goes_back_to_the_list(world):
    client = world.client_for(world.same)
    token, _clear = services.issue_token(
        actor=world.same, assignment=world.same.role_assignments.get(), name="平台"
    )
    response = client.get(f"/tokens/{token.pk}/revoke/", follow=True)
    assert response.redirect_chain == [("/tokens/", 302)]
    assert "撤销令牌请在列表中点击“撤销”按钮" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_form_preselects_the_only_assignment_and_offers_copy(world):
    client = world.client_for(world.same)
    assignment = world.same.role_assignments.get()
    assert client.get("/tokens/").context["form"]["assignment"].value() == assignment.pk
    response = client.post("/tokens/", {"assignment": assignment.pk, "name": "县级平台"})
    page = response.content.decode()
    assert 'data-copy="clear-token"' in page and ">复制<" in page

    services.grant_role(actor=None, user=world.same, role=Role.GRID_WORKER, region=world.grid)
    assert client.get("/tokens/").context["form"]["assignment"].value() is None


@pytest.mark.parametrize("kind", ["region", "person", "organization"])
def test_not_found_outside_the_focus_offers_to_clear_it(world, kind):
    organization = make_organization(world.village)
    person = make_person(world.village)
    url = {
        "region": f"/regions/{world.village.code}/",
        "person": f"/people/{person.pk}/",
        "organization": f"/organizations/{organization.pk}/",
    }[kind]
    client = world.client_for(world.parent)
    client.post("/focus/", {"region": world.sibling_township.code})
    response = client.get(url)
    assert response.status_code == 404
    page = response.content.decode()
    assert "切换到全部辖区" in page and 'action="/focus/"' in page
    assert "不在当前辖区“安昌街道”内" in page

    response = client.post("/focus/", {"region": "", "next": url})
    assert response["Location"] == url and client.get(url).status_code == 200


def test_not_found_outside_the_whole_scope_says_nothing_of_the_focus(world):
    person = make_person(world.other_county)
    client = world.client_for(world.parent)
    client.post("/focus/", {"region": world.township.code})
    response = client.get(f"/people/{person.pk}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "切换到全部辖区" not in page and "不在您的管辖范围内" in page
