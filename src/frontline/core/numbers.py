"""Human document numbers people quote: `<PREFIX>-<region code>-<year>-<5-digit sequence>`,
e.g. `YH-330603101-2026-00012` for a hazard, `DB-…` for a supervised task.

The sequence is per prefix, region and year. No counter table: the next number is the last
one plus one, and two requests that read the same last number collide on the unique index;
the loser takes the next one.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone


def number_prefix(kind: str, region_code: str, now: datetime) -> str:
    return f"{kind}-{region_code}-{timezone.localtime(now).year}-"


def next_number(model, prefix: str, field: str = "number") -> str:
    last = (
        model.objects.filter(**{f"{field}__startswith": prefix})
        .order_by(f"-{field}")
        .values_list(field, flat=True)
        .first()
    )
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:05d}"


def save_with_number(obj, *, kind: str, region_code: str, now: datetime, attempts: int = 8):
    """Give `obj` the next free number and save it (inside the caller's transaction)."""
    prefix = number_prefix(kind, region_code, now)
    model = type(obj)
    for attempt in range(attempts):
        obj.number = next_number(model, prefix)
        try:
            with transaction.atomic():
                obj.save()
            return obj
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            obj.pk = None
    return obj
