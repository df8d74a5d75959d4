"""Every state change of the core. Each function is keyword-only, takes `actor=`, runs in one
transaction and leaves an event or an audit entry (the generic change log records every save).

Callers use `from frontline.core import services` and `services.create_person(...)`.
"""

from frontline.core.services.accounts import (
    create_account,
    grant_role,
    issue_token,
    revoke_role,
    revoke_token,
)
from frontline.core.services.notifications import (
    mark_all_read,
    mark_read,
    notify_users,
    queue_notification,
)
from frontline.core.services.people import (
    ORGANIZATION_FIELDS,
    PERSON_FIELDS,
    create_organization,
    create_person,
    reveal_personal_field,
    update_organization,
    update_person,
)
from frontline.core.services.regions import create_region, move_region, update_region
from frontline.core.services.validation import Cleaner, is_valid_id_number, require

__all__ = [
    "ORGANIZATION_FIELDS",
    "PERSON_FIELDS",
    "Cleaner",
    "create_account",
    "create_organization",
    "create_person",
    "create_region",
    "grant_role",
    "is_valid_id_number",
    "issue_token",
    "mark_all_read",
    "mark_read",
    "move_region",
    "notify_users",
    "queue_notification",
    "require",
    "reveal_personal_field",
    "revoke_role",
    "revoke_token",
    "update_organization",
    "update_person",
    "update_region",
]
