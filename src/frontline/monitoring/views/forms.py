"""The device registration form. It only parses what the browser sends; the service checks
the rest (code format and uniqueness, owner in the same region, permission)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from frontline.core.models import Region
from frontline.hazards.models import Enterprise, Place
from frontline.monitoring.kinds import DeviceKind


class DeviceForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("设备编码"), max_length=64)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("设备类型"), choices=DeviceKind.choices)
    region = forms.ModelChoiceField(
        label=gettext_lazy("所属区划"), queryset=Region.objects.none(), to_field_name="code"
    )
    enterprise = forms.ModelChoiceField(
        label=gettext_lazy("所属企业"), queryset=Enterprise.objects.none(), required=False
    )
    place = forms.ModelChoiceField(
        label=gettext_lazy("所属场所"), queryset=Place.objects.none(), required=False
    )
    location = forms.CharField(label=gettext_lazy("安装位置"), max_length=200, required=False)
    lon = forms.FloatField(
        label=gettext_lazy("经度"), required=False, min_value=-180, max_value=180
    )
    lat = forms.FloatField(label=gettext_lazy("纬度"), required=False, min_value=-90, max_value=90)
    offline_after_minutes = forms.IntegerField(
        label=gettext_lazy("离线判定（分钟）"), required=False, min_value=1, max_value=7 * 24 * 60
    )
    attributes = forms.CharField(
        label=gettext_lazy("设备参数（每行一个，如 occupancy_limit=30）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = Region.objects.visible_to(user).order_by("path")
        self.fields["enterprise"].queryset = Enterprise.objects.visible_to(user).order_by("name")
        self.fields["place"].queryset = Place.objects.visible_to(user).order_by("name")

    def clean_attributes(self) -> dict:
        result = {}
        for number, line in enumerate(self.cleaned_data.get("attributes", "").splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            name, sep, value = line.partition("=")
            try:
                if not sep or not name.strip():
                    raise ValueError
                result[name.strip()] = float(value)
            except ValueError:
                raise forms.ValidationError(
                    _("第 %(n)d 行应为“名称=数值”") % {"n": number}
                ) from None
        return result
