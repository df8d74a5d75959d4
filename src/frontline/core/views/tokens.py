"""The user's own API tokens: list, issue (the clear token is shown once) and revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from frontline.core import services
from frontline.core.errors import DomainError
from frontline.core.forms import TokenForm
from frontline.core.models import ApiToken


def own_tokens(user):
    # Tokens are personal: they follow the account, not the region focused by the switcher,
    # so they are selected by owner rather than through visible_to.
    return (
        ApiToken.objects.filter(assignment__user=user)
        .select_related("assignment__region")
        .order_by("-created_at", "-id")
    )


@never_cache
@login_required
def token_list(request):
    form = TokenForm(request.POST or None, user=request.user)
    clear_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            issued = form.save()
            if issued is not None:
                # Rendered, not redirected: the clear token must never sit in a session or URL.
                record, clear_token = issued
                form = TokenForm(user=request.user)
                messages.success(request, _("已签发令牌“%(name)s”") % {"name": record.name})
        if clear_token is None:
            status = 422
    context = {"tokens": own_tokens(request.user), "form": form, "clear_token": clear_token}
    return render(request, "core/tokens/list.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, pk: int):
    token = get_object_or_404(own_tokens(request.user), pk=pk)
    if request.method != "POST":
        # A link, a bookmark or a prefetch must not revoke anything: back to the list.
        messages.info(request, _("撤销令牌请在列表中点击“撤销”按钮"))
        return redirect("token_list")
    try:
        services.revoke_token(actor=request.user, token=token)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤销令牌“%(name)s”") % {"name": token.name})
    return redirect("token_list")
