"""Admin for the master data of safety supervision: enterprises, places, major hazard
installations and risk points. Scoped like the core admin (ScopedAdmin): the user's regions
only, role-based permissions, saves through the services, nothing deleted. Phones are not
editable here (they would be shown in clear): the pages and the API handle them."""

from __future__ import annotations

from django.contrib import admin

from frontline.core.admin.base import ScopedAdmin
from frontline.core.models import Person
from frontline.core.roles import Capability
from frontline.hazards import services
from frontline.hazards.models import Enterprise, MajorHazardInstallation, Place, RiskPoint

ENTERPRISE_ADMIN_FIELDS = (
    "name",
    "credit_code",
    "industry",
    "region",
    "above_scale",
    "employees",
    "legal_representative",
    "safety_officer",
    "address",
    "lon",
    "lat",
)
PLACE_ADMIN_FIELDS = (
    "name",
    "category",
    "region",
    "operator",
    "floor_area",
    "enterprise",
    "address",
    "lon",
    "lat",
)
MAJOR_HAZARD_ADMIN_FIELDS = ("enterprise", "name", "level", "substances", "filing_number")
RISK_POINT_ADMIN_FIELDS = (
    "enterprise",
    "place",
    "name",
    "method",
    "likelihood",
    "exposure",
    "consequence",
    "severity",
    "description",
    "control_measures",
    "responsible_unit",
    "responsible_person",
    "assessed_at",
)


def _pick(data: dict, names) -> dict:
    return {name: data[name] for name in names if name in data}


class HazardsAdmin(ScopedAdmin):
    capability = Capability.EDIT

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model = db_field.related_model
        if model in (Enterprise, Place):
            kwargs["queryset"] = model.objects.visible_to(request.user).order_by("name")
        elif model is Person:
            kwargs["queryset"] = Person.objects.visible_to(request.user).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Enterprise)
class EnterpriseAdmin(HazardsAdmin):
    fields = ENTERPRISE_ADMIN_FIELDS
    readonly_fields = ()
    list_display = ("name", "credit_code", "industry", "above_scale", "risk_colour", "region")
    list_filter = ("industry", "risk_colour", "above_scale")
    search_fields = ("name", "credit_code")
    list_select_related = ("region",)

    def call_service(self, actor, data: dict, instance):
        fields = _pick(data, ENTERPRISE_ADMIN_FIELDS)
        if instance is None:
            return services.create_enterprise(actor=actor, **fields)
        return services.update_enterprise(actor=actor, enterprise=instance, **fields)


@admin.register(Place)
class PlaceAdmin(HazardsAdmin):
    fields = PLACE_ADMIN_FIELDS
    list_display = ("name", "category", "risk_colour", "region")
    list_filter = ("category", "risk_colour")
    search_fields = ("name", "address")
    list_select_related = ("region",)

    def call_service(self, actor, data: dict, instance):
        fields = _pick(data, PLACE_ADMIN_FIELDS)
        if instance is None:
            return services.create_place(actor=actor, **fields)
        return services.update_place(actor=actor, place=instance, **fields)


@admin.register(MajorHazardInstallation)
class MajorHazardInstallationAdmin(HazardsAdmin):
    fields = MAJOR_HAZARD_ADMIN_FIELDS
    list_display = ("name", "enterprise", "level", "filing_number")
    list_filter = ("level",)
    search_fields = ("name", "enterprise__name", "filing_number")
    list_select_related = ("enterprise",)

    def get_readonly_fields(self, request, obj=None):
        # An installation stays with its enterprise.
        return ("enterprise",) if obj is not None else ()

    def region_of(self, obj):
        return obj.region

    def call_service(self, actor, data: dict, instance):
        if instance is None:
            return services.create_major_hazard(
                actor=actor, **_pick(data, MAJOR_HAZARD_ADMIN_FIELDS)
            )
        changes = _pick(data, ("name", "level", "substances", "filing_number"))
        return services.update_major_hazard(actor=actor, installation=instance, **changes)


@admin.register(RiskPoint)
class RiskPointAdmin(HazardsAdmin):
    fields = RISK_POINT_ADMIN_FIELDS
    list_display = ("name", "enterprise", "place", "method", "score", "colour")
    list_filter = ("colour", "method")
    search_fields = ("name", "enterprise__name", "place__name")
    list_select_related = ("enterprise", "place")

    def get_readonly_fields(self, request, obj=None):
        return ("enterprise", "place") if obj is not None else ()

    def call_service(self, actor, data: dict, instance):
        if instance is None:
            return services.create_risk_point(actor=actor, **_pick(data, RISK_POINT_ADMIN_FIELDS))
        changes = _pick(data, RISK_POINT_ADMIN_FIELDS)
        changes.pop("enterprise", None)
        changes.pop("place", None)
        return services.update_risk_point(actor=actor, risk_point=instance, **changes)
