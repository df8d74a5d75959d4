"""The community call API: /api/v1/calls — list, detail, raise and one POST per step."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.community.models import CallState, CommunityCall
from frontline.community.services import calls as services
from frontline.community.testing import make_department
from frontline.community.tests import test_calls as base
from frontline.core.models import TaskState
from frontline.core.testing import assert_api_matrix

dept = base.dept
raise_one = base.raise_one


def post(client, url, payload=None):
    return client.post(url, payload or {}, content_type="application/json")


def test_detail_follows_the_scope(world, dept):
    call = raise_one(world, dept)
    assert_api_matrix(world, f"/api/v1/calls/{call.pk}")
    assert world.client_for(world.sibling).get("/api/v1/calls").json()["count"] == 0
    body = world.client_for(world.grid_worker).get(f"/api/v1/calls/{call.pk}").json()
    assert body["number"] == call.number and body["state"] == "called"
    assert body["department_name"] == "柯岩消防救援站"
    assert [e["kind"] for e in body["timeline"]] == ["called"]
    assert body["actions"] == ["withdraw"]
    liaison = world.client_for(dept["liaison"]).get(f"/api/v1/calls/{call.pk}").json()
    assert liaison["actions"] == ["on-site"]


def test_every_step_endpoint_answers_404_out_of_scope(world, dept):
    call = raise_one(world, dept)
    for action in ("on-site", "fixed", "confirm", "reject", "withdraw"):
        for user in (world.sibling, world.outsider):
            response = post(world.client_for(user), f"/api/v1/calls/{call.pk}/{action}", {})
            assert response.status_code in (404, 422), (action, response.status_code)
            if response.status_code == 422:  # the body is checked first: try a full one
                response = post(
                    world.client_for(user),
                    f"/api/v1/calls/{call.pk}/{action}",
                    {"note": "x", "reason": "x", "rating": 5},
                )
            assert response.status_code == 404, (action, response.status_code)
    assert (
        post(
            world.client_for(None), f"/api/v1/calls/{call.pk}/withdraw", {"reason": "x"}
        ).status_code
        == 401
    )


def test_the_loop_through_the_api(world, dept):
    gw = world.client_for(world.grid_worker)
    liaison = world.client_for(dept["liaison"])
    options = gw.get(f"/api/v1/calls/departments?region={world.grid.code}&category=fire").json()
    assert options[0]["id"] == dept["department"].pk and options[0]["suggested"] is True
    created = post(
        gw,
        "/api/v1/calls",
        {
            "region_code": world.grid.code,
            "title": "燃气管道漏气",
            "category": "gas",
            "department_id": dept["department"].pk,
            "address": "州山路5号",
            "lon": 120.401,
            "lat": 30.001,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    call_id = body["id"]
    assert body["state"] == "called" and body["is_overdue"] is False
    assert body["task_id"] is not None

    assert (
        post(liaison, f"/api/v1/calls/{call_id}/on-site", {"lon": 120.401, "lat": 30.001}).json()[
            "state"
        ]
        == "on_site"
    )
    assert post(liaison, f"/api/v1/calls/{call_id}/fixed", {"note": ""}).status_code == 422
    assert (
        post(liaison, f"/api/v1/calls/{call_id}/fixed", {"note": "已关阀维修"}).json()["state"]
        == "fixed"
    )
    refused = post(liaison, f"/api/v1/calls/{call_id}/confirm", {"rating": 5})
    assert refused.status_code == 409
    assert refused.json()["code"] == "department_cannot_close"
    assert "呼叫人" in refused.json()["message"]
    not_caller = post(
        world.client_for(world.same), f"/api/v1/calls/{call_id}/confirm", {"rating": 5}
    )
    assert not_caller.status_code == 403
    bad = post(gw, f"/api/v1/calls/{call_id}/confirm", {"rating": 9})
    assert bad.status_code == 422 and "rating" in bad.json()["details"]
    done = post(gw, f"/api/v1/calls/{call_id}/confirm", {"rating": 4, "note": "及时"})
    assert done.status_code == 200
    assert done.json()["state"] == "closed" and done.json()["rating"] == 4
    assert done.json()["actions"] == []
    call = CommunityCall.objects.get(pk=call_id)
    assert call.task.state == TaskState.VERIFIED
    again = post(gw, f"/api/v1/calls/{call_id}/withdraw", {"reason": "x"})
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"


def test_raise_refuses_bad_input_with_field_messages(world, dept):
    gw = world.client_for(world.grid_worker)
    far = make_department(world.sibling_township, "安昌供电所")
    response = post(
        gw,
        "/api/v1/calls",
        {"region_code": world.grid.code, "title": "x", "category": "fire", "department_id": far.pk},
    )
    assert response.status_code == 422 and "department_id" in response.json()["details"]
    response = post(
        gw,
        "/api/v1/calls",
        {
            "region_code": world.grid.code,
            "title": "",
            "category": "nope",
            "department_id": dept["department"].pk,
        },
    )
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"title", "category"}
    response = post(
        gw,
        "/api/v1/calls",
        {
            "region_code": world.sibling_township.code,
            "title": "x",
            "category": "fire",
            "department_id": dept["department"].pk,
        },
    )
    assert response.status_code == 422 and "region_code" in response.json()["details"]
    assert not CommunityCall.objects.exists()


def test_list_filters_and_query_count(world, dept):
    client = world.client_for(world.same)
    raise_one(world, dept)

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/calls")
        assert response.status_code == 200
        return response.json(), len(queries)

    _, few = measure()
    late = raise_one(world, dept, title="积水")
    for _n in range(4):
        raise_one(world, dept)
    CommunityCall.objects.filter(pk=late.pk).update(arrive_by=timezone.now() - timedelta(minutes=5))
    body, many = measure()
    assert body["count"] == 6
    assert many == few, "the list costs the same number of queries however long it is"
    overdue = client.get("/api/v1/calls?overdue=true").json()
    assert [c["id"] for c in overdue["items"]] == [late.pk]
    assert overdue["items"][0]["is_overdue"] is True
    assert (
        client.get(
            f"/api/v1/calls?state=called&category=fire&department={dept['department'].pk}"
        ).json()["count"]
        == 6
    )
    assert client.get("/api/v1/calls?state=closed").json()["count"] == 0
    assert client.get("/api/v1/calls?q=积水").json()["count"] == 1


def test_department_liaison_lists_the_calls_of_their_organization(world, dept):
    call = raise_one(world, dept)
    body = world.client_for(dept["liaison"]).get("/api/v1/calls").json()
    assert [c["id"] for c in body["items"]] == [call.pk]
    services.report_on_site(actor=dept["liaison"], call=call)
    assert CommunityCall.objects.get(pk=call.pk).state == CallState.ON_SITE
