"""Pages of the supervised objects (enterprises, places, risk points) and the door plates."""

from django.urls import path, register_converter

from frontline.hazards.views import objects


class _Kind:
    regex = "enterprise|place"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(_Kind, "object_kind")

urlpatterns = [
    path("enterprises/", objects.enterprise_list, name="enterprise_list"),
    path("enterprises/new/", objects.enterprise_create, name="enterprise_create"),
    path("enterprises/import/", objects.enterprise_import, name="enterprise_import"),
    path("enterprises/export.xlsx", objects.enterprise_export, name="enterprise_export"),
    path("enterprises/<id:pk>/", objects.enterprise_detail, name="enterprise_detail"),
    path("enterprises/<id:pk>/edit/", objects.enterprise_edit, name="enterprise_edit"),
    path("places/", objects.place_list, name="place_list"),
    path("places/new/", objects.place_create, name="place_create"),
    path("places/import/", objects.place_import, name="place_import"),
    path("places/export.xlsx", objects.place_export, name="place_export"),
    path("places/<id:pk>/", objects.place_detail, name="place_detail"),
    path("places/<id:pk>/edit/", objects.place_edit, name="place_edit"),
    path(
        "objects/<object_kind:kind>/<id:pk>/reveal/<str:field>/",
        objects.reveal,
        name="object_reveal",
    ),
    path(
        "objects/<object_kind:kind>/<id:pk>/risk-points/new/",
        objects.risk_point_create,
        name="risk_point_create",
    ),
    path("risk-points/<id:pk>/edit/", objects.risk_point_edit, name="risk_point_edit"),
    path("risk-points/<id:pk>/delete/", objects.risk_point_delete, name="risk_point_delete"),
    path(
        "enterprises/<id:pk>/major-hazards/new/",
        objects.major_hazard_create,
        name="major_hazard_create",
    ),
    path("major-hazards/<id:pk>/edit/", objects.major_hazard_edit, name="major_hazard_edit"),
    path("objects/<object_kind:kind>/<id:pk>/plate/", objects.door_plate, name="door_plate"),
    path(
        "objects/<object_kind:kind>/<id:pk>/plate.<str:fmt>",
        objects.door_plate_image,
        name="door_plate_image",
    ),
    path("p/<str:token>/", objects.qr_redirect, name="qr_redirect"),
]
