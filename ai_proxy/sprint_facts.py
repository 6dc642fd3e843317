"""The facts of a sprint report, computed from Jira (never by the model), and the request the
report service sends ai-service or the local engine (:func:`sprint_report_request`).

:func:`sprint_facts_compute` is pure: from the sprint, the candidate issues (every issue that may
have been in it, see :mod:`jira.agile`) and their Sprint, story points, status and Flagged
changelogs, it rebuilds each field's value at any moment: **the value at ``t`` is the ``from`` of
the first change after ``t``, else the current value** (nothing before the issue was created). An
issue whose Sprint field never changed was in its sprints since its creation.

With ``t0`` the sprint's start and ``t1`` its completion (now for an active sprint):
committed = in the sprint at ``t0``; added = entered in ``(t0, t1]`` and not committed; removed =
committed or added and not in it at ``t1``; completed = in it at ``t1`` with a status of category
Done at ``t1``; not_completed = the others in it at ``t1``; carried_over (a closed sprint) = the
not completed whose Sprint field now holds a later sprint of the board. An issue's points are its
estimate at ``t0`` (committed) or when it first entered (added), so that committed + added -
removed = completed + not_completed holds for issues and points. The README ("How each sprint
figure is computed") says the same per figure.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from accounts.context import UserContext
from ai_proxy.services import engine_issue
from ai_service.contract.reports import (
    MAX_REPORT_ISSUES,
    Audience,
    Blocker,
    BlockerReason,
    BoardInfo,
    EstimateChange,
    GroupCompletion,
    IssueSet,
    SprintFacts,
    SprintInfo,
    SprintReportRequest,
    VelocityEntry,
)
from ai_service.contract.schemas import Language
from core.keys import key_order
from jira.agile import SprintHistory, sprint_history_get
from jira.models import AgileIssue, Board, ChangeHistory, ChangeItem, Issue, Sprint

NONE_GROUP = "(none)"
# A status "named like Blocked", in the sites' languages (Blocked, Blocké, Bloqué, Bloquée...).
BLOCKED_STATUS = re.compile(r"block|bloqu", re.IGNORECASE)


@dataclass(frozen=True)
class FactFields:
    """The changelog field ids of the site (``sprint`` and ``points`` may be missing)."""

    sprint: str | None
    points: str | None
    flagged: str | None
    status: str = "status"


def _sprint_ids(text: str | None) -> set[int]:
    """The sprint ids of a Sprint changelog value (``"1019, 1020"``)."""
    return {int(p) for p in (text or "").replace(" ", "").split(",") if p.isdigit()}


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


@dataclass
class _Timeline:
    """One issue's current values and its changes per field, oldest first."""

    issue: AgileIssue
    changes: dict[str, list[tuple[dt.datetime, ChangeItem]]] = field(default_factory=dict)

    @classmethod
    def build(cls, issue: AgileIssue, histories: Iterable[ChangeHistory]) -> _Timeline:
        timeline = cls(issue)
        for history in sorted(histories, key=lambda h: (h.created, h.id)):
            for item in history.items:
                timeline.changes.setdefault(item.field_id, []).append((history.created, item))
        return timeline

    @property
    def created(self) -> dt.datetime:
        return self.issue.issue.created

    def next_change(self, field_id: str | None, when: dt.datetime) -> ChangeItem | None:
        """The first change of ``field_id`` after ``when`` (its ``from`` is the value then)."""
        for moment, item in self.changes.get(field_id or "", ()):
            if moment > when:
                return item
        return None

    def sprints_at(self, fields: FactFields, when: dt.datetime) -> set[int]:
        if when < self.created:
            return set()
        change = self.next_change(fields.sprint, when)
        return _sprint_ids(change.from_id) if change else set(self.issue.sprint_ids)

    def points_at(self, fields: FactFields, when: dt.datetime) -> float | None:
        change = self.next_change(fields.points, when)
        return _number(change.from_string) if change else self.issue.issue.story_points

    def done_at(self, fields: FactFields, categories: Mapping[str, str], when: dt.datetime) -> bool:
        change = self.next_change(fields.status, when)
        if change is None:
            return self.issue.issue.status_category == "done"
        return categories.get(change.from_id or "") == "done"

    def status_at(self, fields: FactFields, when: dt.datetime) -> str:
        change = self.next_change(fields.status, when)
        return (change.from_string or "") if change else self.issue.issue.status

    def flagged_at(self, fields: FactFields, when: dt.datetime) -> bool:
        change = self.next_change(fields.flagged, when)
        return bool(change.from_string) if change else self.issue.flagged

    def moves(
        self, fields: FactFields, sprint_id: int, after: dt.datetime, until: dt.datetime
    ) -> tuple[list[dt.datetime], list[dt.datetime]]:
        """When the issue entered and left the sprint in ``(after, until]`` (creation into the
        sprint counts as an entry)."""
        entries: list[dt.datetime] = []
        exits: list[dt.datetime] = []
        if after < self.created <= until and sprint_id in self.sprints_at(fields, self.created):
            entries.append(self.created)
        for moment, item in self.changes.get(fields.sprint or "", ()):
            if not after < moment <= until:
                continue
            was, now = sprint_id in _sprint_ids(item.from_id), sprint_id in _sprint_ids(item.to_id)
            if now and not was:
                entries.append(moment)
            elif was and not now:
                exits.append(moment)
        return entries, exits


