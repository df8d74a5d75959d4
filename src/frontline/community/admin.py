"""Admin for the community's master data; the daily work happens on the pages."""

from django.contrib import admin

from frontline.community.models import (
    Building,
    Checkpoint,
    CommunityCall,
    GridPost,
    PatrolPlan,
    SafetyFacility,
)


@admin.register(GridPost)
class GridPostAdmin(admin.ModelAdmin):
    list_display = ["person", "role", "region", "started_on", "ended_on"]
    list_filter = ["role"]
    raw_id_fields = ["person", "region"]


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "use", "structure", "floors_above", "region"]
    list_filter = ["use", "structure"]
    search_fields = ["name", "address"]
    raw_id_fields = ["region"]
    exclude = ["responsible_phone"]


@admin.register(SafetyFacility)
class SafetyFacilityAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "next_check_due", "region"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["region", "building", "keeper"]


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    fields = ["order", "name", "lon", "lat", "radius_m"]
    extra = 0


@admin.register(PatrolPlan)
class PatrolPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "is_active"]
    raw_id_fields = ["region"]
    inlines = [CheckpointInline]


@admin.register(CommunityCall)
class CommunityCallAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "category", "state", "raised_at", "region"]
    list_filter = ["state", "category"]
    search_fields = ["number", "title"]
    readonly_fields = [f.name for f in CommunityCall._meta.fields]

    def has_add_permission(self, request):
        return False
