"""The endpoint matrix of the hazards app: the scene, the cases and the runner shared by
test_endpoint_matrix_pages.py and test_endpoint_matrix_api.py.

Each case says what object (under world.township) an endpoint addresses and how to call it;
the kind decides the matrix:

- object: same and parent get a non-404 answer, sibling and outsider 404, anonymous goes to
  /login/; for a write every refusal leaves the data unchanged, and an in-scope persona's
  call really writes (so the refused payload would have been accepted).
- list: every persona gets 200; the object's marker (number, name) appears only for the
  personas that may see it.
- create: the payload names a region or object under world.township; out-of-scope personas are
  refused without a trace, an in-scope persona creates.
- open: not scoped (forms, global data); every signed-in persona gets a page.

`leader` (领导, read-only, held for world.township) joins every matrix: it sees what same sees
and is refused (403) every write.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from frontline.core.models import Attachment, SensitiveAccess
from frontline.core.roles import Role
from frontline.core.testing import VISIBLE, make_user
from frontline.hazards import services
from frontline.hazards.models import (
    ChecklistTemplate,
    HazardLevel,
    InspectionForm,
    ItemOutcome,
    MajorHazardInstallation,
)
from frontline.hazards.testing import credit_code, make_enterprise, make_hazard, make_place
from frontline.hazards.tests.conftest import after_photo

OUT_OF_SCOPE = ("sibling", "outsider")
IN_SCOPE = ("same", "parent")
SEEN = {**VISIBLE, "leader": True}
TOWNSHIP_NAME = "柯岩街道"  # world.township; the aggregates name it only to those who see it


# --- the objects under world.township ---------------------------------------------------------


class Scene:
    """The objects the endpoints address, all under world.township, built on first use so
    each test pays only for what it touches."""

    def __init__(self, world):
        self.world = world
        self.leader = make_user(Role.LEADER, world.township, "leader")
        # The enterprise's safety officer rectifies, so that the station may verify.
        self.officer = make_user(Role.ENTERPRISE_OFFICER, world.village, "officer")
        self.photo = None

    def user(self, persona):
        if persona is None:
            return None
        if persona == "leader":
            return self.leader
        return getattr(self.world, persona)

    @cached_property
    def enterprise(self):
        return make_enterprise(
            self.world.village, name="矩阵测试企业", safety_officer_phone="13812345678"
        )

    @cached_property
    def place(self):
        return make_place(self.world.village, name="矩阵测试场所", operator_phone="13712345678")

    @cached_property
    def risk_point(self):
        return services.create_risk_point(
            actor=None,
            enterprise=self.enterprise,
            name="矩阵测试风险点",
            method="matrix",
            likelihood=2,
            severity=2,
        )

    @cached_property
    def major_hazard(self):
        return MajorHazardInstallation.objects.create(
            enterprise=self.enterprise, region=self.world.village, name="矩阵测试罐区", level=2
        )

    @cached_property
    def template(self):
        return ChecklistTemplate.objects.get(code="fireworks-workshop")

    @cached_property
    def item(self):
        return self.template.items.order_by("order").first()

    def hazard_in(self, step: str):
        """A hazard at the step where the action under test is allowed."""
        w = self.world
        hazard = make_hazard(w.grid, actor=w.grid_worker, title="矩阵测试隐患")
        if step == "found":
            return hazard
        major = step == "major"
        services.confirm_hazard(
            actor=w.same,
            hazard=hazard,
            level=HazardLevel.MAJOR if major else HazardLevel.GENERAL,
            level_basis="《重大事故隐患判定标准》第三条",
            responsible_person="王厂长",
        )
        if step == "extension":
            services.request_extension(
                actor=self.officer,
                hazard=hazard,
                until=hazard.due_at + timedelta(days=10),
                reason="材料未到",
            )
        elif step == "rectifying":
            services.start_rectification(actor=self.officer, hazard=hazard)
        elif step == "photo":
            self.photo = after_photo(hazard, self.officer)
        elif step == "pending":
            photo = after_photo(hazard, self.officer)
            services.report_rectified(
                actor=self.officer, hazard=hazard, note="已整改", after_photo_ids=[photo.pk]
            )
        hazard.refresh_from_db()
        return hazard

    @cached_property
    def hazard(self):
        return self.hazard_in("found")

    def start_inspection(self):
        return services.start_inspection(
            actor=self.world.same,
            template=self.template,
            form=InspectionForm.ROUTINE,
            enterprise=self.enterprise,
        )

    def answer(self, inspection, fail_orders=()):
        for item in self.template.items.all():
            outcome = ItemOutcome.FAIL if item.order in fail_orders else ItemOutcome.PASS
            services.record_result(
                actor=self.world.same, inspection=inspection, item=item, outcome=outcome
            )

    @cached_property
    def inspection(self):
        return self.start_inspection()

    @cached_property
    def failed_result(self):
        """A failed, not yet converted item of an open inspection."""
        return services.record_result(
            actor=self.world.same,
            inspection=self.inspection,
            item=self.item,
            outcome=ItemOutcome.FAIL,
            note="超员",
        )

    @cached_property
    def answered_inspection(self):
        inspection = self.start_inspection()
        self.answer(inspection)
        return inspection

    @cached_property
    def submitted(self):
        """A submitted inspection whose failed item became an open hazard."""
        inspection = self.start_inspection()
        self.answer(inspection, fail_orders=(1,))
        services.submit_inspection(actor=self.world.same, inspection=inspection)
        result = inspection.results.get(outcome=ItemOutcome.FAIL)
        inspection.hazard = services.hazard_from_failed_item(actor=self.world.same, result=result)
        return inspection

    @cached_property
    def notice(self):
        return services.issue_rectification_notice(
            actor=self.world.same,
            inspection=self.submitted,
            hazards=[self.submitted.hazard],
            due_at=timezone.now() + timedelta(days=5),
        )

    @cached_property
    def plan(self):
        return services.create_inspection_plan(
            actor=self.world.same,
            name="矩阵测试检查计划",
            region=self.world.township,
            template=self.template,
            form=InspectionForm.ROUTINE,
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            enterprises=[self.enterprise],
        )


@pytest.fixture
def scene(world):
    return Scene(world)


# --- what a request leaves behind and what a response says ------------------------------------


def fingerprint(obj=None) -> dict:
    """Row counts of every hazards table (and of attachments and clear-view logs), plus the
    addressed row: a refused request must leave all of it as it was."""
    tables = [m._meta.db_table for m in apps.get_app_config("hazards").get_models()]
    tables += [Attachment._meta.db_table, SensitiveAccess._meta.db_table]
    # One query, not one per table: the runner takes this snapshot after every request.
    counts = ", ".join(f'(SELECT COUNT(*) FROM "{table}")' for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        state = dict(zip(tables, cursor.fetchone(), strict=True))
    if obj is not None:
        state["row"] = type(obj)._base_manager.filter(pk=obj.pk).values().first()
    return state


def body_text(response) -> str:
    """What a person would read in the response, whatever its format."""
    content_type = response.get("Content-Type", "")
    if "spreadsheetml" in content_type:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    if "wordprocessingml" in content_type:
        from docx import Document

        return "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    if "json" in content_type:
        # ninja escapes non-ASCII; the markers are Chinese names.
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode()


# --- the matrix runner -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    key: str  # URL name (pages) or "METHOD /path" (API): what the coverage check matches
    kind: str  # object | list | create | open
    target: Callable | None = None  # scene -> the addressed object
    params: Callable | None = None  # (scene, obj) -> URL kwargs; default the object's pk
    data: Callable | None = None  # (scene, obj) -> payload of a write
    marker: Callable | None = None  # (scene, obj) -> text only the in-scope may read
    method: str = "get"
    ok: int = 200  # in-scope answer to a read
    refused: int = 422  # out-of-scope answer to a create
    leader: int | None = None  # default: 403 on writes, `ok` on reads
    query: str = ""
    variant: str = ""
    files: bool = False  # payload is multipart (uploads)
    marks: tuple = field(default_factory=tuple)

    @property
    def writes(self) -> bool:
        return self.method != "get"

    @property
    def id(self) -> str:
        method = "" if self.key.split()[0].lower() == self.method else f"{self.method.upper()} "
        return f"{method}{self.key}{'[' + self.variant + ']' if self.variant else ''}"


def param(case: Case):
    return pytest.param(case, id=case.id, marks=case.marks)


class Runner:
    """Calls one endpoint as each persona; `api` decides the anonymous and 404 answers."""

    def __init__(self, scene: Scene, *, api: bool):
        self.scene, self.api = scene, api

    def call(self, case: Case, url: str, payload, persona):
        client = self.scene.world.client_for(self.scene.user(persona))
        if not case.writes:
            return client.get(url)
        if not self.api or case.files:
            return (
                client.generic(case.method.upper(), url)
                if payload is None
                else client.post(url, payload)
            )
        body = "" if payload is None else json.dumps(payload)
        return client.generic(case.method.upper(), url, body, content_type="application/json")

    def check_anonymous(self, response, url):
        if self.api:
            assert response.status_code == 401, f"anonymous: {url} answered {response.status_code}"
        else:
            assert response.status_code == 302 and "/login/" in response["Location"], (
                f"anonymous: {url} answered {response.status_code}, expected a redirect to /login/"
            )

    def run(self, case: Case, build_url: Callable[[Case, object], str]):
        scene = self.scene
        obj = case.target(scene) if case.target else None
        url = build_url(case, obj) + case.query
        fresh = case.data(scene, obj) if case.data else None
        # An upload is consumed by the request that sends it: each persona gets its own file.
        payload = (lambda: case.data(scene, obj)) if case.files else (lambda: fresh)
        what = f"{case.method.upper()} {url}"
        before = fingerprint(obj) if case.writes else None

        def unchanged(persona):
            if case.writes:
                assert fingerprint(obj) == before, f"{persona}: refused {what} changed the data"

        if case.kind in ("list", "open"):
            for persona in (*IN_SCOPE, *OUT_OF_SCOPE, "leader"):
                response = self.call(case, url, None, persona)
                expected = case.leader if persona == "leader" and case.leader else case.ok
                assert response.status_code == expected, (
                    f"{persona}: {what} answered {response.status_code}, expected {expected}"
                )
                if case.marker and expected == 200:
                    marker = case.marker(scene, obj)
                    should = SEEN[persona] if case.kind == "list" else True
                    assert (marker in body_text(response)) == should, (
                        f"{persona} {'should' if should else 'must not'} read {marker!r} in {what}"
                    )
            self.check_anonymous(self.call(case, url, None, None), what)
            return

        for persona in OUT_OF_SCOPE:
            response = self.call(case, url, payload(), persona)
            expected = case.refused if case.kind == "create" else 404
            assert response.status_code == expected, (
                f"{persona}: {what} answered {response.status_code}, expected {expected}"
            )
            if self.api and expected == 404:
                assert response.json()["code"] == "not_found", response.content
            unchanged(persona)
        self.check_anonymous(self.call(case, url, payload(), None), what)
        unchanged("anonymous")

        leader = case.leader or (403 if case.writes else case.ok)
        response = self.call(case, url, payload(), "leader")
        assert response.status_code == leader, (
            f"leader (read-only): {what} answered {response.status_code}, expected {leader}"
        )
        unchanged("leader")

        answers = {}
        for persona in IN_SCOPE:
            if obj is not None and fingerprint(obj)["row"] is None:
                break  # deleted by the persona before
            response = self.call(case, url, payload(), persona)
            answers[persona] = response.status_code
            assert response.status_code != 404 and response.status_code < 500, (
                f"{persona}: {what} answered {response.status_code}"
            )
            if not case.writes:
                assert response.status_code == case.ok, (
                    f"{persona}: {what} answered {response.status_code}, expected {case.ok}"
                )
        if case.writes:
            # Proves the payload is one the endpoint accepts: the refusals above were the scope.
            assert fingerprint(obj) != before, f"no in-scope persona managed {what}: {answers}"


PLAN_FORM = {
    "current_state": "储罐区防火堤破损",
    "danger_analysis": "泄漏后无法围堵",
    "goal": "修复防火堤",
    "measures": "停用储罐、修复防火堤",
    "funds": "12.5",
    "responsible_unit": "某化工公司",
    "responsible_person": "李经理",
    "safety_measures": "设置警戒",
    "emergency_plan": "储罐泄漏专项应急预案",
}


def _xlsx_upload(rows, headers, name):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(headers)
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def enterprise_upload(scene):
    from frontline.hazards.tests.test_importing import HEADERS, row

    return _xlsx_upload(
        [row(credit_code(8801), scene.world.village.code, "矩阵导入企业")], HEADERS, "企业.xlsx"
    )


def place_upload(scene):
    from frontline.hazards.tests.test_importing import PLACE_HEADERS, place_row

    return _xlsx_upload(
        [place_row("矩阵导入场所", scene.world.village.code)], PLACE_HEADERS, "场所.xlsx"
    )


def _quarter() -> str:
    now = timezone.localtime()
    return f"?year={now.year}&quarter={(now.month - 1) // 3 + 1}"


def _enterprise(s):
    return s.enterprise


def _name(s, o):
    return o.name


def _number(s, o):
    return o.number


LEDGERS = {
    "hazards": (lambda s: s.hazard, _number),
    "rectifications": (lambda s: s.hazard_in("rectifying"), _number),
    "responsibilities": (_enterprise, _name),
}
