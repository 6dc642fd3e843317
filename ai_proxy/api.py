"""The /ai/* router of the public API (mounted in jira_ai/urls.py). Handlers check what is cheap
(session, CSRF, body size, body schema, key format, quota, stream cap) and answer those with an
HTTP status, then call one service."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from ninja import Router

from accounts.context import UserContext
from ai_proxy.auth import AISessionAuth
from ai_proxy.quota import quota_hit
from ai_proxy.schemas import AnalyzeIn, AnalyzeStreamIn, SummarizeIn
from ai_proxy.services import issue_analysis_get, issue_analysis_stream, jql_summary_get
from ai_proxy.streaming import stream_slot_acquire
from ai_service.engine.schemas import Analysis, ErrorOut, Summary
from jira.services import issue_key_validate
from jira_ai.observability import request_id_var

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
    ctx = _ctx(request)
    await quota_hit(account_id=ctx.account_id)
    return await jql_summary_get(
        ctx=ctx,
        jql=body.jql,
        max_issues=body.max_issues,
        language=body.language,
        refresh=body.refresh,
    )


@router.post("/analyze-issue", response={200: Analysis, **ERRORS})
async def analyze_issue(request: HttpRequest, body: AnalyzeIn) -> Analysis:
    """Analysis of one issue with its comments (newest first)."""
    ctx = _ctx(request)
    key = issue_key_validate(body.issue_key)
    await quota_hit(account_id=ctx.account_id)
    return await issue_analysis_get(
        ctx=ctx, issue_key=key, language=body.language, refresh=body.refresh
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
    ctx = _ctx(request)
    key = issue_key_validate(body.issue_key)
    slot = stream_slot_acquire()  # before the quota: a refused stream costs no quota point
    try:
        await quota_hit(account_id=ctx.account_id)
    except BaseException:
        slot.release()
        raise
    response = StreamingHttpResponse(
        issue_analysis_stream(
            ctx=ctx,
            issue_key=key,
            language=body.language,
            on_close=slot.release,
            request_id=request_id_var.get(),
        ),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    # Released when the response is closed too, in case its body is never iterated.
    response._resource_closers.append(slot.release)  # type: ignore[attr-defined]
    return response
