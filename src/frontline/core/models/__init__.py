from frontline.core.models.accounts import AccountEvent, ApiToken, RoleAssignment
from frontline.core.models.audit import EventBase, SensitiveAccess
from frontline.core.models.people import Organization, OrganizationKind, Person
from frontline.core.models.regions import DemoDataset, Region, RegionLevel

__all__ = [
    "AccountEvent",
    "ApiToken",
    "DemoDataset",
    "EventBase",
    "Organization",
    "OrganizationKind",
    "Person",
    "Region",
    "RegionLevel",
    "RoleAssignment",
    "SensitiveAccess",
]
