"""The /ai/* router of the public API (mounted in jira_ai/urls.py). Handlers parse (the schemas
check the body and the key) and authorize (session, CSRF, body size: ``AISessionAuth``), then
call one service, which owns the quota, the stream cap and the stream."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from ninja import Router

from accounts.context import UserContext
from ai_proxy.auth import AISessionAuth
from ai_proxy.schemas import AnalyzeIn, AnalyzeStreamIn, SummarizeIn
from ai_proxy.services import (
    issue_analysis_get,
    issue_analysis_stream_open,
    jql_summary_get,
    jql_summary_stream_open,
)
from ai_service.contract.schemas import Analysis, ErrorOut, Summary
from core.observability import request_id_var
from core.sse import sse_response

router = Router(tags=["ai"], auth=AISessionAuth())

ERRORS = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
    502: ErrorOut,
    503: ErrorOut,
    504: ErrorOut,
}


def _ctx(request: HttpRequest) -> UserContext:
    ctx = request.auth  # type: ignore[attr-defined]
    assert isinstance(ctx, UserContext)
    return ctx


@router.post("/summarize-jql", response={200: Summary, **ERRORS})
async def summarize_jql(request: HttpRequest, body: SummarizeIn) -> Summary:
    """Summary of the issues of a JQL query: narrative, highlights, risks, blockers, next steps,
    stats computed from the data, and the coverage of what was analyzed."""
    return await jql_summary_get(
        ctx=_ctx(request),
        jql=body.jql,
        max_issues=body.max_issues,
        language=body.language,
        refresh=body.refresh,
    )


@router.post("/analyze-issue", response={200: Analysis, **ERRORS})
async def analyze_issue(request: HttpRequest, body: AnalyzeIn) -> Analysis:
    """Analysis of one issue with its comments (newest first)."""
    return await issue_analysis_get(
        ctx=_ctx(request), issue_key=body.issue_key, language=body.language, refresh=body.refresh
    )


@router.post(
    "/analyze-issue/stream",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            "200": {
                "description": "Server-sent events: log, delta (by section), result, then done "
                "or one error; `: keepalive` comments at least every 15 s.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
async def analyze_issue_stream(request: HttpRequest, body: AnalyzeStreamIn) -> HttpResponseBase:
    """The analysis as server-sent events, each section streamed as the model writes it. After
    the first bytes, failures (issue not found, Jira, the model) are one final `error` event."""
    stream = await issue_analysis_stream_open(
        ctx=_ctx(request),
        issue_key=body.issue_key,
        language=body.language,
        request_id=request_id_var.get(),
    )
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


@router.post(
    "/summarize-jql/stream",
    response={200: None, **ERRORS},
    openapi_extra={
        "parameters": [
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "pattern": "^[0-9a-f]{32}:[0-9]+$"},
                "description": "Resume: the id of the last event received (`<run>:<n>`); the "
                "events after it are replayed, then the run is followed (or, if it was "
                "cancelled, a new run of the same request).",
            }
        ],
        "responses": {
            "200": {
                "description": "Server-sent events, ids `<run>:<n>`: log (count, fetch with "
                "done/total, then the model's map, combine, queue, load, think), delta "
                "(section summary), one result (the whole summary JSON), then done or one "
                "error; `: keepalive` comments at least every 15 s.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        },
    },
)
async def summarize_jql_stream(request: HttpRequest, body: SummarizeIn) -> HttpResponseBase:
    """The summary as server-sent events, with progress (Jira's count, each page read, each
    chunk summarized) and the narrative as it is written. Resumable on any API process with
    `Last-Event-ID`; an identical request (same query, `max_issues`, language) attaches to the
    run going on. After the first bytes, failures are one final `error` event."""
    stream = await jql_summary_stream_open(
        ctx=_ctx(request),
        jql=body.jql,
        max_issues=body.max_issues,
        language=body.language,
        refresh=body.refresh,
        last_event_id=request.headers.get("Last-Event-ID"),
        request_id=request_id_var.get(),
    )
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))
