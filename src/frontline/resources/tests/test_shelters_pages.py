"""Shelter pages: the authorization matrix, the list and the shelter's page with query counts
that do not grow with shelters or evacuees, the live occupancy block, the check-in form (a
family at once, bad ID numbers on their field, who may register), check-out, masked names
and the logged clear view, the register and its export, the forms with the area rule."""

from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook

from frontline.core.models import SensitiveAccess
from frontline.core.roles import Role
from frontline.core.services.validation import id_check_digit
from frontline.core.testing import assert_page_matrix, make_user, page_queries
from frontline.resources.models import Evacuee, IssuePurpose, Shelter, ShelterStatus
from frontline.resources.services import evacuees as ev
from frontline.resources.services import shelters as services
from frontline.resources.services import stock
from frontline.resources.testing import make_depot, make_item, make_shelter


def id_number(body: str = "33060319800101001") -> str:
    return body + id_check_digit(body)


def opened(world, region=None, **kw) -> Shelter:
    shelter = make_shelter(region or world.township, **kw)
    return services.open_shelter(actor=world.same, shelter=shelter)


def family(world, shelter, names=("陈建国", "陈小雨"), **kw):
    return ev.check_in(
        actor=world.same, shelter=shelter, people=[ev.Arrival(name=n, **kw) for n in names]
    )


def formset(people: list[dict], **household) -> dict:
    data = {
        "people-TOTAL_FORMS": str(len(people)),
        "people-INITIAL_FORMS": "0",
        "people-MIN_NUM_FORMS": "1",
        "people-MAX_NUM_FORMS": "30",
        **household,
    }
    for index, person in enumerate(people):
        for key, value in person.items():
            data[f"people-{index}-{key}"] = value
    return data


