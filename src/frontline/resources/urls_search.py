"""The resources overview and the nearby search."""

from django.urls import path

from frontline.resources.views import search

urlpatterns = [
    path("resources/", search.resource_home, name="resource_home"),
    path("resources/nearby/", search.resource_nearby, name="resource_nearby"),
]
