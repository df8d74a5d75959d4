"""The authorization matrix, endpoint by endpoint, for every page of the hazards app.

The URL patterns are enumerated from the live resolver, so a page added later without an
entry in PAGE_CASES fails `test_every_page_has_a_matrix_entry`. The kinds, personas and checks
are described in endpoint_matrix.py; here anonymous is sent to /login/.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from frontline.hazards.testing import credit_code
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
    param,
    place_upload,
    scene,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.usefixtures("media_root", "clear_cache")


def _soon(days: int = 30) -> str:
    """A `datetime-local` value, as the browser posts it."""
    return timezone.localtime(timezone.now() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


# action -> (hazard step where it is allowed, form payload)
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
        lambda s, h: {"until": _soon(20), "reason": "材料未到"},
    ),
    "approve-extension": ("extension", lambda s, h: {"note": "同意"}),
    "deny-extension": ("extension", lambda s, h: {"reason": "理由不充分"}),
    "rectified": ("photo", lambda s, h: {"note": "已整改", "after_photo_ids": [s.photo.pk]}),
    "verify": ("pending", lambda s, h: {"note": "验收合格"}),
    "return": ("pending", lambda s, h: {"reason": "仍有杂物"}),
    "list": (
        "major",
        lambda s, h: {
            "supervising_region": s.world.county.code,
            "document_number": "柯应急督〔2026〕1号",
            "deadline": _soon(),
        },
    ),
}


def _owner(s, o):
    return {"kind": "enterprise", "pk": o.pk}


PAGE_CASES = [
    # supervised objects
    Case("enterprise_list", "list", _enterprise, marker=_name),
    Case("enterprise_export", "list", _enterprise, marker=_name),
    Case("place_list", "list", lambda s: s.place, marker=_name),
    Case("place_export", "list", lambda s: s.place, marker=_name),
    Case("enterprise_create", "open", leader=403),
    Case(
        "enterprise_create",
        "create",
        method="post",
        data=lambda s, o: {
            "name": "矩阵新企业",
            "credit_code": credit_code(8802),
            "industry": "textiles",
            "region": s.world.village.code,
        },
    ),
    Case("place_create", "open", leader=403),
    Case(
        "place_create",
        "create",
        method="post",
        data=lambda s, o: {
            "name": "矩阵新场所",
            "category": "small_shop",
            "region": s.world.village.code,
        },
    ),
    Case("enterprise_import", "open", leader=403),
    Case(
        "enterprise_import",
        "create",
        method="post",
        files=True,
        data=lambda s, o: {"file": enterprise_upload(s)},
        refused=200,  # a row-by-row report, every row refused, nothing imported
    ),
    Case("place_import", "open", leader=403),
    Case(
        "place_import",
        "create",
        method="post",
        files=True,
        data=lambda s, o: {"file": place_upload(s)},
        refused=200,  # a row-by-row report, every row refused, nothing imported
    ),
    Case("enterprise_detail", "object", _enterprise),
    Case("enterprise_edit", "object", _enterprise, leader=403),
    Case(
        "enterprise_edit",
        "object",
        _enterprise,
        method="post",
        data=lambda s, o: {
            "name": "矩阵改名企业",
            "credit_code": o.credit_code,
            "industry": "textiles",
            "region": s.world.village.code,
        },
    ),
    Case("place_detail", "object", lambda s: s.place),
    Case("place_edit", "object", lambda s: s.place, leader=403),
    Case(
        "place_edit",
        "object",
        lambda s: s.place,
        method="post",
        data=lambda s, o: {
            "name": "矩阵改名场所",
            "category": "small_shop",
            "region": s.world.village.code,
        },
    ),
    *[
        Case(
            "object_reveal",
            "object",
            target,
            params=lambda s, o, k=kind, f=field: {"kind": k, "pk": o.pk, "field": f},
            method="post",
            data=lambda s, o: {"reason": "核实联系方式"},
            variant=kind,
        )
        for kind, target, field in (
            ("enterprise", _enterprise, "safety_officer_phone"),
            ("place", lambda s: s.place, "operator_phone"),
        )
    ],
    Case("risk_point_create", "object", _enterprise, params=_owner, leader=403),
    Case(
        "risk_point_create",
        "object",
        _enterprise,
        params=_owner,
        method="post",
        data=lambda s, o: {
            "name": "矩阵新风险点",
            "method": "lec",
            "likelihood": "3",
            "exposure": "6",
            "consequence": "15",
        },
    ),
    Case("risk_point_edit", "object", lambda s: s.risk_point, leader=403),
    Case(
        "risk_point_edit",
        "object",
        lambda s: s.risk_point,
        method="post",
        data=lambda s, o: {
            "name": "矩阵改名风险点",
            "method": "matrix",
            "likelihood": "3",
            "severity": "4",
        },
    ),
    Case(
        "risk_point_delete", "object", lambda s: s.risk_point, method="post", data=lambda s, o: {}
    ),
    Case("major_hazard_create", "object", _enterprise, leader=403),
    Case(
        "major_hazard_create",
        "object",
        _enterprise,
        method="post",
        data=lambda s, o: {"name": "矩阵新罐区", "level": "2", "substances": "液氨, 12.5, 10"},
    ),
    Case("major_hazard_edit", "object", lambda s: s.major_hazard, leader=403),
    Case(
        "major_hazard_edit",
        "object",
        lambda s: s.major_hazard,
        method="post",
        data=lambda s, o: {"name": "矩阵改名罐区", "level": "1", "substances": "液氨, 12.5, 10"},
    ),
    Case("door_plate", "object", _enterprise, params=_owner),
    Case(
        "door_plate_image",
        "object",
        lambda s: s.place,
        params=lambda s, o: {"kind": "place", "pk": o.pk, "fmt": "png"},
    ),
    Case("qr_redirect", "object", _enterprise, params=lambda s, o: {"token": o.qr_token}, ok=302),
    # hazards
    Case("hazard_list", "list", lambda s: s.hazard, marker=_number),
    Case("hazard_report", "open", leader=403),
    Case(
        "hazard_report",
        "create",
        method="post",
        data=lambda s, o: {
            "title": "矩阵上报隐患",
            "source": "grid_worker",
            "region": s.world.village.code,
        },
    ),
    Case("hazard_detail", "object", lambda s: s.hazard),
    *[
        Case(
            "hazard_action",
            "object",
            lambda s, step=step: s.hazard_in(step),
            params=lambda s, o, action=action: {"pk": o.pk, "action": action},
            method="post",
            data=data,
            variant=action,
        )
        for action, (step, data) in HAZARD_ACTIONS.items()
    ],
    # inspections, notices, plans
    Case("inspection_list", "list", lambda s: s.inspection, marker=_number),
    Case("inspection_start", "open", leader=403),
    Case(
        "inspection_start",
        "create",
        _enterprise,
        method="post",
        data=lambda s, o: {"template": s.template.pk, "form": "routine", "enterprise": o.pk},
    ),
    Case("inspection_detail", "object", lambda s: s.inspection),
    Case(
        "inspection_record_item",
        "object",
        lambda s: s.inspection,
        params=lambda s, o: {"pk": o.pk, "item_pk": s.item.pk},
        method="post",
        data=lambda s, o: {"outcome": "fail", "note": "超员"},
    ),
    Case(
        "inspection_convert_result",
        "object",
        lambda s: s.failed_result,
        params=lambda s, o: {"pk": o.inspection_id, "result_pk": o.pk},
        method="post",
        data=lambda s, o: {},
    ),
    Case(
        "inspection_submit",
        "object",
        lambda s: s.answered_inspection,
        method="post",
        data=lambda s, o: {"summary": "总体良好"},
    ),
    Case(
        "notice_create",
        "object",
        lambda s: s.submitted,
        method="post",
        data=lambda s, o: {
            "hazards": [o.hazard.pk],
            "due_on": (date.today() + timedelta(days=10)).isoformat(),
        },
    ),
    Case("notice_detail", "object", lambda s: s.notice),
    Case("notice_docx", "object", lambda s: s.notice),
    Case("inspection_plans", "list", lambda s: s.plan, marker=_name),
    Case("inspection_plan_create", "open", leader=403),
    Case(
        "inspection_plan_create",
        "create",
        _enterprise,
        method="post",
        data=lambda s, o: {
            "name": "矩阵新计划",
            "region": s.world.township.code,
            "template": s.template.pk,
            "form": "routine",
            "interval_days": "30",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "enterprises": [o.pk],
        },
    ),
    Case("inspection_plan_detail", "object", lambda s: s.plan),
    # ledgers and statistics: the aggregates name the township only to those who see it
    *[
        Case(
            name,
            "list",
            target,
            params=lambda s, o, k=kind: {"kind": k},
            marker=marker,
            variant=kind,
        )
        for name in ("hazard_ledger", "hazard_ledger_xlsx")
        for kind, (target, marker) in LEDGERS.items()
    ],
    Case(
        "hazard_statistics",
        "list",
        lambda s: s.hazard,
        marker=lambda s, o: TOWNSHIP_NAME,
        query=_quarter(),
    ),
    Case(
        "hazard_statistics_xlsx",
        "list",
        lambda s: s.hazard,
        marker=lambda s, o: TOWNSHIP_NAME,
        query=_quarter(),
    ),
    Case("hazard_dashboard", "list", lambda s: s.hazard, marker=lambda s, o: TOWNSHIP_NAME),
]


def hazards_page_names() -> set:
    """Every named URL pattern served by a hazards view, from the live resolver."""

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            else:
                yield pattern

    return {
        pattern.name or f"<unnamed {pattern.pattern}>"
        for pattern in walk(get_resolver().url_patterns)
        if getattr(pattern.callback, "__module__", "").startswith("frontline.hazards.")
    }


def test_every_page_has_a_matrix_entry():
    covered = {case.key for case in PAGE_CASES}
    missing = hazards_page_names() - covered
    assert not missing, f"endpoint {sorted(missing)} has no matrix entry"
    assert not covered - hazards_page_names(), "matrix entries for pages that no longer exist"


@pytest.mark.parametrize("case", [param(case) for case in PAGE_CASES])
def test_page_matrix(scene, case):  # noqa: F811 (the fixture imported above)
    def url(case, obj):
        if case.params:
            kwargs = case.params(scene, obj)
        elif obj is not None and case.kind == "object":
            kwargs = {"pk": obj.pk}
        else:
            kwargs = {}
        return reverse(case.key, kwargs=kwargs)

    Runner(scene, api=False).run(case, url)
