"""Summarize a JQL query and analyze an issue for the signed-in user: Jira data through the jira
app, normalized into the engine's wire schemas, then the account's backend (ai-service or the local
engine), with results cached in Redis.

Cache: per account and site, keyed by a digest of the whole input (the JQL and the ``key`` and
``updated`` of every issue it returned, or the issue key, its ``updated`` and its comment count),
the prompt version, the model and the language. A changed issue is a new key, so an entry is never
stale; ``refresh=True`` re-reads Jira and regenerates. A Redis failure on the cache only costs the
cache (logged), never the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable
from functools import partial
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError

from accounts.context import UserContext
from ai_proxy.backends import backend_for, engine_config
from ai_proxy.errors import RequestStoreUnavailable
from ai_proxy.metrics import AI_REQUESTS, STREAMS_IN_FLIGHT
from ai_proxy.progress import progress_message as api_progress_message
from ai_proxy.quota import quota_hit
from ai_service.contract.events import DoneData, LogData, ResultData, error_event
from ai_service.contract.schemas import (
    LONG_TEXT_MAX,
    Analysis,
    AnalyzeRequest,
    Comment,
    Language,
    NormalizedIssue,
    SummarizeRequest,
    Summary,
)
from ai_service.engine import PROMPT_VERSION
from ai_service.engine.pipeline import language_of
from ai_service.engine.progress import progress_message
from core.cache import RedisJsonCache
from core.errors import ApiError, ErrorCode
from core.redis import get_async_redis
from core.runs import RunStore, last_event_id_parse
from core.sse import Event, EventStream, StreamSlots, TooManyStreams
from jira.models import Comment as JiraComment
from jira.models import Issue, IssueWithComments, SearchResult
from jira.services import SearchProgress, issue_with_comments, issues_search

logger = logging.getLogger(__name__)

CACHE_PREFIX = "ai"
STREAM_ENDPOINT = "analyze-issue/stream"
SUMMARY_STREAM_ENDPOINT = "summarize-jql/stream"
# Runs of streamed summaries (core.runs), under the AI cache's prefix.
RUNS_PREFIX = f"{CACHE_PREFIX}:run"
# At most AI_MAX_STREAMS relayed streams per process.
STREAM_SLOTS = StreamSlots(
    limit=lambda: int(settings.AI_MAX_STREAMS), on_change=STREAMS_IN_FLIGHT.inc
)
# The wire contract caps comments per request; the engine keeps the newest that fit its budget.
MAX_COMMENTS = 5_000


def language_resolve(language: Language | None) -> Language:
    """The requested language, else the site's default (``LANGUAGE_CODE``), by the engine's rule
    (the cache key must name the language the engine will answer in)."""
    return language_of(language, engine_config())


def _cache_key(kind: str, ctx: UserContext, material: dict[str, Any]) -> str:
    config = engine_config()
    material = {**material, "prompt": PROMPT_VERSION, "model": f"{config.provider}:{config.model}"}
    digest = hashlib.sha256(
        json.dumps(material, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return f"{CACHE_PREFIX}:{kind}:{ctx.account_id}:{ctx.cloud_id}:{digest}"


def _cache() -> RedisJsonCache:
    return RedisJsonCache(get_async_redis(), name="AI")


def _clip(text: str | None) -> str | None:
    """Long Jira texts (a 1 MB description) are cut to the wire schema's limit; the engine budgets
    what it sends to the model anyway, and the cut is said in the text itself."""
    if text is None or len(text) <= LONG_TEXT_MAX:
        return text
    note = f"\n[... {len(text) - LONG_TEXT_MAX + 100:,} more characters not sent]"
    return text[: LONG_TEXT_MAX - 100] + note


def engine_issue(issue: Issue) -> NormalizedIssue:
    data = issue.model_dump()
    data["description"] = _clip(data.get("description"))
    return NormalizedIssue.model_validate(data)


def _engine_comment(comment: JiraComment) -> Comment:
    data = comment.model_dump()
    data["body"] = _clip(data.get("body"))
    return Comment.model_validate(data)


def _analyze_request(data: IssueWithComments, language: Language) -> AnalyzeRequest:
    return AnalyzeRequest(
        issue=engine_issue(data.issue),
        comments=[_engine_comment(c) for c in data.comments[:MAX_COMMENTS]],
        comments_total=data.comments_total,
        language=language,
    )


def _summary_cache_key(ctx: UserContext, jql: str, found: SearchResult, language: str) -> str:
    return _cache_key(
        "summary",
        ctx,
        {
            "jql": jql.strip(),
            "total": found.total,
            "issues": [[i.key, i.updated.isoformat()] for i in found.issues],
            "language": language,
        },
    )


def _summarize_request(
    ctx: UserContext, jql: str, found: SearchResult, language: Language, *, refresh: bool = False
) -> SummarizeRequest:
    return SummarizeRequest(
        jql=jql.strip(),
        issues=[engine_issue(i) for i in found.issues],
        total=found.total,
        language=language,
        cloud_id=ctx.cloud_id,
        refresh=refresh,
    )


async def jql_summary_get(
    *,
    ctx: UserContext,
    jql: str,
    max_issues: int = 100,
    language: Language | None = None,
    refresh: bool = False,
) -> Summary:
    """The summary of up to ``max_issues`` issues matching ``jql`` (coverage says how many of
    Jira's total were analyzed); counts one request of the account's quota."""
    await quota_hit(account_id=ctx.account_id)
    language = language_resolve(language)
    found = await issues_search(ctx=ctx, jql=jql, limit=max_issues, refresh=refresh)
    key = _summary_cache_key(ctx, jql, found, language)
    if not refresh and (cached := await _cache().get(key, Summary)) is not None:
        AI_REQUESTS.labels("summarize-jql", "cached").inc()
        return cached.model_copy(update={"cached": True})
    request = _summarize_request(ctx, jql, found, language)
    backend = backend_for(ctx.account_id, "summarize-jql")
    summary = await backend.summarize(account_id=ctx.account_id, request=request)
    summary = summary.model_copy(update={"cached": False})
    await _cache().set(key, summary, int(settings.AI_CACHE_TTL_SECONDS))
    AI_REQUESTS.labels("summarize-jql", "ok").inc()
    return summary


async def issue_analysis_get(
    *, ctx: UserContext, issue_key: str, language: Language | None = None, refresh: bool = False
) -> Analysis:
    """The analysis of ``issue_key`` with its comments, newest first; counts one request of the
    account's quota."""
    await quota_hit(account_id=ctx.account_id)
    language = language_resolve(language)
    data = await issue_with_comments(ctx=ctx, key=issue_key, comments_limit=None, refresh=refresh)
    key = _cache_key(
        "analysis",
        ctx,
        {
            "issue": data.issue.key,
            "updated": data.issue.updated.isoformat(),
            "comments_total": data.comments_total,
            "language": language,
        },
    )
    if not refresh and (cached := await _cache().get(key, Analysis)) is not None:
        AI_REQUESTS.labels("analyze-issue", "cached").inc()
        return cached.model_copy(update={"cached": True})
    backend = backend_for(ctx.account_id, "analyze-issue")
    analysis = await backend.analyze(
        account_id=ctx.account_id, request=_analyze_request(data, language)
    )
    analysis = analysis.model_copy(update={"cached": False})
    await _cache().set(key, analysis, int(settings.AI_CACHE_TTL_SECONDS))
    AI_REQUESTS.labels("analyze-issue", "ok").inc()
    return analysis


async def issue_analysis_events(
    *, ctx: UserContext, issue_key: str, language: Language | None, request_id: str = "-"
) -> AsyncGenerator[Event, None]:
    """The streamed analysis as events: our own ``log`` steps (Jira), then the backend's events.
    Failures raise (the writer turns them into the ``error`` event)."""
    language = language_resolve(language)
    yield LogData(
        step="fetch", message=progress_message("jira_reading", language, key=issue_key)
    ).event()
    data = await issue_with_comments(ctx=ctx, key=issue_key, comments_limit=None)
    yield LogData(
        step="fetch",
        message=progress_message(
            "jira_read",
            language,
            key=data.issue.key,
            read=len(data.comments),
            total=data.comments_total,
        ),
    ).event()
    backend = backend_for(ctx.account_id, STREAM_ENDPOINT)
    events = backend.analyze_stream(
        account_id=ctx.account_id,
        request=_analyze_request(data, language),
        request_id=request_id,
    )
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()


async def issue_analysis_stream_open(
    *, ctx: UserContext, issue_key: str, language: Language | None, request_id: str = "-"
) -> EventStream:
    """The streamed analysis of ``issue_key``, holding one of this process's stream slots until
    it ends (``stream_slot_open``)."""
    on_close = await stream_slot_open(ctx=ctx, endpoint=STREAM_ENDPOINT)
    return EventStream(
        events=issue_analysis_events(
            ctx=ctx, issue_key=issue_key, language=language, request_id=request_id
        ),
        on_error=error_event,
        on_close=on_close,
    )


async def stream_slot_open(*, ctx: UserContext, endpoint: str) -> Callable[[str], None]:
    """One of this process's stream slots, then one quota point of the account, for a stream of
    ``endpoint``; returns the stream's ``on_close`` (frees the slot, counts the outcome). The
    slot is taken before the quota: a refused stream costs no quota point."""
    try:
        slot = STREAM_SLOTS.acquire()
    except TooManyStreams:
        AI_REQUESTS.labels(endpoint, TooManyStreams.code).inc()
        raise
    try:
        await quota_hit(account_id=ctx.account_id)
    except BaseException:
        slot.release()
        raise

    def on_close(outcome: str) -> None:
        slot.release()
        AI_REQUESTS.labels(endpoint, outcome).inc()

    return on_close


def fetch_log(done: int, total: int, language: Language) -> Event:
    return LogData(
        step="fetch",
        message=api_progress_message("fetch", language, done=done, total=total),
        done=done,
        total=total,
    ).event()


def _count_log(total: int, language: Language) -> Event:
    return LogData(
        step="count", message=api_progress_message("count", language, total=total), total=total
    ).event()


async def _search_with_progress(
    *, ctx: UserContext, jql: str, max_issues: int, language: Language, refresh: bool
) -> AsyncGenerator[Event | SearchResult, None]:
    """The ``count`` and ``fetch`` logs of the search as Jira answers, then its result. Jira's
    count and its first page are asked for together: a page that comes first waits for the count
    (its ``total`` is the number of issues that will be read: the count, at most ``max_issues``).
    Closing this generator cancels the paging."""
    progress: asyncio.Queue[tuple[str, int] | None] = asyncio.Queue()
    search = asyncio.create_task(
        issues_search(
            ctx=ctx,
            jql=jql,
            limit=max_issues,
            refresh=refresh,
            progress=SearchProgress(
                on_count=lambda n: progress.put_nowait(("count", n)),
                on_page=lambda n: progress.put_nowait(("page", n)),
            ),
        )
    )
    search.add_done_callback(lambda _: progress.put_nowait(None))
    try:
        counted: int | None = None
        target = 0
        waiting: int | None = None
        read: int | None = None
        while (item := await progress.get()) is not None:
            kind, value = item
            if kind == "count":
                counted, target = value, min(value, max_issues)
                yield _count_log(value, language)
                if waiting is None:
                    continue
                value, waiting = waiting, None
            elif counted is None:
                waiting = value
                continue
            read = value
            yield fetch_log(value, max(target, value), language)
        found = search.result()
    finally:
        if not search.done():
            search.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await search
    if counted is None:
        # From the cache: nothing was read from Jira.
        yield _count_log(found.total, language)
    elif read is not None and read != max(target, read):
        # Jira's count is approximate: the last page says how many there were to read.
        yield fetch_log(read, read, language)
    yield found


async def jql_summary_events(
    *,
    ctx: UserContext,
    jql: str,
    max_issues: int,
    language: Language,
    refresh: bool,
    request_id: str = "-",
) -> AsyncGenerator[Event, None]:
    """The streamed summary as events: our own ``count`` and ``fetch`` logs (Jira), then the
    cached summary (``result`` with ``cached: true``, then ``done``) or the backend's events,
    whose ``result`` is stored in the AI cache as the synchronous endpoint stores it. Failures
    raise (the run turns them into the ``error`` event)."""
    started = time.monotonic()
    found: SearchResult | None = None
    search = _search_with_progress(
        ctx=ctx, jql=jql, max_issues=max_issues, language=language, refresh=refresh
    )
    try:
        async for item in search:
            if isinstance(item, SearchResult):
                found = item
            else:
                yield item
    finally:
        await search.aclose()
    assert found is not None
    key = _summary_cache_key(ctx, jql, found, language)
    if not refresh and (cached := await _cache().get(key, Summary)) is not None:
        AI_REQUESTS.labels("summarize-jql", "cached").inc()
        summary = cached.model_copy(update={"cached": True})
        yield ResultData(section="summary", content=summary.model_dump(mode="json")).event()
        yield DoneData(
            coverage={
                "analyzed": summary.coverage.analyzed,
                "total": summary.coverage.total,
                "chunks": summary.coverage.chunks,
                # Nothing was asked of the model: every chunk of the answer is a reused one.
                "chunks_reused": summary.coverage.chunks,
            },
            duration_ms=int((time.monotonic() - started) * 1000),
            quality=summary.quality.model_dump(),
        ).event()
        return
    backend = backend_for(ctx.account_id, SUMMARY_STREAM_ENDPOINT)
    events = backend.summarize_stream(
        account_id=ctx.account_id,
        request=_summarize_request(ctx, jql, found, language, refresh=refresh),
        request_id=request_id,
    )
    try:
        async for event in events:
            if event.name == "result":
                await _summary_store(key, event)
            yield event
    finally:
        await events.aclose()


async def _summary_store(key: str, event: Event) -> None:
    """The final summary of a stream into the AI cache (a later synchronous call is a hit)."""
    try:
        payload = json.loads(event.data)
        if payload.get("section") != "summary":
            return
        summary = Summary.model_validate(payload["content"])
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("streamed summary not cached: unreadable result event")
        return
    await _cache().set(
        key, summary.model_copy(update={"cached": False}), int(settings.AI_CACHE_TTL_SECONDS)
    )


def summary_runs() -> RunStore:
    return RunStore(
        redis=get_async_redis(),
        prefix=RUNS_PREFIX,
        ttl=int(settings.AI_CACHE_TTL_SECONDS),
        heartbeat=float(settings.AI_STREAM_HEARTBEAT_SECONDS),
        on_error=error_event,
    )


async def _run_owner(runs: RunStore, run: str) -> str | None:
    try:
        return await runs.owner(run)
    except RedisError as exc:
        logger.warning("run owner not checked: %s", type(exc).__name__)
        raise RequestStoreUnavailable(retry_after=5) from exc


def _summary_run_key(ctx: UserContext, jql: str, max_issues: int, language: Language) -> str:
    material = json.dumps([jql.strip(), max_issues, language], separators=(",", ":"))
    return (
        f"summary:{ctx.account_id}:{ctx.cloud_id}:{hashlib.sha256(material.encode()).hexdigest()}"
    )


async def jql_summary_progress(
    *,
    ctx: UserContext,
    jql: str,
    max_issues: int = 100,
    language: Language | None = None,
    refresh: bool = False,
) -> AsyncGenerator[Event, None]:
    """The streamed summary's events for a script (``manage.py summarize_jql --stream``): one
    quota point, no stream slot and no resumable run; a failure raises."""
    await quota_hit(account_id=ctx.account_id)
    events = jql_summary_events(
        ctx=ctx,
        jql=jql,
        max_issues=max_issues,
        language=language_resolve(language),
        refresh=refresh,
    )
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()


async def jql_summary_stream_open(
    *,
    ctx: UserContext,
    jql: str,
    max_issues: int = 100,
    language: Language | None = None,
    refresh: bool = False,
    last_event_id: str | None = None,
    request_id: str = "-",
) -> EventStream:
    """The streamed summary of ``jql``, resumable (``core.runs``): the run of this account, site,
    query, ``max_issues`` and language, started here or attached to if one is going on; after
    ``last_event_id`` (``<run>:<n>`` of a run of this account and site) when given, which then
    costs no quota point. Holds one of this process's stream slots until it ends; the slot is
    taken before the quota."""
    if not jql.strip():
        raise ApiError("jql is required.", code=ErrorCode.INVALID_INPUT, status=422)
    try:
        slot = STREAM_SLOTS.acquire()
    except TooManyStreams:
        AI_REQUESTS.labels(SUMMARY_STREAM_ENDPOINT, TooManyStreams.code).inc()
        raise
    runs = summary_runs()
    owner = f"{ctx.account_id}:{ctx.cloud_id}"
    resolved = language_resolve(language)
    try:
        resume = last_event_id_parse(last_event_id)
        if resume is not None and await _run_owner(runs, resume[0]) != owner:
            resume = None
        if resume is None:
            await quota_hit(account_id=ctx.account_id)
    except BaseException:
        slot.release()
        raise

    def on_close(outcome: str) -> None:
        slot.release()
        AI_REQUESTS.labels(SUMMARY_STREAM_ENDPOINT, outcome).inc()

    start = partial(
        jql_summary_events,
        ctx=ctx,
        jql=jql.strip(),
        max_issues=max_issues,
        language=resolved,
        refresh=refresh,
        request_id=request_id,
    )
    return EventStream(
        events=runs.stream(
            key=_summary_run_key(ctx, jql, max_issues, resolved),
            owner=owner,
            start=start,
            resume=resume,
        ),
        on_error=error_event,
        on_close=on_close,
    )
