"""The facts of an epic report (issue #16), computed from Jira, never by the model.

:func:`epic_facts_compute` is pure: the epic, its direct children and the report's day in,
:class:`~ai_service.contract.reports.EpicFacts` out. :func:`epic_report_request` is what the report
service calls: it reads the epic and its children through the jira app's services (cached like
every read, ``refresh`` bypasses) and builds the request sent to ai-service or the local engine.
How each figure is computed is in the README ("How each epic figure is computed"); in short:

* **Children** are the epic's *direct* children, what ``parent = EPIC`` returns, in any project
  (company-managed Jira lets an epic of PAY parent a MOB story). At most
  :data:`EPIC_MAX_CHILDREN` (1,000, the search's own cap) are read, every page of them; an epic
  with more is refused (422) rather than reported from a part of its children.
* **Points**: an unestimated child (no story points) counts 0 and is listed in ``unestimated``;
  ``done_percent_points`` divides the points of the Done children by the points of the
  estimated ones, so unestimated children weigh nothing either way (null when no child carries
  points). Done means status category Done, whatever the status is called.
* **Time**: only the report's day (today, UTC) is used, for ``stale`` and the due date, so that the
  facts of one day are identical for a cached and a regenerated report.
* **Due status**, first rule that applies: ``done`` (the epic is in status category Done, or it has
  children and all are Done); ``no_due_date``; ``overdue`` (the due day is before the report's
  day); ``at_risk`` (the progress, done % by points, or by issues when no child carries points, is
  below ``expected_percent``, both rounded as shown); else ``on_track``. ``expected_percent`` is
  the share of the days from the epic's creation day to its due day elapsed at the report's day
  (0 to 100; 100 when the due day is not after the creation day).

A key counts as an epic when its issue type is named Epic (any case), the name Jira Cloud gives
the first level above stories in company- and team-managed projects. A site that renamed that
level (Jira Premium's custom hierarchy) is refused with 422: the normalized issue carries the type's
name, not its hierarchy level.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction

from django.conf import settings

from accounts.context import UserContext
from ai_proxy.services import engine_issue, language_resolve
from ai_service.contract.reports import (
    Audience,
    DueStatus,
    EpicFacts,
    EpicReportRequest,
    IssueSet,
    StatusGroup,
)
from ai_service.contract.schemas import Language, NormalizedIssue
from core.errors import ApiError, ErrorCode
from core.keys import key_order
from jira.client import JiraClient
from jira.services import (
    MAX_SEARCH_LIMIT,
    SearchProgress,
    issue_key_validate,
    issue_with_comments,
    issues_search,
    jira_client_for,
)

EPIC_MAX_CHILDREN = MAX_SEARCH_LIMIT
EPIC_TYPE_NAMES = frozenset({"epic"})
DONE = "done"  # Jira's status category key


def percent(part: float, whole: float) -> float:
    """``100 * part / whole`` rounded half up to one decimal, computed exactly (no float drift:
    1 of 8 is 12.5, 1 of 16 is 6.3)."""
    exact = Fraction(part) * 100 / Fraction(whole)
    return math.floor(exact * 10 + Fraction(1, 2)) / 10


def _points(issues: Iterable[NormalizedIssue]) -> float:
    return math.fsum(i.story_points or 0.0 for i in issues)


def _issue_set(issues: Sequence[NormalizedIssue]) -> IssueSet:
    return IssueSet(
        issues=len(issues),
        points=_points(issues),
        keys=sorted((i.key for i in issues), key=key_order),
    )


def _day(value: dt.datetime) -> dt.date:
    return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()


def status_order(name: str) -> tuple[str, str]:
    """Status names sorted as a reader expects, accents and case aside ("À faire" with the
    A's), then exactly (a stable order for names that differ only there)."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return bare.casefold(), name


def _by_status(children: Sequence[NormalizedIssue]) -> list[StatusGroup]:
    groups: dict[tuple[str, str], list[NormalizedIssue]] = {}
    for child in children:
        groups.setdefault((child.status, child.status_category), []).append(child)
    ordered = sorted(groups.items(), key=lambda item: (status_order(item[0][0]), item[0][1]))
    return [
        StatusGroup(
            status=status,
            status_category=category,
            issues=len(members),
            points=_points(members),
            keys=sorted((i.key for i in members), key=key_order),
        )
        for (status, category), members in ordered
    ]


def expected_percent_compute(
    *, created: dt.datetime | None, due: dt.date | None, today: dt.date
) -> float | None:
    """The share of the days from the creation day to the due day elapsed at ``today``."""
    if due is None or created is None:
        return None
    start = _day(created)
    span = (due - start).days
    if span <= 0:
        return 100.0
    elapsed = min(max((today - start).days, 0), span)
    return percent(elapsed, span)


def due_status_compute(
    *,
    epic_done: bool,
    all_children_done: bool,
    due: dt.date | None,
    today: dt.date,
    progress: float,
    expected: float | None,
) -> DueStatus:
    """The first rule that applies (module docstring): done, no_due_date, overdue, at_risk,
    on_track."""
    if epic_done or all_children_done:
        return "done"
    if due is None:
        return "no_due_date"
    if due < today:
        return "overdue"
    if expected is not None and progress < expected:
        return "at_risk"
    return "on_track"


def epic_facts_compute(
    *,
    epic: NormalizedIssue,
    children: Sequence[NormalizedIssue],
    today: dt.date,
    stale_days: int,
) -> EpicFacts:
    """The facts of ``epic`` from its direct children, on the report's day ``today`` (UTC)."""
    done = [c for c in children if c.status_category == DONE]
    estimated = [c for c in children if c.story_points is not None]
    estimated_points = _points(estimated)
    done_points = _points(c for c in estimated if c.status_category == DONE)
    done_percent_points = percent(done_points, estimated_points) if estimated_points else None
    done_percent_issues = percent(len(done), len(children)) if children else None
    stale = [
        c
        for c in children
        if c.status_category != DONE
        and c.updated is not None
        and (today - _day(c.updated)).days >= stale_days
    ]
    expected = expected_percent_compute(created=epic.created, due=epic.due, today=today)
    progress = done_percent_points
    if progress is None:
        progress = done_percent_issues if done_percent_issues is not None else 0.0
    return EpicFacts(
        epic_key=epic.key,
        children_total=len(children),
        children=_by_status(children),
        done=_issue_set(done),
        estimated_points=estimated_points,
        done_percent_points=done_percent_points,
        done_percent_issues=done_percent_issues,
        unestimated=sorted((c.key for c in children if c.story_points is None), key=key_order),
        stale=sorted((c.key for c in stale), key=key_order),
        stale_days=stale_days,
        projects=sorted({key_order(c.key)[0] for c in children}),
        due=epic.due,
        due_status=due_status_compute(
            epic_done=epic.status_category == DONE,
            all_children_done=bool(children) and len(done) == len(children),
            due=epic.due,
            today=today,
            progress=progress,
            expected=expected,
        ),
        expected_percent=expected,
    )


class FetchProgress:
    """Turns the search's callbacks into ``on_fetch(read, total)`` after each page. ``total`` is
    Jira's approximate count, never below what was read (the count and the first page are asked
    at once, so a page may come first: the pages read so far stand for it until then)."""

    def __init__(self, on_fetch: Callable[[int, int], None] | None) -> None:
        self.on_fetch = on_fetch
        self.count = 0
        self.last: tuple[int, int] | None = None

    def search_progress(self) -> SearchProgress:
        return SearchProgress(on_count=self._on_count, on_page=self._on_page)

    def _on_count(self, count: int) -> None:
        self.count = count

    def _on_page(self, read: int) -> None:
        self.report(read, max(self.count, read))

    def report(self, done: int, total: int) -> None:
        if self.on_fetch is not None and self.last != (done, total):
            self.last = (done, total)
            self.on_fetch(done, total)


async def epic_report_request(
    *,
    ctx: UserContext,
    epic_key: str,
    language: Language | None,
    audience: Audience = "team",
    refresh: bool = False,
    on_fetch: Callable[[int, int], None] | None = None,
    client: JiraClient | None = None,
) -> EpicReportRequest:
    """The epic, its direct children (``parent = KEY``, any project, every page up to
    :data:`EPIC_MAX_CHILDREN`) and their facts on today's date (UTC), for the report.

    422 ``invalid_input`` for a malformed key, an issue that is not an epic, or an epic with more
    children than the bound; 404 ``issue_not_found`` for a key the user cannot see. The epic is
    read first, so that a missing key is a 404 and not the JQL error Jira gives for
    ``parent = MISSING-1``. ``on_fetch(done, total)`` is called after each page of children read
    from Jira, and once with the final count when they come from the cache. One client serves
    both reads; ``client`` is for tests (one with a token of their own), as in
    :mod:`jira.services`.
    """
    key = issue_key_validate(epic_key)
    client = client or jira_client_for(ctx)
    epic = (
        await issue_with_comments(
            ctx=ctx, key=key, comments_limit=0, refresh=refresh, client=client
        )
    ).issue
    if (epic.issue_type or "").casefold() not in EPIC_TYPE_NAMES:
        raise ApiError(f"{key} is not an epic.", code=ErrorCode.INVALID_INPUT, status=422)
    progress = FetchProgress(on_fetch)
    found = await issues_search(
        ctx=ctx,
        jql=f'parent = "{key}"',
        limit=EPIC_MAX_CHILDREN,
        refresh=refresh,
        client=client,
        progress=progress.search_progress(),
    )
    if found.truncated:
        raise ApiError(
            f"{key} has more than {EPIC_MAX_CHILDREN:,} direct children: "
            "an epic report covers at most that many.",
            code=ErrorCode.INVALID_INPUT,
            status=422,
        )
    # The last word is exact: Jira's count is approximate, and a search served from the cache
    # called nothing.
    progress.report(len(found.issues), len(found.issues))
    normalized_epic = engine_issue(epic)
    children = sorted((engine_issue(i) for i in found.issues), key=lambda i: key_order(i.key))
    facts = epic_facts_compute(
        epic=normalized_epic,
        children=children,
        today=dt.datetime.now(dt.UTC).date(),
        stale_days=int(settings.AI_EPIC_STALE_DAYS),
    )
    return EpicReportRequest(
        epic=normalized_epic,
        facts=facts,
        children=children,
        language=language_resolve(language),
        audience=audience,
    )
