"""The inspection timeline: every service writes exactly its event, a refused step writes
none, and the detail page and API show the timeline in a bounded number of queries."""

import io
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from shapely.geometry import shape

from frontline.core.demo.framework import SCALES, DemoContext, make_rngs
from frontline.core.errors import DomainError, InvalidInput, PermissionDenied
from frontline.core.models import Attachment, Region
from frontline.core.roles import Role
from frontline.core.testing import make_user, page_queries
from frontline.hazards import demo, services
from frontline.hazards.models import (
    ChecklistTemplate,
    Hazard,
    Inspection,
    InspectionEvent,
    InspectionEventKind,
    InspectionForm,
    InspectionResult,
    InspectionState,
    ItemOutcome,
)
from frontline.hazards.testing import make_enterprise

Kind = InspectionEventKind


def start(world, actor=None):
    return services.start_inspection(
        actor=actor or world.same,
        template=ChecklistTemplate.objects.get(code="fireworks-workshop"),
        form=InspectionForm.ROUTINE,
        enterprise=make_enterprise(world.village, name="平安烟花厂"),
    )


def items_of(inspection):
    return list(inspection.template.items.order_by("order"))


def answer_all(inspection, actor, fail_orders=()):
    for item in items_of(inspection):
        outcome = ItemOutcome.FAIL if item.order in fail_orders else ItemOutcome.PASS
        services.record_result(actor=actor, inspection=inspection, item=item, outcome=outcome)


def kinds(inspection) -> list[str]:
    return list(inspection.events.order_by("at", "id").values_list("kind", flat=True))


def new_events(before: int):
    return list(InspectionEvent.objects.order_by("id")[before:])


def jpeg(name="photo.jpg"):
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, "JPEG")
    buffer.name = name
    buffer.seek(0)
    return buffer


def submitted_with_hazard(world):
    inspection = start(world)
    answer_all(inspection, world.same, fail_orders={1})
    services.submit_inspection(actor=world.same, inspection=inspection)
    failed = inspection.results.get(outcome=ItemOutcome.FAIL)
    hazard = services.hazard_from_failed_item(actor=world.same, result=failed)
    return inspection, hazard


# --- services ----------------------------------------------------------------------------


def test_start_writes_one_started_event(world):
    inspection = start(world)
    [event] = InspectionEvent.objects.all()
    assert event.inspection == inspection
    assert event.kind == Kind.STARTED
    assert event.actor == world.same
    assert event.to_state == InspectionState.OPEN
    assert event.at == inspection.started_at
    assert event.data["template_id"] == inspection.template_id


def test_recording_an_item_writes_its_outcome(world):
    inspection = start(world)
    item = items_of(inspection)[0]
    before = InspectionEvent.objects.count()
    result = services.record_result(
        actor=world.same, inspection=inspection, item=item, outcome=ItemOutcome.FAIL, note="超员"
    )
    [event] = new_events(before)
    assert (event.kind, event.actor, event.result) == (Kind.RESULT_RECORDED, world.same, result)
    assert (event.from_state, event.to_state, event.note) == ("", ItemOutcome.FAIL, "超员")
    assert event.data["item_order"] == item.order


def test_changing_an_item_records_old_and_new_outcome(world):
    inspection = start(world)
    item = items_of(inspection)[0]
    services.record_result(
        actor=world.same, inspection=inspection, item=item, outcome=ItemOutcome.PASS
    )
    other = make_user(Role.STATION_STAFF, world.township, "other")
    before = InspectionEvent.objects.count()
    result = services.record_result(
        actor=other, inspection=inspection, item=item, outcome=ItemOutcome.FAIL, note="复查"
    )
    [event] = new_events(before)
    assert event.kind == Kind.RESULT_CHANGED and event.actor == other
    assert (event.from_state, event.to_state) == (ItemOutcome.PASS, ItemOutcome.FAIL)
    assert event.note == "复查" and event.result == result
    assert InspectionResult.objects.get().outcome == ItemOutcome.FAIL
    # The same answer again changes nothing and writes nothing.
    services.record_result(
        actor=other, inspection=inspection, item=item, outcome=ItemOutcome.FAIL, note="复查"
    )
    assert InspectionEvent.objects.count() == before + 1
    # A changed note alone is a change too.
    services.record_result(
        actor=other, inspection=inspection, item=item, outcome=ItemOutcome.FAIL, note="复查2"
    )
    last = InspectionEvent.objects.latest("id")
    assert last.kind == Kind.RESULT_CHANGED and last.data["old_note"] == "复查"


def test_photo_writes_an_event_linking_the_attachment(world, media_root):
    inspection = start(world)
    result = services.record_result(
        actor=world.same,
        inspection=inspection,
        item=items_of(inspection)[1],
        outcome=ItemOutcome.FAIL,
    )
    before = InspectionEvent.objects.count()
    attachment = services.attach_result_photo(actor=world.same, result=result, uploaded_file=jpeg())
    [event] = new_events(before)
    assert (event.kind, event.actor) == (Kind.PHOTO_ADDED, world.same)
    assert event.attachment == attachment and event.result == result
    assert event.data["item_order"] == 2


