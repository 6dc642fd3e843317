"""The Jira Cloud REST v3 client: one method per operation, typed results, one request core that
owns auth, retries, rate limits, the circuit breaker and error mapping.

Addressing goes through the Atlassian gateway
(``{ATLASSIAN_API_URL}/ex/jira/{cloudId}/rest/api/3/``) with the site's OAuth access token. The
removed ``/search`` is never called: search is the enhanced
``search/jql`` (cursor ``nextPageToken``, no total) plus ``search/approximate-count``.

Retries are written here rather than with ``stamina``/``tenacity``: one loop has to combine three
policies that those libraries express separately (a single forced token refresh on 401;
``Retry-After`` honoured up to a bound on 429, else give up at once with that ``Retry-After``; two
jittered attempts on 5xx/network errors), all within ``max_attempts`` per call and each retry
taken from the site's shared budget (:mod:`jira.breaker`), and report each outcome to the shared
circuit breaker; a bounded ``while`` loop says that more plainly than three nested decorators.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from django.conf import settings

from core.http import build_async_client, per_loop, retry_after_parse
from jira import wire
from jira.adf import clean_text
from jira.breaker import NO_TICKET, Breaker
from jira.errors import (
    BoardNotFound,
    InvalidJql,
    IssueNotFound,
    JiraBadResponse,
    JiraError,
    JiraForbidden,
    JiraRateLimited,
    JiraReauthRequired,
    JiraScopeRefused,
    JiraTimeout,
    JiraUnavailable,
    ProjectNotFound,
    SprintNotFound,
)
from jira.metrics import LATENCY, RATE_LIMITED, REQUESTS, RETRY_WAIT
from jira.models import (
    AgileIssue,
    Board,
    ChangeHistory,
    Comment,
    CommentPage,
    Issue,
    Myself,
    Project,
    Sprint,
    Version,
)
from jira.normalize import (
    FieldMap,
    agile_issue_fields,
    agile_issue_from_json,
    board_from_json,
    change_history_from_json,
    comment_from_json,
    embedded_comments,
    issue_from_json,
    myself_from_json,
    project_from_json,
    sprint_from_json,
    version_from_json,
)

logger = logging.getLogger(__name__)

MAX_ERROR_ATTEMPTS = 2
COMMENTS_PAGE_SIZE = 100  # the comment endpoint's own maximum
PROJECTS_PAGE_SIZE = 100  # project/search silently caps maxResults at 100
MAX_JIRA_MESSAGE_CHARS = 300
AGILE = "agile/1.0"
AGILE_PAGE_SIZE = 50  # the Agile API's own maximum (boards, sprints, a sprint's issues)
BULK_CHANGELOG_ISSUES = 1000  # changelog/bulkfetch: at most 1,000 issues and 10 fields a call
BULK_CHANGELOG_FIELDS = 10


class TokenProvider(Protocol):
    def __call__(self, *, force_refresh: bool = False) -> Awaitable[str]: ...


# The gateway's answer to a valid token that lacks the route's scope (e.g. classic scopes on
# /rest/agile/1.0): a refresh grants the same scopes, only a new consent helps.
SCOPE_MISMATCH = "scope does not match"


def _scope_mismatch(response: httpx.Response) -> bool:
    try:
        body = wire.loads(response.content)
    except ValueError:
        return False
    message = body.get("message") if isinstance(body, dict) else None
    return isinstance(message, str) and SCOPE_MISMATCH in message.lower()


@dataclass(frozen=True)
class JiraClientConfig:
    api_url: str
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_retry_wait: float = 10.0
    max_concurrency: int = 8
    max_connections: int = 64
    page_size: int = 100
    breaker_threshold: int = 5
    breaker_reset_seconds: float = 30.0
    retry_backoff_seconds: float = 0.25
    max_attempts: int = 3
    retry_budget_percent: float = 10.0
    retry_budget_window_seconds: float = 60.0
    retry_budget_floor: int = 1

    @classmethod
    def from_settings(cls, **overrides: Any) -> JiraClientConfig:
        values: dict[str, Any] = {
            "api_url": settings.ATLASSIAN_API_URL.rstrip("/"),
            "connect_timeout": settings.JIRA_CONNECT_TIMEOUT_SECONDS,
            "read_timeout": settings.JIRA_READ_TIMEOUT_SECONDS,
            "max_retry_wait": settings.JIRA_MAX_RETRY_WAIT_SECONDS,
            "max_concurrency": settings.JIRA_MAX_CONCURRENCY,
            "max_connections": settings.JIRA_MAX_CONNECTIONS,
            "page_size": settings.JIRA_SEARCH_PAGE_SIZE,
            "breaker_threshold": settings.JIRA_BREAKER_FAILURE_THRESHOLD,
            "breaker_reset_seconds": settings.JIRA_BREAKER_RESET_SECONDS,
            "max_attempts": settings.JIRA_MAX_ATTEMPTS,
            "retry_budget_percent": settings.JIRA_RETRY_BUDGET_PERCENT,
            "retry_budget_window_seconds": settings.JIRA_RETRY_BUDGET_WINDOW_SECONDS,
            "retry_budget_floor": settings.JIRA_RETRY_BUDGET_FLOOR,
        }
        values.update(overrides)
        return cls(**values)


def _http_client(
    connect_timeout: float, read_timeout: float, max_connections: int
) -> httpx.AsyncClient:
    return build_async_client(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_connections=max_connections,
        headers={"Accept": "application/json"},
    )


# One pooled client per event loop (a pool is bound to its loop) and per timeout configuration.
_http_clients = per_loop(_http_client)


def http_client_for(config: JiraClientConfig) -> httpx.AsyncClient:
    return _http_clients.get(config.connect_timeout, config.read_timeout, config.max_connections)


@dataclass(frozen=True)
class SearchOutcome:
    issues: list[Issue]
    truncated: bool
    # Complete comment pages that came embedded in the search (when asked for), by issue key.
    comments: dict[str, CommentPage] = field(default_factory=dict)


@dataclass(frozen=True)
class JqlCheck:
    """Jira's verdict on one query (``jql/parse``): valid when it has no error."""

    query: str
    errors: list[str]
    warnings: list[str]

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class JqlField:
    """A field JQL can search: ``jql`` is how a query names it."""

    id: str
    name: str
    jql: str


