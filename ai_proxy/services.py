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
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

from django.conf import settings
from pydantic import BaseModel
from redis.exceptions import RedisError

from accounts.context import UserContext
from ai_proxy.backends import backend_for, engine_config
from ai_proxy.metrics import AI_REQUESTS
from ai_proxy.streaming import Event, sse_body
from ai_service.engine import PROMPT_VERSION, StreamEvent
from ai_service.engine.progress import progress_message
from ai_service.engine.schemas import (
    LONG_TEXT_MAX,
    Analysis,
    AnalyzeRequest,
    Comment,
    Language,
    NormalizedIssue,
    SummarizeRequest,
    Summary,
)
from jira.models import Comment as JiraComment
from jira.models import Issue, IssueWithComments
from jira.services import issue_with_comments, issues_search
from jira_ai.redis import get_async_redis

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

CACHE_PREFIX = "ai"
# The wire contract caps comments per request; the engine keeps the newest that fit its budget.
MAX_COMMENTS = 5_000


def language_resolve(language: Language | None) -> Language:
    """The requested language, else the site's default (``LANGUAGE_CODE``), as fr or en."""
    if language is not None:
        return language
    return "en" if str(settings.LANGUAGE_CODE)[:2].lower() == "en" else "fr"


def _cache_key(kind: str, ctx: UserContext, material: dict[str, Any]) -> str:
    config = engine_config()
    material = {**material, "prompt": PROMPT_VERSION, "model": f"{config.provider}:{config.model}"}
    digest = hashlib.sha256(
        json.dumps(material, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return f"{CACHE_PREFIX}:{kind}:{ctx.account_id}:{ctx.cloud_id}:{digest}"


async def _cache_get(key: str, model: type[M]) -> M | None:
    try:
        raw = await get_async_redis().get(key)
    except RedisError as exc:
        logger.warning("AI cache unavailable on read: %s", type(exc).__name__)
        return None
    if raw is None:
        return None
    try:
        return model.model_validate_json(raw)
    except ValueError:
        logger.warning("AI cache entry %s unreadable; regenerating", key)
        return None


async def _cache_set(key: str, value: BaseModel) -> None:
    try:
        await get_async_redis().set(
            key, value.model_dump_json(), ex=int(settings.AI_CACHE_TTL_SECONDS)
        )
    except RedisError as exc:
        logger.warning("AI cache unavailable on write: %s", type(exc).__name__)


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
    Jira's total were analyzed)."""
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
    if not refresh and (cached := await _cache_get(key, Summary)) is not None:
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
    await _cache_set(key, summary)
    AI_REQUESTS.labels("summarize-jql", "ok").inc()
    return summary


async def issue_analysis_get(
    *, ctx: UserContext, issue_key: str, language: Language | None = None, refresh: bool = False
) -> Analysis:
    """The analysis of ``issue_key`` with its comments, newest first."""
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
    if not refresh and (cached := await _cache_get(key, Analysis)) is not None:
        AI_REQUESTS.labels("analyze-issue", "cached").inc()
        return cached.model_copy(update={"cached": True})
    backend = backend_for(ctx.account_id, "analyze-issue")
    analysis = await backend.analyze(
        account_id=ctx.account_id, request=_analyze_request(data, language)
    )
    analysis = analysis.model_copy(update={"cached": False})
    await _cache_set(key, analysis)
    AI_REQUESTS.labels("analyze-issue", "ok").inc()
    return analysis


async def issue_analysis_events(
    *, ctx: UserContext, issue_key: str, language: Language | None, request_id: str = "-"
) -> AsyncGenerator[Event, None]:
    """The streamed analysis as events: our own ``log`` steps (Jira), then the backend's events,
    numbered on from ours. Failures raise (``sse_body`` turns them into the ``error`` event)."""
    language = language_resolve(language)
    yield StreamEvent(
        1,
        "log",
        {"step": "jira", "message": progress_message("jira_reading", language, key=issue_key)},
    )
    data = await issue_with_comments(ctx=ctx, key=issue_key, comments_limit=None)
    yield StreamEvent(
        2,
        "log",
        {
            "step": "jira",
            "message": progress_message(
                "jira_read",
                language,
                key=data.issue.key,
                read=len(data.comments),
                total=data.comments_total,
            ),
        },
    )
    backend = backend_for(ctx.account_id, "analyze-issue/stream")
    events = backend.analyze_stream(
        account_id=ctx.account_id,
        request=_analyze_request(data, language),
        first_id=3,
        request_id=request_id,
    )
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()


def issue_analysis_stream(
    *,
    ctx: UserContext,
    issue_key: str,
    language: Language | None,
    on_close: Callable[[], None],
    request_id: str = "-",
) -> AsyncIterator[bytes]:
    """The SSE body of the streamed analysis (``: ok`` first, keepalives, one final ``done`` or
    ``error``); ``on_close`` runs when it ends, however it ends (the stream slot)."""
    events = issue_analysis_events(
        ctx=ctx, issue_key=issue_key, language=language, request_id=request_id
    )
    return sse_body(events, on_close=on_close)
