"""Forms of the hazard pages: the phone report page. The loop's action forms are small and
read by the view directly (see views/hazards.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from frontline.core.forms import RegionChoiceField
from frontline.hazards.models import HazardSource

COORD_SYSTEMS = [
    ("wgs84", _("手机定位（WGS-84）")),
    ("gcj02", _("高德/腾讯地图坐标（GCJ-02）")),
    ("bd09", _("百度地图坐标（BD-09）")),
]

# Sources a person reports from the field or the hotline; inspections, sensors and cameras
# report through their own doors.
REPORT_SOURCES = [
    (HazardSource.GRID_WORKER, HazardSource.GRID_WORKER.label),
    (HazardSource.PATROL, HazardSource.PATROL.label),
    (HazardSource.PUBLIC_REPORT, HazardSource.PUBLIC_REPORT.label),
    (HazardSource.SELF_CHECK, HazardSource.SELF_CHECK.label),
]


class ReportForm(forms.Form):
    title = forms.CharField(
        label=_("隐患描述"),
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": _("如：消防通道堆放杂物"), "autocomplete": "off"}
        ),
    )
    description = forms.CharField(
        label=_("详细情况"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    source = forms.ChoiceField(label=_("来源"), choices=REPORT_SOURCES)
    region = RegionChoiceField(
        label=_("所属区划"),
        required=False,
        help_text=_("留空则按定位自动确定"),
    )
    lon = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90)
    coord_system = forms.ChoiceField(
        label=_("坐标系"), choices=COORD_SYSTEMS, initial="wgs84", required=False
    )
    reporter_name = forms.CharField(label=_("举报人"), max_length=50, required=False)
    reporter_phone = forms.CharField(label=_("举报人电话"), max_length=32, required=False)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions

    def clean(self):
        data = super().clean()
        if (data.get("lon") is None) != (data.get("lat") is None):
            self.add_error("lat", _("经度和纬度需同时填写"))
        if not data.get("coord_system"):
            data["coord_system"] = "wgs84"
        return data
