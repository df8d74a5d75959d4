"""Every state change of safety supervision. Callers use
`from frontline.hazards import services` and `services.report_hazard(...)`."""

from frontline.hazards.services.escalation import (
    escalate_overdue_hazards,
)
from frontline.hazards.services.importing import (
    ImportReport,
    export_enterprises,
    export_places,
    import_enterprises,
    import_places,
)
from frontline.hazards.services.inspections import (
    attach_result_photo,
    create_inspection_plan,
    hazard_from_failed_item,
    plan_coverage,
    record_result,
    start_inspection,
    submit_inspection,
)
from frontline.hazards.services.ledgers import ledger_rows, ledger_xlsx
from frontline.hazards.services.loop import (
    approve_extension,
    confirm_hazard,
    control_hazard,
    deny_extension,
    list_for_supervision,
    reject_hazard,
    report_rectified,
    request_extension,
    return_for_rework,
    start_rectification,
    submit_treatment_plan,
    verify_hazard,
)
from frontline.hazards.services.notices import (
    issue_rectification_notice,
    notice_context,
    notice_docx,
)
from frontline.hazards.services.objects import (
    create_enterprise,
    create_major_hazard,
    create_place,
    is_valid_credit_code,
    update_enterprise,
    update_major_hazard,
    update_place,
)
from frontline.hazards.services.reporting import report_hazard
from frontline.hazards.services.risks import (
    create_risk_point,
    delete_risk_point,
    grade_lec,
    grade_matrix,
    update_risk_point,
)
from frontline.hazards.services.statistics import dashboard_numbers, quarterly_statistics

__all__ = ["report_hazard"]
__all__ += [  # objects, risk points, spreadsheets
    "ImportReport",
    "create_enterprise",
    "create_major_hazard",
    "create_place",
    "create_risk_point",
    "delete_risk_point",
    "export_enterprises",
    "export_places",
    "grade_lec",
    "grade_matrix",
    "import_enterprises",
    "import_places",
    "is_valid_credit_code",
    "update_enterprise",
    "update_major_hazard",
    "update_place",
    "update_risk_point",
]
__all__ += [  # inspections, notices, ledgers and statistics
    "attach_result_photo",
    "create_inspection_plan",
    "dashboard_numbers",
    "hazard_from_failed_item",
    "issue_rectification_notice",
    "ledger_rows",
    "ledger_xlsx",
    "notice_context",
    "notice_docx",
    "plan_coverage",
    "quarterly_statistics",
    "record_result",
    "start_inspection",
    "submit_inspection",
]
__all__ += [  # the hazard loop
    "approve_extension",
    "confirm_hazard",
    "control_hazard",
    "deny_extension",
    "escalate_overdue_hazards",
    "list_for_supervision",
    "reject_hazard",
    "report_rectified",
    "request_extension",
    "return_for_rework",
    "start_rectification",
    "submit_treatment_plan",
    "verify_hazard",
]