def _messages(raw: Any) -> list[str]:
    """Jira's messages of a ``jql/parse`` entry, cleaned and bounded (Jira's words, not ours)."""
    if not isinstance(raw, list):
        return []
    out = []
    for message in raw:
        text = clean_text(str(message)).strip()
        if len(text) > MAX_JIRA_MESSAGE_CHARS:
            text = text[: MAX_JIRA_MESSAGE_CHARS - 1] + "…"
        if text:
            out.append(text)
    return list(dict.fromkeys(out))


def _transport_label(exc: httpx.TransportError) -> str:
    """The metric label of a transport failure; it also decides the retry. A read or write timeout
    (``timeout``) is final: the caller already waited the whole timeout. A failed connection
    (``connect_error``) or an exchange the peer broke (``protocol_error``) is retried."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout | httpx.NetworkError):
        return "connect_error"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "protocol_error"


def _jira_messages(response: httpx.Response) -> str:
    """Jira's own error messages (``errorMessages`` and ``errors``), cleaned and bounded."""
    try:
        body = wire.loads(response.content)
    except ValueError:
        return ""
    messages: list[str] = []
    if isinstance(body, dict):
        for message in body.get("errorMessages") or []:
            messages.append(str(message))
        errors = body.get("errors")
        if isinstance(errors, dict):
            messages.extend(str(v) for v in errors.values())
    text = " ".join(clean_text(m).strip() for m in messages if m)
    if len(text) > MAX_JIRA_MESSAGE_CHARS:
        text = text[: MAX_JIRA_MESSAGE_CHARS - 1] + "…"
    return text


