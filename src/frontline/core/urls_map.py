"""The map page (included by the root urlconf)."""

from django.urls import path

from frontline.core.views import map as map_views

urlpatterns = [
    path("map/", map_views.map_page, name="map"),
]
