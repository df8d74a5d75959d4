"""Pages of depots and the stock ledger."""

from django.urls import path

from frontline.resources.views import depots, stock, stock_import, stock_ledger

urlpatterns = [
    path("depots/", depots.depot_list, name="depot_list"),
    path("depots/new/", depots.depot_create, name="depot_create"),
    path("depots/import/", stock_import.depot_import, name="depot_import"),
    path("depots/export.xlsx", stock_import.depot_export, name="depot_export"),
    path("depots/<id:pk>/", depots.depot_detail, name="depot_detail"),
    path("depots/<id:pk>/edit/", depots.depot_edit, name="depot_edit"),
    path("depots/<id:pk>/locations/", depots.depot_location_add, name="depot_location_add"),
    path(
        "depots/<id:pk>/locations/<id:location_pk>/",
        depots.depot_location_edit,
        name="depot_location_edit",
    ),
    path("depots/<id:pk>/minimums/", depots.depot_minimum_set, name="depot_minimum_set"),
    path(
        "depots/<id:pk>/minimums/<id:minimum_pk>/remove/",
        depots.depot_minimum_remove,
        name="depot_minimum_remove",
    ),
    path("depots/<id:pk>/receive/", stock.stock_receive, name="stock_receive"),
    path("depots/<id:pk>/issue/", stock.stock_issue, name="stock_issue"),
    path("depots/<id:pk>/transfer/", stock.stock_transfer, name="stock_transfer"),
    path("depots/<id:pk>/adjust/", stock.stock_adjust, name="stock_adjust"),
    path("depots/<id:pk>/stocktake/", stock.stocktake, name="stocktake"),
    path("depots/<id:pk>/items/<id:item_pk>/", stock_ledger.stock_card, name="stock_card"),
    path(
        "depots/<id:pk>/items/<id:item_pk>/export.xlsx",
        stock_ledger.stock_card_export,
        name="stock_card_export",
    ),
    path("stock/movements/", stock_ledger.movement_list, name="movement_list"),
    path("stock/movements/export.xlsx", stock_ledger.movement_export, name="movement_export"),
    path("stock/movements/<id:pk>/", stock_ledger.movement_detail, name="movement_detail"),
    path("stock/positions.xlsx", stock_ledger.stock_position_export, name="stock_position_export"),
    path("stock/import/", stock_import.stock_import, name="stock_import"),
]
