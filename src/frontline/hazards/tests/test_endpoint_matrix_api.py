"""The authorization matrix, operation by operation, for the hazards part of /api/v1.

The operations are enumerated from the mounted ninja routers, so an operation added later
without an entry in API_CASES fails `test_every_api_operation_has_a_matrix_entry`. The kinds,
personas and checks are described in endpoint_matrix.py; here anonymous gets 401 and a
404 carries the body code "not_found".
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from frontline.core.testing import make_person
from frontline.hazards import services
from frontline.hazards.models import InspectionForm
from frontline.hazards.testing import credit_code, make_enterprise, make_hazard, make_place
from frontline.hazards.tests.endpoint_matrix import (
    LEDGERS,
    PLAN_FORM,
    TOWNSHIP_NAME,
    Case,
    Runner,
    _enterprise,
    _name,
    _number,
    _quarter,
    enterprise_upload,
    fingerprint,
    param,
    place_upload,
    scene,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.usefixtures("media_root", "clear_cache")


def _later(days: int = 30) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


# action -> (hazard step where it is allowed, JSON payload)
HAZARD_ACTIONS = {
    "confirm": ("found", lambda s, h: {"level": "general", "responsible_person": "王厂长"}),
    "reject": ("found", lambda s, h: {"reason": "重复上报"}),
    "control": ("confirmed", lambda s, h: {"measures": "设置警戒区"}),
    "plan": (
        "major",
        lambda s, h: PLAN_FORM | {"time_limit": (date.today() + timedelta(days=30)).isoformat()},
    ),
    "start": ("confirmed", lambda s, h: {"note": "开始整改"}),
    "request-extension": (
        "confirmed",
        lambda s, h: {"until": (h.due_at + timedelta(days=10)).isoformat(), "reason": "材料未到"},
    ),
    "approve-extension": ("extension", lambda s, h: {"note": "同意"}),
    "deny-extension": ("extension", lambda s, h: {"reason": "理由不充分"}),
    "rectified": ("photo", lambda s, h: {"note": "已整改", "after_photo_ids": [s.photo.pk]}),
    "verify": ("pending", lambda s, h: {"note": "验收合格"}),
    "return": ("pending", lambda s, h: {"reason": "仍有杂物"}),
    "list": (
        "major",
        lambda s, h: {
            "supervising_region_code": s.world.county.code,
            "document_number": "柯应急督〔2026〕1号",
            "deadline": _later(),
        },
    ),
}

API_CASES = [
    # supervised objects
    Case("GET /enterprises", "list", _enterprise, marker=_name),
    Case("GET /enterprises/export", "list", _enterprise, marker=_name),
    Case(
        "POST /enterprises",
        "create",
        method="post",
        data=lambda s, o: {
            "name": "矩阵新企业",
            "credit_code": credit_code(8803),
            "industry": "textiles",
            "region_code": s.world.village.code,
        },
    ),
    Case(
        "POST /enterprises/import",
        "create",
        method="post",
        files=True,
        data=lambda s, o: {"file": enterprise_upload(s)},
        refused=200,  # a row-by-row report, every row refused, nothing imported
    ),
    Case("GET /enterprises/{enterprise_id}", "object", _enterprise),
    Case(
        "PATCH /enterprises/{enterprise_id}",
        "object",
        _enterprise,
        method="patch",
        data=lambda s, o: {"employees": 33},
    ),
    Case("GET /places", "list", lambda s: s.place, marker=_name),
    Case("GET /places/export", "list", lambda s: s.place, marker=_name),
    Case(
        "POST /places",
        "create",
        method="post",
        data=lambda s, o: {
            "name": "矩阵新场所",
            "category": "small_shop",
            "region_code": s.world.village.code,
        },
    ),
    Case(
        "POST /places/import",
        "create",
        method="post",
        files=True,
        data=lambda s, o: {"file": place_upload(s)},
        refused=200,
    ),
    Case("GET /places/{place_id}", "object", lambda s: s.place),
    Case(
        "PATCH /places/{place_id}",
        "object",
        lambda s: s.place,
        method="patch",
        data=lambda s, o: {"floor_area": 88.0},
    ),
    Case("GET /major-hazards", "list", lambda s: s.major_hazard, marker=_name),
    Case(
        "POST /major-hazards",
        "create",
        _enterprise,
        method="post",
        data=lambda s, o: {
            "enterprise_id": o.pk,
            "name": "矩阵新罐区",
            "level": 2,
            "substances": [{"name": "液氨", "quantity_t": 12.5, "threshold_t": 10}],
        },
    ),
    Case("GET /major-hazards/{installation_id}", "object", lambda s: s.major_hazard),
    Case(
        "PATCH /major-hazards/{installation_id}",
        "object",
        lambda s: s.major_hazard,
        method="patch",
        data=lambda s, o: {"level": 1},
    ),
    Case("GET /risk-points", "list", lambda s: s.risk_point, marker=_name),
    Case(
        "POST /risk-points",
        "create",
        _enterprise,
        method="post",
        data=lambda s, o: {
            "enterprise_id": o.pk,
            "name": "矩阵新风险点",
            "method": "matrix",
            "likelihood": 3,
            "severity": 3,
        },
    ),
    Case("GET /risk-points/{risk_point_id}", "object", lambda s: s.risk_point),
    Case(
        "PATCH /risk-points/{risk_point_id}",
        "object",
        lambda s: s.risk_point,
        method="patch",
        data=lambda s, o: {"likelihood": 4},
    ),
    # hazards
    Case("GET /hazards", "list", lambda s: s.hazard, marker=_number),
    Case(
        "POST /hazards",
        "create",
        method="post",
        data=lambda s, o: {"title": "矩阵上报隐患", "region_code": s.world.village.code},
    ),
    Case("GET /hazards/{hazard_id}", "object", lambda s: s.hazard),
    *[
        Case(
            f"POST /hazards/{{hazard_id}}/{action}",
            "object",
            lambda s, step=step: s.hazard_in(step),
            method="post",
            data=data,
        )
        for action, (step, data) in HAZARD_ACTIONS.items()
    ],
    # checklists are national templates, not placed anywhere: every signed-in user reads them
    Case("GET /checklists", "open", marker=lambda s, o: s.template.name),
    Case(
        "GET /checklists/{template_id}",
        "open",
        lambda s: s.template,
        params=lambda s, o: {"template_id": o.pk},
    ),
    # inspections, notices, plans
    Case("GET /inspections", "list", lambda s: s.inspection, marker=_number),
    Case(
        "POST /inspections",
        "create",
        _enterprise,
        method="post",
        data=lambda s, o: {"template_id": s.template.pk, "form": "routine", "enterprise_id": o.pk},
    ),
    Case("GET /inspections/{inspection_id}", "object", lambda s: s.inspection),
    Case(
        "PUT /inspections/{inspection_id}/results",
        "object",
        lambda s: s.inspection,
        method="put",
        data=lambda s, o: {"item_id": s.item.pk, "outcome": "fail", "note": "超员"},
    ),
    Case(
        "POST /inspections/{inspection_id}/submit",
        "object",
        lambda s: s.answered_inspection,
        method="post",
        data=lambda s, o: {"summary": "总体良好"},
    ),
    Case(
        "POST /inspections/{inspection_id}/results/{result_id}/hazard",
        "object",
        lambda s: s.failed_result,
        params=lambda s, o: {"inspection_id": o.inspection_id, "result_id": o.pk},
        method="post",
    ),
    Case(
        "POST /inspections/{inspection_id}/notices",
        "object",
        lambda s: s.submitted,
        method="post",
        data=lambda s, o: {"hazard_ids": [o.hazard.pk], "due_at": _later(10)},
    ),
    Case("GET /notices/{notice_id}", "object", lambda s: s.notice),
    Case("GET /notices/{notice_id}/docx", "object", lambda s: s.notice),
    Case("GET /inspection-plans", "list", lambda s: s.plan, marker=_name),
    Case(
        "POST /inspection-plans",
        "create",
        _enterprise,
        method="post",
        data=lambda s, o: {
            "name": "矩阵新计划",
            "region_code": s.world.township.code,
            "template_id": s.template.pk,
            "form": "routine",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "enterprise_ids": [o.pk],
        },
    ),
    Case("GET /inspection-plans/{plan_id}/coverage", "object", lambda s: s.plan),
    # ledgers and statistics
    *[
        Case(
            key,
            "list",
            target,
            params=lambda s, o, k=kind: {"kind": k},
            marker=marker,
            variant=kind,
        )
        for key in ("GET /ledgers/{kind}", "GET /ledgers/{kind}/xlsx")
        for kind, (target, marker) in LEDGERS.items()
    ],
    *[
        Case(key, "list", lambda s: s.hazard, marker=lambda s, o: TOWNSHIP_NAME, query=query)
        for key, query in (
            ("GET /statistics/quarterly", _quarter()),
            ("GET /statistics/quarterly/xlsx", _quarter()),
            ("GET /statistics/dashboard", ""),
        )
    ],
]


def hazards_api_operations() -> set:
    """ "METHOD /path" of every operation mounted in the API whose view lives in the hazards
    app, walked from the NinjaAPI's routers."""
    from frontline.api import api

    def walk(router, prefix):
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                if operation.view_func.__module__.startswith("frontline.hazards."):
                    for method in operation.methods:
                        yield f"{method} {(prefix + path).replace('//', '/')}"
        for mounted in router._routers:
            yield from walk(mounted[1], prefix + mounted[0])

    found = set()
    for mounted in api._routers:
        found |= set(walk(mounted[1], "/" + mounted[0].strip("/")))
    return found


