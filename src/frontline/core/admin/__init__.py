"""Admin for master data (zh-hans). See admin/base.py for the rules every page follows."""

from frontline.core.admin import accounts, audit, directory  # noqa: F401