def test_submit_writes_one_submitted_event_with_counts(world):
    inspection = start(world)
    answer_all(inspection, world.same, fail_orders={1, 2})
    before = InspectionEvent.objects.count()
    services.submit_inspection(actor=world.same, inspection=inspection)
    [event] = new_events(before)
    assert (event.kind, event.actor) == (Kind.SUBMITTED, world.same)
    assert (event.from_state, event.to_state) == (InspectionState.OPEN, InspectionState.SUBMITTED)
    assert event.at == Inspection.objects.get().submitted_at
    total = len(items_of(inspection))
    assert event.data["outcomes"] == {"pass": total - 2, "fail": 2, "na": 0}


def test_conversion_writes_an_event_linking_the_hazard(world):
    inspection, hazard = submitted_with_hazard(world)
    event = InspectionEvent.objects.latest("id")
    assert (event.kind, event.actor, event.hazard) == (Kind.HAZARD_CREATED, world.same, hazard)
    assert event.result == hazard.inspection_result and event.note == hazard.number
    assert kinds(inspection).count(Kind.HAZARD_CREATED) == 1


def test_notice_writes_an_event_linking_the_notice(world):
    inspection, hazard = submitted_with_hazard(world)
    before = InspectionEvent.objects.count()
    notice = services.issue_rectification_notice(
        actor=world.same,
        inspection=inspection,
        hazards=[hazard],
        due_at=timezone.now() + timedelta(days=10),
    )
    [event] = new_events(before)
    assert (event.kind, event.actor, event.notice) == (Kind.NOTICE_ISSUED, world.same, notice)
    assert event.note == notice.number and event.data["hazard_ids"] == [hazard.pk]


def test_whole_flow_reads_in_order(world):
    inspection, _hazard = submitted_with_hazard(world)
    n = len(items_of(inspection))
    assert kinds(inspection) == [Kind.STARTED] + [Kind.RESULT_RECORDED] * n + [
        Kind.SUBMITTED,
        Kind.HAZARD_CREATED,
    ]


# --- refused steps change nothing --------------------------------------------------------


def _snapshot(inspection):
    return (
        InspectionEvent.objects.count(),
        list(InspectionResult.objects.order_by("id").values_list("outcome", "note")),
        Inspection.objects.filter(pk=inspection.pk).values_list("submitted_at", "summary").get(),
        Hazard.objects.count(),
        Attachment.objects.count(),
    )


def test_refused_steps_write_no_event_and_change_nothing(world, media_root):
    inspection = start(world)
    item = items_of(inspection)[0]
    before = _snapshot(inspection)
    with pytest.raises(InvalidInput):  # not every item answered
        services.submit_inspection(actor=world.same, inspection=inspection)
    with pytest.raises(PermissionDenied):
        services.record_result(
            actor=world.sibling, inspection=inspection, item=item, outcome=ItemOutcome.PASS
        )
    with pytest.raises(InvalidInput):
        services.record_result(actor=world.same, inspection=inspection, item=item, outcome="bad")
    assert _snapshot(inspection) == before

    answer_all(inspection, world.same, fail_orders={1})
    result = InspectionResult.objects.get(item=item)
    services.hazard_from_failed_item(actor=world.same, result=result)
    before = _snapshot(inspection)
    with pytest.raises(DomainError):  # converted: cannot become 合格 again
        services.record_result(
            actor=world.same, inspection=inspection, item=item, outcome=ItemOutcome.PASS
        )
    with pytest.raises(DomainError):  # converted once only
        services.hazard_from_failed_item(actor=world.same, result=result)
    with pytest.raises(DomainError):  # notice before submission
        services.issue_rectification_notice(
            actor=world.same,
            inspection=inspection,
            hazards=list(Hazard.objects.all()),
            due_at=timezone.now() + timedelta(days=3),
        )
    assert _snapshot(inspection) == before

    stale = Inspection.objects.get(pk=inspection.pk)  # read before the submission
    services.submit_inspection(actor=world.same, inspection=inspection)
    before = _snapshot(inspection)
    for copy in (inspection, stale):
        with pytest.raises(DomainError) as error:
            services.record_result(
                actor=world.same, inspection=copy, item=item, outcome=ItemOutcome.FAIL, note="晚了"
            )
        assert error.value.code == "inspection_submitted"
        with pytest.raises(DomainError):
            services.attach_result_photo(actor=world.same, result=result, uploaded_file=jpeg())
        with pytest.raises(DomainError):
            services.submit_inspection(actor=world.same, inspection=copy)
    assert _snapshot(inspection) == before


# --- page and API ------------------------------------------------------------------------


