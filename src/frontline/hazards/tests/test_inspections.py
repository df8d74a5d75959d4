import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Attachment
from frontline.core.roles import Role
from frontline.core.testing import (
    assert_api_matrix,
    assert_page_matrix,
    assert_queryset_matrix,
    make_person,
    make_user,
)
from frontline.hazards import services
from frontline.hazards.models import (
    ChecklistTemplate,
    Hazard,
    HazardSource,
    Inspection,
    InspectionForm,
    InspectionPlan,
    ItemOutcome,
    RectificationNotice,
)
from frontline.hazards.testing import make_enterprise, make_place

SEEDED = {
    "small-venues-fire": "九小场所",
    "fireworks-workshop": "烟花爆竹",
    "hazchem-storage": "危险化学品",
    "crowded-places": "人员密集场所",
}


def template(code="fireworks-workshop"):
    return ChecklistTemplate.objects.get(code=code)


def start(world, actor=None, target=None, code="fireworks-workshop", **kw):
    target = target or make_enterprise(world.village, name="平安烟花厂")
    return services.start_inspection(
        actor=actor or world.same,
        template=template(code),
        form=kw.pop("form", InspectionForm.ROUTINE),
        enterprise=target,
        **kw,
    )


def answer_all(inspection, actor, fail_orders=()):
    for item in inspection.template.items.all():
        outcome = ItemOutcome.FAIL if item.order in fail_orders else ItemOutcome.PASS
        services.record_result(
            actor=actor, inspection=inspection, item=item, outcome=outcome, note="现场发现"
        )


def test_checklists_are_seeded_with_legal_basis(db):
    templates = ChecklistTemplate.objects.prefetch_related("items")
    assert {t.code for t in templates} >= set(SEEDED)
    for code, word in SEEDED.items():
        found = templates.get(code=code)
        assert word in found.name
        items = list(found.items.all())
        assert 8 <= len(items) <= 15
        assert all(item.legal_basis for item in items)
    fireworks = templates.get(code="fireworks-workshop").items.filter(major_if_failed=True)
    texts = " ".join(fireworks.values_list("text", flat=True))
    assert "超员" in texts and "限量" in texts and "静电" in texts
    assert "GB 11652" in " ".join(fireworks.values_list("legal_basis", flat=True))


def test_inspection_is_numbered_scoped_and_needs_edit_right(world):
    inspection = start(world)
    year = timezone.localtime().year
    assert inspection.number == f"JC-{world.township.code}-{year}-00001"
    assert inspection.region == world.village
    assert start(world).number.endswith("-00002")
    assert_queryset_matrix(Inspection.objects, inspection, world)
    leader = make_user(Role.LEADER, world.county, "leader")
    with pytest.raises(PermissionDenied):
        start(world, actor=leader)
    with pytest.raises(PermissionDenied):
        start(world, actor=world.sibling)


def test_joint_inspection_names_participants(world):
    with pytest.raises(InvalidInput) as error:
        start(world, form=InspectionForm.JOINT)
    assert "participants" in error.value.details
    inspector = make_person(world.township, name="王检查")
    inspection = start(
        world,
        form=InspectionForm.EXPERT,
        participants="区应急管理局、专家李工",
        inspectors=[inspector],
    )
    assert list(inspection.inspectors.all()) == [inspector]


def test_submit_needs_every_item_and_then_nothing_changes(world):
    inspection = start(world)
    items = list(inspection.template.items.all())
    services.record_result(
        actor=world.same, inspection=inspection, item=items[0], outcome=ItemOutcome.PASS
    )
    with pytest.raises(InvalidInput) as error:
        services.submit_inspection(actor=world.same, inspection=inspection)
    assert "第 2、3" in error.value.details["results"]
    answer_all(inspection, world.same)
    services.submit_inspection(actor=world.same, inspection=inspection, summary="总体良好")
    inspection.refresh_from_db()
    assert inspection.is_submitted
    with pytest.raises(DomainError):
        services.record_result(
            actor=world.same, inspection=inspection, item=items[0], outcome=ItemOutcome.FAIL
        )
    with pytest.raises(DomainError):
        services.submit_inspection(actor=world.same, inspection=inspection)


def test_item_of_another_checklist_is_refused(world):
    inspection = start(world)
    foreign = template("crowded-places").items.first()
    with pytest.raises(InvalidInput) as error:
        services.record_result(
            actor=world.same, inspection=inspection, item=foreign, outcome=ItemOutcome.PASS
        )
    assert "item" in error.value.details


