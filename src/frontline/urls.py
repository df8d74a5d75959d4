from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve as serve_media

from frontline.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("frontline.core.urls")),
]

if settings.DEBUG:
    urlpatterns.append(
        path("media/<path:path>", serve_media, {"document_root": settings.MEDIA_ROOT})
    )
