from frontline.core.models.accounts import AccountEvent, ApiToken, RoleAssignment
from frontline.core.models.attachments import Attachment, AttachmentKind
from frontline.core.models.audit import EventBase, SensitiveAccess
from frontline.core.models.notifications import (
    Channel,
    Notification,
    NotificationStatus,
    WebhookEndpoint,
)
from frontline.core.models.people import Organization, OrganizationKind, Person
from frontline.core.models.regions import DemoDataset, Region, RegionLevel
from frontline.core.models.supervision import (
    OPEN_STATES,
    SupervisedTask,
    SupervisedTaskEvent,
    TaskPriority,
    TaskState,
)

__all__ = [
    "OPEN_STATES",
    "AccountEvent",
    "ApiToken",
    "Attachment",
    "AttachmentKind",
    "Channel",
    "DemoDataset",
    "EventBase",
    "Notification",
    "NotificationStatus",
    "Organization",
    "OrganizationKind",
    "Person",
    "Region",
    "RegionLevel",
    "RoleAssignment",
    "SensitiveAccess",
    "SupervisedTask",
    "SupervisedTaskEvent",
    "TaskPriority",
    "TaskState",
    "WebhookEndpoint",
]
