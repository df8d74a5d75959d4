"""Scoped access: who may see which part of the jurisdiction tree.

A user sees the subtrees of the regions of their active role assignments. An API token
narrows that to the one assignment it is bound to; the jurisdiction switcher narrows it to
one region inside the scope. Every regional query goes through `visible_to(user)`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models import Q

# Paths are codes (digits) joined by "/"; "0" sorts right after "/", so the subtree of
# "330603/" is every path in ["330603/", "3306030").
_PATH_END = "0"


def subtree_range(path: str) -> tuple[str, str]:
    return path, path[:-1] + _PATH_END


def subtree_q(field: str, paths: Iterable[str]) -> Q:
    query = Q(pk__in=[])
    for path in _outermost(paths):
        low, high = subtree_range(path)
        query |= Q(**{f"{field}__gte": low, f"{field}__lt": high})
    return query


def _outermost(paths: Iterable[str]) -> list[str]:
    """Drop paths already covered by another one, to keep the SQL short."""
    result: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(kept) for kept in result):
            result.append(path)
    return result


def active_assignments(user) -> list:
    """Role assignments that apply to this request (cached on the user object)."""
    if user is None or not user.is_authenticated:
        return []
    cached = getattr(user, "_frontline_assignments", None)
    if cached is not None:
        return cached
    from frontline.core.models import RoleAssignment

    token = getattr(user, "_frontline_token", None)
    if token is not None:
        assignments = [token.assignment] if token.assignment.is_active else []
    else:
        assignments = list(
            RoleAssignment.objects.filter(user=user, revoked_at__isnull=True).select_related(
                "region"
            )
        )
    user._frontline_assignments = assignments
    return assignments


def scope_paths(user) -> list[str] | None:
    """Region paths the user may see; None means everything (superuser)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    focus = getattr(user, "_frontline_focus_path", None)
    if user.is_superuser and getattr(user, "_frontline_token", None) is None:
        return [focus] if focus else None
    paths = _outermost(a.region.path for a in active_assignments(user))
    if focus and any(focus.startswith(path) for path in paths):
        return [focus]
    return paths


def full_scope_paths(user) -> list[str] | None:
    """The scope before the jurisdiction switcher narrows it."""
    focus = getattr(user, "_frontline_focus_path", None)
    if focus is None:
        return scope_paths(user)
    user._frontline_focus_path = None
    try:
        return scope_paths(user)
    finally:
        user._frontline_focus_path = focus


def covers(user, path: str) -> bool:
    paths = scope_paths(user)
    if paths is None:
        return True
    return any(path.startswith(p) for p in paths)


class ScopedQuerySet(models.QuerySet):
    """QuerySet of objects that belong to a place. Subclasses name the path field."""

    scope_path_field = "region__path"

    def visible_to(self, user):
        paths = scope_paths(user)
        if paths is None:
            return self.all()
        if not paths:
            return self.none()
        return self.filter(subtree_q(self.scope_path_field, paths))

    def within(self, path: str):
        return self.filter(subtree_q(self.scope_path_field, [path]))

    def visible_in_order(self, user):
        """`visible_to(user)` for a long list read in the order of an index that also carries
        `region_id` (the hazard work queue, a ledger by date).

        The scope becomes `+region_id IN (regions of the scope)`. The unary plus keeps SQLite
        from answering through the region index, which would collect every visible row and
        sort them all for one page; instead it walks the ordered index, checks the region
        from the index entry and stops after the page. PostgreSQL reads the plus as a no-op
        and chooses on its statistics. Only for models scoped by their own `region`.
        """
        if self.scope_path_field != "region__path":
            raise TypeError(f"{self.model.__name__} is not scoped by its own region")
        paths = scope_paths(user)
        if paths is None:
            return self.all()
        if not paths:
            return self.none()
        regions = self.model._meta.get_field("region").related_model.objects.filter(
            subtree_q("path", paths)
        )
        return self.alias(scope_region=_Unindexed("region_id")).filter(
            scope_region__in=regions.values("pk")
        )


class _Unindexed(models.Func):
    template = "+%(expressions)s"
    output_field = models.BigIntegerField()
