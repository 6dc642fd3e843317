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

import hashlib
import json
from collections.abc import AsyncGenerator
from typing import Any

from django.conf import settings

from accounts.context import UserContext
from ai_proxy.backends import backend_for, engine_config
from ai_proxy.metrics import AI_REQUESTS, STREAMS_IN_FLIGHT
from ai_proxy.quota import quota_hit
from ai_service.contract.events import LogData, error_event
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
from core.redis import get_async_redis
from core.sse import Event, EventStream, StreamSlots, TooManyStreams
from jira.models import Comment as JiraComment
from jira.models import Issue, IssueWithComments
from jira.services import issue_with_comments, issues_search

CACHE_PREFIX = "ai"
STREAM_ENDPOINT = "analyze-issue/stream"
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


def _engine_issue(issue: Issue) -> NormalizedIssue:
    data = issue.model_dump()
    data["description"] = _clip(data.get("description"))
    return NormalizedIssue.model_validate(data)


def _engine_comment(comment: JiraComment) -> Comment:
    data = comment.model_dump()
    data["body"] = _clip(data.get("body"))
    return Comment.model_validate(data)


def _analyze_request(data: IssueWithComments, language: Language) -> AnalyzeRequest:
    return AnalyzeRequest(
        issue=_engine_issue(data.issue),
        comments=[_engine_comment(c) for c in data.comments[:MAX_COMMENTS]],
        comments_total=data.comments_total,
        language=language,
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
    key = _cache_key(
        "summary",
        ctx,
        {
            "jql": jql.strip(),
            "total": found.total,
            "issues": [[i.key, i.updated.isoformat()] for i in found.issues],
            "language": language,
        },
    )
    if not refresh and (cached := await _cache().get(key, Summary)) is not None:
        AI_REQUESTS.labels("summarize-jql", "cached").inc()
        return cached.model_copy(update={"cached": True})
    request = SummarizeRequest(
        jql=jql.strip(),
        issues=[_engine_issue(i) for i in found.issues],
        total=found.total,
        language=language,
    )
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
    it ends. The slot is taken before the quota: a refused stream costs no quota point."""
    try:
        slot = STREAM_SLOTS.acquire()
    except TooManyStreams:
        AI_REQUESTS.labels(STREAM_ENDPOINT, TooManyStreams.code).inc()
        raise
    try:
        await quota_hit(account_id=ctx.account_id)
    except BaseException:
        slot.release()
        raise

    def on_close(outcome: str) -> None:
        slot.release()
        AI_REQUESTS.labels(STREAM_ENDPOINT, outcome).inc()

    return EventStream(
        events=issue_analysis_events(
            ctx=ctx, issue_key=issue_key, language=language, request_id=request_id
        ),
        on_error=error_event,
        on_close=on_close,
    )
