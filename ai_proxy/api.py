"""The /ai/* router of the public API (mounted in jira_ai/urls.py). Handlers parse (the schemas
check the body and the key) and authorize (session, CSRF, body size: ``AISessionAuth``), then
call one service, which owns the quota, the stream cap and the stream."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from ninja import Router

from accounts.context import UserContext
from ai_proxy.auth import AISessionAuth
from ai_proxy.questions import jql_from_question_get
from ai_proxy.reports import (
    epic_report_get,
    epic_report_stream_open,
    release_notes_get,
    release_notes_stream_open,
    sprint_report_get,
    sprint_report_stream_open,
)
from ai_proxy.schemas import (
    AnalyzeIn,
    AnalyzeStreamIn,
    EpicReportIn,
    QuestionIn,
    ReleaseNotesIn,
    SprintReportIn,
    SummarizeIn,
)
from ai_proxy.services import (
    issue_analysis_get,
    issue_analysis_stream_open,
    jql_summary_get,
    jql_summary_stream_open,
)
from ai_service.contract.openapi import sse_doc
from ai_service.contract.questions import JqlFromQuestion
from ai_service.contract.release_notes import ReleaseNotes
from ai_service.contract.reports import EpicReport, SprintReport
from ai_service.contract.schemas import Analysis, ErrorOut, Summary
from core.observability import request_id_var
from core.sse import sse_response

router = Router(tags=["ai"], auth=AISessionAuth())

# The resumable summary's event ids: its run, then the event's number in it.
RUN_EVENT_ID = "^[0-9a-f]{32}:[0-9]+$"

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
    openapi_extra=sse_doc(
        "Server-sent events: log, delta (by section), result, then done "
        "or one error; `: keepalive` comments at least every 15 s."
    ),
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
                "schema": {"type": "string", "pattern": RUN_EVENT_ID},
                "description": "Resume: the id of the last event received (`<run>:<n>`); the "
                "events after it are replayed, then the run is followed (or, if it was "
                "cancelled, a new run of the same request).",
            }
        ],
        **sse_doc(
            "Server-sent events, ids `<run>:<n>`: log (count, fetch with "
            "done/total, then the model's map, combine, queue, load, think), delta "
            "(section summary), one result (the whole summary JSON), then done or one "
            "error; `: keepalive` comments at least every 15 s.",
            id_pattern=RUN_EVENT_ID,
        ),
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


def _report_stream_doc(what: str) -> dict[str, Any]:
    return sse_doc(
        f"Server-sent events: log fetch (done/total) while {what} is read "
        "from Jira, then the model's log (queue, load, think), delta (section summary: "
        "the narrative as written), one result (section report: the whole report JSON), "
        "then done (coverage, duration_ms, quality) or one error; `: keepalive` comments "
        "at least every 15 s."
    )


@router.post("/sprint-report", response={200: SprintReport, **ERRORS})
async def sprint_report(request: HttpRequest, body: SprintReportIn) -> SprintReport:
    """Report of a closed or active sprint of a scrum board: the facts computed from Jira
    (committed, added, removed, completed, carried over, velocity, blockers) and the narrative
    written around them. 404 `board_not_found` / `sprint_not_found`; 422 `invalid_input` for a
    kanban board or a future sprint."""
    return await sprint_report_get(
        ctx=_ctx(request),
        board_id=body.board_id,
        sprint_id=body.sprint_id,
        language=body.language,
        audience=body.audience,
        refresh=body.refresh,
    )


@router.post(
    "/sprint-report/stream",
    response={200: None, **ERRORS},
    openapi_extra=_report_stream_doc("the sprint"),
)
async def sprint_report_stream(request: HttpRequest, body: SprintReportIn) -> HttpResponseBase:
    """The sprint report as server-sent events. Cheap checks (session, CSRF, body, quota, stream
    cap) answer with a status; after the first bytes, failures (board or sprint not found, a
    kanban board, Jira, the model) are one final `error` event."""
    stream = await sprint_report_stream_open(
        ctx=_ctx(request),
        board_id=body.board_id,
        sprint_id=body.sprint_id,
        language=body.language,
        audience=body.audience,
        refresh=body.refresh,
        request_id=request_id_var.get(),
    )
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


@router.post("/epic-report", response={200: EpicReport, **ERRORS})
async def epic_report(request: HttpRequest, body: EpicReportIn) -> EpicReport:
    """Report of an epic and its direct children: progress by status and points, unestimated
    and stale children, the due date against the time elapsed, and the narrative. 404
    `issue_not_found`; 422 `invalid_input` for an issue that is not an epic."""
    return await epic_report_get(
        ctx=_ctx(request),
        epic_key=body.epic_key,
        language=body.language,
        audience=body.audience,
        refresh=body.refresh,
    )


@router.post(
    "/epic-report/stream",
    response={200: None, **ERRORS},
    openapi_extra=_report_stream_doc("the epic and its children"),
)
async def epic_report_stream(request: HttpRequest, body: EpicReportIn) -> HttpResponseBase:
    """The epic report as server-sent events; after the first bytes, failures (issue not found,
    not an epic, Jira, the model) are one final `error` event."""
    stream = await epic_report_stream_open(
        ctx=_ctx(request),
        epic_key=body.epic_key,
        language=body.language,
        audience=body.audience,
        refresh=body.refresh,
        request_id=request_id_var.get(),
    )
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


@router.post("/release-notes", response={200: ReleaseNotes, **ERRORS})
async def release_notes(request: HttpRequest, body: ReleaseNotesIn) -> ReleaseNotes:
    """Release notes of a fix version: every issue of the version is placed by code in a
    section (features, improvements, fixes, known issues) or omitted with its reason (internal,
    no_user_impact, not_done), then each item is worded by the model; `markdown` is the whole
    notes. 404 `project_not_found` / `version_not_found`; 422 `invalid_input` for a malformed key
    or a version of more than 1,000 issues."""
    return await release_notes_get(
        ctx=_ctx(request),
        project_key=body.project_key,
        version=body.version,
        language=body.language,
        audience=body.audience,
        refresh=body.refresh,
    )


@router.post(
    "/release-notes/stream",
    response={200: None, **ERRORS},
    openapi_extra=sse_doc(
        "Server-sent events: log fetch (done/total) while the version's "
        "issues are read from Jira, then the model's log (queue, load, think), delta "
        "(by section), one result (section notes: the whole release notes JSON), then "
        "done or one error; `: keepalive` comments at least every 15 s."
    ),
)
async def release_notes_stream(request: HttpRequest, body: ReleaseNotesIn) -> HttpResponseBase:
    """The release notes as server-sent events; after the first bytes, failures (project or
    version not found, Jira, the model) are one final `error` event."""
    stream = await release_notes_stream_open(
        ctx=_ctx(request),
        project_key=body.project_key,
        version=body.version,
        language=body.language,
        audience=body.audience,
        refresh=body.refresh,
        request_id=request_id_var.get(),
    )
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


@router.post("/jql-from-question", response={200: JqlFromQuestion, **ERRORS})
async def jql_from_question(request: HttpRequest, body: QuestionIn) -> JqlFromQuestion:
    """A question in plain language turned into JQL, checked by Jira (`jql/parse`, strict): the
    query, its explanation, Jira's warnings and the approximate count of its issues. Nothing
    else runs. One repair when Jira refuses the first proposal (`repaired: true`, Jira's
    messages in `warnings`); 422 `invalid_jql` with Jira's words when it refuses the repair
    too; 422 `invalid_input` for a blank question; one quota point."""
    return await jql_from_question_get(
        ctx=_ctx(request), question=body.question, language=body.language
    )
