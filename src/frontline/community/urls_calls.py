"""Pages of community calls (社区呼叫 / 吹哨报到), included at the site root.

Ids are at most 18 digits, so an absurd id is a 404 rather than an integer overflow.
"""

from django.urls import path, re_path

from frontline.community.views import calls

CALL = r"^calls/(?P<pk>[0-9]{1,18})/"

urlpatterns = [
    path("calls/", calls.call_list, name="call_list"),
    path("calls/new/", calls.call_new, name="call_new"),
    path("calls/departments/", calls.call_departments, name="call_departments"),
    path("calls/public/", calls.call_public, name="call_public"),
    path("calls/public/export/", calls.call_public_export, name="call_public_export"),
    re_path(CALL + "$", calls.call_detail, name="call_detail"),
    re_path(CALL + r"(?P<action>[a-z-]{1,20})/$", calls.call_action, name="call_action"),
]
