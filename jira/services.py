"""What the endpoints and the AI app call: Jira reads for the signed-in user, cached in Redis.

Every function takes keyword-only arguments, the user's :class:`~accounts.context.UserContext`
first; ``client`` is for tests and benchmarks (a :class:`JiraClient` with a token of their own),
otherwise one is built on the user's token vault.

Caching (Redis, per account and site): search results, project lists and overviews for
``JIRA_CACHE_TTL_SECONDS``; an issue is served from the cache within that TTL, and after it is
revalidated by its ``updated`` timestamp (one small request instead of the issue and its comment
pages); comments are cached under the issue's ``updated`` value, which changes when a comment is
added. ``refresh=True`` bypasses every read (and rewrites the cache).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from pydantic import BaseModel

from accounts.context import UserContext
from accounts.services import access_token_get, site_scopes_refused_mark
from core.aio import gather_first_error
from core.errors import ApiError, ErrorCode
from core.keys import issue_key_normalize, project_key_normalize
from core.redis import get_async_redis
from jira.breaker import Breaker
from jira.cache import JiraCache, digest
from jira.client import JiraClient, JiraClientConfig
from jira.errors import InvalidIssueKey, ProjectNotFound
from jira.models import (
    CommentPage,
    Issue,
    IssueWithComments,
    Project,
    ProjectList,
    ProjectOverview,
    SearchResult,
    SearchWithComments,
    VersionList,
)
from jira.normalize import FieldMap

MAX_SEARCH_LIMIT = 1000
MAX_JQL_CHARS = 4000
# /jira/search's cap: an ASCII JQL this long fits, even fully percent-encoded (3 bytes a character),
# in the 64 KiB request line Daphne accepts (core.daphne); longer ones, or with more non-ASCII
# characters, go in the body of POST /jira/search. Summaries keep MAX_JQL_CHARS.
MAX_SEARCH_JQL_CHARS = 20_000
FIELDS_TTL_SECONDS = 3600
ISSUE_TTL_SECONDS = 7 * 24 * 3600  # kept this long, but revalidated by `updated` after the TTL
OVERVIEW_RECENT = 10
OVERVIEW_STATUS_LIMIT = 1000


class _CachedFieldMap(BaseModel):
    story_points: str | None
    sprint: str | None
    epic_link: str | None
    flagged: str | None = None


class _CachedIssue(BaseModel):
    issue: Issue
    checked_at: float  # wall clock of the last fetch or revalidation


def issue_key_validate(key: str) -> str:
    """The key upper-cased if it is a well-formed Jira issue key (``PAY-42``, ``AB_C-1``; the
    rule of ``core.keys``), else 422 ``invalid_input``."""
    normalized = issue_key_normalize(key)
    if normalized is None:
        raise InvalidIssueKey()
    return normalized


def _jql_validate(jql: str, *, max_chars: int = MAX_JQL_CHARS) -> str:
    jql = jql.strip() if isinstance(jql, str) else ""
    if not jql or len(jql) > max_chars:
        raise ApiError(
            f"jql is required (at most {max_chars} characters).",
            code=ErrorCode.INVALID_INPUT,
            status=422,
        )
    return jql


def jira_client_for(
    ctx: UserContext, *, record_scope_refusal: bool = True, **config: Any
) -> JiraClient:
    """A client for the user's current site, on the token vault, with the shared breaker.
    ``record_scope_refusal=False``: a scope Jira refuses is not recorded for ``/me`` (an
    optional read, such as the vocabulary's sprints, that does without)."""
    client_config = JiraClientConfig.from_settings(**config)
    return JiraClient(
        cloud_id=ctx.cloud_id,
        site_url=ctx.site_url,
        token_provider=partial(access_token_get, ctx),
        config=client_config,
        breaker=breaker_for(client_config),
        on_scope_refused=partial(site_scopes_refused_mark, ctx) if record_scope_refusal else None,
    )


def breaker_for(config: JiraClientConfig) -> Breaker:
    return Breaker(
        get_async_redis(),
        threshold=config.breaker_threshold,
        reset_seconds=config.breaker_reset_seconds,
        budget_percent=config.retry_budget_percent,
        budget_window_seconds=config.retry_budget_window_seconds,
        budget_floor=config.retry_budget_floor,
    )


def _cache(ctx: UserContext) -> JiraCache:
    return JiraCache(get_async_redis(), account_id=ctx.account_id, cloud_id=ctx.cloud_id)


def _ttl() -> int:
    return int(settings.JIRA_CACHE_TTL_SECONDS)


async def _field_map(ctx: UserContext, client: JiraClient, cache: JiraCache) -> FieldMap:
    cached = await cache.get("fields", "map", _CachedFieldMap)
    if cached is not None:
        return FieldMap(**cached.model_dump())
    field_map = await client.field_map()
    await cache.set("fields", "map", _CachedFieldMap(**field_map.__dict__), FIELDS_TTL_SECONDS)
    return field_map


@dataclass(frozen=True, slots=True)
class SearchProgress:
    """Callbacks of a live search (none is called when the answer comes from the cache):
    ``on_count(total)`` once Jira's approximate count is known, ``on_page(read)`` after each page
    with the number of issues read so far."""

    on_count: Callable[[int], None] | None = None
    on_page: Callable[[int], None] | None = None


async def _count(client: JiraClient, jql: str, on_count: Callable[[int], None] | None) -> int:
    count = await client.count(jql)
    if on_count is not None:
        on_count(count)
    return count


def _updated_key(issue: Issue) -> str:
    return f"{issue.key}:{issue.updated.isoformat()}"


async def _search(
    *,
    ctx: UserContext,
    jql: str,
    limit: int,
    client: JiraClient,
    cache: JiraCache,
    with_comments: bool,
    progress: SearchProgress | None = None,
) -> tuple[SearchResult, dict[str, CommentPage]]:
    progress = progress or SearchProgress()
    field_map = await _field_map(ctx, client, cache)
    count, outcome = await gather_first_error(
        _count(client, jql, progress.on_count),
        client.search(
            jql,
            limit=limit,
            field_map=field_map,
            with_comments=with_comments,
            on_page=progress.on_page,
        ),
    )
    issues = outcome.issues
    # Jira's count is approximate; once every page was read the number of issues is exact.
    total = max(count, len(issues) + 1) if outcome.truncated else len(issues)
    result = SearchResult(issues=issues, total=total, truncated=outcome.truncated)
    await cache.set("search", f"{digest(jql)}:{limit}", result, _ttl())
    if outcome.comments:
        by_issue = {i.key: i for i in issues}
        await cache.set_many(
            "comments",
            {_updated_key(by_issue[k]): page for k, page in outcome.comments.items()},
            ISSUE_TTL_SECONDS,
        )
    return result, outcome.comments


async def issues_search(
    *,
    ctx: UserContext,
    jql: str,
    limit: int = 50,
    refresh: bool = False,
    client: JiraClient | None = None,
    progress: SearchProgress | None = None,
) -> SearchResult:
    """Up to ``limit`` (1..1000) normalized issues matching ``jql`` (at most
    :data:`MAX_SEARCH_JQL_CHARS`), ``total`` (Jira's approximate
    count, exact when all were read) and ``truncated``; ``progress`` is told the count and each
    page of a live search."""
    jql = _jql_validate(jql, max_chars=MAX_SEARCH_JQL_CHARS)
    limit = max(1, min(int(limit), MAX_SEARCH_LIMIT))
    cache = _cache(ctx)
    if not refresh:
        cached = await cache.get("search", f"{digest(jql)}:{limit}", SearchResult)
        if cached is not None:
            return cached
    client = client or jira_client_for(ctx)
    result, _ = await _search(
        ctx=ctx,
        jql=jql,
        limit=limit,
        client=client,
        cache=cache,
        with_comments=False,
        progress=progress,
    )
    return result


async def issues_search_with_comments(
    *,
    ctx: UserContext,
    jql: str,
    limit: int = 100,
    refresh: bool = False,
    client: JiraClient | None = None,
) -> SearchWithComments:
    """A search plus all comments of every issue found (newest first). Comments come embedded in
    the search pages when few (Jira embeds up to ~20 per issue), the rest are fetched per issue
    with bounded concurrency; everything is cached as in :func:`issues_search`."""
    jql = _jql_validate(jql)
    limit = max(1, min(int(limit), MAX_SEARCH_LIMIT))
    cache = _cache(ctx)
    client = client or jira_client_for(ctx)
    result = None if refresh else await cache.get("search", f"{digest(jql)}:{limit}", SearchResult)
    embedded: dict[str, CommentPage] = {}
    if result is None:
        result, embedded = await _search(
            ctx=ctx, jql=jql, limit=limit, client=client, cache=cache, with_comments=True
        )
    missing = [i for i in result.issues if i.key not in embedded]
    comments = dict(embedded)
    comments.update(
        await _comments_for(issues=missing, client=client, cache=cache, refresh=refresh)
    )
    return SearchWithComments(
        issues=result.issues,
        total=result.total,
        truncated=result.truncated,
        comments={i.key: comments[i.key] for i in result.issues},
    )


async def _comments_for(
    *, issues: Sequence[Issue], client: JiraClient, cache: JiraCache, refresh: bool
) -> dict[str, CommentPage]:
    """All comments of each issue, from the cache (keyed by the issue's ``updated``) or Jira."""
    names = [_updated_key(i) for i in issues]
    cached = (
        [None] * len(issues) if refresh else await cache.get_many("comments", names, CommentPage)
    )
    out: dict[str, CommentPage] = {}
    to_fetch: list[Issue] = []
    for issue, page in zip(issues, cached, strict=True):
        if page is not None and page.complete:
            out[issue.key] = page
        else:
            to_fetch.append(issue)
    if to_fetch:
        fetched = await client.comments_many([i.key for i in to_fetch])
        out.update(fetched)
        await cache.set_many(
            "comments",
            {_updated_key(i): fetched[i.key] for i in to_fetch},
            ISSUE_TTL_SECONDS,
        )
    return out


async def issue_with_comments(
    *,
    ctx: UserContext,
    key: str,
    comments_limit: int | None = 50,
    refresh: bool = False,
    client: JiraClient | None = None,
) -> IssueWithComments:
    """One issue and its comments newest first (``comments_limit`` of them, all when None), with
    ``comments_total``. 422 ``invalid_input`` for a malformed key, 404 ``issue_not_found``."""
    key = issue_key_validate(key)
    limit = None if comments_limit is None else max(0, int(comments_limit))
    cache = _cache(ctx)
    client = client or jira_client_for(ctx)
    issue: Issue | None = None
    if not refresh:
        cached = await cache.get("issue", key, _CachedIssue)
        if cached is not None:
            if time.time() - cached.checked_at < _ttl():
                issue = cached.issue
            else:
                updated = dt.datetime.fromisoformat(await client.issue_updated(key))
                if updated == cached.issue.updated:
                    issue = cached.issue
                    await cache.set(
                        "issue",
                        key,
                        _CachedIssue(issue=issue, checked_at=time.time()),
                        ISSUE_TTL_SECONDS,
                    )
    page: CommentPage | None = None
    if issue is not None:
        page = await cache.get("comments", _updated_key(issue), CommentPage)
        if page is not None and not page.complete and (limit is None or len(page.comments) < limit):
            page = None
        if page is None:
            page = await client.comments(key, limit=limit)
            await cache.set("comments", _updated_key(issue), page, ISSUE_TTL_SECONDS)
    else:
        field_map = await _field_map(ctx, client, cache)
        fetched, fetched_page = await gather_first_error(
            client.issue(key, field_map=field_map), client.comments(key, limit=limit)
        )
        await cache.set(
            "issue", key, _CachedIssue(issue=fetched, checked_at=time.time()), ISSUE_TTL_SECONDS
        )
        await cache.set("comments", _updated_key(fetched), fetched_page, ISSUE_TTL_SECONDS)
        issue = fetched
        page = fetched_page
    comments = page.comments if limit is None else page.comments[:limit]
    return IssueWithComments(issue=issue, comments=comments, comments_total=page.total)


async def projects_list(
    *, ctx: UserContext, refresh: bool = False, client: JiraClient | None = None
) -> ProjectList:
    """Every project of the current site the user can browse (all pages)."""
    cache = _cache(ctx)
    if not refresh:
        cached = await cache.get("projects", "all", ProjectList)
        if cached is not None:
            return cached
    client = client or jira_client_for(ctx)
    result = ProjectList(projects=await client.projects())
    await cache.set("projects", "all", result, _ttl())
    return result


async def project_overview(
    *, ctx: UserContext, key: str, refresh: bool = False, client: JiraClient | None = None
) -> ProjectOverview:
    """The Projets PO tab: open issues by status (up to 1,000 read), the most recently updated
    issues and the number of open issues (Jira's approximate count)."""
    normalized = project_key_normalize(key)
    if normalized is None:
        raise ApiError("Invalid project key.", code=ErrorCode.INVALID_INPUT, status=422)
    key = normalized
    cache = _cache(ctx)
    if not refresh:
        cached = await cache.get("overview", key, ProjectOverview)
        if cached is not None:
            return cached
    client = client or jira_client_for(ctx)
    projects = await projects_list(ctx=ctx, refresh=refresh, client=client)
    project: Project | None = next((p for p in projects.projects if p.key == key), None)
    if project is None:
        raise ProjectNotFound()
    field_map = await _field_map(ctx, client, cache)
    open_jql = f'project = "{key}" AND statusCategory != Done ORDER BY updated DESC'
    (open_total, statuses), recent = await gather_first_error(
        gather_first_error(
            client.count(open_jql), client.statuses(open_jql, limit=OVERVIEW_STATUS_LIMIT)
        ),
        client.search(
            f'project = "{key}" ORDER BY updated DESC', limit=OVERVIEW_RECENT, field_map=field_map
        ),
    )
    overview = ProjectOverview(
        key=project.key,
        name=project.name,
        by_status=dict(Counter(statuses).most_common()),
        recent=recent.issues,
        open_total=max(open_total, len(statuses)),
    )
    await cache.set("overview", key, overview, _ttl())
    return overview


async def project_versions_list(
    *, ctx: UserContext, key: str, refresh: bool = False, client: JiraClient | None = None
) -> VersionList:
    """A project's fix versions in Jira's order (archived ones included); 422 for a malformed
    key, 404 ``project_not_found`` for a project the user cannot browse (Jira's own 404)."""
    normalized = project_key_normalize(key)
    if normalized is None:
        raise ApiError("Invalid project key.", code=ErrorCode.INVALID_INPUT, status=422)
    cache = _cache(ctx)
    if not refresh:
        cached = await cache.get("versions", normalized, VersionList)
        if cached is not None:
            return cached
    client = client or jira_client_for(ctx)
    result = VersionList(versions=await client.project_versions(normalized))
    await cache.set("versions", normalized, result, _ttl())
    return result
