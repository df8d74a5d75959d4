"""Request id, bearer tokens and the jurisdiction switcher."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext_lazy as _

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
        # A cross-site page cannot set this header, so CSRF does not apply; and a request that
        # presents a token is judged by the token alone, never by a session cookie beside it.
        request._dont_enforce_csrf_checks = True
        user = authenticate_bearer(header[len("Bearer ") :].strip())
        request.user = user if user is not None else AnonymousUser()
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


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """The platform speaks Chinese unless the user picked another language.

    Station PCs often run browsers set to English; their Accept-Language must not switch a
    Chinese workplace to English. The language switcher (cookie) is the only way to change.
    """

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)


_PLAIN_API_ERRORS = {
    404: ("not_found", _("对象不存在或不在您的管辖范围内")),
    405: ("method_not_allowed", _("不支持该请求方法")),
}


class ApiErrorShapeMiddleware(MiddlewareMixin):
    """Errors that Django answers before the API sees the request (an unknown path, a method
    the path does not take) still leave in the API's `{"code", "message", "details"}` shape."""

    def process_response(self, request, response):
        if not request.path.startswith("/api/") or response.status_code not in _PLAIN_API_ERRORS:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code, message = _PLAIN_API_ERRORS[response.status_code]
        shaped = JsonResponse(
            {"code": code, "message": str(message), "details": {}}, status=response.status_code
        )
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        return shaped


class RejectNulMiddleware(MiddlewareMixin):
    """No text the platform stores may contain a NUL character: PostgreSQL refuses it, and
    no station ever types one. JSON bodies and query strings carrying one are bad input.
    (Forms are covered by Django's own validator; uploaded files may contain any byte.)"""

    def process_request(self, request):
        if "\x00" in request.META.get("QUERY_STRING", "").replace("%00", "\x00"):
            return self._refuse(request, "query")
        if request.content_type == "application/json" and request.method in {
            "POST",
            "PUT",
            "PATCH",
        }:
            body = request.body
            if b"\x00" in body or b"\\u0000" in body.lower():
                return self._refuse(request, "body")
        return None

    def _refuse(self, request, where: str):
        return JsonResponse(
            {
                "code": "validation_error",
                "message": str(_("输入有误，请检查标注的字段")),
                "details": {where: str(_("不能包含空字符（NUL）"))},
            },
            status=422 if request.path.startswith("/api/") else 400,
        )
