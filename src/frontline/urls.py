"""URLs. Uploaded files are never served from /media/: attachments go through scoped views."""

from django.contrib import admin
from django.urls import include, path

from frontline.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("frontline.core.urls")),
    path("", include("frontline.core.urls_tasks")),
    path("", include("frontline.core.urls_attachments")),
    path("", include("frontline.core.urls_map")),
    path("", include("frontline.hazards.urls_objects")),
    path("", include("frontline.hazards.urls_hazards")),
    path("", include("frontline.hazards.urls_inspections")),
    path("", include("frontline.monitoring.urls")),
    path("", include("frontline.community.urls_grids")),
    path("", include("frontline.community.urls_buildings")),
    path("", include("frontline.community.urls_households")),
    path("", include("frontline.community.urls_patrols")),
    path("", include("frontline.community.urls_calls")),
    path("", include("frontline.resources.urls_depots")),
    path("", include("frontline.resources.urls_teams")),
    path("", include("frontline.resources.urls_shelters")),
    path("", include("frontline.resources.urls_search")),
]
