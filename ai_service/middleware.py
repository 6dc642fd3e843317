"""django-prometheus middleware with hooks run inline under ASGI (they only touch counters)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
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


class RequestIdMiddleware:
    """``X-Request-ID`` in (from the API) and out, and in every log line."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with bind_request_id(request.headers.get("X-Request-ID", "")) as request_id:
            response = await self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