def test_failed_item_becomes_a_hazard_once(world):
    inspection = start(world)
    answer_all(inspection, world.same, fail_orders={1, 2})
    failed = inspection.results.get(item__order=1)
    passed = inspection.results.get(item__order=3)
    hazard = services.hazard_from_failed_item(actor=world.same, result=failed)
    assert hazard.source == HazardSource.INSPECTION
    assert hazard.title == failed.item.text
    assert hazard.enterprise == inspection.enterprise
    assert hazard.region == inspection.region
    assert hazard.inspection_result == failed
    assert "GB 11652" in hazard.description and "重大隐患" in hazard.description
    with pytest.raises(DomainError) as error:
        services.hazard_from_failed_item(actor=world.same, result=failed)
    assert hazard.number in str(error.value.message)
    with pytest.raises(DomainError):
        services.hazard_from_failed_item(actor=world.same, result=passed)
    with pytest.raises(DomainError):
        services.record_result(
            actor=world.same, inspection=inspection, item=failed.item, outcome=ItemOutcome.PASS
        )
    assert Hazard.objects.count() == 1


def test_photo_is_an_attachment_of_the_inspection(world):
    from PIL import Image

    inspection = start(world)
    item = inspection.template.items.first()
    result = services.record_result(
        actor=world.same, inspection=inspection, item=item, outcome=ItemOutcome.FAIL
    )
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, "JPEG")
    buffer.name = "photo.jpg"
    buffer.seek(0)
    attachment = services.attach_result_photo(actor=world.same, result=result, uploaded_file=buffer)
    assert attachment.owner_id == str(inspection.pk)
    assert attachment.note.startswith("第1项")
    assert Attachment.objects.count() == 1


def _converted(world, fail_orders=(1, 2)):
    inspection = start(world)
    answer_all(inspection, world.same, fail_orders=fail_orders)
    services.submit_inspection(actor=world.same, inspection=inspection)
    hazards = [
        services.hazard_from_failed_item(actor=world.same, result=result)
        for result in inspection.results.filter(outcome=ItemOutcome.FAIL).order_by("item__order")
    ]
    return inspection, hazards


