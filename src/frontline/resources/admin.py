"""Admin for the resources' master data: the catalogue is kept here; depots, teams, shelters
and the ledger are kept on the pages (through the services), so the admin only shows them.
The ledger is append-only: no row of it can be added, changed or deleted here."""

from django.contrib import admin

from frontline.resources.models import (
    Depot,
    Equipment,
    Expert,
    LedgerEntry,
    RescueTeam,
    Shelter,
    StockMovement,
    SupplyCategory,
    SupplyItem,
)


@admin.register(SupplyCategory)
class SupplyCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]


@admin.register(SupplyItem)
class SupplyItemAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "spec", "unit", "shelf_life_days", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["category"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown for lookups; changed only through the pages and their services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Depot)
class DepotAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "status", "region"]
    list_filter = ["kind", "status"]
    search_fields = ["name"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ["number", "kind", "depot", "at", "actor"]
    list_filter = ["kind"]
    search_fields = ["number", "incident_ref"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["movement", "item", "lot", "delta", "balance", "at"]


@admin.register(RescueTeam)
class RescueTeamAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "status", "region"]
    list_filter = ["kind", "status"]
    search_fields = ["name"]


@admin.register(Equipment)
class EquipmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "plate_no", "serial_no", "status", "region"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "plate_no", "serial_no"]


@admin.register(Shelter)
class ShelterAdmin(ReadOnlyAdmin):
    list_display = ["name", "shelter_class", "level", "capacity", "occupancy", "status", "region"]
    list_filter = ["shelter_class", "level", "status"]
    search_fields = ["name"]


@admin.register(Expert)
class ExpertAdmin(ReadOnlyAdmin):
    list_display = ["person", "field", "title", "availability", "region"]
    list_filter = ["field", "availability"]
