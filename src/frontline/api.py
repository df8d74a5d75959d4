"""The JSON API under /api/v1: one NinjaAPI, routers contributed by the apps.

Every error leaves as `{"code", "message", "details"}` with a Chinese message.
"""

from __future__ import annotations

import logging

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, django_auth

from frontline.core.errors import DomainError

logger = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    """Bearer tokens are verified by BearerTokenMiddleware (before the audit log reads the
    actor); this only tells the API, and its OpenAPI page, that they are accepted."""

    def authenticate(self, request, token):
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "_frontline_token", None) is not None:
            return user
        return None


api = NinjaAPI(
    title="Frontline API",
    version="1",
    description=_("基层应急管理智慧平台接口。浏览器使用会话登录，外部系统使用 Bearer 令牌。"),
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
    docs_url="/docs",
)


def error_body(code: str, message, details=None) -> dict:
    return {"code": code, "message": str(message), "details": details or {}}


# Chinese messages for the pydantic error types a client meets in practice.
_PYDANTIC_MESSAGES = {
    "missing": N_("此字段为必填项"),
    "string_too_short": N_("内容过短"),
    "string_too_long": N_("内容过长"),
    "string_type": N_("应为文本"),
    "int_parsing": N_("应为整数"),
    "int_type": N_("应为整数"),
    "float_parsing": N_("应为数字"),
    "float_type": N_("应为数字"),
    "bool_parsing": N_("应为是/否"),
    "greater_than_equal": N_("数值过小"),
    "less_than_equal": N_("数值过大"),
    "greater_than": N_("数值过小"),
    "less_than": N_("数值过大"),
    "enum": N_("不在可选值之内"),
    "literal_error": N_("不在可选值之内"),
    "datetime_parsing": N_("日期时间格式不正确（ISO 8601）"),
    "datetime_from_date_parsing": N_("日期时间格式不正确（ISO 8601）"),
    "date_parsing": N_("日期格式不正确"),
    "json_invalid": N_("请求体不是有效的 JSON"),
    "model_attributes_type": N_("请求体格式不正确"),
    "dict_type": N_("应为对象"),
    "list_type": N_("应为列表"),
    "string_pattern_mismatch": N_("格式不正确"),
    "value_error": N_("取值不正确"),
    "extra_forbidden": N_("不允许的字段"),
}


def _field_path(loc) -> str:
    parts = [str(p) for p in loc if p not in {"body", "query", "path", "payload", "form"}]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    details: dict[str, str] = {}
    for error in exc.errors:
        field = _field_path(error.get("loc", ()))
        message = _PYDANTIC_MESSAGES.get(error.get("type", ""))
        details.setdefault(field, _(message) if message else _("取值不正确"))
    return api.create_response(
        request,
        error_body("validation_error", _("输入有误，请检查标注的字段"), details),
        status=422,
    )


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(
        request, error_body(exc.code, exc.message, exc.details), status=exc.status
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(
        request, error_body("not_found", _("对象不存在或不在您的管辖范围内")), status=404
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    if getattr(request, "_bearer_presented", False):
        message = _("令牌无效、已过期或已撤销")
    else:
        message = _("请先登录或提供有效的令牌")
    return api.create_response(request, error_body("unauthenticated", message), status=401)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if exc.status_code == 400 and str(exc.message).startswith("Cannot parse request body"):
        # A body that is not JSON is bad input like any other: 422 with the field named.
        return api.create_response(
            request,
            error_body(
                "validation_error",
                _("输入有误，请检查标注的字段"),
                {"body": _("请求体不是有效的 JSON")},
            ),
            status=422,
        )
    if exc.status_code == 403 and "CSRF" in str(exc.message):
        return api.create_response(
            request,
            error_body("csrf_failed", _("安全校验失败，请刷新页面后重试（缺少 CSRF 令牌）")),
            status=403,
        )
    return api.create_response(
        request, error_body(f"http_{exc.status_code}", exc.message), status=exc.status_code
    )


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    logger.exception("unhandled API error")
    return api.create_response(
        request,
        error_body(
            "server_error",
            _("服务器内部错误，请稍后重试"),
            {"request_id": getattr(request, "request_id", "")},
        ),
        status=500,
    )


def _register_routers() -> None:
    from frontline.community.api import router as community_router
    from frontline.core.api import router as core_router
    from frontline.hazards.api import router as hazards_router
    from frontline.monitoring.api import router as monitoring_router
    from frontline.resources.api import router as resources_router

    api.add_router("/", core_router)
    api.add_router("/", hazards_router)
    api.add_router("/", monitoring_router)
    api.add_router("/", community_router)
    api.add_router("/", resources_router)


_register_routers()
