"""Jira Software reads for the signed-in user: boards, a board's sprints, and everything a sprint
report computes its facts from (:func:`sprint_history_get`), cached in Redis like the other reads.

**Which issues were ever in a sprint.** ``GET sprint/{id}/issue`` lists only the sprint's current
members: an issue removed during the sprint is not there. The candidates are therefore the current
members of every sprint read (the report's sprint and the closed ones its velocity needs) plus the
issues of those sprints' projects (the board's location project and the members' projects) updated
since the day before the oldest of those sprints started (JQL ``updated >= "<day>"``, through
``search/jql``): an issue that left a sprint was updated when it left. The day before, because a
JQL date is read in the user's time zone. Their Sprint, story points, status and Flagged
changelogs are then bulk-fetched (``changelog/bulkfetch``, 1,000 ids and 10 fields a call).

**Bounds.** At most ``MAX_SPRINT_MEMBERS`` current members per sprint and ``MAX_CANDIDATES``
(5,000, the contract's ``MAX_REPORT_ISSUES``) issues from the search; beyond that ``truncated``
is set and logged, and the facts may miss an issue that left the sprint. The window grows with
the velocity's oldest sprint (about ten weeks for two-week sprints), so a busy project costs a
few search pages and one bulk changelog call per 1,000 candidates.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from pydantic import BaseModel

from accounts.context import UserContext
from core.aio import gather_first_error
from core.errors import ApiError, ErrorCode
from jira.cache import JiraCache
from jira.client import JiraClient
from jira.errors import SprintNotFound
from jira.models import AgileIssue, Board, BoardList, ChangeHistory, Sprint, SprintList
from jira.services import _cache, _field_map, _ttl, jira_client_for

logger = logging.getLogger(__name__)

MAX_SPRINT_MEMBERS = 1000
MAX_CANDIDATES = 5000  # the contract's MAX_REPORT_ISSUES
VELOCITY_SPRINTS = 5
STATUS_TTL_SECONDS = 3600


def sprints_order(sprints: list[Sprint]) -> list[Sprint]:
    """The order of ``GET /jira/boards/{id}/sprints``: the active sprint(s) first (what a team
    reviews most), then the closed ones newest first (by completion, else end date), then the
    future ones in Jira's order (the backlog's order)."""
    active = [s for s in sprints if s.state == "active"]
    closed = [s for s in sprints if s.state == "closed"]
    future = [s for s in sprints if s.state == "future"]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    closed.sort(key=lambda s: (s.complete_date or s.end_date or epoch, s.id), reverse=True)
    return [*active, *closed, *future]


async def boards_list(
    *, ctx: UserContext, refresh: bool = False, client: JiraClient | None = None
) -> BoardList:
    """Every board of the current site the user can see (all pages), in Jira's order."""
    cache = _cache(ctx)
    if not refresh:
        cached = await cache.get("boards", "all", BoardList)
        if cached is not None:
            return cached
    client = client or jira_client_for(ctx)
    result = BoardList(boards=await client.boards())
    await cache.set("boards", "all", result, _ttl())
    return result


async def board_sprints_list(
    *, ctx: UserContext, board_id: int, refresh: bool = False, client: JiraClient | None = None
) -> SprintList:
    """A board's sprints in :func:`sprints_order`; none for a kanban board; 404
    ``board_not_found`` for a board that does not exist or that the user cannot see."""
    cache = _cache(ctx)
    if not refresh:
        cached = await cache.get("sprints", str(board_id), SprintList)
        if cached is not None:
            return cached
    client = client or jira_client_for(ctx)
    result = SprintList(sprints=sprints_order(await client.board_sprints(board_id)))
    await cache.set("sprints", str(board_id), result, _ttl())
    return result


class SprintHistory(BaseModel):
    """The Jira data of one sprint report: the board, its sprints in Jira's order, the sprints
    the facts cover (``sprint`` and the closed ones of its velocity), every candidate issue with
    its changelog of ``field_ids`` (oldest first), and the site's status categories by id."""

    board: Board
    sprint: Sprint
    board_sprints: list[Sprint]
    velocity_sprints: list[Sprint]
    issues: list[AgileIssue]
    changelogs: dict[str, list[ChangeHistory]]
    status_categories: dict[str, str]
    sprint_field: str | None
    points_field: str | None
    flagged_field: str | None
    read_at: dt.datetime
    truncated: bool


class _Statuses(BaseModel):
    categories: dict[str, str]


def _invalid(detail: str) -> ApiError:
    return ApiError(detail, code=ErrorCode.INVALID_INPUT, status=422)


