"""Page forms of the supervised objects. They offer only what the user may choose and save
through the services (`InvalidInput.details` land on the fields)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from frontline.core.forms import RegionChoiceField, ServiceForm, regions_with
from frontline.core.roles import Capability
from frontline.hazards import services
from frontline.hazards.models import (
    AssessmentMethod,
    Enterprise,
    Industry,
    MajorHazardInstallation,
    Place,
    PlaceCategory,
    RiskPoint,
)
from frontline.hazards.services.risks import (
    LEC_CONSEQUENCE,
    LEC_EXPOSURE,
    LEC_LIKELIHOOD,
    MATRIX_SCALE,
)


def _changed(form: forms.Form, data: dict) -> dict:
    """Only what the user changed: a field they did not touch is never rewritten."""
    return {name: data[name] for name in form.changed_data if name in data}


class EnterpriseForm(ServiceForm):
    name = forms.CharField(label=_("名称"), max_length=150)
    credit_code = forms.CharField(
        label=_("统一社会信用代码"), max_length=40, help_text=_("18 位，含校验位")
    )
    industry = forms.ChoiceField(label=_("行业"), choices=[("", _("请选择")), *Industry.choices])
    region = RegionChoiceField(label=_("所属区划"))
    above_scale = forms.BooleanField(label=_("规上企业"), required=False)
    employees = forms.IntegerField(label=_("从业人员"), required=False, min_value=0)
    legal_representative = forms.CharField(label=_("法定代表人"), max_length=50, required=False)
    safety_officer = forms.CharField(label=_("安全管理员"), max_length=50, required=False)
    safety_officer_phone = forms.CharField(label=_("安全管理员电话"), max_length=32, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    lon = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90)

    def __init__(self, *args, user, instance: Enterprise | None = None, **kwargs):
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "credit_code": instance.credit_code,
                    "industry": instance.industry,
                    "region": instance.region.code,
                    "above_scale": instance.above_scale,
                    "employees": instance.employees,
                    "legal_representative": instance.legal_representative,
                    "safety_officer": instance.safety_officer,
                    "address": instance.address,
                    "lon": instance.lon,
                    "lat": instance.lat,
                },
            )
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        self.fields["region"].queryset = regions_with(user, Capability.EDIT).order_by("path")
        if instance is not None:
            # The stored number is never put into the page; an empty field keeps it.
            self.fields["safety_officer_phone"].help_text = _("留空则保持原号码（%(masked)s）") % {
                "masked": instance.safety_officer_phone_masked or "—"
            }

    def run_service(self) -> Enterprise:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return services.create_enterprise(actor=self.user, **data)
        changes = _changed(self, data)
        if not changes.get("safety_officer_phone"):
            changes.pop("safety_officer_phone", None)
        return services.update_enterprise(actor=self.user, enterprise=self.instance, **changes)


class PlaceForm(ServiceForm):
    name = forms.CharField(label=_("名称"), max_length=150)
    category = forms.ChoiceField(
        label=_("场所类别"), choices=[("", _("请选择")), *PlaceCategory.choices]
    )
    region = RegionChoiceField(label=_("所属区划"))
    operator = forms.CharField(label=_("经营者/负责人"), max_length=50, required=False)
    operator_phone = forms.CharField(label=_("负责人电话"), max_length=32, required=False)
    floor_area = forms.FloatField(label=_("建筑面积（㎡）"), required=False, min_value=0)
    enterprise = forms.ModelChoiceField(
        label=_("所属企业"), queryset=Enterprise.objects.none(), required=False
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    lon = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90)

    def __init__(self, *args, user, instance: Place | None = None, **kwargs):
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "category": instance.category,
                    "region": instance.region.code,
                    "operator": instance.operator,
                    "floor_area": instance.floor_area,
                    "enterprise": instance.enterprise_id,
                    "address": instance.address,
                    "lon": instance.lon,
                    "lat": instance.lat,
                },
            )
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        self.fields["region"].queryset = regions_with(user, Capability.EDIT).order_by("path")
        self.fields["enterprise"].queryset = Enterprise.objects.visible_to(user).order_by("name")
        if instance is not None:
            from frontline.core.crypto import mask_phone

            self.fields["operator_phone"].help_text = _("留空则保持原号码（%(masked)s）") % {
                "masked": mask_phone(instance.operator_phone) or "—"
            }

    def run_service(self) -> Place:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return services.create_place(actor=self.user, **data)
        changes = _changed(self, data)
        if not changes.get("operator_phone"):
            changes.pop("operator_phone", None)
        return services.update_place(actor=self.user, place=self.instance, **changes)


def _factor_choices(values) -> list:
    return [("", "—"), *((str(v), str(v)) for v in values)]


class RiskPointForm(ServiceForm):
    name = forms.CharField(label=_("风险点"), max_length=150)
    method = forms.ChoiceField(
        label=_("评估方法"), choices=[("", _("请选择")), *AssessmentMethod.choices]
    )
    likelihood = forms.FloatField(
        label=_("可能性 L（LEC）/ 可能性 1–5（矩阵）"), required=False, min_value=0
    )
    exposure = forms.TypedChoiceField(
        label=_("暴露频繁程度 E（LEC）"),
        choices=_factor_choices(LEC_EXPOSURE),
        coerce=float,
        empty_value=None,
        required=False,
    )
    consequence = forms.TypedChoiceField(
        label=_("后果 C（LEC）"),
        choices=_factor_choices(LEC_CONSEQUENCE),
        coerce=float,
        empty_value=None,
        required=False,
    )
    severity = forms.TypedChoiceField(
        label=_("严重性 1–5（矩阵）"),
        choices=_factor_choices(MATRIX_SCALE),
        coerce=int,
        empty_value=None,
        required=False,
    )
    description = forms.CharField(label=_("危险因素"), required=False, widget=forms.Textarea)
    control_measures = forms.CharField(label=_("管控措施"), required=False, widget=forms.Textarea)
    responsible_unit = forms.CharField(label=_("责任部门"), max_length=100, required=False)
    assessed_at = forms.DateField(
        label=_("评估日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, owner, instance: RiskPoint | None = None, **kwargs):
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    name: getattr(instance, name)
                    for name in (
                        "name",
                        "method",
                        "likelihood",
                        "exposure",
                        "consequence",
                        "severity",
                        "description",
                        "control_measures",
                        "responsible_unit",
                        "assessed_at",
                    )
                },
            )
        super().__init__(*args, **kwargs)
        self.user = user
        self.owner = owner
        self.instance = instance
        values = "、".join(str(v) for v in LEC_LIKELIHOOD)
        self.fields["likelihood"].help_text = _("LEC 取值：%(values)s；矩阵取 1–5") % {
            "values": values
        }

    def run_service(self) -> RiskPoint:
        data = dict(self.cleaned_data)
        if self.instance is None:
            owner = {"enterprise" if isinstance(self.owner, Enterprise) else "place": self.owner}
            return services.create_risk_point(actor=self.user, **owner, **data)
        return services.update_risk_point(actor=self.user, risk_point=self.instance, **data)


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class MajorHazardForm(ServiceForm):
    name = forms.CharField(label=_("名称"), max_length=150)
    level = forms.TypedChoiceField(
        label=_("等级"),
        choices=[("", _("请选择")), *MajorHazardInstallation._meta.get_field("level").choices],
        coerce=int,
    )
    substances = forms.CharField(
        label=_("危险物质及数量"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("每行一种：名称、数量（吨）、临界量（吨），如“液氨, 12.5, 10”"),
    )
    filing_number = forms.CharField(label=_("备案编号"), max_length=60, required=False)

    def __init__(self, *args, user, enterprise: Enterprise, instance=None, **kwargs):
        if instance is not None:
            lines = [
                ", ".join(_plain(item.get(key)) for key in ("name", "quantity_t", "threshold_t"))
                for item in instance.substances
            ]
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "level": instance.level,
                    "substances": "\n".join(lines),
                    "filing_number": instance.filing_number,
                },
            )
        super().__init__(*args, **kwargs)
        self.user = user
        self.enterprise = enterprise
        self.instance = instance

    def clean_substances(self) -> list[dict]:
        """Lines → items; the service checks them and names each wrong item."""
        items = []
        for line in self.cleaned_data["substances"].splitlines():
            parts = [p for p in re.split(r"[,，;；\s]+", line.strip()) if p]
            if not parts:
                continue
            parts += [None] * (3 - len(parts))
            items.append({"name": parts[0], "quantity_t": parts[1], "threshold_t": parts[2]})
        return items

    def run_service(self):
        data = dict(self.cleaned_data)
        if self.instance is None:
            return services.create_major_hazard(actor=self.user, enterprise=self.enterprise, **data)
        return services.update_major_hazard(
            actor=self.user, installation=self.instance, **_changed(self, data)
        )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("企业台账（XLSX）"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def __init__(self, *args, kind: str = "enterprise", **kwargs):
        super().__init__(*args, **kwargs)
        if kind == "place":
            self.fields["file"].label = _("场所台账（XLSX）")
