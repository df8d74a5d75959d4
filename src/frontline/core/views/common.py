"""Small helpers shared by the page views."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpResponse
from django.shortcuts import render

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