def velocity_sprints(sprints: list[Sprint], sprint: Sprint) -> list[Sprint]:
    """The closed sprints of the velocity, oldest first: the last ``VELOCITY_SPRINTS`` closed up
    to this one when it is closed (so a past sprint's report does not change when later sprints
    close), else the board's last closed ones."""
    closed = [s for s in sprints if s.state == "closed"]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    closed.sort(key=lambda s: (s.complete_date or s.end_date or epoch, s.id))
    if sprint.state == "closed":
        closed = closed[: closed.index(sprint) + 1] if sprint in closed else closed
    return closed[-VELOCITY_SPRINTS:]


async def _statuses(client: JiraClient, cache: JiraCache, refresh: bool) -> dict[str, str]:
    if not refresh:
        cached = await cache.get("statuses", "all", _Statuses)
        if cached is not None:
            return cached.categories
    categories = await client.status_categories()
    await cache.set("statuses", "all", _Statuses(categories=categories), STATUS_TTL_SECONDS)
    return categories


def _project_of(key: str) -> str:
    return key.rsplit("-", 1)[0]


async def sprint_history_get(
    *,
    ctx: UserContext,
    board_id: int,
    sprint_id: int,
    refresh: bool = False,
    on_fetch: Callable[[int, int], None] | None = None,
    client: JiraClient | None = None,
) -> SprintHistory:
    """Everything :mod:`ai_proxy.sprint_facts` needs for a sprint of a board (see the module
    docstring for the candidates and their bounds). 404 ``board_not_found`` /
    ``sprint_not_found`` (a sprint the board does not list); 422 ``invalid_input`` for a kanban
    board or a sprint that has not started. ``on_fetch(done, total)`` is called after each Jira
    read of members, candidates and changelogs (not when the answer comes from the cache)."""
    cache = _cache(ctx)
    name = f"{board_id}:{sprint_id}"
    if not refresh:
        cached = await cache.get("sprint_history", name, SprintHistory)
        if cached is not None:
            return cached
    client = client or jira_client_for(ctx)
    board = await client.board(board_id)
    if board.type != "scrum":
        raise _invalid("A kanban board has no sprints: a sprint report needs a scrum board.")
    (sprints, field_map), statuses = await gather_first_error(
        gather_first_error(client.board_sprints(board_id), _field_map(ctx, client, cache)),
        _statuses(client, cache, refresh),
    )
    sprint = next((s for s in sprints if s.id == sprint_id), None)
    if sprint is None:
        raise SprintNotFound()
    if sprint.state == "future" or sprint.start_date is None:
        raise _invalid("The sprint has not started.")
    covered = velocity_sprints(sprints, sprint)
    if sprint not in covered:
        covered = [*covered, sprint]
    total = len(covered) + 2
    done = 0

    def fetched() -> None:
        nonlocal done
        done += 1
        if on_fetch is not None:
            on_fetch(done, total)

    async def members(of: Sprint) -> tuple[list[AgileIssue], bool]:
        found = await client.sprint_issues(of.id, field_map=field_map, limit=MAX_SPRINT_MEMBERS)
        fetched()
        return found

    read_at = dt.datetime.now(dt.UTC)
    pages = await gather_first_error(*(members(s) for s in covered))
    issues: dict[str, AgileIssue] = {}
    truncated = False
    for found, more in pages:
        truncated = truncated or more
        for issue in found:
            issues.setdefault(issue.issue.key, issue)
    projects = sorted({_project_of(k) for k in issues} | {board.project_key or ""} - {""})
    starts = [s.start_date for s in covered if s.start_date is not None]
    since = (min(starts) - dt.timedelta(days=1)).date().isoformat()
    if projects:
        quoted = ", ".join(f'"{p}"' for p in projects)
        jql = f'project in ({quoted}) AND updated >= "{since}" ORDER BY key'
        found, more = await client.agile_search(jql, field_map=field_map, limit=MAX_CANDIDATES)
        truncated = truncated or more
        for issue in found:
            issues.setdefault(issue.issue.key, issue)
    fetched()
    field_ids = [
        f for f in (field_map.sprint, field_map.story_points, "status", field_map.flagged) if f
    ]
    changelogs = (
        await client.changelogs([i.id for i in issues.values()], field_ids=field_ids)
        if issues
        else {}
    )
    fetched()
    if truncated:
        logger.warning(
            "sprint %s of board %s: more candidates than the bound, the facts may be incomplete",
            sprint_id,
            board_id,
        )
    history = SprintHistory(
        board=board,
        sprint=sprint,
        board_sprints=sprints,
        velocity_sprints=[s for s in covered if s.state == "closed"],
        issues=list(issues.values()),
        changelogs=changelogs,
        status_categories=statuses,
        sprint_field=field_map.sprint,
        points_field=field_map.story_points,
        flagged_field=field_map.flagged,
        read_at=read_at,
        truncated=truncated,
    )
    # An active sprint changes while we look: cache it as long as the other live reads.
    await cache.set("sprint_history", name, history, _ttl())
    return history
