"""Who works a grid: grid workers (网格员) and household group leaders (十户一长)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet


class GridRole(models.TextChoices):
    GRID_LEADER = "grid_leader", _("网格长")
    GRID_WORKER = "grid_worker", _("专职网格员")
    PART_TIME = "part_time", _("兼职网格员")
    GROUP_LEADER = "group_leader", _("十户长")


class GridPost(models.Model):
    """A person's post in a grid. Ended posts stay, so past patrols keep their context."""

    region = models.ForeignKey(
        "core.Region", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        "core.Person", verbose_name=_("人员"), on_delete=models.PROTECT, related_name="grid_posts"
    )
    role = models.CharField(_("岗位"), max_length=16, choices=GridRole.choices)
    started_on = models.DateField(_("任职日期"))
    ended_on = models.DateField(_("离任日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "网格岗位")
        verbose_name_plural = pgettext_lazy("plural", "网格岗位")
        ordering = ["region__code", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "person", "role"],
                condition=Q(ended_on__isnull=True),
                name="one_open_post_per_person_role_grid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_role_display()}"

    @property
    def is_active(self) -> bool:
        return self.ended_on is None
