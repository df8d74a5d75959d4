"""The map layer of open community calls: pins coloured by state, overdue in red, a popup
with number, title, department and deadlines, scoped like the calls' pages."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.community.models import CallCategory, CommunityCall
from frontline.community.services import calls as services
from frontline.community.testing import make_department
from frontline.community.tests import test_calls as base

dept = base.dept
raise_one = base.raise_one
URL = "/api/v1/map/layers/community.calls"
BBOX = {"bbox": "120.3,29.9,120.7,30.2"}


def features(client, **query) -> dict[int, dict]:
    response = client.get(URL, {**BBOX, **query})
    assert response.status_code == 200
    return {f["properties"]["id"]: f["properties"] for f in response.json()["features"]}


def test_open_calls_coloured_by_state_overdue_in_red(world, dept):
    liaison, caller = dept["liaison"], world.grid_worker
    called = raise_one(world, dept, lon=120.41, lat=30.01, title="消防通道被占")
    late = raise_one(world, dept, lon=120.411, lat=30.01, title="积水未排")
    CommunityCall.objects.filter(pk=late.pk).update(
        arrive_by=timezone.now() - timedelta(minutes=5), escalation_level=2
    )
    on_site = raise_one(world, dept, lon=120.412, lat=30.01)
    services.report_on_site(actor=liaison, call=on_site)
    fixed = raise_one(world, dept, lon=120.413, lat=30.01)
    services.report_on_site(actor=liaison, call=fixed)
    services.report_fixed(actor=liaison, call=fixed, note="已清理")
    closed = raise_one(world, dept, lon=120.414, lat=30.01)
    services.report_on_site(actor=liaison, call=closed)
    services.report_fixed(actor=liaison, call=closed, note="已清理")
    services.confirm_fix(actor=caller, call=closed, rating=5)
    withdrawn = raise_one(world, dept, lon=120.415, lat=30.01)
    services.withdraw_call(actor=caller, call=withdrawn, reason="误报")
    raise_one(world, dept)  # no position: not on the map

    shown = features(world.client_for(world.same))
    assert {pk: p["color"] for pk, p in shown.items()} == {
        called.pk: "#f08c00",
        late.pk: "#d92d20",
        on_site.pk: "#1f6fd1",
        fixed.pk: "#15803d",
    }
    assert shown[late.pk]["overdue"] is True and shown[late.pk]["escalation_level"] == 2
    popup = shown[late.pk]["popup"]
    for text in (late.number, "积水未排", "柯岩消防救援站", "报到时限", "整改时限", "逾期"):
        assert text in popup, text
    assert "已升级 2 次" in popup and "超时未到场" in popup
    assert f'href="/calls/{late.pk}/"' in popup and shown[late.pk]["url"] == f"/calls/{late.pk}/"
    assert "已到场" in shown[on_site.pk]["popup"]

    client = world.client_for(world.same)
    assert set(features(client, overdue="1")) == {late.pk}
    assert set(features(client, state="fixed")) == {fixed.pk}
    assert set(features(client, state="closed")) == set(shown)  # not an open state: ignored
    assert set(features(client, category="gas")) == set()
    assert set(features(client, bbox="120.4105,30.0,120.4125,30.02")) == {late.pk, on_site.pk}
    keys = {layer["key"] for layer in client.get("/api/v1/map/layers").json()}
    assert "community.calls" in keys


def test_layer_scope_is_the_calls_scope(world, dept):
    call = raise_one(world, dept, lon=120.41, lat=30.01)
    sibling_unit = make_department(world.sibling_township, "安昌派出所")
    theirs = services.raise_call(
        actor=world.sibling,
        region=world.sibling_township,
        title="出租房人员登记不全",
        category=CallCategory.POLICE,
        department=sibling_unit,
        lon=120.51,
        lat=30.01,
    )
    assert set(features(world.client_for(world.same))) == {call.pk}
    assert set(features(world.client_for(world.parent))) == {call.pk, theirs.pk}
    assert set(features(world.client_for(world.sibling))) == {theirs.pk}
    assert set(features(world.client_for(world.outsider))) == set()
    # A liaison of the called department whose own scope is elsewhere still sees the call
    # sent to their unit, as on the calls' pages.
    far = base.make_liaison(dept["department"], world.sibling_township, "farliaison")
    assert set(features(world.client_for(far))) == {call.pk, theirs.pk}
    assert world.client_for(None).get(URL, BBOX).status_code == 401


def test_layer_costs_constant_queries(world, dept):
    client = world.client_for(world.same)
    raise_one(world, dept, lon=120.41, lat=30.01)

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, BBOX)
        assert response.status_code == 200
        return len(response.json()["features"]), len(queries)

    one, few = measure()
    for index in range(6):
        raise_one(world, dept, lon=120.41 + index / 1000, lat=30.01)
    seven, many = measure()
    assert (one, seven) == (1, 7)
    assert many == few
