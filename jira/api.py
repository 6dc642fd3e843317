"""The ninja router of the `jira` app, mounted on the one NinjaAPI in jira_ai/urls.py.

Handlers only parse, authorize (``SessionAuth`` gives the :class:`UserContext`), call one service
and return its model; errors are the typed family of :mod:`jira.errors`, mapped in ``jira_ai.api``.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.auth import SessionAuth
from accounts.context import UserContext
from accounts.errors import NotAuthenticated
from ai_service.contract.openapi import error_responses
from jira import agile, services
from jira.models import (
    BoardList,
    IssueWithComments,
    ProjectList,
    ProjectOverview,
    SearchResult,
    SprintList,
    VersionList,
)

router = Router(tags=["jira"], auth=SessionAuth())

# Every status a Jira read answers: 401 signed out, session expired or Atlassian re-consent
# needed; 403 a foreign `cloud_id` or Jira's own refusal; 422 bad parameters; Jira's failures
# are 502 (unreachable, unreadable), 503 (rate-limited beyond our wait, breaker open, session
# store down) and 504 (timeout). Lookups of one thing add 404.
_JIRA_ERRORS = error_responses(401, 403, 422, 502, 503, 504)
_LOOKUP_ERRORS = error_responses(401, 403, 404, 422, 502, 503, 504)


class Refresh(Schema):
    refresh: bool = Field(False, description="bypass the cache")


class SearchParams(Schema):
    """The query string of ``GET /jira/search`` and the JSON body of ``POST /jira/search``."""

    jql: str = Field(
        ...,
        min_length=1,
        max_length=services.MAX_SEARCH_JQL_CHARS,
        description=f"at most {services.MAX_SEARCH_JQL_CHARS} characters (422 `invalid_input`)",
    )
    limit: int = Field(50, ge=1, le=services.MAX_SEARCH_LIMIT)
    refresh: bool = Field(False, description="bypass the cache")


class IssueParams(Schema):
    comments_limit: int = Field(50, ge=0, le=10000)
    refresh: bool = Field(False, description="bypass the cache")


def _ctx(request: HttpRequest) -> UserContext:
    ctx = getattr(request, "auth", None)
    if not isinstance(ctx, UserContext):
        raise NotAuthenticated
    return ctx


@router.get(
    "/projects",
    response={200: ProjectList, **_JIRA_ERRORS},
    summary="Projects of the current site",
)
async def projects_get(request: HttpRequest, params: Query[Refresh]) -> ProjectList:
    return await services.projects_list(ctx=_ctx(request), refresh=params.refresh)


@router.get(
    "/projects/{key}/overview",
    response={200: ProjectOverview, **_LOOKUP_ERRORS},
    summary="A project's PO overview",
)
async def project_overview_get(
    request: HttpRequest, key: str, params: Query[Refresh]
) -> ProjectOverview:
    return await services.project_overview(ctx=_ctx(request), key=key, refresh=params.refresh)


# Every status of a search: 414/431 are answered by Daphne itself (core.daphne), before Django.
_SEARCH_RESPONSES = {200: SearchResult, **error_responses(401, 403, 414, 422, 431, 502, 503, 504)}
_SEARCH_DESCRIPTION = (
    f"`jql` up to {services.MAX_SEARCH_JQL_CHARS} characters; longer: 422 `invalid_input`, as "
    "for a bad `limit`; a JQL Jira refuses: 422 `invalid_jql` with Jira's message. A request "
    "line over 64 KiB is a 414 `request_too_long`, headers over 32 KiB a 431 with the same code."
)


@router.get(
    "/search",
    response=_SEARCH_RESPONSES,
    summary="Issues matching a JQL query",
    description=_SEARCH_DESCRIPTION
    + " An ASCII JQL at the cap fits in the query string even percent-encoded; POST takes one"
    " of any characters up to the cap.",
)
async def search_get(request: HttpRequest, params: Query[SearchParams]) -> SearchResult:
    return await services.issues_search(
        ctx=_ctx(request), jql=params.jql, limit=params.limit, refresh=params.refresh
    )


@router.post(
    "/search",
    response=_SEARCH_RESPONSES,
    summary="Issues matching a JQL query, given in a JSON body",
    description=_SEARCH_DESCRIPTION
    + " The same as GET, for a JQL of any length up to the cap; needs the CSRF token (403).",
)
async def search_post(request: HttpRequest, body: SearchParams) -> SearchResult:
    return await services.issues_search(
        ctx=_ctx(request), jql=body.jql, limit=body.limit, refresh=body.refresh
    )


@router.get(
    "/projects/{key}/versions",
    response={200: VersionList, **_LOOKUP_ERRORS},
    summary="A project's fix versions, in Jira's order",
)
async def project_versions_get(
    request: HttpRequest, key: str, params: Query[Refresh]
) -> VersionList:
    """Every fix version of the project (archived ones included), in the project's order. 404
    `project_not_found` for a project that does not exist or that the user cannot browse."""
    return await services.project_versions_list(ctx=_ctx(request), key=key, refresh=params.refresh)


# `path:` so that any malformed key (even `../x`) reaches validation and answers 422, not 404.
@router.get(
    "/issues/{path:key}",
    response={200: IssueWithComments, **_LOOKUP_ERRORS},
    summary="An issue and its comments",
)
async def issue_get(
    request: HttpRequest, key: str, params: Query[IssueParams]
) -> IssueWithComments:
    return await services.issue_with_comments(
        ctx=_ctx(request),
        key=key,
        comments_limit=params.comments_limit,
        refresh=params.refresh,
    )


@router.get(
    "/boards",
    response={200: BoardList, **_JIRA_ERRORS},
    summary="Jira Software boards of the current site",
)
async def boards_get(request: HttpRequest, params: Query[Refresh]) -> BoardList:
    return await agile.boards_list(ctx=_ctx(request), refresh=params.refresh)


@router.get(
    "/boards/{board_id}/sprints",
    response={200: SprintList, **_LOOKUP_ERRORS},
    summary="A board's sprints: active first, then closed newest first, then future",
)
async def board_sprints_get(
    request: HttpRequest, board_id: int, params: Query[Refresh]
) -> SprintList:
    return await agile.board_sprints_list(
        ctx=_ctx(request), board_id=board_id, refresh=params.refresh
    )
