"""Supervised tasks (督办任务): list, detail with timeline, create, and one POST per step.

A task outside the user's scope (and not assigned to them) is a 404; a step the state does
not allow is a 409 with a Chinese reason; bad input is a 422 with field messages.
"""

from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from frontline.core import services
from frontline.core.errors import InvalidInput
from frontline.core.models import Organization, Person, Region, SupervisedTaskEvent
from frontline.core.pagination import Pages
from frontline.core.schemas import ObjectId
from frontline.core.schemas_tasks import (
    ExtendIn,
    NoteIn,
    OnSiteIn,
    ReturnIn,
    TaskDetail,
    TaskFilter,
    TaskIn,
    TaskOut,
)
from frontline.core.services.supervision import (
    allowed_actions,
    assigned_to_q,
    overdue_first,
    supervised_q,
    visible_tasks,
)

router = Router(tags=["tasks"])

_RELATED = ("region", "assignee_organization", "assignee_person", "escalated_to")


def _tasks(request):
    return visible_tasks(request.user).select_related(*_RELATED)


def _task_or_404(request, task_id: int):
    task = _tasks(request).filter(pk=task_id).first()
    if task is None:
        raise Http404
    return task


def _detail(request, task_id: int):
    events = SupervisedTaskEvent.objects.select_related("actor__person").order_by("at", "id")
    task = (
        _tasks(request)
        .prefetch_related(Prefetch("events", queryset=events, to_attr="timeline"))
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise Http404
    task.actions = allowed_actions(request.user, task)
    return task


@router.get(
    "/tasks", response=list[TaskOut], summary="督办任务列表（可按状态、逾期、区划、我的筛选）"
)
@paginate(Pages)
def list_tasks(request, filters: Query[TaskFilter]):
    tasks = filters.filter(_tasks(request))
    if filters.mine == "assigned":
        tasks = tasks.filter(assigned_to_q(request.user))
    elif filters.mine == "supervised":
        tasks = tasks.filter(supervised_q(request.user))
    return overdue_first(tasks)


@router.get("/tasks/{task_id}", response=TaskDetail, summary="督办任务详情（含时间线和可执行操作）")
def task_detail(request, task_id: ObjectId):
    return _detail(request, task_id)


def _visible(model, request, pk, field: str, message):
    if pk is None:
        return None
    found = model.objects.visible_to(request.user).filter(pk=pk).first()
    if found is None:
        raise InvalidInput(message, details={field: _("不存在或不在您的管辖范围内")})
    return found


@router.post("/tasks", response={201: TaskDetail}, summary="下达督办任务")
def create_task(request, payload: TaskIn):
    region = Region.objects.visible_to(request.user).filter(code=payload.region_code).first()
    if region is None:
        raise InvalidInput(
            _("区划不存在"), details={"region_code": _("区划不存在或不在管辖范围内")}
        )
    organization = _visible(
        Organization,
        request,
        payload.assignee_organization_id,
        "assignee_organization_id",
        _("承办单位不存在"),
    )
    person = _visible(
        Person, request, payload.assignee_person_id, "assignee_person_id", _("承办人不存在")
    )
    try:
        task = services.assign_task(
            actor=request.user,
            title=payload.title,
            description=payload.description,
            priority=payload.priority,
            region=region,
            due_at=payload.due_at,
            respond_by=payload.respond_by,
            assignee_organization=organization,
            assignee_person=person,
        )
    except InvalidInput as exc:
        # The service names its parameters; the API names the id fields.
        exc.details = {
            (f"{k}_id" if k in {"assignee_organization", "assignee_person"} else k): v
            for k, v in exc.details.items()
        }
        raise
    return Status(201, _detail(request, task.pk))


@router.post("/tasks/{task_id}/acknowledge", response=TaskDetail, summary="签收")
def acknowledge(request, task_id: ObjectId, payload: NoteIn):
    task = _task_or_404(request, task_id)
    services.acknowledge_task(actor=request.user, task=task, note=payload.note)
    return _detail(request, task_id)


@router.post("/tasks/{task_id}/on-site", response=TaskDetail, summary="到场（可选步骤）")
def on_site(request, task_id: ObjectId, payload: OnSiteIn):
    task = _task_or_404(request, task_id)
    services.arrive_on_site(
        actor=request.user, task=task, note=payload.note, lon=payload.lon, lat=payload.lat
    )
    return _detail(request, task_id)


@router.post("/tasks/{task_id}/complete", response=TaskDetail, summary="办结（须说明办理情况）")
def complete(request, task_id: ObjectId, payload: NoteIn):
    task = _task_or_404(request, task_id)
    services.complete_task(actor=request.user, task=task, note=payload.note)
    return _detail(request, task_id)


@router.post("/tasks/{task_id}/verify", response=TaskDetail, summary="核验（办结人不能核验）")
def verify(request, task_id: ObjectId, payload: NoteIn):
    task = _task_or_404(request, task_id)
    services.verify_task(actor=request.user, task=task, note=payload.note)
    return _detail(request, task_id)


@router.post("/tasks/{task_id}/return", response=TaskDetail, summary="退回重办（须说明原因）")
def return_(request, task_id: ObjectId, payload: ReturnIn):
    task = _task_or_404(request, task_id)
    services.return_task(
        actor=request.user, task=task, reason=payload.reason, due_at=payload.due_at
    )
    return _detail(request, task_id)


@router.post("/tasks/{task_id}/extend", response=TaskDetail, summary="延期（督办方）")
def extend(request, task_id: ObjectId, payload: ExtendIn):
    task = _task_or_404(request, task_id)
    services.extend_due(
        actor=request.user, task=task, new_due_at=payload.due_at, reason=payload.reason
    )
    return _detail(request, task_id)
