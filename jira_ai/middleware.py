"""The middleware stack, every entry natively async.

Under ASGI, Django runs each hook of a classic ``MiddlewareMixin`` through ``sync_to_async``: one
thread hop per hook per request (DESIGN.md measured 980 -> 410 req/s behind the 7 defaults). The
hooks of the Django middleware we keep do no I/O (headers, cookies, lazy objects), so
:class:`InlineHooksMixin` calls them inline on the event loop instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed
from django.middleware import clickjacking, csrf, locale, security
from django_prometheus import middleware as prometheus_middleware

from jira_ai.errors import ErrorCode
from jira_ai.observability import bind_request_id

access_logger = logging.getLogger("jira_ai.access")

GetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class InlineHooksMixin:
    """Run ``process_request`` / ``process_response`` inline under ASGI (no thread hop).

    Only for middleware whose hooks neither block nor touch the database.
    """

    get_response: Any

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        if response is None:
            response = await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class InlineViewHookMixin(InlineHooksMixin):
    """Also make ``process_view`` a coroutine so the handler does not wrap it in a thread."""

    async def process_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return super().process_view(request, *args, **kwargs)  # type: ignore[misc]


class PrometheusBeforeMiddleware(
    InlineHooksMixin, prometheus_middleware.PrometheusBeforeMiddleware
):
    pass


class PrometheusAfterMiddleware(
    InlineViewHookMixin, prometheus_middleware.PrometheusAfterMiddleware
):
    async def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        return super().process_exception(request, exception)


class SecurityMiddleware(InlineHooksMixin, security.SecurityMiddleware):
    pass


class SessionMiddleware(InlineHooksMixin, sessions_middleware.SessionMiddleware):
    pass


class LocaleMiddleware(InlineHooksMixin, locale.LocaleMiddleware):
    pass


class CsrfViewMiddleware(InlineViewHookMixin, csrf.CsrfViewMiddleware):  # type: ignore[misc]
    pass


class AuthenticationMiddleware(InlineHooksMixin, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(InlineHooksMixin, messages_middleware.MessageMiddleware):
    pass


class XFrameOptionsMiddleware(InlineHooksMixin, clickjacking.XFrameOptionsMiddleware):
    pass


class RequestContextMiddleware:
    """Request id (``X-Request-ID`` in and out, in every log line), the CSP on HTML responses,
    and 405s in the JSON error format (ninja and ``require_POST`` answer them as bare HTML)."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        if not iscoroutinefunction(get_response):  # pragma: no cover - ASGI only
            raise TypeError("RequestContextMiddleware needs an async stack")
        self.get_response = get_response
        self.csp = settings.CONTENT_SECURITY_POLICY
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        with bind_request_id(request.headers.get("X-Request-ID", "")) as request_id:
            response = await self.get_response(request)
            if isinstance(response, HttpResponseNotAllowed):
                response = method_not_allowed(response)
            # Our access log: the path without its query string, which may hold an OAuth code or
            # a user's JQL (Daphne's own access log is off: ``daphne -v 0``).
            access_logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        response["X-Request-ID"] = request_id
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.csp
        return response


def method_not_allowed(response: HttpResponseNotAllowed) -> HttpResponseNotAllowed:
    """The same response (its ``Allow`` and security headers kept), with a JSON error body."""
    response.content = json.dumps(
        {"detail": "Method not allowed.", "code": ErrorCode.METHOD_NOT_ALLOWED}
    )
    response["Content-Type"] = "application/json"
    return response
