"""The resources overview and the nearby search (filled in by the search work)."""

from django.http import HttpResponse


def resource_home(request):
    return HttpResponse("")
