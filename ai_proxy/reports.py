"""Sprint and epic reports and release notes for the signed-in user: the facts computed from
Jira (``ai_proxy.sprint_facts``, ``ai_proxy.epic_facts``, the plan of ``ai_proxy.release_notes``),
then the account's backend (ai-service or the local engine), with answers cached in Redis like the
summaries. The three share one path (:class:`_Kind` says what differs).

Cache (``services._cache_key``): per account and site, keyed by a digest of the computed facts,
the ``key`` and ``updated`` of every issue they cover (the sprint's issues, or the epic and its
children, or the version's), the board and sprint (or the epic key, or the version and its
plan), the audience, the language, the prompt version
and the model. A changed issue or a changed figure is a new key, so an entry is never stale; a
cached report is answered with ``cached: true`` and the very facts it was generated from (which
are the request's: the digest covers them). ``refresh=True`` re-reads Jira and regenerates.

Streams: our own ``log fetch {done, total}`` while the facts are read from Jira (the facts
builders' ``on_fetch``), then the backend's events (``log`` queue/load/think, ``delta`` summary,
one ``result {section: "report"}``, or ``"notes"`` for release notes, ``done``) or, from the
cache, ``result`` and ``done`` at once.
A streamed result is stored in the cache as the synchronous endpoint stores it. The report streams
are not resumable runs (``core.runs``) as the summary's is: a report reads one sprint or one epic
and one model call, so a new request costs about what a resume would, and the cache keeps a
finished one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings

from accounts.context import UserContext
from ai_proxy.backends import backend_for
from ai_proxy.epic_facts import epic_report_request
from ai_proxy.metrics import AI_REQUESTS
from ai_proxy.quota import quota_hit
from ai_proxy.release_notes import release_notes_request
from ai_proxy.services import (
    _cache,
    _cache_key,
    fetch_log,
    language_resolve,
    stream_slot_open,
)
from ai_proxy.sprint_facts import sprint_report_request
from ai_service.contract.events import DoneData, ResultData, error_event
from ai_service.contract.release_notes import NotesAudience, ReleaseNotes, ReleaseNotesRequest
from ai_service.contract.reports import (
    Audience,
    EpicReport,
    EpicReportRequest,
    SprintReport,
    SprintReportRequest,
)
from ai_service.contract.schemas import Language, NormalizedIssue
from core.sse import Event, EventStream

logger = logging.getLogger(__name__)

REPORT_SECTION = "report"
NOTES_SECTION = "notes"
OnFetch = Callable[[int, int], None]
Request = TypeVar("Request", SprintReportRequest, EpicReportRequest, ReleaseNotesRequest)
Report = TypeVar("Report", SprintReport, EpicReport, ReleaseNotes)
# The facts builder of a report, given the progress callback.
Build = Callable[[OnFetch | None], Coroutine[Any, Any, Request]]


@dataclass(frozen=True)
class _Kind(Generic[Request, Report]):
    """What differs between the reports: names, the answer's schema and its ``result``
    section, the backend's two calls for this request type, what the cache key covers, how many
    issues the request covers, and the ``done`` coverage of a cached answer."""

    endpoint: str
    cache_kind: str
    report: type[Report]
    call: Callable[[str, Request], Awaitable[Report]]
    stream: Callable[[str, Request, str], AsyncGenerator[Event, None]]
    material: Callable[[Request], dict[str, Any]]
    covered: Callable[[Request], int]
    coverage: Callable[[Report], dict[str, int]]
    section: str = REPORT_SECTION


def _issue_stamps(issues: list[NormalizedIssue]) -> list[list[str | None]]:
    return [[i.key, i.updated.isoformat() if i.updated else None] for i in issues]


def _sprint_material(request: SprintReportRequest) -> dict[str, Any]:
    return {
        "board": request.board.id,
        "sprint": request.sprint.model_dump(mode="json"),
        "facts": request.facts.model_dump(mode="json"),
        "issues": _issue_stamps(request.issues),
        "audience": request.audience,
        "language": request.language,
    }


def _epic_material(request: EpicReportRequest) -> dict[str, Any]:
    return {
        "epic": _issue_stamps([request.epic]),
        "facts": request.facts.model_dump(mode="json"),
        "issues": _issue_stamps(request.children),
        "audience": request.audience,
        "language": request.language,
    }


def _notes_material(request: ReleaseNotesRequest) -> dict[str, Any]:
    # The plan names every issue of the version (omitted ones too): with the stamps of the
    # planned ones, a changed issue, or one moved in or out of the version, is a new key.
    return {
        "project": request.project_key,
        "version": request.version.model_dump(mode="json"),
        "sections": [s.model_dump(mode="json") for s in request.sections],
        "omitted": [o.model_dump(mode="json") for o in request.omitted],
        "issues": _issue_stamps(request.issues),
        "audience": request.audience,
        "language": request.language,
    }


def _analyzed_coverage(report: SprintReport | EpicReport) -> dict[str, int]:
    return {"analyzed": report.coverage.analyzed, "total": report.coverage.total}


def _report_cache_key(ctx: UserContext, kind: _Kind[Request, Report], request: Request) -> str:
    return _cache_key(kind.cache_kind, ctx, kind.material(request))


def _sprint_kind(ctx: UserContext, endpoint: str) -> _Kind[SprintReportRequest, SprintReport]:
    backend = backend_for(ctx.account_id, endpoint)
    return _Kind(
        endpoint=endpoint,
        cache_kind="sprint_report",
        report=SprintReport,
        call=lambda account_id, request: backend.sprint_report(
            account_id=account_id, request=request
        ),
        stream=lambda account_id, request, request_id: backend.sprint_report_stream(
            account_id=account_id, request=request, request_id=request_id
        ),
        material=_sprint_material,
        covered=lambda request: len(request.issues),
        coverage=_analyzed_coverage,
    )


def _epic_kind(ctx: UserContext, endpoint: str) -> _Kind[EpicReportRequest, EpicReport]:
    backend = backend_for(ctx.account_id, endpoint)
    return _Kind(
        endpoint=endpoint,
        cache_kind="epic_report",
        report=EpicReport,
        call=lambda account_id, request: backend.epic_report(
            account_id=account_id, request=request
        ),
        stream=lambda account_id, request, request_id: backend.epic_report_stream(
            account_id=account_id, request=request, request_id=request_id
        ),
        material=_epic_material,
        covered=lambda request: len(request.children),
        coverage=_analyzed_coverage,
    )


def _notes_kind(ctx: UserContext, endpoint: str) -> _Kind[ReleaseNotesRequest, ReleaseNotes]:
    backend = backend_for(ctx.account_id, endpoint)
    return _Kind(
        endpoint=endpoint,
        cache_kind="release_notes",
        report=ReleaseNotes,
        call=lambda account_id, request: backend.release_notes(
            account_id=account_id, request=request
        ),
        stream=lambda account_id, request, request_id: backend.release_notes_stream(
            account_id=account_id, request=request, request_id=request_id
        ),
        material=_notes_material,
        covered=lambda request: len(request.issues) + len(request.omitted),
        coverage=lambda notes: notes.coverage.model_dump(),
        section=NOTES_SECTION,
    )


async def _report_get(
    *,
    ctx: UserContext,
    kind: _Kind[Request, Report],
    build: Build[Request],
    refresh: bool,
) -> Report:
    request = await build(None)
    key = _report_cache_key(ctx, kind, request)
    if not refresh and (cached := await _cache().get(key, kind.report)) is not None:
        AI_REQUESTS.labels(kind.endpoint, "cached").inc()
        return cached.model_copy(update={"cached": True})
    report = await kind.call(ctx.account_id, request)
    report = report.model_copy(update={"cached": False})
    await _cache().set(key, report, int(settings.AI_CACHE_TTL_SECONDS))
    AI_REQUESTS.labels(kind.endpoint, "ok").inc()
    return report


async def _facts_with_progress(
    kind: _Kind[Request, Any], build: Build[Request], language: Language
) -> AsyncGenerator[Event | Request, None]:
    """A ``log fetch {done, total}`` each time the facts builder reports progress, then its
    request. Facts built from Jira answers the Jira cache held report no progress: one
    ``fetch`` log then says how many issues they cover, so that every stream starts the same
    way. Closing this generator cancels the reading of Jira."""
    progress: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()
    task = asyncio.create_task(build(lambda done, total: progress.put_nowait((done, total))))
    task.add_done_callback(lambda _: progress.put_nowait(None))
    reported = False
    try:
        while (item := await progress.get()) is not None:
            done, total = item
            reported = True
            yield fetch_log(done, max(done, total), language)
        request = task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if not reported:
        covered = kind.covered(request)
        yield fetch_log(covered, covered, language)
    yield request


async def _report_events(
    *,
    ctx: UserContext,
    kind: _Kind[Request, Report],
    build: Build[Request],
    language: Language,
    refresh: bool,
    request_id: str,
) -> AsyncGenerator[Event, None]:
    """The streamed report: our ``fetch`` logs, then the cached report (``result`` with
    ``cached: true``, then ``done``) or the backend's events, whose ``result`` is cached. Failures
    raise (the writer turns them into the ``error`` event)."""
    started = time.monotonic()
    request: Request | None = None
    facts = _facts_with_progress(kind, build, language)
    try:
        async for item in facts:
            if isinstance(item, Event):
                yield item
            else:
                request = item
    finally:
        await facts.aclose()
    assert request is not None
    key = _report_cache_key(ctx, kind, request)
    if not refresh and (cached := await _cache().get(key, kind.report)) is not None:
        AI_REQUESTS.labels(kind.endpoint, "cached").inc()
        report = cached.model_copy(update={"cached": True})
        yield ResultData(section=kind.section, content=report.model_dump(mode="json")).event()
        yield DoneData(
            coverage=kind.coverage(report),
            duration_ms=int((time.monotonic() - started) * 1000),
            quality=report.quality.model_dump(),
        ).event()
        return
    events = kind.stream(ctx.account_id, request, request_id)
    try:
        async for event in events:
            if event.name == "result":
                await _report_store(key, event, kind)
            yield event
    finally:
        await events.aclose()


async def _report_store(key: str, event: Event, kind: _Kind[Any, Report]) -> None:
    """The final report of a stream into the AI cache (a later synchronous call is a hit)."""
    try:
        payload = json.loads(event.data)
        if payload.get("section") != kind.section:
            return
        report = kind.report.model_validate(payload["content"])
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("streamed report not cached: unreadable result event")
        return
    await _cache().set(
        key, report.model_copy(update={"cached": False}), int(settings.AI_CACHE_TTL_SECONDS)
    )


def _sprint_build(
    ctx: UserContext,
    board_id: int,
    sprint_id: int,
    language: Language,
    audience: Audience,
    refresh: bool,
) -> Build[SprintReportRequest]:
    def build(on_fetch: OnFetch | None) -> Coroutine[Any, Any, SprintReportRequest]:
        return sprint_report_request(
            ctx=ctx,
            board_id=board_id,
            sprint_id=sprint_id,
            language=language,
            audience=audience,
            refresh=refresh,
            on_fetch=on_fetch,
        )

    return build


def _epic_build(
    ctx: UserContext, epic_key: str, language: Language, audience: Audience, refresh: bool
) -> Build[EpicReportRequest]:
    def build(on_fetch: OnFetch | None) -> Coroutine[Any, Any, EpicReportRequest]:
        return epic_report_request(
            ctx=ctx,
            epic_key=epic_key,
            language=language,
            audience=audience,
            refresh=refresh,
            on_fetch=on_fetch,
        )

    return build


def _notes_build(
    ctx: UserContext,
    project_key: str,
    version: str,
    language: Language,
    audience: NotesAudience,
    refresh: bool,
) -> Build[ReleaseNotesRequest]:
    def build(on_fetch: OnFetch | None) -> Coroutine[Any, Any, ReleaseNotesRequest]:
        return release_notes_request(
            ctx=ctx,
            project_key=project_key,
            version=version,
            language=language,
            audience=audience,
            refresh=refresh,
            on_fetch=on_fetch,
        )

    return build


SPRINT_ENDPOINT = "sprint-report"
SPRINT_STREAM_ENDPOINT = "sprint-report/stream"
EPIC_ENDPOINT = "epic-report"
EPIC_STREAM_ENDPOINT = "epic-report/stream"
NOTES_ENDPOINT = "release-notes"
NOTES_STREAM_ENDPOINT = "release-notes/stream"


async def sprint_report_get(
    *,
    ctx: UserContext,
    board_id: int,
    sprint_id: int,
    language: Language | None = None,
    audience: Audience = "team",
    refresh: bool = False,
) -> SprintReport:
    """The report of sprint ``sprint_id`` of board ``board_id`` (closed or active; 422 for a
    kanban board or a future sprint, 404 for an unknown board or sprint); one quota point."""
    await quota_hit(account_id=ctx.account_id)
    resolved = language_resolve(language)
    return await _report_get(
        ctx=ctx,
        kind=_sprint_kind(ctx, SPRINT_ENDPOINT),
        build=_sprint_build(ctx, board_id, sprint_id, resolved, audience, refresh),
        refresh=refresh,
    )


async def epic_report_get(
    *,
    ctx: UserContext,
    epic_key: str,
    language: Language | None = None,
    audience: Audience = "team",
    refresh: bool = False,
) -> EpicReport:
    """The report of epic ``epic_key`` and its direct children (404 ``issue_not_found``, 422 for
    an issue that is not an epic); one quota point."""
    await quota_hit(account_id=ctx.account_id)
    resolved = language_resolve(language)
    return await _report_get(
        ctx=ctx,
        kind=_epic_kind(ctx, EPIC_ENDPOINT),
        build=_epic_build(ctx, epic_key, resolved, audience, refresh),
        refresh=refresh,
    )


async def sprint_report_stream_open(
    *,
    ctx: UserContext,
    board_id: int,
    sprint_id: int,
    language: Language | None = None,
    audience: Audience = "team",
    refresh: bool = False,
    request_id: str = "-",
) -> EventStream:
    """The streamed sprint report, holding one of this process's stream slots until it ends;
    one quota point (none when the stream cap refuses it)."""
    on_close = await stream_slot_open(ctx=ctx, endpoint=SPRINT_STREAM_ENDPOINT)
    resolved = language_resolve(language)
    return EventStream(
        events=_report_events(
            ctx=ctx,
            kind=_sprint_kind(ctx, SPRINT_STREAM_ENDPOINT),
            build=_sprint_build(ctx, board_id, sprint_id, resolved, audience, refresh),
            language=resolved,
            refresh=refresh,
            request_id=request_id,
        ),
        on_error=error_event,
        on_close=on_close,
    )


async def epic_report_stream_open(
    *,
    ctx: UserContext,
    epic_key: str,
    language: Language | None = None,
    audience: Audience = "team",
    refresh: bool = False,
    request_id: str = "-",
) -> EventStream:
    """The streamed epic report, holding one of this process's stream slots until it ends; one
    quota point (none when the stream cap refuses it)."""
    on_close = await stream_slot_open(ctx=ctx, endpoint=EPIC_STREAM_ENDPOINT)
    resolved = language_resolve(language)
    return EventStream(
        events=_report_events(
            ctx=ctx,
            kind=_epic_kind(ctx, EPIC_STREAM_ENDPOINT),
            build=_epic_build(ctx, epic_key, resolved, audience, refresh),
            language=resolved,
            refresh=refresh,
            request_id=request_id,
        ),
        on_error=error_event,
        on_close=on_close,
    )


async def release_notes_get(
    *,
    ctx: UserContext,
    project_key: str,
    version: str,
    language: Language | None = None,
    audience: NotesAudience = "users",
    refresh: bool = False,
) -> ReleaseNotes:
    """The release notes of version ``version`` (its name) of project ``project_key``: every
    issue of the version in a section or omitted with its reason (``ai_proxy.release_notes``);
    404 ``project_not_found`` / ``version_not_found``; one quota point."""
    await quota_hit(account_id=ctx.account_id)
    resolved = language_resolve(language)
    return await _report_get(
        ctx=ctx,
        kind=_notes_kind(ctx, NOTES_ENDPOINT),
        build=_notes_build(ctx, project_key, version, resolved, audience, refresh),
        refresh=refresh,
    )


async def release_notes_stream_open(
    *,
    ctx: UserContext,
    project_key: str,
    version: str,
    language: Language | None = None,
    audience: NotesAudience = "users",
    refresh: bool = False,
    request_id: str = "-",
) -> EventStream:
    """The streamed release notes, holding one of this process's stream slots until it ends;
    one quota point (none when the stream cap refuses it)."""
    on_close = await stream_slot_open(ctx=ctx, endpoint=NOTES_STREAM_ENDPOINT)
    resolved = language_resolve(language)
    return EventStream(
        events=_report_events(
            ctx=ctx,
            kind=_notes_kind(ctx, NOTES_STREAM_ENDPOINT),
            build=_notes_build(ctx, project_key, version, resolved, audience, refresh),
            language=resolved,
            refresh=refresh,
            request_id=request_id,
        ),
        on_error=error_event,
        on_close=on_close,
    )
