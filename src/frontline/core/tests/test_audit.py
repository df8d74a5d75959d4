"""The generic change log, the request id that ties it together, account events."""

import json

import pytest
from auditlog.models import LogEntry

from frontline.core import services
from frontline.core.errors import InvalidInput
from frontline.core.models import AccountEvent, Person
from frontline.core.roles import Role
from frontline.core.testing import make_person


def test_api_change_is_logged_with_actor_before_after_and_request_id(world):
    person = make_person(world.village, name="张三")
    client = world.client_for(world.same)
    response = client.patch(
        f"/api/v1/people/{person.pk}",
        data=json.dumps({"name": "张三丰"}),
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-0001-abcdef",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-0001-abcdef"
    entry = LogEntry.objects.get_for_object(person).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == world.same
    assert entry.changes_dict["name"] == ["张三", "张三丰"]
    assert entry.cid == "req-0001-abcdef"


def test_untrusted_request_id_is_replaced(world):
    response = world.client_for(world.same).get("/api/v1/me", HTTP_X_REQUEST_ID="<script>")
    assert response["X-Request-ID"] != "<script>" and len(response["X-Request-ID"]) == 32


def test_encrypted_fields_never_reach_the_change_log_in_clear(world):
    person = make_person(world.village, mobile="13812345678")
    services.update_person(actor=None, person=person, mobile="13987654321")
    dumped = json.dumps([e.changes for e in LogEntry.objects.get_for_object(person)], default=str)
    assert "13812345678" not in dumped and "13987654321" not in dumped


def test_role_changes_leave_account_events(world):
    assignment = services.grant_role(
        actor=world.parent, user=world.same, role=Role.LIAISON, region=world.village
    )
    services.revoke_role(actor=world.parent, assignment=assignment)
    kinds = list(
        AccountEvent.objects.filter(user=world.same).values_list("kind", "actor__username")
    )
    assert ("role_granted", "parent") in kinds and ("role_revoked", "parent") in kinds


def test_failed_change_leaves_nothing_half_written(world):
    person = make_person(world.village, name="李四")
    before = LogEntry.objects.count()
    with pytest.raises(InvalidInput):
        services.update_person(actor=None, person=person, name="李四四", id_number="123")
    assert Person.objects.get(pk=person.pk).name == "李四"
    assert LogEntry.objects.count() == before
