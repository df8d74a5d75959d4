"""Page forms of teams, members, shifts, equipment and experts. They parse and offer only
what the user may choose (regions where they manage resources, visible teams, depots and
people); `save()` runs a service and turns its field errors into form errors."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from frontline.core.forms import RegionChoiceField, ServiceForm, regions_with
from frontline.core.models import Person
from frontline.core.roles import Capability as Can
from frontline.resources.models import (
    Capability,
    Depot,
    Equipment,
    EquipmentKind,
    EquipmentStatus,
    Expert,
    ExpertAvailability,
    ExpertField,
    MemberRole,
    RescueTeam,
    TeamKind,
    TeamMember,
    TeamStatus,
    unpack_capabilities,
)
from frontline.resources.services import equipment as equipment_services
from frontline.resources.services import experts as expert_services
from frontline.resources.services import teams as team_services

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MOMENT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


def _choose(choices):
    return [("", _("请选择")), *choices]


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        return f"{obj.name}（{obj.region.name}）"


class _Edits(ServiceForm):
    """Create or change one object: `initial` from the instance, only changed fields sent."""

    EDITABLE: tuple[str, ...] = ()

    def __init__(self, *args, user, instance=None, **kwargs):
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.EDITABLE}
            if "capabilities" in initial:
                initial["capabilities"] = unpack_capabilities(instance.capabilities)
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


def _capabilities_field():
    return forms.MultipleChoiceField(
        label=_("救援能力"),
        choices=Capability.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}),
    )


# --- teams ---------------------------------------------------------------------------------------


class TeamForm(_Edits):
    name = forms.CharField(label=_("队伍名称"), max_length=120)
    kind = forms.ChoiceField(label=_("队伍类型"), choices=_choose(TeamKind.choices))
    region = RegionChoiceField(label=_("所属区划"))
    address = forms.CharField(label=_("驻地"), max_length=200, required=False)
    lon = forms.FloatField(label=_("经度"), min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度"), min_value=-90, max_value=90)
    capabilities = _capabilities_field()
    leader = PersonChoiceField(label=_("队长"), queryset=Person.objects.none(), required=False)
    duty_phone = forms.CharField(label=_("值班电话"), max_length=32, required=False)
    min_on_duty = forms.IntegerField(
        label=_("最少在岗人数"),
        required=False,
        min_value=0,
        max_value=team_services.MAX_MIN_ON_DUTY,
        help_text=_("留空按队伍类型：微型消防站每班不少于 3 人，其余不设要求（0）"),
    )
    response_minutes = forms.IntegerField(
        label=_("到场承诺（分钟）"), required=False, min_value=1, max_value=24 * 60
    )
    notes = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    EDITABLE = (
        "name", "kind", "address", "lon", "lat", "capabilities", "duty_phone", "min_on_duty",
        "response_minutes", "notes",
    )  # fmt: skip

    def __init__(self, *args, user, instance: RescueTeam | None = None, **kwargs):
        super().__init__(*args, user=user, instance=instance, **kwargs)
        self.fields["region"].queryset = regions_with(user, Can.MANAGE_RESOURCES).order_by("path")
        if instance is None:
            # The leader is chosen on the edit page, among the people of the team's region.
            del self.fields["leader"]
            return
        self.initial.setdefault("region", instance.region.code)
        self.initial.setdefault("leader", instance.leader_id)
        self.fields["region"].disabled = True
        self.fields["leader"].queryset = (
            Person.objects.visible_to(user)
            .within(instance.region.path)
            .select_related("region")
            .order_by("name", "pk")
        )

    def run_service(self) -> RescueTeam:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return team_services.create_team(actor=self.user, **data)
        changes = self.changes()
        changes.pop("region", None)
        return team_services.update_team(actor=self.user, team=self.instance, **changes)


class TeamStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=TeamStatus.choices)
    note = forms.CharField(label=_("说明"), max_length=500, required=False)


class MemberForm(ServiceForm):
    person = PersonChoiceField(label=_("人员"), queryset=Person.objects.none())
    role = forms.ChoiceField(label=_("队内职务"), choices=MemberRole.choices)
    skills = forms.CharField(label=_("技能特长"), max_length=200, required=False)
    joined_on = forms.DateField(label=_("入队日期"), required=False, widget=DATE)

    def __init__(self, *args, user, team: RescueTeam, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.team = user, team
        current = TeamMember.objects.filter(team=team, left_on__isnull=True).values("person_id")
        self.fields["person"].queryset = (
            Person.objects.visible_to(user)
            .within(team.region.path)
            .exclude(pk__in=current)
            .select_related("region")
            .order_by("name", "pk")
        )
        self.fields["person"].help_text = _(
            "本队所属区划内登记的人员；人员库中没有的，请先在“人员”中新增"
        )

    def run_service(self):
        return team_services.add_member(actor=self.user, team=self.team, **self.cleaned_data)


class CertificateForm(ServiceForm):
    member = forms.ModelChoiceField(label=_("队员"), queryset=TeamMember.objects.none())
    name = forms.CharField(label=_("证书名称"), max_length=80)
    number = forms.CharField(label=_("证书编号"), max_length=60, required=False)
    issued_by = forms.CharField(label=_("发证机关"), max_length=80, required=False)
    expires_on = forms.DateField(label=_("有效期至"), required=False, widget=DATE)

    def __init__(self, *args, user, team: RescueTeam, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["member"].queryset = active_members(team)
        self.fields["member"].label_from_instance = lambda m: m.person.name

    def run_service(self):
        return team_services.add_certificate(actor=self.user, **self.cleaned_data)


def active_members(team: RescueTeam):
    return (
        TeamMember.objects.filter(team=team, left_on__isnull=True)
        .select_related("person")
        .order_by("role", "pk")
    )


class ShiftForm(ServiceForm):
    member = forms.ModelChoiceField(label=_("队员"), queryset=TeamMember.objects.none())
    starts_at = forms.DateTimeField(
        label=_("开始时间"), widget=MOMENT, input_formats=MOMENT_FORMATS
    )
    ends_at = forms.DateTimeField(label=_("结束时间"), widget=MOMENT, input_formats=MOMENT_FORMATS)

    def __init__(self, *args, user, team: RescueTeam, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.team = user, team
        self.fields["member"].queryset = active_members(team)
        self.fields["member"].label_from_instance = lambda m: m.person.name

    def run_service(self):
        return team_services.create_shift(actor=self.user, team=self.team, **self.cleaned_data)


# --- equipment -----------------------------------------------------------------------------------


class _UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name}（{obj.region.name}）"


class EquipmentForm(_Edits):
    name = forms.CharField(label=_("名称"), max_length=120)
    kind = forms.ChoiceField(label=_("类型"), choices=_choose(EquipmentKind.choices))
    region = RegionChoiceField(label=_("所属区划"), required=False)
    team = _UnitChoiceField(label=_("配属队伍"), queryset=RescueTeam.objects.none(), required=False)
    depot = _UnitChoiceField(label=_("存放仓库"), queryset=Depot.objects.none(), required=False)
    model = forms.CharField(label=_("型号"), max_length=80, required=False)
    serial_no = forms.CharField(label=_("出厂编号"), max_length=60, required=False)
    plate_no = forms.CharField(label=_("车牌号"), max_length=16, required=False)
    capabilities = _capabilities_field()
    base_address = forms.CharField(
        label=_("停放地点"),
        max_length=200,
        required=False,
        help_text=_("留空取配属队伍或存放仓库的地址和位置"),
    )
    lon = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90)
    next_inspection_due = forms.DateField(label=_("下次检验"), required=False, widget=DATE)
    next_maintenance_due = forms.DateField(label=_("下次保养"), required=False, widget=DATE)
    notes = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    EDITABLE = (
        "name", "kind", "model", "serial_no", "plate_no", "capabilities", "base_address", "lon",
        "lat", "next_inspection_due", "next_maintenance_due", "notes",
    )  # fmt: skip

    def __init__(self, *args, user, instance: Equipment | None = None, **kwargs):
        super().__init__(*args, user=user, instance=instance, **kwargs)
        self.fields["region"].queryset = regions_with(user, Can.MANAGE_RESOURCES).order_by("path")
        self.fields["region"].help_text = _("留空取配属队伍或存放仓库的区划")
        self.fields["team"].queryset = (
            RescueTeam.objects.visible_to(user)
            .select_related("region")
            .order_by("region__code", "name")
        )
        self.fields["depot"].queryset = (
            Depot.objects.visible_to(user).select_related("region").order_by("region__code", "name")
        )
        if instance is not None:
            self.initial.setdefault("region", instance.region.code)
            self.initial.setdefault("team", instance.team_id)
            self.initial.setdefault("depot", instance.depot_id)
            self.fields["region"].disabled = True

    def run_service(self) -> Equipment:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return equipment_services.create_equipment(actor=self.user, **data)
        changes = self.changes()
        changes.pop("region", None)
        return equipment_services.update_equipment(
            actor=self.user, equipment=self.instance, **changes
        )


class EquipmentStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=EquipmentStatus.choices)
    note = forms.CharField(label=_("说明"), max_length=500, required=False)


class CheckForm(forms.Form):
    kind = forms.ChoiceField(label=_("类别"), choices=list(equipment_services.CHECK_KINDS.items()))
    done_on = forms.DateField(label=_("完成日期"), required=False, widget=DATE)
    next_due = forms.DateField(
        label=_("下次到期"),
        required=False,
        widget=DATE,
        help_text=_("留空：检验一年后、保养半年后"),
    )
    note = forms.CharField(label=_("说明"), max_length=500, required=False)


# --- experts -------------------------------------------------------------------------------------


class ExpertForm(_Edits):
    region = RegionChoiceField(label=_("所属区划"))
    field = forms.ChoiceField(label=_("专业领域"), choices=_choose(ExpertField.choices))
    person = PersonChoiceField(
        label=_("人员库中的人员"), queryset=Person.objects.none(), required=False
    )
    name = forms.CharField(label=_("姓名（新人员）"), max_length=50, required=False)
    mobile = forms.CharField(label=_("手机号（新人员）"), max_length=20, required=False)
    specialty = forms.CharField(label=_("专长"), max_length=200, required=False)
    title = forms.CharField(label=_("职称"), max_length=40, required=False)
    employer = forms.CharField(label=_("工作单位"), max_length=120, required=False)
    notes = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    EDITABLE = ("field", "specialty", "title", "employer", "notes")

    def __init__(self, *args, user, instance: Expert | None = None, **kwargs):
        super().__init__(*args, user=user, instance=instance, **kwargs)
        self.fields["region"].queryset = regions_with(user, Can.MANAGE_RESOURCES).order_by("path")
        if instance is not None:
            # Name and mobile live on the person's file (core registry).
            for name in ("person", "name", "mobile"):
                del self.fields[name]
            self.initial.setdefault("region", instance.region.code)
            self.fields["region"].disabled = True
            return
        self.fields["person"].queryset = (
            Person.objects.visible_to(user)
            .filter(expert__isnull=True)
            .select_related("region")
            .order_by("name", "pk")
        )
        self.fields["person"].help_text = _("选择已登记的人员，或在下面填写姓名和手机号新建")

    def run_service(self) -> Expert:
        data = dict(self.cleaned_data)
        if self.instance is None:
            if data["person"] is not None:
                del data["name"], data["mobile"]
            return expert_services.create_expert(actor=self.user, **data)
        changes = self.changes()
        changes.pop("region", None)
        return expert_services.update_expert(actor=self.user, expert=self.instance, **changes)


class ExpertAvailabilityForm(forms.Form):
    availability = forms.ChoiceField(label=_("可用状态"), choices=ExpertAvailability.choices)
    note = forms.CharField(label=_("说明"), max_length=500, required=False)


class UnitImportForm(forms.Form):
    file = forms.FileField(
        label=_("台账文件（XLSX）"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
