"""The NinjaAPI of ai-service: health, and the /ai/* routes (AI core issue)."""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="jira-ai ai-service",
    version="1.0.0",
    description="LLM engine of jira-ai, called by the public API with a signed bearer token.",
    urls_namespace="ai_service_api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def error_response(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code}, status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(request, 422, "invalid_input", "Invalid request body.")


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(request, 500, "internal_error", "Internal error.")


@api.get("/healthz", tags=["health"], summary="Liveness")
async def healthz(request: HttpRequest) -> dict[str, object]:
    return {"status": "ok", "checks": {}}


@api.get("/readyz", tags=["health"], summary="Readiness: the LLM endpoint answers")
async def readyz(request: HttpRequest, response: HttpResponse) -> dict[str, object]:
    from ai_service.readiness import check_llm

    try:
        async with asyncio.timeout(settings.HEALTH_CHECK_TIMEOUT_SECONDS):
            message = await check_llm()
        ok = True
    except TimeoutError:
        ok, message = False, f"timeout after {settings.HEALTH_CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # a probe reports any failure as "not ready"
        ok, message = False, f"error: {type(exc).__name__}"
    response.status_code = 200 if ok else 503
    return {"status": "ok" if ok else "unavailable", "checks": {"llm": message}}
