"""Page forms. They parse and offer only what the user may choose; `save()` calls a service
and turns its `InvalidInput.details` into field errors."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontline.core import services
from frontline.core.errors import DomainError, PermissionDenied
from frontline.core.models import (
    Organization,
    OrganizationKind,
    Person,
    Region,
    RoleAssignment,
)
from frontline.core.models.regions import LEVEL_ORDER, RegionLevel
from frontline.core.roles import ROLE_CAPABILITIES, Capability
from frontline.core.scoping import active_assignments, subtree_q

_COUNTY = LEVEL_ORDER.index(RegionLevel.COUNTY)


def regions_with(user, capability: str):
    """Visible regions where the user holds `capability` (the switcher focus applies)."""
    visible = Region.objects.visible_to(user)
    if user.is_superuser and getattr(user, "_frontline_token", None) is None:
        return visible
    paths = [
        a.region.path
        for a in active_assignments(user)
        if capability in ROLE_CAPABILITIES.get(a.role, ())
    ]
    return visible.filter(subtree_q("path", paths))


class RegionChoiceField(forms.ModelChoiceField):
    """Regions are chosen by code: the number people read on documents and in URLs."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Region.objects.none(), to_field_name="code", **kwargs)

    def label_from_instance(self, obj: Region) -> str:
        indent = max(LEVEL_ORDER.index(RegionLevel(obj.level)) - _COUNTY, 0)
        return "\u3000" * indent + f"{obj.name}（{obj.code}）"


class OrganizationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organization) -> str:
        return f"{obj.name}（{obj.region.name}）"


def keep_linked(field: forms.ModelChoiceField, choices, linked_id: int | None, help_text):
    """The choices for a link to a unit, with the unit linked now even when it lies outside
    the scope (a township station under the county brigade). Such a link is shown and fixed:
    the select shows it instead of "---------", and nobody drops or replaces a link whose
    other end they cannot see."""
    if linked_id is None or choices.filter(pk=linked_id).exists():
        return choices
    field.disabled = True
    field.help_text = help_text
    return Organization.objects.filter(Q(pk__in=choices.values("pk")) | Q(pk=linked_id))


class ServiceForm(forms.Form):
    """A form whose save() runs a service; domain validation errors land on the fields."""

    def save(self):
        """The service's result, or None when it refused the input (errors are on the form).
        PermissionDenied passes through: the view answers it with a 403 page."""
        try:
            return self.run_service()
        except PermissionDenied:
            raise
        except DomainError as exc:
            self.add_service_errors(exc)
            return None

    def run_service(self):
        raise NotImplementedError

    def add_service_errors(self, exc: DomainError) -> None:
        if not exc.details:
            self.add_error(None, str(exc.message))
        for name, message in exc.details.items():
            self.add_error(name if name in self.fields else None, str(message))


class OrganizationForm(ServiceForm):
    name = forms.CharField(label=_("名称"), max_length=120)
    # No silent default: a unit of the wrong kind lands in the wrong ledgers.
    kind = forms.ChoiceField(
        label=_("类型"), choices=[("", _("请选择")), *OrganizationKind.choices]
    )
    region = RegionChoiceField(label=_("所属区划"))
    parent = OrganizationChoiceField(
        label=_("上级单位"), queryset=Organization.objects.none(), required=False
    )
    duty_phone = forms.CharField(label=_("值班电话"), max_length=32, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    lon = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90)

    def __init__(self, *args, user, instance: Organization | None = None, **kwargs):
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "kind": instance.kind,
                    "region": instance.region.code,
                    "parent": instance.parent_id,
                    "duty_phone": instance.duty_phone,
                    "address": instance.address,
                    "lon": instance.lon,
                    "lat": instance.lat,
                },
            )
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        self.fields["region"].queryset = regions_with(user, Capability.MANAGE_PEOPLE).order_by(
            "path"
        )
        parents = Organization.objects.visible_to(user)
        if instance is not None:
            # Moving a unit to another region is not a change the service offers.
            self.fields["region"].disabled = True
            parents = keep_linked(
                self.fields["parent"],
                parents.exclude(pk=instance.pk),
                instance.parent_id,
                _("上级单位不在您的管辖范围内，不能修改"),
            )
        self.fields["parent"].queryset = parents.select_related("region").order_by(
            "region__code", "name"
        )

    def run_service(self) -> Organization:
        data = dict(self.cleaned_data)
        region = data.pop("region")
        if self.instance is None:
            return services.create_organization(actor=self.user, region=region, **data)
        # Only what the user changed: a field they did not touch is never rewritten.
        changes = {name: data[name] for name in self.changed_data if name in data}
        return services.update_organization(actor=self.user, organization=self.instance, **changes)


