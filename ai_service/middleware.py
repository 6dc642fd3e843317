"""django-prometheus middleware with hooks run inline under ASGI (they only touch counters)."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed
from django_prometheus import middleware as prometheus_middleware

from ai_service.observability import bind_request_id


class _Inline:
    get_response: Any

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.process_request(request)  # type: ignore[attr-defined]
        if response is None:
            response = await self.get_response(request)
        return self.process_response(request, response)  # type: ignore[attr-defined]


class PrometheusBeforeMiddleware(_Inline, prometheus_middleware.PrometheusBeforeMiddleware):
    pass


class PrometheusAfterMiddleware(_Inline, prometheus_middleware.PrometheusAfterMiddleware):
    async def process_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return super().process_view(request, *args, **kwargs)

    async def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        return super().process_exception(request, exception)


# /docs is the only HTML ai-service serves; ninja's Swagger page loads its assets from /static/.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


class RequestIdMiddleware:
    """``X-Request-ID`` in (from the API) and out, and in every log line; 405s in the JSON error
    format (ninja answers them as bare HTML); ``nosniff`` everywhere and a CSP on HTML."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with bind_request_id(request.headers.get("X-Request-ID", "")) as request_id:
            response = await self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed):
            response.content = json.dumps(
                {"detail": "Method not allowed.", "code": "method_not_allowed"}
            )
            response["Content-Type"] = "application/json"
        response["X-Request-ID"] = request_id
        response["X-Content-Type-Options"] = "nosniff"
        if response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
            response["X-Frame-Options"] = "DENY"
        return response


class BodySizeLimitMiddleware:
    """413 ``body_too_large`` before anything parses a body over ``AI_MAX_BODY_BYTES``: first on
    the announced ``Content-Length``, then on the bytes actually received."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        from django.conf import settings
        from django.core.exceptions import RequestDataTooBig
        from django.http import JsonResponse

        limit = settings.AI_MAX_BODY_BYTES
        if request.method in {"POST", "PUT", "PATCH"}:
            try:
                announced = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                announced = 0
            try:
                too_large = announced > limit or len(request.body) > limit
            except RequestDataTooBig:
                too_large = True
            if too_large:
                return JsonResponse(
                    {"detail": f"Request body over {limit} bytes.", "code": "body_too_large"},
                    status=413,
                )
        return await self.get_response(request)
