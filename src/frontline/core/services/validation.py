"""Checks shared by every service: permission, and field validation that reports every
wrong field at once."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from frontline.core.errors import InvalidInput, PermissionDenied
from frontline.core.roles import can

if TYPE_CHECKING:
    from frontline.core.models import Region


def require(actor, capability: str, region: Region | None) -> None:
    if actor is None:  # system jobs: seeding, imports run by an operator on the server
        return
    if not can(actor, capability, region):
        raise PermissionDenied(_("您没有此操作的权限"))


class Cleaner:
    """Checks every field of one input and reports all problems at once, so a form shows
    each wrong field on the first submit instead of one error per round trip."""

    def __init__(self) -> None:
        self.details: dict[str, str] = {}

    def fail(self, field: str, message) -> None:
        self.details.setdefault(field, str(message))

    def text(self, value: str | None, field: str, *, required: bool, max_length: int) -> str:
        text = (value or "").strip()
        if required and not text:
            self.fail(field, _("此字段为必填项"))
        elif len(text) > max_length:
            self.fail(field, _("最多 %(n)d 个字符") % {"n": max_length})
        return text

    def mobile(self, value: str | None, field: str = "mobile") -> str:
        text = "".join(ch for ch in (value or "") if ch not in " -")
        if text.startswith("+86"):
            text = text[3:]
        elif text.startswith("86") and len(text) == 13:
            text = text[2:]
        if text and not _MOBILE.fullmatch(text):
            self.fail(field, _("应为 11 位手机号码，如 13812345678"))
        return text

    def phone(self, value: str | None, field: str) -> str:
        """A landline or mobile number as people write it: 0575-84123456, (0575) 8412 3456."""
        text = (value or "").strip()
        digits = [ch for ch in text if ch.isdigit()]
        if text and (not _PHONE.fullmatch(text) or not 7 <= len(digits) <= 20):
            self.fail(field, _("电话号码格式不正确，如 0575-84123456"))
        return text

    def id_number(self, value: str | None, field: str = "id_number") -> str:
        text = (value or "").strip().upper()
        if text and not is_valid_id_number(text):
            self.fail(field, _("应为 18 位身份证号码且校验位正确"))
        return text

    def choice(self, value: str | None, field: str, choices) -> str:
        if value not in choices.values:
            self.fail(field, _("请选择"))
        return value or ""

    def done(self) -> None:
        if self.details:
            raise InvalidInput(_("输入有误，请检查标注的字段"), details=self.details)


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE = re.compile(r"[0-9+()\- ]+(?:转[0-9]+)?")


def _clean_text(value: str | None, field: str, *, required: bool, max_length: int) -> str:
    cleaner = Cleaner()
    text = cleaner.text(value, field, required=required, max_length=max_length)
    cleaner.done()
    return text


_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"


def is_valid_id_number(text: str) -> bool:
    """GB 11643 resident identity number: 17 digits and an ISO 7064 MOD 11-2 check."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    return id_check_digit(text[:17]) == text[17]


def id_check_digit(body: str) -> str:
    """The 18th character of the ID number whose first 17 digits are `body`."""
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]
