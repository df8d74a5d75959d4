"""Request id, bearer tokens and the jurisdiction switcher."""

from __future__ import annotations

from django.utils.deprecation import MiddlewareMixin

from frontline.core import request_id
from frontline.core.tokens import authenticate_bearer

FOCUS_SESSION_KEY = "frontline_focus_region"


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id.new_request_id(request.headers.get("X-Request-ID"))
        request.request_id = rid
        token = request_id.bind(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.unbind(token)
        response["X-Request-ID"] = rid
        return response


class BearerTokenMiddleware(MiddlewareMixin):
    """Authenticates `Authorization: Bearer fl_…` before the audit middleware reads the actor.

    A token request carries no cookie, so CSRF does not apply to it.
    """

    def process_request(self, request):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        request._bearer_presented = True
        user = authenticate_bearer(header[len("Bearer ") :].strip())
        if user is not None:
            request.user = user
            request._dont_enforce_csrf_checks = True
        return None


class FocusRegionMiddleware(MiddlewareMixin):
    """Applies the jurisdiction switcher: narrows the scope to one region inside it."""

    def process_request(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or getattr(user, "_frontline_token", None):
            return None
        path = request.session.get(FOCUS_SESSION_KEY)
        if path:
            user._frontline_focus_path = path
        return None
