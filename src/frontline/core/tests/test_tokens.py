"""Bearer tokens: hashed at rest, bound to one role assignment, revocable, expiring."""

import json
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from frontline.core import services
from frontline.core.models import AccountEvent, ApiToken, Person, RoleAssignment
from frontline.core.roles import Role
from frontline.core.testing import make_person


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def issue(world, user, region=None, **kw):
    assignment = (
        RoleAssignment.objects.get(user=user, region=region)
        if region
        else (RoleAssignment.objects.filter(user=user).first())
    )
    return services.issue_token(actor=user, assignment=assignment, name="县平台对接", **kw)


def test_token_is_hashed_at_rest(world):
    record, token = issue(world, world.same)
    stored = ApiToken.objects.get(pk=record.pk)
    assert token.startswith("fl_")
    assert stored.token_hash != token and len(stored.token_hash) == 64
    assert token not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert AccountEvent.objects.filter(user=world.same, kind="token_issued").exists()


def test_token_authenticates_and_is_scoped_to_its_assignment(world):
    # One person holding two assignments; the token carries only the village one.
    services.grant_role(actor=None, user=world.sibling, role=Role.LIAISON, region=world.village)
    _, token = issue(world, world.sibling, region=world.village)
    own_person = make_person(world.sibling_township)
    village_person = make_person(world.village)
    client = bearer(token)
    me = client.get("/api/v1/me").json()
    assert me["scope"] == [world.village.path]
    assert client.get(f"/api/v1/people/{village_person.pk}").status_code == 200
    assert client.get(f"/api/v1/people/{own_person.pk}").status_code == 404
    # The session of the same user still sees both.
    session = world.client_for(world.sibling)
    assert session.get(f"/api/v1/people/{own_person.pk}").status_code == 200


def test_token_writes_need_no_csrf_but_sessions_do(world):
    _, token = issue(world, world.same)
    body = json.dumps({"name": "赵六", "region_code": world.village.code})
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post("/api/v1/people", data=body, content_type="application/json")
    assert response.status_code == 201
    session = Client(enforce_csrf_checks=True)
    session.force_login(world.same)
    refused = session.post("/api/v1/people", data=body, content_type="application/json")
    assert refused.status_code == 403
    assert Person.objects.filter(name="赵六").count() == 1


def test_revoked_expired_and_forged_tokens_are_refused(world):
    record, token = issue(world, world.same)
    assert bearer(token).get("/api/v1/me").status_code == 200
    services.revoke_token(actor=world.same, token=record)
    refused = bearer(token).get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["message"] == "令牌无效、已过期或已撤销"

    _, expired = issue(world, world.same, expires_at=timezone.now() - timedelta(minutes=1))
    assert bearer(expired).get("/api/v1/me").status_code == 401

    _, good = issue(world, world.same)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert bearer(forged).get("/api/v1/me").status_code == 401
    assert bearer("not-a-token").get("/api/v1/me").status_code == 401


def test_revoking_the_assignment_disables_its_tokens(world):
    record, token = issue(world, world.same)
    services.revoke_role(actor=None, assignment=record.assignment)
    assert bearer(token).get("/api/v1/me").status_code == 401


def test_token_api_issue_list_revoke(world):
    client = world.client_for(world.same)
    assignment = RoleAssignment.objects.get(user=world.same)
    created = client.post(
        "/api/v1/tokens",
        data=json.dumps({"name": "12345 热线", "assignment_id": assignment.pk}),
        content_type="application/json",
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert bearer(token).get("/api/v1/me").json()["token"] == created.json()["key_prefix"]
    listed = client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["12345 热线"] and "token" not in listed[0]
    # A token cannot mint more tokens, nor bind to someone else's assignment.
    minted = bearer(token).post(
        "/api/v1/tokens",
        data=json.dumps({"name": "x", "assignment_id": assignment.pk}),
        content_type="application/json",
    )
    assert minted.status_code == 422
    other = RoleAssignment.objects.get(user=world.parent)
    foreign = client.post(
        "/api/v1/tokens",
        data=json.dumps({"name": "x", "assignment_id": other.pk}),
        content_type="application/json",
    )
    assert foreign.status_code == 422
    revoked = client.delete(f"/api/v1/tokens/{created.json()['id']}")
    assert revoked.status_code == 204
    assert bearer(token).get("/api/v1/me").status_code == 401
    assert client.delete(f"/api/v1/tokens/{created.json()['id']}").status_code == 409


def test_bad_token_on_a_write_is_401_not_a_csrf_error(world):
    record, token = issue(world, world.same)
    services.revoke_token(actor=world.same, token=record)
    body = json.dumps({"name": "x"})
    for header in (f"Bearer {token}", "Bearer garbage"):
        client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=header)
        response = client.patch("/api/v1/people/1", data=body, content_type="application/json")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"


def test_a_bad_token_is_not_rescued_by_a_session_cookie(world):
    client = Client(HTTP_AUTHORIZATION="Bearer garbage")
    client.force_login(world.same)
    assert client.get("/api/v1/me").status_code == 401


def test_session_write_without_csrf_token_gets_a_chinese_403(world):
    session = Client(enforce_csrf_checks=True)
    session.force_login(world.same)
    response = session.post("/api/v1/people", data="{}", content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
