"""Pages of community buildings (一楼一档) and public safety facilities."""

from django.urls import path

from frontline.community.views import buildings, facilities

urlpatterns = [
    path("buildings/", buildings.building_list, name="building_list"),
    path("buildings/new/", buildings.building_create, name="building_create"),
    path("buildings/import/", buildings.building_import, name="building_import"),
    path("buildings/export.xlsx", buildings.building_export, name="building_export"),
    path("buildings/<id:pk>/", buildings.building_detail, name="building_detail"),
    path("buildings/<id:pk>/edit/", buildings.building_edit, name="building_edit"),
    path(
        "buildings/<id:pk>/reveal/<str:field>/",
        buildings.building_reveal,
        name="building_reveal",
    ),
    path("facilities/", facilities.facility_list, name="facility_list"),
    path("facilities/new/", facilities.facility_create, name="facility_create"),
    path("facilities/<id:pk>/", facilities.facility_detail, name="facility_detail"),
    path("facilities/<id:pk>/edit/", facilities.facility_edit, name="facility_edit"),
    path("facilities/<id:pk>/check/", facilities.facility_check, name="facility_check"),
]