def test_every_api_operation_has_a_matrix_entry():
    covered = {case.key for case in API_CASES}
    operations = hazards_api_operations()
    missing = operations - covered
    assert not missing, f"endpoint {sorted(missing)} has no matrix entry"
    assert not covered - operations, "matrix entries for operations that no longer exist"


@pytest.mark.parametrize("case", [param(case) for case in API_CASES])
def test_api_matrix(scene, case):  # noqa: F811 (the fixture imported above)
    root = reverse("api:api-root").rstrip("/")

    def url(case, obj):
        path = case.key.split(" ", 1)[1]
        if case.params:
            kwargs = case.params(scene, obj)
        else:
            names = re.findall(r"{(\w+)}", path)
            kwargs = {names[0]: obj.pk} if names else {}
        return root + path.format(**kwargs)

    Runner(scene, api=True).run(case, url)


# --- ids in the payload ------------------------------------------------------------------------


class Foreign:
    """Records of the sibling township, which `same` may not see."""

    def __init__(self, base):
        world = base.world
        self.enterprise = make_enterprise(world.sibling_township, name="隔壁企业")
        self.place = make_place(world.sibling_township, name="隔壁场所")
        self.person = make_person(world.sibling_township, name="隔壁人员")
        self.hazard = make_hazard(world.sibling_township, actor=world.sibling)
        self.plan = services.create_inspection_plan(
            actor=world.sibling,
            name="隔壁计划",
            region=world.sibling_township,
            template=base.template,
            form=InspectionForm.ROUTINE,
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            enterprises=[self.enterprise],
        )


