"""Grid staffing: posts (网格长, 网格员, 兼职网格员, 十户长), ending them, the grid's staff,
and the group leader of households (十户一长); services and API."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.community.models import GridPost, GridRole, Household
from frontline.community.services import staffing
from frontline.community.testing import make_household
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.testing import assert_api_matrix, make_person


def post(client, url, payload):
    return client.post(url, payload, content_type="application/json")


@pytest.fixture
def people(world):
    return {
        "wang": make_person(world.grid, "王网格"),
        "li": make_person(world.grid, "李十户"),
        "far": make_person(world.sibling_township, "外乡人"),
    }


def test_appoint_list_and_end_posts(world, people):
    worker = staffing.appoint_post(
        actor=world.same, region=world.grid, person=people["wang"], role=GridRole.GRID_WORKER
    )
    assert worker.started_on == timezone.localdate() and worker.is_active
    leader = staffing.appoint_post(
        actor=world.same, region=world.grid, person=people["li"], role=GridRole.GROUP_LEADER
    )
    chief = staffing.appoint_post(
        actor=world.parent, region=world.grid, person=people["wang"], role=GridRole.GRID_LEADER
    )
    staff = staffing.grid_staff(world.grid)
    assert [p.pk for p in staff] == [chief.pk, worker.pk, leader.pk]
    assert staff[0].person.name == "王网格"

    with pytest.raises(DomainError) as twice:
        staffing.appoint_post(
            actor=world.same, region=world.grid, person=people["wang"], role="grid_worker"
        )
    assert twice.value.code == "post_exists" and twice.value.status == 409

    ended = staffing.end_post(actor=world.same, post=worker)
    assert ended.ended_on == timezone.localdate() and not ended.is_active
    assert worker.pk not in [p.pk for p in staffing.grid_staff(world.grid)]
    with pytest.raises(DomainError):
        staffing.end_post(actor=world.same, post=worker)
    # Appointed again after the end: a new row, the old one stays.
    again = staffing.appoint_post(
        actor=world.same, region=world.grid, person=people["wang"], role="grid_worker"
    )
    assert again.pk != worker.pk and GridPost.objects.filter(person=people["wang"]).count() == 3


def test_staffing_refuses_bad_input_and_outsiders(world, people):
    with pytest.raises(InvalidInput) as bad:
        staffing.appoint_post(
            actor=world.same,
            region=world.village,
            person=people["far"],
            role="captain",
            started_on=timezone.localdate() + timedelta(days=3),
        )
    assert set(bad.value.details) == {"region", "person", "role", "started_on"}
    with pytest.raises(PermissionDenied):
        staffing.appoint_post(
            actor=world.grid_worker, region=world.grid, person=people["wang"], role="grid_worker"
        )
    with pytest.raises(PermissionDenied):
        staffing.appoint_post(
            actor=world.sibling, region=world.grid, person=people["wang"], role="grid_worker"
        )
    post_ = staffing.appoint_post(
        actor=world.same, region=world.grid, person=people["wang"], role="grid_worker"
    )
    with pytest.raises(InvalidInput):
        staffing.end_post(
            actor=world.same, post=post_, ended_on=post_.started_on - timedelta(days=1)
        )
    assert GridPost.objects.get(pk=post_.pk).ended_on is None


def test_set_group_leader(world, people):
    homes = [make_household(world.grid) for _ in range(3)]
    with pytest.raises(InvalidInput) as not_posted:
        staffing.set_group_leader(actor=world.grid_worker, households=homes, person=people["li"])
    assert "person" in not_posted.value.details
    staffing.appoint_post(
        actor=world.same, region=world.grid, person=people["li"], role=GridRole.GROUP_LEADER
    )
    changed = staffing.set_group_leader(
        actor=world.grid_worker, households=homes, person=people["li"]
    )
    assert changed == 3
    assert set(Household.objects.values_list("group_leader", flat=True)) == {people["li"].pk}
    assert staffing.grid_staff(world.grid)[0].household_count == 3
    assert (
        staffing.set_group_leader(actor=world.grid_worker, households=homes, person=people["li"])
        == 0
    )
    with pytest.raises(PermissionDenied):
        staffing.set_group_leader(actor=world.sibling, households=homes, person=None)
    assert staffing.set_group_leader(actor=world.same, households=homes[:1], person=None) == 1
    assert Household.objects.filter(group_leader__isnull=True).count() == 1


def test_posts_api(world, people):
    client = world.client_for(world.same)
    created = post(
        client,
        "/api/v1/grid-posts",
        {"region_code": world.grid.code, "person_id": people["wang"].pk, "role": "grid_worker"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["person_name"] == "王网格" and body["role_label"] == "专职网格员"
    assert body["is_active"] is True
    assert (
        post(
            client,
            "/api/v1/grid-posts",
            {"region_code": world.grid.code, "person_id": people["wang"].pk, "role": "grid_worker"},
        ).status_code
        == 409
    )
    bad = post(
        client,
        "/api/v1/grid-posts",
        {"region_code": world.grid.code, "person_id": people["wang"].pk, "role": "boss"},
    )
    assert bad.status_code == 422 and "role" in bad.json()["details"]
    sibling = post(
        world.client_for(world.sibling),
        "/api/v1/grid-posts",
        {"region_code": world.grid.code, "person_id": people["wang"].pk, "role": "part_time"},
    )
    assert sibling.status_code == 422  # the grid is not in the sibling's scope

    for n in range(4):
        staffing.appoint_post(
            actor=world.same,
            region=world.grid,
            person=make_person(world.grid, f"兼职{n}"),
            role="part_time",
        )
    with CaptureQueriesContext(connection) as queries:
        listed = client.get(f"/api/v1/grid-posts?region={world.grid.code}&active=true")
    assert listed.json()["count"] == 5
    assert len(queries) <= 6
    assert world.client_for(world.sibling).get("/api/v1/grid-posts").json()["count"] == 0

    ended = post(client, f"/api/v1/grid-posts/{body['id']}/end", {})
    assert ended.status_code == 200 and ended.json()["is_active"] is False
    assert post(client, f"/api/v1/grid-posts/{body['id']}/end", {}).status_code == 409
    assert (
        post(
            world.client_for(world.sibling), f"/api/v1/grid-posts/{body['id']}/end", {}
        ).status_code
        == 404
    )


def test_group_leader_api(world, people):
    homes = [make_household(world.grid) for _ in range(2)]
    staffing.appoint_post(
        actor=world.same, region=world.grid, person=people["li"], role=GridRole.GROUP_LEADER
    )
    client = world.client_for(world.grid_worker)
    ok = post(
        client,
        "/api/v1/group-leaders",
        {"household_ids": [h.pk for h in homes], "person_id": people["li"].pk},
    )
    assert ok.status_code == 200 and ok.json() == {"changed": 2}
    hidden = post(
        world.client_for(world.sibling),
        "/api/v1/group-leaders",
        {"household_ids": [homes[0].pk], "person_id": None},
    )
    assert hidden.status_code == 422 and "household_ids" in hidden.json()["details"]
    assert Household.objects.filter(group_leader=people["li"]).count() == 2


def test_post_scope_matrix(world, people):
    post_ = staffing.appoint_post(
        actor=world.same, region=world.grid, person=people["wang"], role="grid_worker"
    )
    from frontline.core.testing import assert_queryset_matrix

    assert_queryset_matrix(GridPost.objects, post_, world)
    assert_api_matrix(world, f"/api/v1/grid-posts/{post_.pk}")