def test_notice_is_numbered_per_township_and_year_and_opens_as_docx(world):
    from docx import Document

    inspection, hazards = _converted(world)
    due = timezone.now() + timedelta(days=15)
    notice = services.issue_rectification_notice(
        actor=world.same, inspection=inspection, hazards=hazards, due_at=due
    )
    year = timezone.localtime().year
    assert notice.number == f"柯岩应急责改〔{year}〕1号"
    second, more = _converted(world, fail_orders=(3,))
    assert (
        services.issue_rectification_notice(
            actor=world.same, inspection=second, hazards=more, due_at=due
        ).number
        == f"柯岩应急责改〔{year}〕2号"
    )
    assert [e.kind for e in hazards[0].events.all()][-1] == "notice_issued"
    assert_queryset_matrix(RectificationNotice.objects, notice, world)

    document = Document(io.BytesIO(services.notice_docx(notice)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "责令限期整改指令书" in text
    assert notice.number in text
    assert inspection.enterprise.name in text
    assert hazards[0].title in text and "GB 11652" in text
    assert "柯岩街道应急管理办公室" in text


def test_notice_rules(world):
    inspection = start(world)
    answer_all(inspection, world.same, fail_orders=(1,))
    hazard = services.hazard_from_failed_item(
        actor=world.same, result=inspection.results.get(item__order=1)
    )
    due = timezone.now() + timedelta(days=10)
    with pytest.raises(DomainError):  # not submitted yet
        services.issue_rectification_notice(
            actor=world.same, inspection=inspection, hazards=[hazard], due_at=due
        )
    services.submit_inspection(actor=world.same, inspection=inspection)
    _other, others = _converted(world, fail_orders=(5,))
    with pytest.raises(InvalidInput) as error:
        services.issue_rectification_notice(
            actor=world.same,
            inspection=inspection,
            hazards=others,
            due_at=timezone.now() - timedelta(days=1),
        )
    assert set(error.value.details) == {"hazards", "due_at"}


def test_plan_coverage_counts_targets_inspected_within_the_interval(world):
    first = make_enterprise(world.village, name="甲厂")
    second = make_enterprise(world.village, name="乙厂")
    shop = make_place(world.grid, name="丙小店")
    plan = services.create_inspection_plan(
        actor=world.same,
        name="2026年烟花爆竹专项检查",
        region=world.township,
        template=template(),
        form=InspectionForm.CAMPAIGN,
        interval_days=30,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        enterprises=[first, second],
        places=[shop],
    )
    now = timezone.now()
    recent = start(world, target=first, plan=plan, now=now - timedelta(days=3))
    answer_all(recent, world.same)
    services.submit_inspection(actor=world.same, inspection=recent)
    old = start(world, target=second, now=now - timedelta(days=45))
    answer_all(old, world.same)
    services.submit_inspection(actor=world.same, inspection=old)
    start(world, target=second, now=now - timedelta(days=1))  # not submitted: not counted
    with CaptureQueriesContext(connection) as queries:
        coverage = services.plan_coverage(plan, now=now)
    assert len(queries) == 3
    assert (coverage.total, coverage.inspected, coverage.percent) == (3, 1, 33.3)
    covered = {row.target.name: row.covered for row in coverage.rows}
    assert covered == {"甲厂": True, "乙厂": False, "丙小店": False}
    assert_queryset_matrix(InspectionPlan.objects, plan, world)


def test_plan_targets_must_lie_in_the_region(world):
    with pytest.raises(InvalidInput) as error:
        services.create_inspection_plan(
            actor=world.same,
            name="",
            region=world.township,
            template=template(),
            form=InspectionForm.ROUTINE,
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 1, 1),
            enterprises=[make_enterprise(world.sibling_township)],
        )
    assert set(error.value.details) == {"name", "ends_on", "enterprises"}


# --- API ---------------------------------------------------------------------------------


def test_api_inspection_flow(world):
    client = world.client_for(world.same)
    enterprise = make_enterprise(world.village, name="平安烟花厂")
    tpl = template()
    response = client.post(
        "/api/v1/inspections",
        {"template_id": tpl.pk, "form": "routine", "enterprise_id": enterprise.pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    url = f"/api/v1/inspections/{body['id']}"
    assert len(body["missing_item_ids"]) == tpl.items.count()
    assert_api_matrix(world, url)

    items = list(tpl.items.all())
    for item in items:
        outcome = "fail" if item.order == 1 else "pass"
        response = client.put(
            f"{url}/results",
            {"item_id": item.pk, "outcome": outcome, "note": "现场"},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
    detail = response.json()
    assert detail["missing_item_ids"] == []
    failed = next(r for r in detail["results"] if r["outcome"] == "fail")

    converted = client.post(f"{url}/results/{failed['id']}/hazard")
    assert converted.status_code == 201
    again = client.post(f"{url}/results/{failed['id']}/hazard")
    assert again.status_code == 409 and again.json()["code"] == "already_converted"
    assert client.post(f"{url}/submit", {}, content_type="application/json").status_code == 200
    late = client.put(
        f"{url}/results",
        {"item_id": items[0].pk, "outcome": "pass"},
        content_type="application/json",
    )
    assert late.status_code == 409

    due = (timezone.now() + timedelta(days=7)).isoformat()
    notice = client.post(
        f"{url}/notices",
        {"hazard_ids": [converted.json()["id"]], "due_at": due},
        content_type="application/json",
    )
    assert notice.status_code == 201, notice.content
    notice_url = f"/api/v1/notices/{notice.json()['id']}"
    assert_api_matrix(world, notice_url)
    docx = client.get(f"{notice_url}/docx")
    assert docx.status_code == 200
    assert docx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_api_refuses_objects_outside_scope_and_bad_input(world):
    client = world.client_for(world.same)
    foreign = make_enterprise(world.sibling_township)
    response = client.post(
        "/api/v1/inspections",
        {"template_id": template().pk, "form": "routine", "enterprise_id": foreign.pk},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "enterprise_id" in response.json()["details"]
    response = client.post(
        "/api/v1/inspections",
        {"template_id": template().pk, "form": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 422


def test_api_inspection_list_is_scoped_with_bounded_queries(world):
    for _ in range(3):
        start(world)
    start(world, actor=world.sibling, target=make_enterprise(world.sibling_township))
    client = world.client_for(world.same)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/inspections")
    assert response.json()["count"] == 3
    for _ in range(5):
        start(world)
    with CaptureQueriesContext(connection) as more:
        client.get("/api/v1/inspections")
    assert len(more) == len(queries)


def test_api_plan_and_coverage(world):
    enterprise = make_enterprise(world.village)
    client = world.client_for(world.same)
    response = client.post(
        "/api/v1/inspection-plans",
        {
            "name": "九小场所季度检查",
            "region_code": world.township.code,
            "template_id": template("small-venues-fire").pk,
            "form": "routine",
            "interval_days": 90,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "enterprise_ids": [enterprise.pk],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    url = f"/api/v1/inspection-plans/{response.json()['id']}/coverage"
    assert_api_matrix(world, url)
    coverage = client.get(url).json()
    assert (coverage["total"], coverage["inspected"], coverage["percent"]) == (1, 0, 0.0)


def test_api_checklists(world):
    client = world.client_for(world.same)
    listed = client.get("/api/v1/checklists").json()
    assert {t["code"] for t in listed} >= set(SEEDED)
    detail = client.get(f"/api/v1/checklists/{template().pk}").json()
    assert detail["items"][0]["legal_basis"]


# --- pages -------------------------------------------------------------------------------


def test_pages_are_scoped(world):
    inspection, hazards = _converted(world)
    notice = services.issue_rectification_notice(
        actor=world.same,
        inspection=inspection,
        hazards=hazards,
        due_at=timezone.now() + timedelta(days=5),
    )
    assert_page_matrix(world, f"/inspections/{inspection.pk}/")
    assert_page_matrix(world, f"/inspections/notices/{notice.pk}/")
    assert_page_matrix(world, f"/inspections/notices/{notice.pk}/docx")
    page = world.client_for(world.same).get(f"/inspections/notices/{notice.pk}/")
    assert notice.number in page.content.decode()


def test_phone_form_records_items_and_converts_failed_ones(world):
    inspection = start(world)
    client = world.client_for(world.same)
    page = client.get(f"/inspections/{inspection.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "不合格" in html and "不适用" in html
    item = inspection.template.items.get(order=1)
    response = client.post(
        f"/inspections/{inspection.pk}/items/{item.pk}/",
        {"outcome": "fail", "note": "工房内 12 人，核定 6 人"},
    )
    assert response.status_code in (200, 302)
    result = inspection.results.get(item=item)
    assert result.outcome == ItemOutcome.FAIL
    response = client.post(f"/inspections/{inspection.pk}/results/{result.pk}/hazard/")
    assert response.status_code in (200, 302)
    assert Hazard.objects.filter(inspection_result=result).exists()
    assert "转为隐患" in client.get(f"/inspections/{inspection.pk}/").content.decode()


def test_list_pages_render(world):
    start(world)
    client = world.client_for(world.same)
    for url in ("/inspections/", "/inspections/plans/", "/inspections/new/"):
        assert client.get(url).status_code == 200, url


def test_api_detail_query_count_does_not_grow_with_items(world):
    inspection = start(world)
    client = world.client_for(world.same)
    items = list(inspection.template.items.all())
    services.record_result(
        actor=world.same, inspection=inspection, item=items[0], outcome=ItemOutcome.FAIL
    )
    services.hazard_from_failed_item(actor=world.same, result=inspection.results.get())
    url = f"/api/v1/inspections/{inspection.pk}"
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    answer_all(inspection, world.same, fail_orders={1})
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).json()
    assert len(body["results"]) == len(items)
    assert body["results"][0]["hazard_number"]
    assert len(many) == len(few)


def test_plan_page_is_scoped_and_shows_coverage(world):
    plan = services.create_inspection_plan(
        actor=world.same,
        name="人员密集场所检查",
        region=world.township,
        template=template("crowded-places"),
        form=InspectionForm.ROUTINE,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        places=[make_place(world.village, name="州山商场")],
    )
    assert_page_matrix(world, f"/inspections/plans/{plan.pk}/")
    html = world.client_for(world.same).get("/inspections/plans/").content.decode()
    assert 'role="progressbar"' in html and "0 / 1" in html


def test_huge_ids_are_404_not_errors(world):
    client = world.client_for(world.same)
    assert client.get("/inspections/99999999999999999/").status_code == 404
    assert client.get("/api/v1/inspections/99999999999999999999").status_code == 422