class PersonForm(ServiceForm):
    name = forms.CharField(label=_("姓名"), max_length=50)
    region = RegionChoiceField(label=_("所属区划"))
    organization = OrganizationChoiceField(
        label=_("所属单位"), queryset=Organization.objects.none(), required=False
    )
    position = forms.CharField(label=_("职务"), max_length=60, required=False)
    mobile = forms.CharField(label=_("手机号"), max_length=20, required=False)
    office_phone = forms.CharField(label=_("办公电话"), max_length=32, required=False)
    id_number = forms.CharField(label=_("身份证号"), max_length=18, required=False)

    # Never echoed back into an edit form: that would show them in clear without a log entry.
    SECRET_FIELDS = ("mobile", "id_number")

    def __init__(self, *args, user, instance: Person | None = None, **kwargs):
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "region": instance.region.code,
                    "organization": instance.organization_id,
                    "position": instance.position,
                    "office_phone": instance.office_phone,
                },
            )
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        self.fields["region"].queryset = regions_with(user, Capability.MANAGE_PEOPLE).order_by(
            "path"
        )
        organizations = Organization.objects.visible_to(user)
        if instance is not None:
            organizations = keep_linked(
                self.fields["organization"],
                organizations,
                instance.organization_id,
                _("所属单位不在您的管辖范围内，不能修改"),
            )
        self.fields["organization"].queryset = organizations.select_related("region").order_by(
            "region__code", "name"
        )
        if instance is not None:
            masks = {"mobile": instance.mobile_masked, "id_number": instance.id_number_masked}
            for name in self.SECRET_FIELDS:
                current = masks[name] or _("（空）")
                self.fields[name].help_text = _("留空表示不修改。当前：%(value)s") % {
                    "value": current
                }

    def run_service(self) -> Person:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return services.create_person(actor=self.user, **data)
        # Only what the user changed; a blank secret field is "unchanged" (it starts empty).
        changes = {name: data[name] for name in self.changed_data if name in data}
        return services.update_person(actor=self.user, person=self.instance, **changes)


class TokenForm(ServiceForm):
    assignment = forms.ModelChoiceField(
        label=_("绑定的角色授权"), queryset=RoleAssignment.objects.none()
    )
    name = forms.CharField(label=_("名称"), max_length=100)
    expires_on = forms.DateField(
        label=_("有效期至"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("留空表示长期有效，到期日当天 24 时失效"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # The user's own active assignments: a token never carries more than one of them.
        assignments = RoleAssignment.objects.filter(
            user=user, revoked_at__isnull=True
        ).select_related("region")
        self.fields["assignment"].queryset = assignments
        if not self.is_bound:
            only = list(assignments[:2])
            if len(only) == 1:
                self.initial.setdefault("assignment", only[0].pk)

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day < timezone.localdate():
            raise forms.ValidationError(_("有效期不能早于今天"))
        return day

    def run_service(self):
        """Returns (ApiToken, clear token)."""
        day = self.cleaned_data["expires_on"]
        expires_at = None
        if day is not None:
            expires_at = datetime.combine(
                day + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
            )
        return services.issue_token(
            actor=self.user,
            assignment=self.cleaned_data["assignment"],
            name=self.cleaned_data["name"],
            expires_at=expires_at,
        )


class RevealForm(forms.Form):
    """The reason given before a clear view of personal data (kept in the access log)."""

    reason = forms.CharField(label=_("事由"), max_length=200, required=False)
