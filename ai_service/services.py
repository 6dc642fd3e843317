"""What ai-service's handlers call: the engine with this service's configuration, the per-process
stream cap and the request metrics."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from functools import cache

from django.conf import settings

from ai_service.contract.events import error_event
from ai_service.contract.questions import JqlProposal, JqlQuestionRequest
from ai_service.contract.release_notes import ReleaseNotes, ReleaseNotesRequest
from ai_service.contract.reports import (
    EpicReport,
    EpicReportRequest,
    SprintReport,
    SprintReportRequest,
)
from ai_service.contract.schemas import Analysis, AnalyzeRequest, SummarizeRequest, Summary
from ai_service.engine import (
    EngineConfig,
    epic_report,
    epic_report_stream,
    issue_analyze,
    issue_analyze_stream,
    jql_propose,
    jql_summarize,
    jql_summarize_stream,
    release_notes,
    release_notes_stream,
    sprint_report,
    sprint_report_stream,
)
from ai_service.engine.readiness import llm_check
from ai_service.metrics import LATENCY, REQUESTS, STREAMS_IN_FLIGHT
from core.errors import ApiError
from core.health import Check, probe_redis
from core.sse import Event, EventStream, StreamSlots, TooManyStreams

STREAM_ENDPOINT = "analyze-issue/stream"
SUMMARY_STREAM_ENDPOINT = "summarize-jql/stream"
SPRINT_REPORT_STREAM_ENDPOINT = "sprint-report/stream"
EPIC_REPORT_STREAM_ENDPOINT = "epic-report/stream"
RELEASE_NOTES_STREAM_ENDPOINT = "release-notes/stream"
# At most AI_MAX_STREAMS streams per process.
STREAM_SLOTS = StreamSlots(
    limit=lambda: int(settings.AI_MAX_STREAMS), on_change=STREAMS_IN_FLIGHT.inc
)


@cache
def engine_config() -> EngineConfig:
    return EngineConfig.from_settings(settings)


async def summary_generate(*, request: SummarizeRequest) -> Summary:
    with _measured("summarize-jql"):
        return await jql_summarize(config=engine_config(), request=request)


async def analysis_generate(*, request: AnalyzeRequest) -> Analysis:
    with _measured("analyze-issue"):
        return await issue_analyze(config=engine_config(), request=request)


async def sprint_report_generate(*, request: SprintReportRequest) -> SprintReport:
    with _measured("sprint-report"):
        return await sprint_report(config=engine_config(), request=request)


async def epic_report_generate(*, request: EpicReportRequest) -> EpicReport:
    with _measured("epic-report"):
        return await epic_report(config=engine_config(), request=request)


async def release_notes_generate(*, request: ReleaseNotesRequest) -> ReleaseNotes:
    with _measured("release-notes"):
        return await release_notes(config=engine_config(), request=request)


def release_notes_stream_open(*, request: ReleaseNotesRequest) -> EventStream:
    """The streamed release notes, holding one of this process's stream slots until they end."""
    return _stream_open(
        RELEASE_NOTES_STREAM_ENDPOINT,
        lambda: release_notes_stream(config=engine_config(), request=request),
    )


async def jql_proposal_generate(*, request: JqlQuestionRequest) -> JqlProposal:
    with _measured("jql-from-question"):
        return await jql_propose(config=engine_config(), request=request)


def sprint_report_stream_open(*, request: SprintReportRequest) -> EventStream:
    """The streamed sprint report, holding one of this process's stream slots until it ends."""
    return _stream_open(
        SPRINT_REPORT_STREAM_ENDPOINT,
        lambda: sprint_report_stream(config=engine_config(), request=request),
    )


def epic_report_stream_open(*, request: EpicReportRequest) -> EventStream:
    """The streamed epic report, holding one of this process's stream slots until it ends."""
    return _stream_open(
        EPIC_REPORT_STREAM_ENDPOINT,
        lambda: epic_report_stream(config=engine_config(), request=request),
    )


def analysis_stream_open(*, request: AnalyzeRequest) -> EventStream:
    """The streamed analysis, holding one of this process's stream slots until it ends."""
    return _stream_open(
        STREAM_ENDPOINT, lambda: issue_analyze_stream(config=engine_config(), request=request)
    )


def summary_stream_open(*, request: SummarizeRequest, account_id: str) -> EventStream:
    """The streamed summary (progress, map results kept in Redis), holding a stream slot."""
    return _stream_open(
        SUMMARY_STREAM_ENDPOINT,
        lambda: jql_summarize_stream(
            config=engine_config(), request=request, account_id=account_id
        ),
    )


def _stream_open(endpoint: str, events: Callable[[], AsyncGenerator[Event, None]]) -> EventStream:
    try:
        slot = STREAM_SLOTS.acquire()
    except TooManyStreams:
        REQUESTS.labels(endpoint, TooManyStreams.code).inc()
        raise
    started = time.perf_counter()

    def on_close(outcome: str) -> None:
        slot.release()
        REQUESTS.labels(endpoint, outcome).inc()
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)

    return EventStream(events=events(), on_error=error_event, on_close=on_close)


def readiness_checks() -> dict[str, Check]:
    """``/readyz``: Redis (the shared LLM limiter) answers; the model is on the LLM server and
    its usable context is large enough."""

    async def llm() -> str:
        return await llm_check(engine_config())

    return {"redis": probe_redis, "llm": llm}


@contextlib.contextmanager
def _measured(endpoint: str) -> Iterator[None]:
    started = time.perf_counter()
    code = "ok"
    try:
        yield
    except ApiError as exc:
        code = str(exc.code)
        raise
    except Exception:
        code = "internal_error"
        raise
    finally:
        REQUESTS.labels(endpoint, code).inc()
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
