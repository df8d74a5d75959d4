"""The authorization matrix of every page and API operation of buildings and facilities.

The pages and operations are enumerated from the live resolver and the mounted routers, so
one added later without a case here fails the coverage tests. Personas (core/testing.py):
same and parent see the objects (under world.township), sibling and outsider get 404 (or, for
a list, do not find them), anonymous goes to /login/ (pages) or gets 401 (API), and the
read-only leader of the township reads and is refused every write with 403. A refused write
leaves the data as it was; an in-scope persona's write really writes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from frontline.community.models import Building, FacilityCheck, SafetyFacility
from frontline.community.testing import make_building, make_facility
from frontline.community.tests.test_buildings_import import row, xlsx
from frontline.core.models import SensitiveAccess
from frontline.core.roles import Role
from frontline.core.testing import make_user

MODULES = ("frontline.community.views.buildings", "frontline.community.views.facilities")
API_MODULE = "frontline.community.api.buildings"
IN_SCOPE, OUT_OF_SCOPE = ("same", "parent"), ("sibling", "outsider")


class Scene:
    def __init__(self, world):
        self.world = world
        self.leader = make_user(Role.LEADER, world.township, "leader")
        self.building = make_building(
            world.grid, name="矩阵楼", responsible_phone="13812345678", lon=120.41, lat=30.01
        )
        self.facility = make_facility(
            world.grid,
            name="矩阵栓",
            building=self.building,
            next_check_due=timezone.localdate() - timedelta(days=1),
        )

    def user(self, persona):
        if persona is None:
            return None
        return self.leader if persona == "leader" else getattr(self.world, persona)


def fingerprint(scene) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM community_building),"
            " (SELECT COUNT(*) FROM community_safetyfacility),"
            " (SELECT COUNT(*) FROM community_facilitycheck),"
            " (SELECT COUNT(*) FROM core_sensitiveaccess)"
        )
        counts = cursor.fetchone()
    rows = (
        Building.objects.filter(pk=scene.building.pk).values().first(),
        SafetyFacility.objects.filter(pk=scene.facility.pk).values().first(),
    )
    return counts, json.dumps(rows, default=str, sort_keys=True)


def text_of(response) -> str:
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return str([list(r) for sheet in book for r in sheet.iter_rows(values_only=True)])
    if "json" in kind:
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode()


@dataclass(frozen=True)
class Case:
    key: str  # URL name (pages) or "METHOD /path" (API)
    kind: str  # object | list | create | open
    method: str = "get"
    target: str = ""  # "building" | "facility": the object in the URL
    data: Callable | None = None  # scene -> payload of a write
    marker: str = ""  # text only the in-scope may read in a list
    files: bool = False
    refused: int = 422  # out-of-scope answer to a create
    leader: int | None = None  # default: 403 on writes, 200 on reads
    in_scope: tuple = IN_SCOPE  # the personas whose write must succeed (one is enough)

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.key}"


def _building_form(scene):
    return {
        "name": "矩阵新楼",
        "address": "州山路2号",
        "region": scene.world.grid.code,
        "use": "residential",
        "structure": "brick_concrete",
        "floors_above": "3",
        "exits": "1",
        "stairs": "1",
    }


def _facility_form(scene):
    return {
        "kind": "hydrant",
        "name": "矩阵新栓",
        "region": scene.world.grid.code,
        "lon": "120.41",
        "lat": "30.01",
        "status": "normal",
    }


def _upload(scene):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = xlsx([row("矩阵导入楼", scene.world.grid.code)]).getvalue()
    return {"file": SimpleUploadedFile("楼栋.xlsx", content)}


PAGE_CASES = [
    Case("building_list", "list", marker="矩阵楼"),
    Case("building_export", "list", marker="矩阵楼"),
    Case("building_create", "open", leader=403),
    Case("building_create", "create", "post", data=_building_form, refused=422),
    Case("building_import", "open", leader=403),
    Case("building_import", "create", "post", data=_upload, files=True, refused=200),
    Case("building_detail", "object", target="building"),
    Case("building_edit", "object", target="building", leader=403),
    Case(
        "building_edit",
        "object",
        "post",
        target="building",
        data=lambda s: _building_form(s) | {"name": "矩阵楼改"},
    ),
    Case(
        "building_reveal",
        "object",
        "post",
        target="building",
        data=lambda s: {"reason": "矩阵"},
        in_scope=("parent",),  # station staff lack the clear view of personal data
    ),
    Case("facility_list", "list", marker="矩阵栓"),
    Case("facility_create", "open", leader=403),
    Case("facility_create", "create", "post", data=_facility_form, refused=422),
    Case("facility_detail", "object", target="facility"),
    Case("facility_edit", "object", target="facility", leader=403),
    Case(
        "facility_edit",
        "object",
        "post",
        target="facility",
        data=lambda s: _facility_form(s) | {"name": "矩阵栓改"},
    ),
    Case(
        "facility_check",
        "object",
        "post",
        target="facility",
        data=lambda s: {"status": "normal"},
    ),
]

API_CASES = [
    Case("GET /buildings", "list", marker="矩阵楼"),
    Case("GET /buildings/export", "list", marker="矩阵楼"),
    Case(
        "POST /buildings/import",
        "create",
        "post",
        data=_upload,
        files=True,
        refused=200,  # a row-by-row report, every row refused
    ),
    Case("GET /buildings/{building_id}", "object", target="building"),
    Case(
        "POST /buildings",
        "create",
        "post",
        data=lambda s: {
            "name": "矩阵接口楼",
            "address": "州山路3号",
            "region_code": s.world.grid.code,
            "use": "residential",
            "structure": "steel",
        },
    ),
    Case(
        "PATCH /buildings/{building_id}",
        "object",
        "patch",
        target="building",
        data=lambda s: {"floors_above": 9},
    ),
    Case(
        "POST /buildings/{building_id}/reveal",
        "object",
        "post",
        target="building",
        data=lambda s: {"field": "responsible_phone"},
        in_scope=("parent",),
    ),
    Case("GET /facilities", "list", marker="矩阵栓"),
    Case("GET /facilities/{facility_id}", "object", target="facility"),
    Case("GET /facilities/{facility_id}/checks", "object", target="facility"),
    Case(
        "POST /facilities",
        "create",
        "post",
        data=lambda s: {
            "kind": "aed",
            "name": "矩阵 AED",
            "region_code": s.world.grid.code,
            "lon": 120.41,
            "lat": 30.01,
        },
    ),
    Case(
        "PATCH /facilities/{facility_id}",
        "object",
        "patch",
        target="facility",
        data=lambda s: {"check_every_days": 12},
    ),
    Case(
        "POST /facilities/{facility_id}/checks",
        "object",
        "post",
        target="facility",
        data=lambda s: {"status": "faulty", "note": "矩阵"},
    ),
]


def page_url(scene, case: Case) -> str:
    if case.target:
        return reverse(case.key, kwargs=_kwargs(scene, case))
    return reverse(case.key)


def _kwargs(scene, case: Case) -> dict:
    kwargs = {"pk": getattr(scene, case.target).pk}
    if case.key == "building_reveal":
        kwargs["field"] = "responsible_phone"
    return kwargs


def api_url(scene, case: Case) -> str:
    path = case.key.split(" ", 1)[1]
    if case.target:
        path = path.format(**{f"{case.target}_id": getattr(scene, case.target).pk})
    return "/api/v1" + path


def run(scene, case: Case, url: str, *, api: bool) -> None:
    def call(persona):
        client = scene.world.client_for(scene.user(persona))
        if case.method == "get":
            return client.get(url)
        payload = case.data(scene)
        if not api or case.files:
            return client.post(url, payload)
        return client.generic(
            case.method.upper(), url, json.dumps(payload), content_type="application/json"
        )

    def anonymous_refused():
        response = call(None)
        if api:
            assert response.status_code == 401, f"anonymous: {case.id} {response.status_code}"
        else:
            assert response.status_code == 302 and "/login/" in response["Location"], case.id

    if case.kind in ("list", "open"):
        for persona in (*IN_SCOPE, *OUT_OF_SCOPE, "leader"):
            response = call(persona)
            expected = case.leader if persona == "leader" and case.leader else 200
            assert response.status_code == expected, f"{persona}: {case.id} {response.status_code}"
            if case.marker:
                sees = persona in (*IN_SCOPE, "leader")
                assert (case.marker in text_of(response)) == sees, f"{persona}: {case.id}"
        anonymous_refused()
        return

    before = fingerprint(scene)
    for persona in OUT_OF_SCOPE:
        response = call(persona)
        expected = case.refused if case.kind == "create" else 404
        assert response.status_code == expected, f"{persona}: {case.id} {response.status_code}"
        if api and expected == 404:
            assert response.json()["code"] == "not_found"
        assert fingerprint(scene) == before, f"{persona}: refused {case.id} changed the data"
    anonymous_refused()
    leader = case.leader or (403 if case.method != "get" else 200)
    response = call("leader")
    assert response.status_code == leader, f"leader: {case.id} {response.status_code}"
    assert fingerprint(scene) == before, f"leader: {case.id} changed the data"
    # The first in-scope persona succeeds; a second one may meet what the first did (a name
    # now taken), never a 404 or an error.
    answers = {persona: call(persona).status_code for persona in case.in_scope}
    assert answers[case.in_scope[0]] < 400, f"{case.id} answered {answers}"
    assert all(code != 404 and code < 500 for code in answers.values()), f"{case.id} {answers}"
    if case.method != "get":
        assert fingerprint(scene) != before, f"no in-scope persona managed {case.id}"


@pytest.fixture
def scene(world, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return Scene(world)


@pytest.mark.parametrize("case", PAGE_CASES, ids=lambda case: case.id)
def test_page_matrix(scene, case):
    run(scene, case, page_url(scene, case), api=False)


@pytest.mark.parametrize("case", API_CASES, ids=lambda case: case.id)
def test_api_matrix(scene, case):
    run(scene, case, api_url(scene, case), api=True)


def test_station_staff_may_not_see_the_phone_in_clear(scene):
    """`same` is in scope but without 查看个人敏感信息明文: 403, and nothing logged."""
    url = reverse("building_reveal", kwargs={"pk": scene.building.pk, "field": "responsible_phone"})
    assert scene.world.client_for(scene.world.same).post(url, {}).status_code == 403
    api = f"/api/v1/buildings/{scene.building.pk}/reveal"
    answer = scene.world.client_for(scene.world.same).post(
        api, {"field": "responsible_phone"}, content_type="application/json"
    )
    assert answer.status_code == 403 and not SensitiveAccess.objects.exists()
    assert not FacilityCheck.objects.exists()


def _walk(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns)
        else:
            yield pattern


def test_every_page_has_a_matrix_entry():
    names = {
        pattern.name
        for pattern in _walk(get_resolver().url_patterns)
        if getattr(pattern.callback, "__module__", "") in MODULES
    }
    covered = {case.key for case in PAGE_CASES}
    assert names == covered, f"missing {names - covered}, stale {covered - names}"


def test_every_api_operation_has_a_matrix_entry():
    from frontline.api import api

    def walk(router, prefix):
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                if operation.view_func.__module__ == API_MODULE:
                    for method in operation.methods:
                        yield f"{method} {(prefix + path).replace('//', '/')}"
        for mounted in router._routers:
            yield from walk(mounted[1], prefix + mounted[0])

    operations = set()
    for mounted in api._routers:
        operations |= set(walk(mounted[1], "/" + mounted[0].strip("/")))
    covered = {case.key for case in API_CASES}
    assert operations == covered, f"missing {operations - covered}, stale {covered - operations}"
