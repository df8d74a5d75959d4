"""Risk points and their grading (双重预防机制, 安全生产法 Art. 4 and 41)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet
from frontline.hazards.models.objects import RiskColour


class AssessmentMethod(models.TextChoices):
    LEC = "lec", _("作业条件危险性分析法（LEC）")
    MATRIX = "matrix", _("风险矩阵法（可能性×严重性）")


class RiskPoint(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    enterprise = models.ForeignKey(
        "hazards.Enterprise",
        verbose_name=_("企业"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="risk_points",
    )
    place = models.ForeignKey(
        "hazards.Place",
        verbose_name=_("场所"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="risk_points",
    )
    name = models.CharField(_("风险点"), max_length=150)
    description = models.TextField(_("危险因素"), blank=True)
    method = models.CharField(_("评估方法"), max_length=8, choices=AssessmentMethod.choices)
    # LEC: L likelihood, E exposure, C consequence; D = L × E × C.
    likelihood = models.FloatField(_("可能性 L"), null=True, blank=True)
    exposure = models.FloatField(_("暴露频繁程度 E"), null=True, blank=True)
    consequence = models.FloatField(_("后果 C"), null=True, blank=True)
    # Matrix: likelihood 1–5 × severity 1–5.
    severity = models.PositiveSmallIntegerField(_("严重性"), null=True, blank=True)
    score = models.FloatField(_("风险值"))
    colour = models.CharField(_("风险等级"), max_length=8, choices=RiskColour.choices)
    control_measures = models.TextField(_("管控措施"), blank=True)
    responsible_person = models.ForeignKey(
        "core.Person",
        verbose_name=_("责任人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    responsible_unit = models.CharField(_("责任部门"), max_length=100, blank=True)
    assessed_at = models.DateField(_("评估日期"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "风险点")
        verbose_name_plural = pgettext_lazy("plural", "风险点")
        ordering = ["-score", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(enterprise__isnull=False) | models.Q(place__isnull=False),
                name="risk_point_has_an_object",
            )
        ]

    def __str__(self) -> str:
        return self.name
