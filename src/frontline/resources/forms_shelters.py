"""Page forms of shelters and evacuee registration. They parse and offer only what the user
may choose; the services decide."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from frontline.core.forms import RegionChoiceField, ServiceForm, regions_with
from frontline.core.models import Person
from frontline.core.roles import Capability
from frontline.core.scoping import subtree_q
from frontline.resources.models import (
    EvacueeNeed,
    Gender,
    Shelter,
    ShelterClass,
    ShelterFacility,
    ShelterLevel,
)
from frontline.resources.services import shelters as services
from frontline.resources.services.evacuees import MAX_AGE, MAX_PEOPLE


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        return f"{obj.name}（{obj.region.name}）"


class ShelterForm(ServiceForm):
    name = forms.CharField(label=_("名称"), max_length=120)
    region = RegionChoiceField(label=_("所属区划"))
    shelter_class = forms.ChoiceField(
        label=_("类别"), choices=[("", _("请选择")), *ShelterClass.choices]
    )
    level = forms.ChoiceField(label=_("级别"), choices=[("", _("请选择")), *ShelterLevel.choices])
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    lon = forms.FloatField(label=_("经度"), min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度"), min_value=-90, max_value=90)
    usable_area_m2 = forms.FloatField(label=_("有效避难面积（平方米）"), min_value=0)
    capacity = forms.IntegerField(
        label=_("容纳人数"),
        required=False,
        min_value=0,
        max_value=services.MAX_CAPACITY,
        help_text=_("留空按有效面积每人 1.5 平方米计算；超出面积标准须填写理由"),
    )
    capacity_reason = forms.CharField(label=_("超出面积标准的理由"), max_length=200, required=False)
    facilities = forms.MultipleChoiceField(
        label=_("配套设施"),
        choices=ShelterFacility.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    manager = PersonChoiceField(label=_("管理人"), queryset=Person.objects.none(), required=False)
    notes = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    EDITABLE = [
        "name",
        "shelter_class",
        "level",
        "address",
        "lon",
        "lat",
        "usable_area_m2",
        "capacity",
        "capacity_reason",
        "notes",
    ]

    def __init__(self, *args, user, instance: Shelter | None = None, **kwargs):
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.EDITABLE}
            initial.update(
                region=instance.region.code,
                facilities=instance.facility_list,
                manager=instance.manager_id,
            )
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        self.fields["region"].queryset = regions_with(user, Capability.MANAGE_RESOURCES).order_by(
            "path"
        )
        if instance is None:
            # The manager is chosen on the edit page, among the people of the shelter's
            # region and the regions above it: a county scope holds thousands of people.
            del self.fields["manager"]
        else:
            codes = [code for code in instance.region.path.split("/") if code]
            people = Person.objects.visible_to(user).filter(
                subtree_q("region__path", [instance.region.path]) | Q(region__code__in=codes)
            )
            self.fields["manager"].queryset = people.select_related("region").order_by(
                "region__path", "name"
            )

    def run_service(self) -> Shelter:
        data = dict(self.cleaned_data)
        if self.instance is None:
            return services.create_shelter(actor=self.user, **data)
        changes = {name: data[name] for name in self.changed_data if name in data}
        return services.update_shelter(actor=self.user, shelter=self.instance, **changes)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)


# --- evacuees --------------------------------------------------------------------------------


class ArrivalForm(forms.Form):
    """One person of a check-in (a form of the `people` formset)."""

    name = forms.CharField(
        label=_("姓名"), max_length=50, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=25,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters"}
        ),
        help_text=_("填写后自动带出年龄、性别，并关联居民档案"),
    )
    gender = forms.ChoiceField(
        label=_("性别"), choices=[("", "—"), *Gender.choices], required=False
    )
    age = forms.IntegerField(
        label=_("年龄"),
        min_value=0,
        max_value=MAX_AGE,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    needs = forms.MultipleChoiceField(
        label=_("特殊需求"),
        choices=EvacueeNeed.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    needs_note = forms.CharField(label=_("需求说明"), max_length=500, required=False)
    bed_no = forms.CharField(label=_("床位/区域"), max_length=20, required=False)


ArrivalFormSet = forms.formset_factory(
    ArrivalForm,
    extra=0,
    min_num=1,
    max_num=MAX_PEOPLE,
    validate_min=True,
    validate_max=True,
)


class HouseholdForm(forms.Form):
    household_head = forms.CharField(
        label=_("户主"),
        max_length=50,
        required=False,
        help_text=_("留空取第一位登记人"),
    )
    home_address = forms.CharField(label=_("原住址"), max_length=200, required=False)


class CheckOutForm(forms.Form):
    """The departure of the people ticked in the list (`evacuee` ids, read by the view)."""

    destination = forms.CharField(
        label=_("去向"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：返家、投亲、转往某避难场所")}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("事由"), max_length=200)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("避难场所台账（XLSX）"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