@dataclass(frozen=True)
class _Membership:
    """Who was in one sprint, when, with which points."""

    committed: list[str]
    added: list[str]
    removed: list[str]
    completed: list[str]
    not_completed: list[str]
    points: dict[str, float]
    entered: dict[str, dt.datetime]
    left: dict[str, dt.datetime]

    def issue_set(self, keys: Iterable[str]) -> IssueSet:
        ordered = sorted(keys, key=key_order)
        return IssueSet(
            issues=len(ordered),
            points=_round(sum(self.points[k] for k in ordered)),
            keys=ordered,
        )


def _round(value: float) -> float:
    return round(value, 3)


def _membership(
    sprint: Sprint,
    completion: dt.datetime,
    timelines: Mapping[str, _Timeline],
    fields: FactFields,
    categories: Mapping[str, str],
) -> _Membership:
    start = sprint.start_date
    assert start is not None  # a sprint with no start is refused before
    committed: list[str] = []
    added: list[str] = []
    removed: list[str] = []
    completed: list[str] = []
    not_completed: list[str] = []
    points: dict[str, float] = {}
    entered: dict[str, dt.datetime] = {}
    left: dict[str, dt.datetime] = {}
    for key, timeline in timelines.items():
        at_start = sprint.id in timeline.sprints_at(fields, start)
        entries, exits = timeline.moves(fields, sprint.id, start, completion)
        if not at_start and not entries:
            continue
        entered[key] = start if at_start else min(entries)
        (committed if at_start else added).append(key)
        points[key] = timeline.points_at(fields, entered[key]) or 0.0
        if sprint.id not in timeline.sprints_at(fields, completion):
            removed.append(key)
            left[key] = max(exits) if exits else completion
        elif timeline.done_at(fields, categories, completion):
            completed.append(key)
        else:
            not_completed.append(key)
    return _Membership(committed, added, removed, completed, not_completed, points, entered, left)


def _groups(
    keys: Sequence[str],
    done: set[str],
    points: Mapping[str, float],
    name_of: Callable[[str], str | None],
) -> list[GroupCompletion]:
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(name_of(key) or NONE_GROUP, []).append(key)
    return [
        GroupCompletion(
            name=name,
            issues=len(members),
            completed_issues=sum(1 for k in members if k in done),
            points=_round(sum(points[k] for k in members)),
            completed_points=_round(sum(points[k] for k in members if k in done)),
        )
        for name, members in sorted(groups.items())
    ]


def completion_of(sprint: Sprint, now: dt.datetime) -> dt.datetime:
    """When the sprint completed; an active one is read as if it completed ``now``."""
    if sprint.state == "closed":
        return sprint.complete_date or sprint.end_date or now
    return now


