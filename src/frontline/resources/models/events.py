"""The timeline of resources other than stock (stock movements are their own ledger):
status changes of teams, equipment and shelters, check-ins and check-outs, edits."""

from __future__ import annotations

from django.db import models
from django.utils.translation import pgettext_lazy

from frontline.core.models.audit import EventBase
from frontline.core.scoping import ScopedQuerySet


class ResourceEvent(EventBase):
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+")
    # "team", "equipment", "shelter", "expert", "depot": which table `object_id` points to.
    subject = models.CharField(max_length=16)
    object_id = models.BigIntegerField()

    objects = ScopedQuerySet.as_manager()

    class Meta(EventBase.Meta):
        verbose_name = pgettext_lazy("singular", "资源事件")
        verbose_name_plural = pgettext_lazy("plural", "资源事件")
        indexes = [models.Index(fields=["subject", "object_id", "at"])]
