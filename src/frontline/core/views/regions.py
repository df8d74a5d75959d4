"""Browsing the jurisdiction tree inside the user's scope."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from frontline.core.models import Organization, Person, Region
from frontline.core.scoping import scope_paths
from frontline.core.views.common import paginate, scoped_object_or_404


def with_children_count(regions):
    # A visible region's whole subtree is visible (scopes are subtrees), so counting every
    # child reveals nothing outside the scope.
    return regions.annotate(children_count=Count("children")).order_by("code")


@login_required
def region_index(request):
    """The top regions of the scope: the roots of the user's (or the focused) subtrees."""
    visible = Region.objects.visible_to(request.user)
    paths = scope_paths(request.user)
    roots = visible.filter(parent__isnull=True) if paths is None else visible.filter(path__in=paths)
    context = {"page": paginate(request, with_children_count(roots))}
    return render(request, "core/regions/index.html", context)


@login_required
def region_detail(request, code: str):
    user = request.user
    region = scoped_object_or_404(user, Region.objects.all(), code=code)
    children = with_children_count(Region.objects.visible_to(user).filter(parent=region))
    context = {
        "region": region,
        "ancestors": list(region.ancestors().visible_to(user)),
        "page": paginate(request, children),
        "organization_count": Organization.objects.visible_to(user).within(region.path).count(),
        "person_count": Person.objects.visible_to(user).within(region.path).count(),
    }
    return render(request, "core/regions/detail.html", context)
