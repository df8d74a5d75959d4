"""Pages of the monitoring app: the live alarm console, alarms, devices and the rule editor."""

from django.urls import path

from frontline.monitoring.views import alarms, devices, rules

urlpatterns = [
    path("monitoring/", alarms.alarm_console, name="alarm_console"),
    path("monitoring/feed/", alarms.alarm_feed, name="alarm_feed"),
    path(
        "monitoring/console/<id:pk>/<slug:action>/",
        alarms.console_action,
        name="console_action",
    ),
    path("monitoring/alarms/<id:pk>/", alarms.alarm_detail, name="alarm_detail"),
    path("monitoring/alarms/<id:pk>/<slug:action>/", alarms.alarm_action, name="alarm_action"),
    path("monitoring/devices/", devices.device_list, name="device_list"),
    path("monitoring/devices/register/", devices.device_register, name="device_register"),
    path("monitoring/devices/<id:pk>/", devices.device_detail, name="device_detail"),
    path(
        "monitoring/devices/<id:pk>/rotate-token/",
        devices.device_rotate_token,
        name="device_rotate_token",
    ),
    path("monitoring/devices/<id:pk>/rules/", devices.device_override, name="device_override"),
    path("monitoring/rules/", rules.rule_list, name="rule_list"),
    path("monitoring/rules/<id:pk>/", rules.rule_card, name="rule_card"),
    path("monitoring/rules/<id:pk>/edit/", rules.rule_edit, name="rule_edit"),
    path("monitoring/rules/<id:pk>/delete/", rules.rule_delete, name="rule_delete"),
]

# Bulk device registration (views/importing.py), one block so concurrent edits merge cleanly.
from frontline.monitoring.views.importing import device_import  # noqa: E402

urlpatterns.append(path("monitoring/devices/import/", device_import, name="device_import"))
