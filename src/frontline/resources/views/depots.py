"""Depot pages (filled in by the stock work)."""

from django.http import HttpResponse


def depot_detail(request, pk: int):
    return HttpResponse(status=404)
