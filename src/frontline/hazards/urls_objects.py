"""Pages of the supervised objects (enterprises, places, risk points) and the door plates."""

from django.urls import path, register_converter

from frontline.hazards.views import objects


class _Kind:
    regex = "enterprise|place"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class _ObjectId:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(_Kind, "object_kind")
register_converter(_ObjectId, "object_id")

urlpatterns = [
    path("enterprises/", objects.enterprise_list, name="enterprise_list"),
    path("enterprises/new/", objects.enterprise_create, name="enterprise_create"),
    path("enterprises/import/", objects.enterprise_import, name="enterprise_import"),
    path("enterprises/export.xlsx", objects.enterprise_export, name="enterprise_export"),
    path("enterprises/<object_id:pk>/", objects.enterprise_detail, name="enterprise_detail"),
    path("enterprises/<object_id:pk>/edit/", objects.enterprise_edit, name="enterprise_edit"),
    path("places/", objects.place_list, name="place_list"),
    path("places/new/", objects.place_create, name="place_create"),
    path("places/import/", objects.place_import, name="place_import"),
    path("places/export.xlsx", objects.place_export, name="place_export"),
    path("places/<object_id:pk>/", objects.place_detail, name="place_detail"),
    path("places/<object_id:pk>/edit/", objects.place_edit, name="place_edit"),
    path(
        "objects/<object_kind:kind>/<object_id:pk>/reveal/<str:field>/",
        objects.reveal,
        name="object_reveal",
    ),
    path(
        "objects/<object_kind:kind>/<object_id:pk>/risk-points/new/",
        objects.risk_point_create,
        name="risk_point_create",
    ),
    path("risk-points/<object_id:pk>/edit/", objects.risk_point_edit, name="risk_point_edit"),
    path("risk-points/<object_id:pk>/delete/", objects.risk_point_delete, name="risk_point_delete"),
    path(
        "enterprises/<object_id:pk>/major-hazards/new/",
        objects.major_hazard_create,
        name="major_hazard_create",
    ),
    path("major-hazards/<object_id:pk>/edit/", objects.major_hazard_edit, name="major_hazard_edit"),
    path("objects/<object_kind:kind>/<object_id:pk>/plate/", objects.door_plate, name="door_plate"),
    path(
        "objects/<object_kind:kind>/<object_id:pk>/plate.<str:fmt>",
        objects.door_plate_image,
        name="door_plate_image",
    ),
    path("p/<str:token>/", objects.qr_redirect, name="qr_redirect"),
]
