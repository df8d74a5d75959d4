"""Login, logout, password change and the lockout page of django-axes."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic import RedirectView

LOCKED_OUT_STATUS = 429


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link or a prefetch must not end a session."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # Added after the session is flushed, so it lands on the login page that follows.
        messages.info(request, _("您已退出登录"))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"


def lockout_minutes(request) -> int:
    cool_off = get_cool_off(request)
    if cool_off is None:
        return 0
    return max(1, math.ceil(cool_off.total_seconds() / 60))


def locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: too many wrong passwords for this username and address.

    axes retries with two arguments when the call raises TypeError, so every parameter after
    the request is optional.
    """
    context = {"minutes": lockout_minutes(request)}
    return render(request, "registration/locked_out.html", context, status=LOCKED_OUT_STATUS)


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG icon."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        return static("frontline/favicon.svg")
