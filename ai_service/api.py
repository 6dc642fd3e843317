"""The NinjaAPI of ai-service: health, and the /ai/* routes called by the public API with a
signed bearer token. Handlers parse, call one engine function and return its schema; errors leave
as ``{"detail", "code"}`` from the exception handlers below."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError
from ninja.responses import Status

from ai_service.auth import InvalidServiceToken, ServiceTokenAuth
from ai_service.engine import (
    EngineConfig,
    EngineError,
    StreamEvent,
    issue_analyze,
    issue_analyze_stream,
    jql_summarize,
    sse_encode,
)
from ai_service.engine.schemas import Analysis, AnalyzeRequest, ErrorOut, SummarizeRequest, Summary
from ai_service.metrics import LATENCY, REQUESTS, STREAMS_IN_FLIGHT
from ai_service.streaming import StreamSlots, sse_body

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="jira-ai ai-service",
    version="1.0.0",
    description="LLM engine of jira-ai, called by the public API with a signed bearer token.",
    urls_namespace="ai_service_api",
    auth=ServiceTokenAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def error_response(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code}, status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(request, 422, "invalid_input", "Invalid request body.")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja's own errors; its only one on these routes is a body it cannot parse (400)."""
    if exc.status_code == 400:
        return error_response(request, 422, "invalid_input", "The request body is not valid JSON.")
    code = "internal_error" if exc.status_code >= 500 else "invalid_input"
    return error_response(request, exc.status_code, code, str(exc.message))


@api.exception_handler(InvalidServiceToken)
def on_invalid_token(request: HttpRequest, exc: InvalidServiceToken) -> HttpResponse:
    response = error_response(request, 401, exc.code, exc.detail)
    response["WWW-Authenticate"] = 'Bearer realm="ai-service"'
    return response


@api.exception_handler(EngineError)
def on_engine_error(request: HttpRequest, exc: EngineError) -> HttpResponse:
    response = error_response(request, exc.status, exc.code, exc.detail)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(request, 500, "internal_error", "Internal error.")


@api.get("/healthz", tags=["health"], summary="Liveness", auth=None)
async def healthz(request: HttpRequest) -> dict[str, object]:
    return {"status": "ok", "checks": {}}


class HealthOut(Schema):
    status: str
    checks: dict[str, str]


@api.get(
    "/readyz",
    tags=["health"],
    summary="Readiness: the LLM endpoint answers",
    response={200: HealthOut, 503: HealthOut},
    auth=None,
)
async def readyz(request: HttpRequest) -> Status[dict[str, object]]:
    from ai_service.readiness import check_llm

    try:
        async with asyncio.timeout(settings.HEALTH_CHECK_TIMEOUT_SECONDS):
            message = await check_llm()
        ok = True
    except TimeoutError:
        ok, message = False, f"timeout after {settings.HEALTH_CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # a probe reports any failure as "not ready"
        ok, message = False, f"error: {type(exc).__name__}"
    return Status(
        200 if ok else 503,
        {"status": "ok" if ok else "unavailable", "checks": {"llm": message}},
    )


# -- /ai/* ---------------------------------------------------------------------------------------

ERRORS = {401: ErrorOut, 413: ErrorOut, 422: ErrorOut, 502: ErrorOut, 503: ErrorOut, 504: ErrorOut}


@cache
def engine_config() -> EngineConfig:
    return EngineConfig.from_settings(settings)


@api.post("/ai/summarize-jql", tags=["ai"], response={200: Summary, **ERRORS})
async def summarize_jql(request: HttpRequest, body: SummarizeRequest) -> Summary:
    """Summary of the issues of a JQL query (fetched from Jira by the caller)."""
    with _measured("summarize-jql"):
        return await jql_summarize(config=engine_config(), request=body)


@api.post("/ai/analyze-issue", tags=["ai"], response={200: Analysis, **ERRORS})
async def analyze_issue(request: HttpRequest, body: AnalyzeRequest) -> Analysis:
    """Analysis of one issue with its comments (newest first)."""
    with _measured("analyze-issue"):
        return await issue_analyze(config=engine_config(), request=body)


@api.post(
    "/ai/analyze-issue/stream",
    tags=["ai"],
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            "200": {
                "description": "Server-sent events: log, delta, result, then done or error.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
async def analyze_issue_stream(request: HttpRequest, body: AnalyzeRequest) -> HttpResponseBase:
    """The analysis as server-sent events, sections streamed as the model writes them."""
    slot = STREAM_SLOTS.acquire()
    if slot is None:
        REQUESTS.labels(STREAM_ENDPOINT, "too_many_streams").inc()
        return error_response(
            request, 503, "too_many_streams", "Too many analyses are streaming; retry shortly."
        )
    started = time.perf_counter()

    def on_close(outcome: str) -> None:
        slot.release()
        REQUESTS.labels(STREAM_ENDPOINT, outcome).inc()
        LATENCY.labels(STREAM_ENDPOINT).observe(time.perf_counter() - started)

    response = StreamingHttpResponse(
        sse_body(
            issue_analyze_stream(config=engine_config(), request=body),
            encode=sse_encode,
            on_error=_stream_error,
            on_close=on_close,
            keepalive=float(getattr(settings, "AI_KEEPALIVE_SECONDS", 15.0)),
        ),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    # Released when the response is closed too, in case the body is never iterated.
    response._resource_closers.append(slot.release)  # type: ignore[attr-defined]
    return response


STREAM_ENDPOINT = "analyze-issue/stream"
# At most AI_MAX_STREAMS streams per process.
STREAM_SLOTS = StreamSlots(
    limit=lambda: int(settings.AI_MAX_STREAMS), on_change=STREAMS_IN_FLIGHT.inc
)


def _stream_error(next_id: int, exc: BaseException) -> tuple[str, bytes]:
    """A failure outside the engine's own ``error`` events: logged, and a generic event (id 0)."""
    logger.error("streamed analysis failed", exc_info=exc)
    return "internal_error", sse_encode(
        StreamEvent(0, "error", {"code": "internal_error", "detail": "Internal error."})
    )


@contextlib.contextmanager
def _measured(endpoint: str) -> Iterator[None]:
    started = time.perf_counter()
    code = "ok"
    try:
        yield
    except EngineError as exc:
        code = exc.code
        raise
    except Exception:
        code = "internal_error"
        raise
    finally:
        REQUESTS.labels(endpoint, code).inc()
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