def test_detail_page_shows_the_timeline_with_links(world):
    inspection, hazard = submitted_with_hazard(world)
    notice = services.issue_rectification_notice(
        actor=world.same,
        inspection=inspection,
        hazards=[hazard],
        due_at=timezone.now() + timedelta(days=10),
    )
    response = world.client_for(world.same).get(f"/inspections/{inspection.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    timeline = html.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]
    for label in ("开始检查", "记录检查项", "提交", "转为隐患", "下达整改指令书"):
        assert label in timeline, label
    assert f'href="/hazards/{hazard.pk}/"' in timeline
    assert f'href="/inspections/notices/{notice.pk}/"' in timeline
    assert world.same.person.name in timeline
    positions = [timeline.index(label) for label in ("开始检查", "转为隐患", "下达整改指令书")]
    assert positions == sorted(positions)


def test_detail_page_shows_a_change_of_outcome(world):
    inspection = start(world)
    item = items_of(inspection)[0]
    for outcome in (ItemOutcome.PASS, ItemOutcome.FAIL):
        services.record_result(actor=world.same, inspection=inspection, item=item, outcome=outcome)
    html = world.client_for(world.same).get(f"/inspections/{inspection.pk}/").content.decode()
    timeline = html.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]
    assert "修改检查项" in timeline and "第1项" in timeline
    assert timeline.index("合格") < timeline.index("→") < timeline.index("不合格")


def test_api_detail_returns_the_events(world):
    inspection, hazard = submitted_with_hazard(world)
    body = world.client_for(world.same).get(f"/api/v1/inspections/{inspection.pk}").json()
    events = body["events"]
    assert [e["kind"] for e in events] == kinds(inspection)
    first, last = events[0], events[-1]
    assert first["kind_label"] == "开始检查" and first["actor_id"] == world.same.pk
    assert first["actor_name"] == world.same.person.name
    assert last["kind"] == "hazard_created"
    assert (last["hazard_id"], last["hazard_number"]) == (hazard.pk, hazard.number)
    assert last["result_id"] == hazard.inspection_result_id and last["item_id"]
    recorded = events[1]
    assert recorded["to_state"] in ItemOutcome.values and recorded["notice_id"] is None
    assert recorded["notice_number"] is None


def _grow(inspection, actor, times: int):
    """Many events on one item: change it back and forth."""
    item = items_of(inspection)[-1]
    for index in range(times):
        outcome = ItemOutcome.PASS if index % 2 else ItemOutcome.NOT_APPLICABLE
        services.record_result(actor=actor, inspection=inspection, item=item, outcome=outcome)


@pytest.mark.parametrize("url", ["/inspections/{pk}/", "/api/v1/inspections/{pk}"])
def test_detail_queries_do_not_grow_with_events(world, url):
    inspection = start(world)
    other = make_user(Role.STATION_STAFF, world.township, "other")
    client = world.client_for(world.same)
    url = url.format(pk=inspection.pk)
    _grow(inspection, world.same, 1)
    client.get(url)  # the session and the user's roles
    response, few = page_queries(client, url)
    assert response.status_code == 200
    _grow(inspection, other, 20)
    _grow(inspection, world.same, 5)
    assert inspection.events.count() > 25
    response, many = page_queries(client, url)
    assert response.status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- demo --------------------------------------------------------------------------------


class _Plan:
    def __init__(self, region):
        self.polygon = shape(region.boundary)


def _demo_ctx(name: str):
    rng, np_rng = make_rngs(7, name)
    regions = {r.code: r for r in Region.objects.all()}
    return DemoContext(
        scale=SCALES["district"],
        seed=7,
        rng=rng,
        np_rng=np_rng,
        state={"regions": regions, "plans": {c: _Plan(r) for c, r in regions.items()}},
        counts=Counter(),
    )


def _demo_inspections():
    rows = []
    for inspection in Inspection.objects.order_by("number").prefetch_related("results"):
        outcomes = sorted((r.item_id, r.outcome) for r in inspection.results.all())
        rows.append((inspection.number, inspection.form, inspection.is_submitted, outcomes))
    return rows


def test_demo_inspections_have_matching_timelines_and_are_deterministic(world):
    objects = _demo_ctx("hazards.objects")
    demo.generate_enterprises(objects)
    ctx = _demo_ctx("hazards.inspections")
    ctx.state.update(objects.state)
    demo.generate_inspections(ctx)
    inspections = list(Inspection.objects.prefetch_related("results", "events"))
    assert inspections and ctx.counts["inspection_events"] == InspectionEvent.objects.count()
    assert any(i.is_submitted for i in inspections)
    for inspection in inspections:
        events = sorted(inspection.events.all(), key=lambda e: (e.at, e.pk))
        assert events[0].kind == Kind.STARTED and events[0].at == inspection.started_at
        results = {r.pk: r for r in inspection.results.all()}
        recorded = [e for e in events if e.kind == Kind.RESULT_RECORDED]
        assert sorted(e.result_id for e in recorded) == sorted(results)
        for event in events:
            if event.kind == Kind.RESULT_CHANGED:
                assert event.to_state == results[event.result_id].outcome
        submitted = [e for e in events if e.kind == Kind.SUBMITTED]
        if inspection.is_submitted:
            assert submitted == [events[-1]] and events[-1].at == inspection.submitted_at
            assert len(results) == inspection.template.items.count()
        else:
            assert not submitted
    first = _demo_inspections()

    InspectionEvent.objects.all().delete()
    Inspection.objects.all().delete()
    again = _demo_ctx("hazards.inspections")
    again.state.update(objects.state)
    demo.generate_inspections(again)
    assert _demo_inspections() == first