class JiraClient:
    """Jira on one site for one user. Cheap to build (one per request): the HTTP pool is per event
    loop, the breaker state is in Redis."""

    def __init__(
        self,
        *,
        cloud_id: str,
        site_url: str,
        token_provider: TokenProvider,
        config: JiraClientConfig,
        breaker: Breaker | None = None,
        http: httpx.AsyncClient | None = None,
        on_scope_refused: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``on_scope_refused`` is awaited before ``JiraScopeRefused`` is raised (the site's
        token lacks a route's scope): the token vault records it for ``/me``."""
        self.cloud_id = cloud_id
        self._on_scope_refused = on_scope_refused
        self.site_url = site_url
        self.config = config
        self.breaker = breaker
        self._token_provider = token_provider
        self._http = http
        self._token: str | None = None
        # Bounds this client's requests in flight (bulk comment and issue fetches).
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._token_lock = asyncio.Lock()

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = http_client_for(self.config)
        return self._http

    async def _access_token(self, *, stale: str | None = None) -> str:
        async with self._token_lock:
            if self._token is None:
                self._token = await self._token_provider(force_refresh=False)
            elif stale is not None and self._token == stale:
                self._token = await self._token_provider(force_refresh=True)
            return self._token

    # -- the request core --

    async def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        not_found: type[JiraError] = JiraUnavailable,
        api: str = "api/3",
        none_on: int | None = None,
    ) -> Any:
        """One call, retried as the module says. ``api`` is the REST API under ``/rest/``
        (``agile/1.0`` for Jira Software); a ``none_on`` status is an expected answer, returned
        as None (a kanban board's 400 to "its sprints")."""
        # A path from the site's root (``/rest/agile/1.0/board``), else one of ``api``.
        site = f"{self.config.api_url}/ex/jira/{self.cloud_id}"
        url = site + path if path.startswith("/rest/") else f"{site}/rest/{api}/{path}"
        token = await self._access_token()
        refreshed = False
        rate_limited = 0
        errors = 0
        # Checked once per call: its retries belong to the same call (and to the same probe).
        ticket = await self.breaker.before(self.cloud_id) if self.breaker else NO_TICKET
        try:
            if self.breaker:
                await self.breaker.count_request(self.cloud_id)
            attempts = 0
            while True:
                attempts += 1
                started = time.monotonic()
                try:
                    async with self._slots:
                        response = await self.http.request(
                            method,
                            url,
                            params=params,
                            json=body,
                            headers={"Authorization": f"Bearer {token}"},
                        )
                except httpx.TransportError as exc:
                    label = _transport_label(exc)
                    REQUESTS.labels(operation, label).inc()
                    if label == "timeout":
                        await self._failure()
                        raise JiraTimeout() from exc
                    errors += 1
                    if errors < MAX_ERROR_ATTEMPTS and await self._may_retry(attempts):
                        await self._backoff(errors, None)
                        continue
                    await self._failure()
                    raise JiraUnavailable() from exc
                finally:
                    LATENCY.labels(operation).observe(time.monotonic() - started)
                status = response.status_code
                REQUESTS.labels(operation, str(status)).inc()

                if status == 401:
                    if _scope_mismatch(response):
                        logger.warning("Jira refused the token's scopes for %s", operation)
                        if self._on_scope_refused is not None:
                            await self._on_scope_refused()
                        raise JiraScopeRefused()
                    if refreshed:
                        raise JiraReauthRequired()
                    refreshed = True
                    token = await self._access_token(stale=token)
                    continue
                if status == 429:
                    RATE_LIMITED.labels(operation).inc()
                    rate_limited += 1
                    # An absurd Retry-After (negative, beyond a day) reads as none: our own backoff.
                    retry_after = retry_after_parse(response.headers.get("Retry-After"))
                    wait = (
                        self.config.retry_backoff_seconds * 2**rate_limited
                        if retry_after is None
                        else retry_after
                    )
                    if retry_after is not None and self.breaker:
                        # No worker calls the site again before Jira's window ends.
                        await self.breaker.hold(self.cloud_id, 429, retry_after)
                    if wait > self.config.max_retry_wait or not await self._may_retry(attempts):
                        # max_retry_wait bounds our wait, never the value we pass on: Jira's, as
                        # sent, else the wait we would have made next. A call that ends rate
                        # limited counts as one breaker failure (not a 429 then a success).
                        await self._failure()
                        raise JiraRateLimited(
                            retry_after=wait if retry_after is None else retry_after
                        )
                    await self._sleep(wait, "rate_limited")
                    continue
                if status >= 500:
                    errors += 1
                    retry_after = retry_after_parse(response.headers.get("Retry-After"))
                    window = status == 503 and retry_after is not None
                    if window and self.breaker:
                        await self.breaker.hold(self.cloud_id, 503, retry_after or 0)
                    if window and (retry_after or 0) > self.config.max_retry_wait:
                        # Jira's window is longer than we may wait: no retry inside it (nor by
                        # any worker, the hold above); the caller gets Jira's wait.
                        await self._failure()
                        raise JiraUnavailable(status=503, retry_after=retry_after)
                    if errors < MAX_ERROR_ATTEMPTS and await self._may_retry(attempts):
                        await self._backoff(errors, retry_after)
                        continue
                    await self._failure()
                    raise JiraUnavailable(
                        status=503 if window else None, retry_after=retry_after if window else None
                    )
                if self.breaker:
                    await self.breaker.success(self.cloud_id, ticket.dirty)
                if status == none_on:
                    return None
                if status >= 400:
                    raise self._client_error(operation, status, response, not_found)
                if status != 200 and status != 204:
                    raise JiraBadResponse()
                try:
                    return wire.loads(response.content)
                except ValueError as exc:
                    await self._failure()
                    raise JiraBadResponse() from exc
        except asyncio.CancelledError:
            # Cancelled before an outcome (a sibling read failed, the user left): the probe
            # goes back now, not after its TTL.
            if self.breaker:
                await self.breaker.abandon(ticket, self.cloud_id)
            raise

    def _client_error(
        self,
        operation: str,
        status: int,
        response: httpx.Response,
        not_found: type[JiraError],
    ) -> JiraError:
        if status == 400 and operation in ("search", "count"):
            messages = _jira_messages(response)
            return InvalidJql(f"Invalid JQL: {messages}" if messages else None)
        if status == 403:
            return JiraForbidden()
        if status == 404:
            return not_found()
        logger.warning("Jira answered %s to %s", status, operation)
        return JiraError(f"Jira refused the request ({status}).")

    async def _may_retry(self, attempts: int) -> bool:
        """At most ``max_attempts`` per call, and a retry only from the site's shared budget."""
        if attempts >= self.config.max_attempts:
            return False
        return await self.breaker.allow_retry(self.cloud_id) if self.breaker else True

    async def _failure(self) -> None:
        if self.breaker:
            await self.breaker.failure(self.cloud_id)

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None and retry_after <= self.config.max_retry_wait:
            wait = retry_after
        else:
            base = self.config.retry_backoff_seconds * 2 ** (attempt - 1)
            wait = random.uniform(base / 2, base)  # noqa: S311 - jitter, not cryptography
        await self._sleep(wait, "error")

    @staticmethod
    async def _sleep(seconds: float, reason: str) -> None:
        RETRY_WAIT.labels(reason).observe(seconds)
        await asyncio.sleep(seconds)

    # -- operations --

    async def myself(self) -> Myself:
        data = await self._request("myself", "GET", "myself")
        return myself_from_json(data)

    async def field_map(self) -> FieldMap:
        data = await self._request("fields", "GET", "field")
        return FieldMap.from_fields(data)

    async def count(self, jql: str) -> int:
        data = await self._request("count", "POST", "search/approximate-count", body={"jql": jql})
        count = data.get("count") if isinstance(data, dict) else None
        if not isinstance(count, int):
            raise JiraBadResponse()
        return count

    async def search(
        self,
        jql: str,
        *,
        limit: int,
        field_map: FieldMap,
        with_comments: bool = False,
        on_page: Callable[[int], None] | None = None,
    ) -> SearchOutcome:
        """Up to ``limit`` issues, following ``nextPageToken``; each issue once (the results are
        eventually consistent, so an issue updated while we page could come back twice).
        ``on_page(read)`` is told the number of issues read so far after each page."""
        fields = field_map.issue_fields() + (["comment"] if with_comments else [])
        issues: dict[str, Issue] = {}
        comments: dict[str, CommentPage] = {}
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "jql": jql,
                "maxResults": max(1, min(limit - len(issues), self.config.page_size)),
                "fields": fields,
            }
            if token:
                request["nextPageToken"] = token
            data = await self._request("search", "POST", "search/jql", body=request)
            if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
                raise JiraBadResponse()
            page = [raw for raw in data["issues"] if isinstance(raw, dict)]
            dropped = False
            for raw in page:
                key = raw.get("key")
                if not isinstance(key, str) or key in issues:
                    continue
                if len(issues) >= limit:
                    dropped = True
                    break
                issues[key] = issue_from_json(raw, site_url=self.site_url, field_map=field_map)
                if with_comments:
                    embedded = embedded_comments(raw.get("fields") or {})
                    if embedded is not None:
                        comments[key] = embedded
            if on_page is not None:
                on_page(len(issues))
            token = data.get("nextPageToken")
            last = bool(data.get("isLast")) or not token
            if last or dropped or len(issues) >= limit or not page:
                truncated = dropped or not last
                return SearchOutcome(list(issues.values()), truncated, comments)

    async def statuses(self, jql: str, *, limit: int) -> list[str]:
        """The status name of up to ``limit`` issues (only that field is asked for)."""
        names: list[str] = []
        token: str | None = None
        while len(names) < limit:
            request: dict[str, Any] = {
                "jql": jql,
                "maxResults": min(limit - len(names), self.config.page_size),
                "fields": ["status"],
            }
            if token:
                request["nextPageToken"] = token
            data = await self._request("search", "POST", "search/jql", body=request)
            if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
                raise JiraBadResponse()
            for raw in data["issues"][: limit - len(names)]:
                status = ((raw.get("fields") or {}).get("status") or {}).get("name")
                names.append(clean_text(status) if isinstance(status, str) else "")
            token = data.get("nextPageToken")
            if data.get("isLast") or not token or not data["issues"]:
                break
        return names

    async def issue(self, key: str, *, field_map: FieldMap) -> Issue:
        data = await self._request(
            "issue",
            "GET",
            f"issue/{key}",
            params={"fields": ",".join(field_map.issue_fields())},
            not_found=IssueNotFound,
        )
        if not isinstance(data, dict):
            raise JiraBadResponse()
        return issue_from_json(data, site_url=self.site_url, field_map=field_map)

    async def issue_updated(self, key: str) -> str:
        """The issue's ``updated`` timestamp only: the cheap check that validates cached data."""
        data = await self._request(
            "issue_updated",
            "GET",
            f"issue/{key}",
            params={"fields": "updated"},
            not_found=IssueNotFound,
        )
        updated = (data.get("fields") or {}).get("updated") if isinstance(data, dict) else None
        if not isinstance(updated, str):
            raise JiraBadResponse()
        return updated

    async def _comment_page(self, key: str, start: int, size: int) -> tuple[list[Comment], int]:
        data = await self._request(
            "comments",
            "GET",
            f"issue/{key}/comment",
            params={"startAt": start, "maxResults": size, "orderBy": "-created"},
            not_found=IssueNotFound,
        )
        if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
            raise JiraBadResponse()
        total = data.get("total")
        comments = [comment_from_json(c) for c in data["comments"] if isinstance(c, dict)]
        return comments, total if isinstance(total, int) else len(comments)

    async def comments(self, key: str, *, limit: int | None = None) -> CommentPage:
        """Comments newest first (``orderBy=-created``), up to ``limit`` (all when None), with
        Jira's total. After the first page gives the total, the other pages are fetched
        concurrently (bounded by ``max_concurrency``)."""
        first_size = COMMENTS_PAGE_SIZE if limit is None else max(1, min(limit, COMMENTS_PAGE_SIZE))
        first, total = await self._comment_page(key, 0, first_size)
        wanted = total if limit is None else min(limit, total)
        collected = list(first)
        if len(collected) < wanted and first:
            step = len(first)  # the page size Jira actually granted
            starts = range(len(collected), wanted, step)
            pages = await asyncio.gather(
                *(self._comment_page(key, s, min(step, wanted - s)) for s in starts)
            )
            for page, _ in pages:
                collected.extend(page)
            # A short page (comments deleted meanwhile) leaves a gap: read on sequentially.
            while len(collected) < wanted:
                more, total = await self._comment_page(key, len(collected), COMMENTS_PAGE_SIZE)
                if not more:
                    break
                collected.extend(more)
                wanted = total if limit is None else min(limit, total)
        unique: dict[str, Comment] = {}
        for comment in collected:
            unique.setdefault(comment.id, comment)
        return CommentPage(comments=list(unique.values())[:wanted], total=total)

    async def comments_many(
        self, keys: Iterable[str], *, limit: int | None = None
    ) -> dict[str, CommentPage]:
        """Comments of many issues at once; concurrency is bounded by the client's slots."""
        keys = list(keys)
        pages = await asyncio.gather(*(self.comments(k, limit=limit) for k in keys))
        return dict(zip(keys, pages, strict=True))

    async def projects(self) -> list[Project]:
        """Every project the user can browse on the site (all pages)."""
        projects: list[Project] = []
        start = 0
        while True:
            data = await self._request(
                "projects",
                "GET",
                "project/search",
                params={"startAt": start, "maxResults": PROJECTS_PAGE_SIZE, "orderBy": "key"},
            )
            values = data.get("values") if isinstance(data, dict) else None
            if not isinstance(values, list):
                raise JiraBadResponse()
            projects.extend(project_from_json(v) for v in values if isinstance(v, dict))
            start += len(values)
            total = data.get("total")
            exhausted = isinstance(total, int) and start >= total
            if data.get("isLast", True) or not values or exhausted:
                return projects

    async def project_versions(self, key: str) -> list[Version]:
        """A project's versions in Jira's order, archived included: the unpaginated
        ``project/{key}/versions`` (Jira answers every version at once; the paginated
        ``/version`` would cost one call per 50 for the same list)."""
        data = await self._request(
            "project_versions", "GET", f"project/{key}/versions", not_found=ProjectNotFound
        )
        if not isinstance(data, list):
            raise JiraBadResponse()
        return [version_from_json(v) for v in data if isinstance(v, dict)]

    # -- Jira Software (Agile REST API 1.0) and changelogs --

    async def boards(
        self,
        *,
        project_key: str | None = None,
        board_type: str | None = None,
        page_size: int = AGILE_PAGE_SIZE,
    ) -> list[Board]:
        """Every board the user can see (``isLast`` paging), optionally of one project/type."""
        params: dict[str, Any] = {"maxResults": page_size}
        if project_key:
            params["projectKeyOrId"] = project_key
        if board_type:
            params["type"] = board_type
        return [
            board_from_json(raw)
            for raw in await self._agile_pages("boards", "board", params, BoardNotFound)
        ]

    async def board(self, board_id: int) -> Board:
        data = await self._request(
            "board", "GET", f"board/{board_id}", api=AGILE, not_found=BoardNotFound
        )
        if not isinstance(data, dict):
            raise JiraBadResponse()
        return board_from_json(data)

    async def board_sprints(
        self, board_id: int, *, states: Iterable[str] = (), page_size: int = AGILE_PAGE_SIZE
    ) -> list[Sprint]:
        """A board's sprints in Jira's order (``isLast`` paging, no total). A board without
        sprints (kanban) answers 400 "The board does not support sprints": none, for us."""
        params: dict[str, Any] = {"maxResults": page_size}
        if states:
            params["state"] = ",".join(states)
        values = await self._agile_pages(
            "board_sprints", f"board/{board_id}/sprint", params, BoardNotFound, none_on=400
        )
        return [sprint_from_json(raw) for raw in values]

    async def _agile_pages(
        self,
        operation: str,
        path: str,
        params: dict[str, Any],
        not_found: type[JiraError],
        *,
        none_on: int | None = None,
    ) -> list[dict[str, Any]]:
        values: list[dict[str, Any]] = []
        while True:
            data = await self._request(
                operation,
                "GET",
                path,
                params={**params, "startAt": len(values)},
                api=AGILE,
                not_found=not_found,
                none_on=none_on,
            )
            if data is None:
                return []
            page = data.get("values") if isinstance(data, dict) else None
            if not isinstance(page, list):
                raise JiraBadResponse()
            values.extend(v for v in page if isinstance(v, dict))
            if data.get("isLast", True) or not page:
                return values

    async def sprint(self, sprint_id: int) -> Sprint:
        data = await self._request(
            "sprint", "GET", f"sprint/{sprint_id}", api=AGILE, not_found=SprintNotFound
        )
        if not isinstance(data, dict):
            raise JiraBadResponse()
        return sprint_from_json(data)

    async def sprint_issues(
        self,
        sprint_id: int,
        *,
        field_map: FieldMap,
        limit: int,
        page_size: int = AGILE_PAGE_SIZE,
        on_page: Callable[[int], None] | None = None,
    ) -> tuple[list[AgileIssue], bool]:
        """The sprint's *current* members (up to ``limit``) and whether more were left:
        ``startAt`` paging with ``total``, stepping by the page size Jira granted."""
        fields = ",".join(agile_issue_fields(field_map))
        issues: dict[str, AgileIssue] = {}
        start = 0
        while True:
            data = await self._request(
                "sprint_issues",
                "GET",
                f"sprint/{sprint_id}/issue",
                params={"startAt": start, "maxResults": page_size, "fields": fields},
                api=AGILE,
                not_found=SprintNotFound,
            )
            page = data.get("issues") if isinstance(data, dict) else None
            if not isinstance(page, list):
                raise JiraBadResponse()
            for raw in page:
                if isinstance(raw, dict) and isinstance(raw.get("key"), str):
                    issue = agile_issue_from_json(raw, site_url=self.site_url, field_map=field_map)
                    issues.setdefault(issue.issue.key, issue)
            start += len(page)
            total = data.get("total")
            if on_page is not None:
                on_page(len(issues))
            if not page or not isinstance(total, int) or start >= total:
                return list(issues.values())[:limit], len(issues) > limit
            if len(issues) >= limit:
                return list(issues.values())[:limit], True

    async def agile_search(
        self,
        jql: str,
        *,
        field_map: FieldMap,
        limit: int,
        on_page: Callable[[int], None] | None = None,
    ) -> tuple[list[AgileIssue], bool]:
        """Like :meth:`search`, with the fields a sprint report needs (ids, Flagged, links)."""
        issues: dict[str, AgileIssue] = {}
        token: str | None = None
        fields = agile_issue_fields(field_map)
        while True:
            request: dict[str, Any] = {
                "jql": jql,
                "maxResults": max(1, min(limit - len(issues), self.config.page_size)),
                "fields": fields,
            }
            if token:
                request["nextPageToken"] = token
            data = await self._request("search", "POST", "search/jql", body=request)
            if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
                raise JiraBadResponse()
            for raw in data["issues"]:
                if isinstance(raw, dict) and isinstance(raw.get("key"), str):
                    issue = agile_issue_from_json(raw, site_url=self.site_url, field_map=field_map)
                    issues.setdefault(issue.issue.key, issue)
            if on_page is not None:
                on_page(len(issues))
            token = data.get("nextPageToken")
            last = bool(data.get("isLast")) or not token or not data["issues"]
            if last or len(issues) >= limit:
                return list(issues.values())[:limit], not last or len(issues) > limit

    async def changelogs(
        self,
        issue_ids: Iterable[str],
        *,
        field_ids: Iterable[str],
        page_size: int = 1000,
        on_page: Callable[[int], None] | None = None,
    ) -> dict[str, list[ChangeHistory]]:
        """The changelogs of many issues, restricted to ``field_ids`` (at most 10), by issue id,
        oldest first: ``POST changelog/bulkfetch`` by 1,000 ids, following ``nextPageToken``.
        ``on_page(histories)`` is told the number of histories read so far after each page."""
        ids = list(dict.fromkeys(issue_ids))
        fields = list(dict.fromkeys(field_ids))
        if len(fields) > BULK_CHANGELOG_FIELDS:
            raise ValueError("changelog/bulkfetch filters by at most 10 fields")
        out: dict[str, list[ChangeHistory]] = {i: [] for i in ids}
        read = 0
        for chunk in range(0, len(ids), BULK_CHANGELOG_ISSUES):
            body: dict[str, Any] = {
                "issueIdsOrKeys": ids[chunk : chunk + BULK_CHANGELOG_ISSUES],
                "fieldIds": fields,
                "maxResults": page_size,
            }
            while True:
                data = await self._request("changelogs", "POST", "changelog/bulkfetch", body=body)
                logs = data.get("issueChangeLogs") if isinstance(data, dict) else None
                if not isinstance(logs, list):
                    raise JiraBadResponse()
                for log in logs:
                    if not isinstance(log, dict):
                        continue
                    histories = out.setdefault(str(log.get("issueId", "")), [])
                    for raw in log.get("changeHistories") or []:
                        if isinstance(raw, dict):
                            histories.append(change_history_from_json(raw))
                            read += 1
                if on_page is not None:
                    on_page(read)
                token = data.get("nextPageToken")
                if not isinstance(token, str) or not token or not logs:
                    break
                body = {**body, "nextPageToken": token}
        for histories in out.values():
            histories.sort(key=lambda h: (h.created, h.id))
        return out

    # -- JQL tooling (issue #17: a question turned into checked JQL) --

    async def jql_parse(self, queries: list[str], *, validation: str = "strict") -> list[JqlCheck]:
        """Jira's own check of ``queries`` (``POST jql/parse``), one :class:`JqlCheck` each, in
        order: its errors (``strict``: any problem, the query would not run) and warnings, in
        Jira's words."""
        data = await self._request(
            "jql_parse",
            "POST",
            "jql/parse",
            params={"validation": validation},
            body={"queries": queries},
        )
        parsed = data.get("queries") if isinstance(data, dict) else None
        if (
            not isinstance(parsed, list)
            or len(parsed) != len(queries)
            or not all(isinstance(raw, dict) for raw in parsed)
        ):
            raise JiraBadResponse()
        return [
            JqlCheck(
                query=query,
                errors=_messages(raw.get("errors")),
                warnings=_messages(raw.get("warnings")),
            )
            for query, raw in zip(queries, parsed, strict=True)
        ]

    async def jql_fields(self) -> list[JqlField]:
        """The fields JQL can search on the site (``GET jql/autocompletedata``'s
        ``visibleFieldNames``): their JQL name, display name and custom field id."""
        data = await self._request("jql_autocomplete", "GET", "jql/autocompletedata")
        raw = data.get("visibleFieldNames") if isinstance(data, dict) else None
        if not isinstance(raw, list):
            raise JiraBadResponse()
        out: list[JqlField] = []
        for entry in raw:
            if not isinstance(entry, dict) or not entry.get("value"):
                continue
            if str(entry.get("searchable", "true")) != "true":
                continue
            value = clean_text(str(entry["value"]))
            out.append(
                JqlField(
                    jql=value,
                    name=clean_text(str(entry.get("displayName") or value)),
                    id=clean_text(str(entry.get("cfid") or value)),
                )
            )
        return out

    async def jql_suggestions(self, field_name: str, typed: str = "") -> list[str]:
        """The values Jira suggests for ``field_name`` (``GET jql/autocompletedata/suggestions``):
        priorities, issue types, statuses... without the ``<b>`` highlighting."""
        data = await self._request(
            "jql_suggestions",
            "GET",
            "jql/autocompletedata/suggestions",
            params={"fieldName": field_name, "fieldValue": typed},
        )
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise JiraBadResponse()
        return [
            clean_text(str(r["value"]))
            for r in results
            if isinstance(r, dict) and isinstance(r.get("value"), str) and r["value"]
        ]

    async def status_names(self) -> list[str]:
        """The names of every status of the site (``GET status``), once each."""
        data = await self._request("statuses", "GET", "status")
        if not isinstance(data, list):
            raise JiraBadResponse()
        names = [
            clean_text(str(raw["name"]))
            for raw in data
            if isinstance(raw, dict) and isinstance(raw.get("name"), str)
        ]
        return list(dict.fromkeys(names))

    async def status_categories(self) -> dict[str, str]:
        """Every status of the site, id -> status category key (``GET status``): a changelog
        names statuses by id, and "Done at completion" needs their category."""
        data = await self._request("statuses", "GET", "status")
        if not isinstance(data, list):
            raise JiraBadResponse()
        out: dict[str, str] = {}
        for raw in data:
            if isinstance(raw, dict) and raw.get("id") is not None:
                category = (raw.get("statusCategory") or {}).get("key")
                out[str(raw["id"])] = str(category or "")
        return out
