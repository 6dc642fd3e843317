"""The NinjaAPI of ai-service: health, and the /ai/* router called by the public API with a signed
bearer token. Handlers parse and call one service; errors leave as ``{"detail", "code"}`` through
the same mapping as the public API's (``core.errors``)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from ninja import NinjaAPI, Router

from ai_service import services
from ai_service.auth import ServiceTokenAuth
from ai_service.contract.openapi import sse_doc
from ai_service.contract.questions import JqlProposal, JqlQuestionRequest
from ai_service.contract.release_notes import ReleaseNotes, ReleaseNotesRequest
from ai_service.contract.reports import (
    EpicReport,
    EpicReportRequest,
    SprintReport,
    SprintReportRequest,
)
from ai_service.contract.schemas import (
    Analysis,
    AnalyzeRequest,
    ErrorOut,
    SummarizeRequest,
    Summary,
)
from ai_service.contract.tokens import InvalidServiceToken
from core.errors import api_error_response, install_error_handlers
from core.health import health_router
from core.sse import sse_response

api = NinjaAPI(
    title="jira-ai ai-service",
    version="1.0.0",
    description="LLM engine of jira-ai, called by the public API with a signed bearer token.",
    urls_namespace="ai_service_api",
    auth=ServiceTokenAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)


@api.exception_handler(InvalidServiceToken)
def on_invalid_token(request: HttpRequest, exc: InvalidServiceToken) -> HttpResponse:
    response = api_error_response(exc)
    response["WWW-Authenticate"] = 'Bearer realm="ai-service"'
    return response


router = Router(tags=["ai"])
ERRORS = {401: ErrorOut, 413: ErrorOut, 422: ErrorOut, 502: ErrorOut, 503: ErrorOut, 504: ErrorOut}


@router.post("/summarize-jql", response={200: Summary, **ERRORS})
async def summarize_jql(request: HttpRequest, body: SummarizeRequest) -> Summary:
    """Summary of the issues of a JQL query (fetched from Jira by the caller)."""
    return await services.summary_generate(request=body)


@router.post("/analyze-issue", response={200: Analysis, **ERRORS})
async def analyze_issue(request: HttpRequest, body: AnalyzeRequest) -> Analysis:
    """Analysis of one issue with its comments (newest first)."""
    return await services.analysis_generate(request=body)


@router.post(
    "/analyze-issue/stream",
    response={200: None, **ERRORS},
    openapi_extra=sse_doc("Server-sent events: log, delta, result, then done or error."),
)
async def analyze_issue_stream(request: HttpRequest, body: AnalyzeRequest) -> HttpResponseBase:
    """The analysis as server-sent events, sections streamed as the model writes them."""
    stream = services.analysis_stream_open(request=body)
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


@router.post(
    "/summarize-jql/stream",
    response={200: None, **ERRORS},
    openapi_extra=sse_doc(
        "Server-sent events: log (map done/total, combine, queue, load, "
        "think), delta (the narrative), one result (the whole summary), then done or "
        "error."
    ),
)
async def summarize_jql_stream(request: HttpRequest, body: SummarizeRequest) -> HttpResponseBase:
    """The summary as server-sent events: progress of the map-reduce, the narrative as it is
    written, then the whole summary; map results are kept in Redis for a resumed run."""
    caller = request.auth  # type: ignore[attr-defined]
    stream = services.summary_stream_open(
        request=body, account_id=str(getattr(caller, "account_id", ""))
    )
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


REPORT_STREAM_DOC = sse_doc(
    "Server-sent events: log (queue, load, think), delta (the narrative), "
    "one result (section report: the whole report), then done or error."
)


@router.post("/sprint-report", response={200: SprintReport, **ERRORS})
async def sprint_report(request: HttpRequest, body: SprintReportRequest) -> SprintReport:
    """The narrative of a sprint report around the facts the caller computed from Jira."""
    return await services.sprint_report_generate(request=body)


@router.post(
    "/sprint-report/stream", response={200: None, **ERRORS}, openapi_extra=REPORT_STREAM_DOC
)
async def sprint_report_stream(request: HttpRequest, body: SprintReportRequest) -> HttpResponseBase:
    """The sprint report as server-sent events, its narrative streamed as it is written."""
    stream = services.sprint_report_stream_open(request=body)
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


@router.post("/epic-report", response={200: EpicReport, **ERRORS})
async def epic_report(request: HttpRequest, body: EpicReportRequest) -> EpicReport:
    """The narrative of an epic's status report around the facts the caller computed."""
    return await services.epic_report_generate(request=body)


@router.post("/epic-report/stream", response={200: None, **ERRORS}, openapi_extra=REPORT_STREAM_DOC)
async def epic_report_stream(request: HttpRequest, body: EpicReportRequest) -> HttpResponseBase:
    """The epic report as server-sent events, its narrative streamed as it is written."""
    stream = services.epic_report_stream_open(request=body)
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


@router.post("/release-notes", response={200: ReleaseNotes, **ERRORS})
async def release_notes(request: HttpRequest, body: ReleaseNotesRequest) -> ReleaseNotes:
    """The wording of a version's release notes, around the sections the caller planned."""
    return await services.release_notes_generate(request=body)


@router.post(
    "/release-notes/stream",
    response={200: None, **ERRORS},
    openapi_extra=sse_doc(
        "Server-sent events: log (queue, load, think), delta (section "
        "notes: each item's Markdown line once checked), one result (section notes: "
        "the whole release notes), then done or error."
    ),
)
async def release_notes_stream(request: HttpRequest, body: ReleaseNotesRequest) -> HttpResponseBase:
    """The release notes as server-sent events."""
    stream = services.release_notes_stream_open(request=body)
    return sse_response(stream, keepalive=float(settings.AI_KEEPALIVE_SECONDS))


@router.post("/jql-from-question", response={200: JqlProposal, **ERRORS})
async def jql_from_question(request: HttpRequest, body: JqlQuestionRequest) -> JqlProposal:
    """The model's JQL for a question in plain language, with its explanation; with
    ``previous`` (the JQL Jira refused and its messages), the repair turn."""
    return await services.jql_proposal_generate(request=body)


api.add_router(
    "",
    health_router(
        readiness=services.readiness_checks, summary="Readiness: the LLM endpoint answers"
    ),
)
api.add_router("/ai", router)
