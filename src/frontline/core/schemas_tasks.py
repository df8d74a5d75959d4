"""Schemas of the supervised-task API (/api/v1/tasks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from ninja import Field, FilterLookup, FilterSchema, Schema

from frontline.core.models import OPEN_STATES, TaskPriority, TaskState
from frontline.core.schemas import ObjectId, region_subtree_q


class TaskOut(Schema):
    id: int
    number: str
    title: str
    description: str
    priority: TaskPriority
    priority_label: str = Field(alias="get_priority_display")
    state: TaskState
    state_label: str = Field(alias="get_state_display")
    region_id: int
    region_code: str = Field(alias="region.code")
    region_name: str = Field(alias="region.name")
    assignee_organization_id: int | None
    assignee_organization_name: str | None = Field(None, alias="assignee_organization.name")
    assignee_person_id: int | None
    assignee_person_name: str | None = Field(None, alias="assignee_person.name")
    created_by_id: int | None
    subject_type: str | None = Field(None, description="关联对象类型，如 hazards.hazard")
    subject_id: str | None = Field(None, description="关联对象编号")
    respond_by: datetime | None = Field(description="签收时限")
    due_at: datetime = Field(description="办结时限")
    next_remind_at: datetime | None = Field(description="下次提醒或升级检查的时间")
    escalation_level: int = Field(description="已升级次数")
    escalated_to_code: str | None = Field(None, alias="escalated_to.code")
    is_overdue: bool = Field(description="未办结且已过办结时限")
    created_at: datetime
    acknowledged_at: datetime | None
    done_at: datetime | None
    verified_at: datetime | None

    @staticmethod
    def resolve_subject_type(obj) -> str | None:
        if obj.subject_type_id is None:
            return None
        content_type = ContentType.objects.get_for_id(obj.subject_type_id)
        return f"{content_type.app_label}.{content_type.model}"

    @staticmethod
    def resolve_subject_id(obj) -> str | None:
        return obj.subject_id or None

    @staticmethod
    def resolve_is_overdue(obj) -> bool:
        return obj.is_overdue()


class TaskEventOut(Schema):
    id: int
    at: datetime
    kind: str
    from_state: str
    to_state: str
    note: str
    actor_id: int | None
    actor_name: str | None = None
    data: dict

    @staticmethod
    def resolve_actor_name(obj) -> str | None:
        return actor_name(obj.actor)


def actor_name(user) -> str | None:
    """The person's name behind an account, else the user name; None for the system."""
    if user is None:
        return None
    try:
        person = user.person
    except user._meta.model.person.RelatedObjectDoesNotExist:
        person = None
    return person.name if person is not None else user.get_username()


class TaskDetail(TaskOut):
    timeline: list[TaskEventOut] = Field(description="事件时间线，先早后晚")
    actions: list[str] = Field(description="当前用户可执行的操作")


class TaskIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    priority: TaskPriority = TaskPriority.NORMAL
    region_code: str = Field(min_length=6, max_length=15)
    due_at: datetime = Field(description="办结时限（ISO 8601，带时区）")
    respond_by: datetime | None = Field(None, description="签收时限；缺省为下达后 60 分钟")
    assignee_organization_id: ObjectId | None = None
    assignee_person_id: ObjectId | None = None


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class OnSiteIn(NoteIn):
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class ReturnIn(Schema):
    reason: str = Field("", max_length=2000)
    due_at: datetime | None = Field(None, description="新的办结时限（可选）")


class ExtendIn(Schema):
    due_at: datetime = Field(description="新的办结时限")
    reason: str = Field("", max_length=2000)


class TaskFilter(FilterSchema):
    state: TaskState | None = None
    open: bool | None = Field(None, description="true：未办结；false：已办结或已核验")
    overdue: bool | None = Field(None, description="true：未办结且已过办结时限")
    region: str | None = Field(None, description="区划代码（含下级）")
    q: Annotated[str | None, FilterLookup(["title__icontains", "number__icontains"])] = Field(
        None, description="任务名称或编号包含"
    )
    mine: Literal["assigned", "supervised"] | None = Field(
        None, description="assigned：交给我或我单位的；supervised：我督办的"
    )

    def filter_open(self, value):
        if value is None:
            return Q()
        query = Q(state__in=OPEN_STATES)
        return query if value else ~query

    def filter_overdue(self, value):
        if value is None:
            return Q()
        query = Q(state__in=OPEN_STATES, due_at__lt=timezone.now())
        return query if value else ~query

    def filter_region(self, value):
        return region_subtree_q(value)

    def filter_mine(self, value):
        return Q()  # needs the user: applied by the endpoint
