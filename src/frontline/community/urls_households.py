"""Pages of community households, residents and vulnerable people."""

from django.urls import path

from frontline.community.views import households

urlpatterns = [
    path("households/", households.household_list, name="household_list"),
    path("households/new/", households.household_create, name="household_create"),
    path("households/<id:pk>/", households.household_detail, name="household_detail"),
    path(
        "households/<id:pk>/residents/new/",
        households.resident_create,
        name="resident_create",
    ),
    path("households/<id:pk>/visit/", households.household_visit, name="household_visit"),
    path("residents/vulnerable/", households.vulnerable_list, name="vulnerable_list"),
    path("residents/import/", households.resident_import, name="resident_import"),
    path("residents/export.xlsx", households.resident_export, name="resident_export"),
    path("residents/<id:pk>/", households.resident_detail, name="resident_detail"),
    path("residents/<id:pk>/edit/", households.resident_edit, name="resident_edit"),
    path("residents/<id:pk>/remove/", households.resident_remove, name="resident_remove"),
    path(
        "residents/<id:pk>/reveal/<str:field>/",
        households.resident_reveal,
        name="resident_reveal",
    ),
]