def sheet(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


# --- who sees what ----------------------------------------------------------------------------


def test_pages_of_a_shelter_answer_the_matrix(world):
    shelter = opened(world)
    for suffix in ("", "edit/", "register/", "check-in/", "occupancy/"):
        assert_page_matrix(world, f"/shelters/{shelter.pk}/{suffix}")


def test_the_list_shows_each_user_their_shelters(world):
    ours = make_shelter(world.township, name="柯岩中学")
    theirs = make_shelter(world.sibling_township, name="安昌中学")
    for user, seen, unseen in (
        (world.same, ours, theirs),
        (world.sibling, theirs, ours),
        (world.outsider, None, ours),
    ):
        html = world.client_for(user).get("/shelters/").content.decode()
        if seen is not None:
            assert seen.name in html
        assert unseen.name not in html
    county = world.client_for(world.parent).get("/shelters/").content.decode()
    assert ours.name in county and theirs.name in county
    anonymous = world.client_for(None).get("/shelters/")
    assert anonymous.status_code == 302


def test_the_list_filters_and_its_queries_do_not_grow(world):
    client = world.client_for(world.parent)
    full = opened(world, name="满员场所", area_m2=3.0)
    family(world, full)
    make_shelter(world.township, name="一类场所", shelter_class="I")
    listed, few = page_queries(client, "/shelters/")
    html = listed.content.decode()
    assert listed.status_code == 200 and 'aria-valuenow="100"' in html
    for index in range(25):
        make_shelter(world.sibling_township, name=f"场所{index}", level="village")
    page, many = page_queries(client, "/shelters/")
    assert len(many.captured_queries) == len(few.captured_queries)
    assert "场所24" in page.content.decode()

    def names(query: str) -> str:
        return client.get("/shelters/" + query).content.decode()

    assert "满员场所" in names("?status=full") and "一类场所" not in names("?status=full")
    assert "一类场所" in names("?shelter_class=I") and "满员场所" not in names("?shelter_class=I")
    assert "场所3" not in names(f"?region={world.township.code}")
    assert "场所3" in names("?level=village")


def test_the_shelter_page_queries_do_not_grow_with_evacuees(world):
    shelter = opened(world, area_m2=3000.0)
    client = world.client_for(world.same)
    family(world, shelter)
    first, few = page_queries(client, f"/shelters/{shelter.pk}/")
    assert first.status_code == 200
    for n in range(20):
        family(world, shelter, names=(f"甲{n}", f"乙{n}", f"丙{n}"), age=70)
    ev.check_out(actor=world.same, evacuees=list(Evacuee.objects.all()[:5]), destination="返家")
    page, many = page_queries(client, f"/shelters/{shelter.pk}/")
    assert len(many.captured_queries) == len(few.captured_queries)
    html = page.content.decode()
    assert 'data-testid="occupancy">57<' in html
    assert 'data-need="elderly">' in html


def test_the_shelter_page_masks_the_people_and_lists_the_handouts(world):
    shelter = opened(world)
    family(world, shelter, names=("陈建国",), phone="13812345678")
    depot = make_depot(world.township)
    quilt = make_item(name="棉被", unit="床")
    stock.receive_stock(
        actor=world.same, depot=depot, lines=[stock.Receipt(item=quilt, quantity=50)]
    )
    stock.issue_stock(
        actor=world.same,
        depot=depot,
        lines=[stock.Take(item=quilt, quantity=12)],
        purpose=IssuePurpose.SHELTER,
        shelter=shelter,
    )
    html = world.client_for(world.same).get(f"/shelters/{shelter.pk}/").content.decode()
    assert "陈**" in html and "陈建国" not in html and "13812345678" not in html
    assert "棉被" in html and "<strong>12</strong> 床" in html
    assert "登记入住" in html and 'data-kind="check_in"' in html


# --- live occupancy ---------------------------------------------------------------------------


def test_the_occupancy_block_answers_204_until_something_changes(world):
    shelter = opened(world)
    client = world.client_for(world.same)
    url = f"/shelters/{shelter.pk}/occupancy/"
    first = client.get(url)
    assert first.status_code == 200 and 'data-testid="occupancy">0<' in first.content.decode()
    version = f"0-{shelter.capacity}-open"
    assert client.get(url, {"v": version}).status_code == 204
    family(world, shelter)
    changed = client.get(url, {"v": version})
    html = changed.content.decode()
    assert changed.status_code == 200 and 'data-testid="occupancy">2<' in html
    assert f"v=2-{shelter.capacity}-open" in html and 'hx-trigger="every 4s"' in html
    assert "present-stale" not in html  # a plain GET: the block alone
    polled = client.get(url, {"v": version}, headers={"HX-Request": "true"}).content.decode()
    assert 'id="needs"' in polled and 'hx-swap-oob="true"' in polled
    assert 'data-testid="present-stale"' in polled


# --- check-in and check-out -------------------------------------------------------------------


def test_a_family_checks_in_through_the_form(world):
    shelter = opened(world)
    client = world.client_for(world.same)
    url = f"/shelters/{shelter.pk}/check-in/"
    page = client.get(url).content.decode()
    assert 'id="person-template"' in page and "people-__prefix__-name" in page
    data = formset(
        [
            {"name": "陈建国", "id_number": id_number(), "phone": "13812345678"},
            {"name": "陈小雨", "age": "6", "needs": ["child", "diet"], "bed_no": "A-3"},
        ],
        home_address="州山村5组12号",
    )
    done = client.post(url, data)
    assert done.status_code == 302 and done["Location"] == f"/shelters/{shelter.pk}/"
    shelter.refresh_from_db()
    assert shelter.occupancy == 2
    stays = list(Evacuee.objects.filter(shelter=shelter).order_by("pk"))
    assert [s.name for s in stays] == ["陈建国", "陈小雨"]
    assert stays[1].needs == "child,diet" and stays[0].household_head == "陈建国"
    assert stays[0].group_no == stays[1].group_no


def test_a_bad_id_number_is_shown_on_its_field_and_nothing_is_stored(world):
    shelter = opened(world)
    client = world.client_for(world.same)
    wrong = "330603198001010010" if id_number() != "330603198001010010" else "330603198001010011"
    bad = client.post(
        f"/shelters/{shelter.pk}/check-in/",
        formset([{"name": "甲"}, {"name": "乙", "id_number": wrong}]),
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "校验位正确" in html and "has-error" in html
    assert not Evacuee.objects.exists() and Shelter.objects.get(pk=shelter.pk).occupancy == 0


def test_a_full_or_closed_shelter_and_a_duplicate_are_409_on_the_form(world):
    shelter = opened(world, area_m2=3.0)
    client = world.client_for(world.same)
    url = f"/shelters/{shelter.pk}/check-in/"
    assert client.post(url, formset([{"name": "甲", "id_number": id_number()}])).status_code == 302
    twice = client.post(url, formset([{"name": "甲", "id_number": id_number()}]))
    assert twice.status_code == 409 and "不能重复登记" in twice.content.decode()
    client.post(url, formset([{"name": "乙"}]))
    full = client.post(url, formset([{"name": "丙"}]))
    assert full.status_code == 409 and "已满员" in full.content.decode()
    assert Shelter.objects.get(pk=shelter.pk).occupancy == 2


def test_who_may_register(world):
    shelter = opened(world)
    url = f"/shelters/{shelter.pk}/check-in/"
    township_worker = make_user(Role.GRID_WORKER, world.township)
    leader = make_user(Role.LEADER, world.township)
    assert world.client_for(township_worker).get(url).status_code == 200
    posted = world.client_for(township_worker).post(url, formset([{"name": "甲"}]))
    assert posted.status_code == 302
    assert world.client_for(leader).get(url).status_code == 403
    assert world.client_for(leader).post(url, formset([{"name": "乙"}])).status_code == 403
    assert world.client_for(world.sibling).post(url, formset([{"name": "丙"}])).status_code == 404
    # The grid worker of the grid registers in the grid's own shelter.
    local = opened(world, region=world.grid, name="网格内场所")
    done = world.client_for(world.grid_worker).post(
        f"/shelters/{local.pk}/check-in/", formset([{"name": "丁"}])
    )
    assert done.status_code == 302
    assert Evacuee.objects.count() == 2
    leader_page = world.client_for(leader).get(f"/shelters/{shelter.pk}/").content.decode()
    assert 'data-testid="check-in-link"' not in leader_page and 'name="evacuee"' not in leader_page


def test_check_out_from_the_shelter_page(world):
    shelter = opened(world)
    stays = family(world, shelter, names=("甲", "乙", "丙"))
    client = world.client_for(world.same)
    done = client.post(
        f"/shelters/{shelter.pk}/check-out/",
        {"evacuee": [stays[0].pk, stays[1].pk], "destination": "投亲"},
    )
    assert done.status_code == 302
    assert Shelter.objects.get(pk=shelter.pk).occupancy == 1
    assert Evacuee.objects.get(pk=stays[0].pk).destination == "投亲"
    again = client.post(f"/shelters/{shelter.pk}/check-out/", {"evacuee": [stays[0].pk]})
    assert again.status_code == 302 and Shelter.objects.get(pk=shelter.pk).occupancy == 1


# --- open, close, forms -----------------------------------------------------------------------


def test_open_and_close_buttons(world):
    shelter = make_shelter(world.township)
    client = world.client_for(world.same)
    assert client.post(f"/shelters/{shelter.pk}/open/").status_code == 302
    assert Shelter.objects.get(pk=shelter.pk).status == ShelterStatus.OPEN
    family(world, shelter, names=("甲",))
    refused = client.post(f"/shelters/{shelter.pk}/close/", follow=True)
    assert "请先办理离开" in refused.content.decode()
    assert Shelter.objects.get(pk=shelter.pk).status == ShelterStatus.OPEN
    leader = make_user(Role.LEADER, world.township)
    assert world.client_for(leader).post(f"/shelters/{shelter.pk}/close/").status_code == 403
    assert world.client_for(world.sibling).post(f"/shelters/{shelter.pk}/close/").status_code == 404


def test_the_form_applies_the_area_rule(world):
    client = world.client_for(world.same)
    form = {
        "name": "柯岩小学",
        "region": world.township.code,
        "shelter_class": "II",
        "level": "township",
        "lon": "120.41",
        "lat": "30.01",
        "usable_area_m2": "150",
        "capacity": "120",
        "facilities": ["water", "toilets"],
    }
    refused = client.post("/shelters/new/", form)
    assert refused.status_code == 422 and "面积标准" in refused.content.decode()
    assert not Shelter.objects.exists()
    saved = client.post("/shelters/new/", {**form, "capacity_reason": "加设双层床"})
    assert saved.status_code == 302
    shelter = Shelter.objects.get()
    assert (shelter.capacity, shelter.facilities) == (120, "water,toilets")
    derived = client.post(
        f"/shelters/{shelter.pk}/edit/",
        {**form, "capacity": "", "capacity_reason": "", "usable_area_m2": "300"},
    )
    assert derived.status_code == 302
    shelter.refresh_from_db()
    assert (shelter.capacity, shelter.capacity_reason) == (200, "")
    leader = make_user(Role.LEADER, world.township)
    assert world.client_for(leader).get("/shelters/new/").status_code == 403


# --- the clear view, the register and its export -----------------------------------------------


def test_the_clear_view_needs_the_permission_and_a_reason_and_is_logged(world):
    shelter = opened(world)
    family(world, shelter, names=("陈建国", "陈小雨"), phone="13812345678")
    url = f"/shelters/{shelter.pk}/evacuees/clear/"
    staff = world.client_for(world.same)  # station staff: no view_resident_data
    assert "查看明文" not in staff.get(f"/shelters/{shelter.pk}/").content.decode()
    denied = staff.post(url, {"reason": "核对"})
    assert denied.status_code == 403 and denied["HX-Retarget"] == "#reveal-message"
    chief = make_user(Role.STATION_CHIEF, world.township)
    client = world.client_for(chief)
    assert "查看明文" in client.get(f"/shelters/{shelter.pk}/").content.decode()
    assert client.post(url, {"reason": ""}).status_code == 422
    assert not SensitiveAccess.objects.exists()
    shown = client.post(url, {"reason": "核对床位"})
    html = shown.content.decode()
    assert shown.status_code == 200 and "陈建国" in html and "13812345678" in html
    logged = SensitiveAccess.objects.filter(user=chief)
    assert logged.count() == 2 and {a.reason for a in logged} == {"核对床位"}
    assert world.client_for(world.sibling).post(url, {"reason": "x"}).status_code == 404


def test_the_register_lists_every_stay_masked(world):
    shelter = opened(world)
    stays = family(world, shelter, names=("陈建国", "陈小雨"))
    ev.check_out(actor=world.same, evacuees=stays[:1], destination="返家")
    client = world.client_for(world.same)
    html = client.get(f"/shelters/{shelter.pk}/register/").content.decode()
    assert "陈**" in html and "陈建国" not in html and "返家" in html
    present = client.get(f"/shelters/{shelter.pk}/register/?which=present").content.decode()
    assert "返家" not in present and "陈**" in present


def test_the_register_of_people_with_needs_opens_in_both_languages(world):
    # The needs' labels are lazy translations; joining them for the page once failed (500).
    shelter = opened(world)
    family(world, shelter, names=("陈建国",), needs=["elderly", "medication"])
    client = world.client_for(world.same)

    chinese = client.get(f"/shelters/{shelter.pk}/register/")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get(f"/shelters/{shelter.pk}/register/")

    assert chinese.status_code == english.status_code == 200
    # Needs are health data: masked on the register unless shown in clear with a reason.
    assert "老年人" not in chinese.content.decode()


def test_the_register_export_is_masked_unless_a_reason_is_given_by_who_may(world):
    shelter = opened(world)
    family(world, shelter, names=("陈建国", "陈小雨"), phone="13812345678")
    ev.check_in(
        actor=world.same,
        shelter=shelter,
        people=[ev.Arrival(name="周桂英", id_number=id_number(), needs=["disabled"])],
    )
    url = f"/shelters/{shelter.pk}/register/export/"
    masked = world.client_for(world.same).get(url)
    assert masked.status_code == 200
    rows = sheet(masked.content)
    assert rows[0][:4] == ["序号", "家庭编号", "户主", "姓名"]
    text = str(rows)
    assert "陈建国" not in text and "13812345678" not in text and id_number() not in text
    assert "陈**" in text and "330603********" in text and "***" in text
    assert not SensitiveAccess.objects.exists()
    refused = world.client_for(world.same).post(url, {"reason": "报送民政"})
    assert refused.status_code == 403 and not SensitiveAccess.objects.exists()
    clear = world.client_for(world.parent).post(url, {"reason": "报送民政"})
    rows = sheet(clear.content)
    assert clear.status_code == 200 and "陈建国" in str(rows) and id_number() in str(rows)
    assert "残疾人" in str(rows)
    assert SensitiveAccess.objects.filter(user=world.parent, reason="报送民政").count() == 3
    assert world.client_for(world.sibling).get(url).status_code == 404


@pytest.mark.parametrize("suffix", ["register/", "register/export/"])
def test_the_register_queries_do_not_grow_with_evacuees(world, suffix):
    shelter = opened(world, area_m2=3000.0)
    family(world, shelter)
    client = world.client_for(world.same)
    url = f"/shelters/{shelter.pk}/{suffix}"
    _first, few = page_queries(client, url)
    for n in range(15):
        family(world, shelter, names=(f"甲{n}", f"乙{n}"))
    _page, many = page_queries(client, url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_card_added_and_left_empty_is_not_a_person(world):
    shelter = opened(world)
    client = world.client_for(world.same)
    url = f"/shelters/{shelter.pk}/check-in/"
    done = client.post(url, formset([{"name": "甲"}, {"name": ""}]))
    assert done.status_code == 302 and Evacuee.objects.count() == 1
    nobody = client.post(url, formset([{"name": ""}]))
    assert nobody.status_code == 422 and Evacuee.objects.count() == 1
