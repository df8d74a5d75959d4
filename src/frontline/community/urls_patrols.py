"""Pages of community patrols (网格巡查), included at the site root.

Ids are at most 18 digits, so an absurd id is a 404 rather than an integer overflow."""

from django.urls import path, re_path

from frontline.community.views import patrol_station, patrols

RUN = r"^patrol/runs/(?P<pk>[0-9]{1,18})/"

urlpatterns = [
    path("patrol/", patrols.my_patrol, name="patrol_home"),
    path("patrol/plans/", patrol_station.plan_list, name="patrol_plan_list"),
    path("patrol/plans/new/", patrol_station.plan_edit, name="patrol_plan_new"),
    re_path(r"^patrol/plans/(?P<pk>[0-9]{1,18})/$", patrol_station.plan_edit, name="patrol_plan"),
    re_path(r"^patrol/plans/(?P<pk>[0-9]{1,18})/start/$", patrols.start_run, name="patrol_start"),
    path("patrol/runs/", patrol_station.run_list, name="patrol_run_list"),
    re_path(RUN + "$", patrols.run_detail, name="patrol_run"),
    re_path(RUN + "check-in/$", patrols.run_check_in, name="patrol_check_in"),
    re_path(RUN + "track/$", patrols.run_track, name="patrol_track"),
    re_path(RUN + "findings/$", patrols.run_finding, name="patrol_finding"),
    re_path(RUN + "finish/$", patrols.run_finish, name="patrol_finish"),
    re_path(
        r"^patrol/findings/(?P<pk>[0-9]{1,18})/(?P<to>hazard|call)/$",
        patrols.finding_hand_on,
        name="patrol_hand_on",
    ),
    re_path(r"^patrol/qr/(?P<token>[A-Za-z0-9_-]{1,64})/$", patrols.qr_check_in, name="patrol_qr"),
    path("patrol/coverage/", patrol_station.coverage, name="patrol_coverage"),
]