def _inspection_body(s, f):
    return {"template_id": s.template.pk, "form": "routine", "enterprise_id": s.enterprise.pk}


# (id, key, target under world.township, payload naming a sibling record, field blamed)
FOREIGN_IDS = [
    (
        "hazard-enterprise",
        "POST /hazards",
        None,
        lambda s, f: {
            "title": "上报",
            "region_code": s.world.village.code,
            "enterprise_id": f.enterprise.pk,
        },
        "enterprise_id",
    ),
    (
        "hazard-place",
        "POST /hazards",
        None,
        lambda s, f: {"title": "上报", "region_code": s.world.village.code, "place_id": f.place.pk},
        "place_id",
    ),
    (
        "place-enterprise",
        "POST /places",
        None,
        lambda s, f: {
            "name": "新店",
            "category": "small_shop",
            "region_code": s.world.village.code,
            "enterprise_id": f.enterprise.pk,
        },
        "enterprise_id",
    ),
    (
        "place-enterprise",
        "PATCH /places/{place_id}",
        lambda s: s.place,
        lambda s, f: {"enterprise_id": f.enterprise.pk},
        "enterprise_id",
    ),
    (
        "enterprise-region",
        "PATCH /enterprises/{enterprise_id}",
        _enterprise,
        lambda s, f: {"region_code": s.world.sibling_township.code},
        "region_code",
    ),
    (
        "major-hazard-enterprise",
        "POST /major-hazards",
        None,
        lambda s, f: {"enterprise_id": f.enterprise.pk, "name": "罐区", "level": 2},
        "enterprise_id",
    ),
    (
        "risk-point-place",
        "POST /risk-points",
        None,
        lambda s, f: {
            "place_id": f.place.pk,
            "name": "风险点",
            "method": "matrix",
            "likelihood": 2,
            "severity": 2,
        },
        "place_id",
    ),
    (
        "risk-point-person",
        "PATCH /risk-points/{risk_point_id}",
        lambda s: s.risk_point,
        lambda s, f: {"responsible_person_id": f.person.pk},
        "responsible_person_id",
    ),
    (
        "inspection-plan",
        "POST /inspections",
        None,
        lambda s, f: _inspection_body(s, f) | {"plan_id": f.plan.pk},
        "plan_id",
    ),
    (
        "inspection-inspector",
        "POST /inspections",
        None,
        lambda s, f: _inspection_body(s, f) | {"inspector_ids": [f.person.pk]},
        "inspector_ids",
    ),
    (
        "notice-hazard",
        "POST /inspections/{inspection_id}/notices",
        lambda s: s.submitted,
        lambda s, f: {"hazard_ids": [f.hazard.pk], "due_at": _later(10)},
        "hazard_ids",
    ),
    (
        "plan-place",
        "POST /inspection-plans",
        None,
        lambda s, f: {
            "name": "计划",
            "region_code": s.world.township.code,
            "template_id": s.template.pk,
            "form": "routine",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "place_ids": [f.place.pk],
        },
        "place_ids",
    ),
]


@pytest.mark.parametrize(
    "key, target, data, blamed",
    [pytest.param(*row[1:], id=f"{row[1]}[{row[0]}]") for row in FOREIGN_IDS],
)
def test_ids_outside_the_scope_are_bad_input(scene, key, target, data, blamed):  # noqa: F811
    """An in-scope write that names another township's record is a 422 on that field and
    writes nothing: no way to attach to, or probe for, what the user may not see."""
    foreign = Foreign(scene)
    obj = target(scene) if target else None
    method, path = key.split(" ", 1)
    names = re.findall(r"{(\w+)}", path)
    url = reverse("api:api-root").rstrip("/") + path.format(**({names[0]: obj.pk} if names else {}))
    body = json.dumps(data(scene, foreign))  # builds what it names before the snapshot
    before = fingerprint(obj)
    response = scene.world.client_for(scene.world.same).generic(
        method, url, body, content_type="application/json"
    )
    assert response.status_code == 422, (method, url, response.status_code, response.content)
    assert blamed in response.json()["details"], response.json()
    assert fingerprint(obj) == before, f"refused {method} {url} changed the data"
