"""Pages of shelters and evacuee registration."""

from django.urls import path

from frontline.resources.views import evacuees, shelters

urlpatterns = [
    path("shelters/", shelters.shelter_list, name="shelter_list"),
    path("shelters/new/", shelters.shelter_create, name="shelter_create"),
    path("shelters/export/", shelters.shelter_export, name="shelter_export"),
    path("shelters/import/", shelters.shelter_import, name="shelter_import"),
    path("shelters/<int:pk>/", shelters.shelter_detail, name="shelter_detail"),
    path("shelters/<int:pk>/edit/", shelters.shelter_edit, name="shelter_edit"),
    path("shelters/<int:pk>/open/", shelters.shelter_open, name="shelter_open"),
    path("shelters/<int:pk>/close/", shelters.shelter_close, name="shelter_close"),
    path("shelters/<int:pk>/occupancy/", shelters.shelter_occupancy, name="shelter_occupancy"),
    path("shelters/<int:pk>/check-in/", evacuees.evacuee_check_in, name="evacuee_check_in"),
    path("shelters/<int:pk>/check-out/", evacuees.evacuee_check_out, name="evacuee_check_out"),
    path("shelters/<int:pk>/evacuees/clear/", evacuees.evacuee_reveal, name="evacuee_reveal"),
    path("shelters/<int:pk>/register/", evacuees.evacuee_register, name="evacuee_register"),
    path(
        "shelters/<int:pk>/register/export/",
        evacuees.evacuee_register_export,
        name="evacuee_register_export",
    ),
]
