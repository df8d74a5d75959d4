from frontline.hazards.models.hazards import (
    Hazard,
    HazardEvent,
    HazardLevel,
    HazardSource,
    HazardState,
    ListedSupervision,
    TreatmentPlan,
)
from frontline.hazards.models.inspections import (
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionForm,
    InspectionPlan,
    InspectionResult,
    ItemOutcome,
    RectificationNotice,
)
from frontline.hazards.models.objects import (
    Enterprise,
    Industry,
    MajorHazardInstallation,
    Place,
    PlaceCategory,
    RiskColour,
)
from frontline.hazards.models.risks import AssessmentMethod, RiskPoint

__all__ = [
    "AssessmentMethod",
    "ChecklistItem",
    "ChecklistTemplate",
    "Enterprise",
    "Hazard",
    "HazardEvent",
    "HazardLevel",
    "HazardSource",
    "HazardState",
    "Industry",
    "Inspection",
    "InspectionForm",
    "InspectionPlan",
    "InspectionResult",
    "ItemOutcome",
    "ListedSupervision",
    "MajorHazardInstallation",
    "Place",
    "PlaceCategory",
    "RectificationNotice",
    "RiskColour",
    "RiskPoint",
    "TreatmentPlan",
]
