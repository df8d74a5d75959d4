"""Small helpers shared by the page views."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render

from frontline.core.scoping import full_scope_paths, scope_paths, subtree_q

PAGE_SIZE = 50


def paginate(request, queryset, per_page: int = PAGE_SIZE) -> Page:
    # get_page turns a missing or out-of-range ?page= into the first or last page, so a stale
    # bookmark never ends on an error page.
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def forbidden(request, message) -> HttpResponse:
    """The user sees the object but may not do this: a Chinese explanation, status 403."""
    return render(request, "core/forbidden.html", {"message": message}, status=403)


def client_addr(request) -> str | None:
    # The reverse proxy in front of production sets REMOTE_ADDR through its own module;
    # X-Forwarded-For is not trusted here because anyone can send it.
    return request.META.get("REMOTE_ADDR") or None


class OutsideFocus(Http404):
    """The object lies inside the user's scope but outside the region the switcher focuses
    on. Still a 404 (the page shows only the current view); `404.html` tells the user and
    offers to clear the focus."""


def scoped_object_or_404(user, queryset, **lookup):
    """`queryset.visible_to(user).get(**lookup)`, or a 404 that says whether the switcher is
    what hides the object."""
    found = queryset.visible_to(user).filter(**lookup).first()
    if found is not None:
        return found
    if getattr(user, "_frontline_focus_path", None):
        full = full_scope_paths(user)
        if full != scope_paths(user):
            model = queryset.model._default_manager
            everything = (
                model.all()
                if full is None
                else model.filter(subtree_q(queryset.scope_path_field, full))
            )
            if everything.filter(**lookup).exists():
                raise OutsideFocus
    raise Http404