def sprint_facts_compute(
    *,
    sprint: Sprint,
    issues: Sequence[AgileIssue],
    changelogs: Mapping[str, Sequence[ChangeHistory]],
    status_categories: Mapping[str, str],
    fields: FactFields,
    board_sprints: Sequence[Sprint],
    velocity_sprints: Sequence[Sprint],
    now: dt.datetime,
) -> SprintFacts:
    """The facts of ``sprint`` (started: it has a ``start_date``) from its candidates and their
    changelogs (by issue id); ``velocity_sprints`` are the closed sprints of the velocity,
    oldest first, each computed the same way; ``now`` completes an active sprint."""
    timelines = {i.issue.key: _Timeline.build(i, changelogs.get(i.id, ())) for i in issues}
    completion = completion_of(sprint, now)
    members = _membership(sprint, completion, timelines, fields, status_categories)
    later = {
        s.id
        for s in board_sprints
        if s.id != sprint.id
        and (s.start_date is None or (sprint.start_date and s.start_date > sprint.start_date))
    }
    carried = (
        [k for k in members.not_completed if later & set(timelines[k].issue.sprint_ids)]
        if sprint.state == "closed"
        else []
    )
    ever = members.committed + members.added
    estimate_changes = []
    for key in sorted(ever, key=key_order):
        until = members.left.get(key, completion)
        before = timelines[key].points_at(fields, members.entered[key])
        after = timelines[key].points_at(fields, until)
        if before != after:
            estimate_changes.append(EstimateChange(key=key, before=before, after=after))
    committed = members.issue_set(members.committed)
    added = members.issue_set(members.added)
    removed = members.issue_set(members.removed)
    scope = (
        round(100 * (added.points + removed.points) / committed.points, 1)
        if committed.points
        else 0.0
    )
    velocity = []
    for closed in velocity_sprints:
        past = (
            members
            if closed.id == sprint.id
            else _membership(
                closed, completion_of(closed, now), timelines, fields, status_categories
            )
        )
        velocity.append(
            VelocityEntry(
                sprint_id=closed.id,
                name=closed.name,
                committed_points=past.issue_set(past.committed).points,
                completed_points=past.issue_set(past.completed).points,
            )
        )
    at_end = sorted(members.completed + members.not_completed, key=key_order)

    def issue_of(key: str) -> Issue:
        return timelines[key].issue.issue

    done = set(members.completed)
    blockers = []
    for key in at_end:
        timeline = timelines[key]
        reasons: list[BlockerReason] = []
        if timeline.flagged_at(fields, completion):
            reasons.append("flagged")
        blocked_by = sorted(
            {link.key for link in timeline.issue.blocked_by if link.status_category != "done"},
            key=key_order,
        )
        if blocked_by:
            reasons.append("blocked_by")
        if BLOCKED_STATUS.search(timeline.status_at(fields, completion)):
            reasons.append("blocked_status")
        if reasons:
            blockers.append(Blocker(key=key, reasons=reasons, blocked_by=blocked_by))
    return SprintFacts(
        committed=committed,
        added=added,
        removed=removed,
        completed=members.issue_set(members.completed),
        not_completed=members.issue_set(members.not_completed),
        carried_over=members.issue_set(carried),
        estimate_changes=estimate_changes,
        scope_change_percent=scope,
        velocity=velocity,
        by_assignee=_groups(at_end, done, members.points, lambda k: issue_of(k).assignee),
        by_type=_groups(at_end, done, members.points, lambda k: issue_of(k).issue_type),
        blockers=blockers,
    )


def _board_info(board: Board) -> BoardInfo:
    return BoardInfo(
        id=board.id,
        name=board.name,
        type="scrum" if board.type == "scrum" else "kanban",
        project_key=board.project_key,
    )


def _sprint_info(sprint: Sprint) -> SprintInfo:
    return SprintInfo.model_validate(sprint.model_dump())


def sprint_facts_of(history: SprintHistory) -> tuple[SprintFacts, list[AgileIssue]]:
    """The facts of a :class:`~jira.agile.SprintHistory` and the issues they cover (in the
    sprint at any time between its start and completion), in key order."""
    facts = sprint_facts_compute(
        sprint=history.sprint,
        issues=history.issues,
        changelogs=history.changelogs,
        status_categories=history.status_categories,
        fields=FactFields(
            sprint=history.sprint_field,
            points=history.points_field,
            flagged=history.flagged_field,
        ),
        board_sprints=history.board_sprints,
        velocity_sprints=history.velocity_sprints,
        now=history.read_at,
    )
    keys = set(facts.committed.keys) | set(facts.added.keys)
    covered = sorted(
        (i for i in history.issues if i.issue.key in keys), key=lambda i: key_order(i.issue.key)
    )
    return facts, covered


async def sprint_report_request(
    *,
    ctx: UserContext,
    board_id: int,
    sprint_id: int,
    language: Language | None,
    audience: Audience = "team",
    refresh: bool = False,
    on_fetch: Callable[[int, int], None] | None = None,
) -> SprintReportRequest:
    """What the sprint report sends ai-service (or the local engine): the board, the sprint, its
    facts and the normalized issues that were in it at any time. Errors: 404
    ``board_not_found`` / ``sprint_not_found``; 422 ``invalid_input`` for a kanban board or a
    future sprint; Jira's failures as elsewhere (502/503/504). ``on_fetch(done, total)`` after
    each Jira read of members, candidates and changelogs (not called on a cache hit)."""
    history = await sprint_history_get(
        ctx=ctx, board_id=board_id, sprint_id=sprint_id, refresh=refresh, on_fetch=on_fetch
    )
    facts, covered = sprint_facts_of(history)
    return SprintReportRequest(
        board=_board_info(history.board),
        sprint=_sprint_info(history.sprint),
        facts=facts,
        issues=[engine_issue(i.issue) for i in covered[:MAX_REPORT_ISSUES]],
        language=language,
        audience=audience,
    )
