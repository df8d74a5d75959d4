"""Pages of hazards (隐患), included by `frontline.urls`.

Ids are at most 18 digits, so an absurd id is a 404 rather than an integer overflow in the
database driver.
"""

from django.urls import path, re_path

from frontline.hazards.views import hazards

HAZARD = r"^hazards/(?P<pk>[0-9]{1,18})/"

urlpatterns = [
    path("hazards/", hazards.hazard_list, name="hazard_list"),
    path("hazards/report/", hazards.hazard_report, name="hazard_report"),
    re_path(HAZARD + "$", hazards.hazard_detail, name="hazard_detail"),
    re_path(HAZARD + r"(?P<action>[a-z-]{1,20})/$", hazards.hazard_action, name="hazard_action"),
]
