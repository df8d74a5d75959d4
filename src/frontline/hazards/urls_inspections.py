"""Pages of inspections, notices, plans, ledgers and statistics."""

from django.urls import path

from frontline.hazards.views import inspections, ledgers

urlpatterns = [
    path("inspections/", inspections.inspection_list, name="inspection_list"),
    path("inspections/new/", inspections.inspection_start, name="inspection_start"),
    path("inspections/<id:pk>/", inspections.inspection_detail, name="inspection_detail"),
    path(
        "inspections/<id:pk>/items/<id:item_pk>/",
        inspections.record_item,
        name="inspection_record_item",
    ),
    path(
        "inspections/<id:pk>/results/<id:result_pk>/hazard/",
        inspections.convert_result,
        name="inspection_convert_result",
    ),
    path("inspections/<id:pk>/submit/", inspections.submit, name="inspection_submit"),
    path(
        "inspections/<id:pk>/notices/new/",
        inspections.notice_create,
        name="notice_create",
    ),
    path("inspections/notices/<id:pk>/", inspections.notice_detail, name="notice_detail"),
    path("inspections/notices/<id:pk>/docx", inspections.notice_docx, name="notice_docx"),
    path("inspections/plans/", inspections.plan_list, name="inspection_plans"),
    path("inspections/plans/new/", inspections.plan_create, name="inspection_plan_create"),
    path(
        "inspections/plans/<id:pk>/",
        inspections.plan_detail,
        name="inspection_plan_detail",
    ),
    path("ledgers/statistics/", ledgers.statistics, name="hazard_statistics"),
    path("ledgers/statistics/xlsx", ledgers.statistics_export, name="hazard_statistics_xlsx"),
    path("ledgers/dashboard/", ledgers.dashboard, name="hazard_dashboard"),
    path("ledgers/<slug:kind>/", ledgers.ledger, name="hazard_ledger"),
    path("ledgers/<slug:kind>/xlsx", ledgers.ledger_export, name="hazard_ledger_xlsx"),
]
