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
    set_account_active,
    set_account_password,
    unlock_account,
)
from frontline.core.services.attachments import (
    attach_file,
    attachments_of,
    delete_attachment,
    sync_attachment_region,
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
from frontline.core.services.supervision import (
    acknowledge_task,
    allowed_actions,
    arrive_on_site,
    assign_task,
    complete_task,
    extend_due,
    return_task,
    settle_task,
    verify_task,
    visible_tasks,
)
from frontline.core.services.supervision_sweep import escalate_overdue_tasks
from frontline.core.services.validation import Cleaner, is_valid_id_number, require

__all__ = [
    "ORGANIZATION_FIELDS",
    "PERSON_FIELDS",
    "Cleaner",
    "acknowledge_task",
    "allowed_actions",
    "arrive_on_site",
    "assign_task",
    "attach_file",
    "attachments_of",
    "complete_task",
    "create_account",
    "create_organization",
    "create_person",
    "create_region",
    "delete_attachment",
    "escalate_overdue_tasks",
    "extend_due",
    "grant_role",
    "is_valid_id_number",
    "issue_token",
    "mark_all_read",
    "mark_read",
    "move_region",
    "notify_users",
    "queue_notification",
    "require",
    "return_task",
    "reveal_personal_field",
    "revoke_role",
    "revoke_token",
    "set_account_active",
    "set_account_password",
    "settle_task",
    "sync_attachment_region",
    "unlock_account",
    "update_organization",
    "update_person",
    "update_region",
    "verify_task",
    "visible_tasks",
]
