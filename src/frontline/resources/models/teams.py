"""Rescue teams (救援队伍), their members, certificates and duty shifts.

A team is what a dispatcher sends: its kind (see DOMAIN.md: fire brigade, full-time fire
team, micro fire station, township rescue squad, social volunteers, expert team), where it
is based, what it can do, and how many people are ready now. Members are people of the core
registry; "ready now" counts the members on a shift that covers this moment and who are not
marked unavailable.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from frontline.core.scoping import ScopedQuerySet
from frontline.resources.models.capabilities import unpack_capabilities


class TeamKind(models.TextChoices):
    FIRE_BRIGADE = "fire_brigade", _("消防救援队（站）")
    FULLTIME_FIRE = "fulltime_fire", _("专职消防队")
    MICRO_FIRE_STATION = "micro_fire_station", _("微型消防站")
    RESCUE_SQUAD = "rescue_squad", _("综合应急救援队")
    MILITIA = "militia", _("民兵应急分队")
    SOCIAL = "social", _("社会救援队伍")
    VOLUNTEER = "volunteer", _("志愿者队伍")
    EXPERT = "expert", _("专家队伍")


# People on duty a micro fire station must keep at all times (DOMAIN.md: ≥3 per shift);
# other kinds keep what their file says.
MIN_ON_DUTY = {TeamKind.MICRO_FIRE_STATION: 3}


class TeamStatus(models.TextChoices):
    AVAILABLE = "available", _("待命")
    DEPLOYED = "deployed", _("出动中")
    RESTING = "resting", _("休整")
    UNAVAILABLE = "unavailable", _("不可用")


class RescueTeam(models.Model):
    region = models.ForeignKey(
        "core.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("队伍名称"), max_length=120)
    kind = models.CharField(_("队伍类型"), max_length=24, choices=TeamKind.choices)
    organization = models.OneToOneField(
        "core.Organization",
        verbose_name=_("对应单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rescue_team",
    )
    leader = models.ForeignKey(
        "core.Person",
        verbose_name=_("队长"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
    )
    duty_phone = models.CharField(_("值班电话"), max_length=32, blank=True)
    address = models.CharField(_("驻地"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    capabilities = models.CharField(_("救援能力"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=TeamStatus.choices, default=TeamStatus.AVAILABLE
    )
    # People who must be on duty for the team to count as ready (0: no rule).
    min_on_duty = models.PositiveSmallIntegerField(_("最少在岗人数"), default=0)
    # Minutes to reach the scene the team promises ("3 minutes to the scene").
    response_minutes = models.PositiveSmallIntegerField(
        _("到场承诺（分钟）"), null=True, blank=True
    )
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # Indexed: the nearby-search index checks MAX(updated_at) to know when to rebuild.
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "救援队伍")
        verbose_name_plural = pgettext_lazy("plural", "救援队伍")
        ordering = ["region__code", "kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="team_name_per_region")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def capability_list(self) -> list[str]:
        return unpack_capabilities(self.capabilities)


class MemberRole(models.TextChoices):
    CHIEF = "chief", _("队长")
    DEPUTY = "deputy", _("副队长")
    MEMBER = "member", _("队员")
    DRIVER = "driver", _("驾驶员")
    MEDIC = "medic", _("卫生员")


class TeamMemberQuerySet(ScopedQuerySet):
    scope_path_field = "team__region__path"


class TeamMember(models.Model):
    team = models.ForeignKey(
        RescueTeam, verbose_name=_("队伍"), on_delete=models.CASCADE, related_name="members"
    )
    person = models.ForeignKey(
        "core.Person", verbose_name=_("人员"), on_delete=models.PROTECT, related_name="team_posts"
    )
    role = models.CharField(
        _("队内职务"), max_length=12, choices=MemberRole.choices, default=MemberRole.MEMBER
    )
    skills = models.CharField(_("技能特长"), max_length=200, blank=True)
    joined_on = models.DateField(_("入队日期"), null=True, blank=True)
    # Off sick, away, on leave: not counted as ready even on a shift.
    is_available = models.BooleanField(_("可出勤"), default=True)
    left_on = models.DateField(_("离队日期"), null=True, blank=True)

    objects = TeamMemberQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "队员")
        verbose_name_plural = pgettext_lazy("plural", "队员")
        ordering = ["team_id", "role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "person"], name="one_post_per_team_person")
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.person}"


class CertificateQuerySet(ScopedQuerySet):
    scope_path_field = "member__team__region__path"


class MemberCertificate(models.Model):
    member = models.ForeignKey(
        TeamMember, verbose_name=_("队员"), on_delete=models.CASCADE, related_name="certificates"
    )
    name = models.CharField(_("证书名称"), max_length=80)
    number = models.CharField(_("证书编号"), max_length=60, blank=True)
    issued_by = models.CharField(_("发证机关"), max_length=80, blank=True)
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "资格证书")
        verbose_name_plural = pgettext_lazy("plural", "资格证书")
        ordering = ["member_id", "name"]

    def __str__(self) -> str:
        return self.name


class DutyShiftQuerySet(ScopedQuerySet):
    scope_path_field = "team__region__path"

    def covering(self, moment=None):
        moment = moment or timezone.now()
        return self.filter(starts_at__lte=moment, ends_at__gt=moment)


class DutyShift(models.Model):
    team = models.ForeignKey(
        RescueTeam, verbose_name=_("队伍"), on_delete=models.CASCADE, related_name="shifts"
    )
    member = models.ForeignKey(
        TeamMember, verbose_name=_("队员"), on_delete=models.CASCADE, related_name="shifts"
    )
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))

    objects = DutyShiftQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "执勤班次")
        verbose_name_plural = pgettext_lazy("plural", "执勤班次")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["team", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="shift_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.starts_at:%Y-%m-%d %H:%M}"
