"""Forms of the inspection pages. They only parse; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from frontline.core.models import Person, Region
from frontline.hazards.models import (
    ChecklistTemplate,
    Enterprise,
    InspectionForm,
    InspectionPlan,
    ItemOutcome,
    Place,
)


class StartInspectionForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("检查表"), queryset=ChecklistTemplate.objects.filter(is_active=True)
    )
    form = forms.ChoiceField(
        label=_("检查形式"), choices=InspectionForm.choices, initial=InspectionForm.ROUTINE
    )
    enterprise = forms.ModelChoiceField(
        label=_("企业"), queryset=Enterprise.objects.none(), required=False
    )
    place = forms.ModelChoiceField(label=_("场所"), queryset=Place.objects.none(), required=False)
    plan = forms.ModelChoiceField(
        label=_("检查计划"), queryset=InspectionPlan.objects.none(), required=False
    )
    inspectors = forms.ModelMultipleChoiceField(
        label=_("检查人员"), queryset=Person.objects.none(), required=False
    )
    participants = forms.CharField(
        label=_("参加单位/专家"),
        max_length=300,
        required=False,
        help_text=_("联合检查、专家检查必填"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].queryset = Enterprise.objects.visible_to(user).order_by("name")
        self.fields["place"].queryset = Place.objects.visible_to(user).order_by("name")
        self.fields["plan"].queryset = InspectionPlan.objects.visible_to(user)
        self.fields["inspectors"].queryset = Person.objects.visible_to(user).order_by("name")

    def clean(self):
        data = super().clean()
        if not data.get("enterprise") and not data.get("place"):
            self.add_error("enterprise", _("请选择检查的企业或场所"))
        return data


class ResultForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("结果"), choices=ItemOutcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("说明"), max_length=500, required=False)
    photo = forms.FileField(label=_("照片"), required=False)


class SubmitForm(forms.Form):
    summary = forms.CharField(
        label=_("检查情况"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class NoticeForm(forms.Form):
    hazards = forms.MultipleChoiceField(label=_("整改的隐患"), widget=forms.CheckboxSelectMultiple)
    due_on = forms.DateField(label=_("整改期限"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, hazards, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hazards"].choices = [(h.pk, f"{h.number} {h.title}") for h in hazards]


class PlanForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=150)
    region = forms.ModelChoiceField(
        label=_("所属区划"), queryset=Region.objects.none(), to_field_name="code"
    )
    template = forms.ModelChoiceField(
        label=_("检查表"), queryset=ChecklistTemplate.objects.filter(is_active=True)
    )
    form = forms.ChoiceField(label=_("检查形式"), choices=InspectionForm.choices)
    interval_days = forms.IntegerField(
        label=_("检查周期（天）"), min_value=1, max_value=366, initial=30
    )
    starts_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    enterprises = forms.ModelMultipleChoiceField(
        label=_("检查企业"), queryset=Enterprise.objects.none(), required=False
    )
    places = forms.ModelMultipleChoiceField(
        label=_("检查场所"), queryset=Place.objects.none(), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = Region.objects.visible_to(user).filter(
            level__in=["county", "township", "village"]
        )
        self.fields["enterprises"].queryset = Enterprise.objects.visible_to(user).order_by("name")
        self.fields["places"].queryset = Place.objects.visible_to(user).order_by("name")
