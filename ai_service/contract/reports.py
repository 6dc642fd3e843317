"""The wire contract of the sprint and epic reports (issue #16): the facts the public API
computes from Jira, what it sends ai-service, and the report both answer.

**Facts are computed by the public API from Jira, never by the model** (``ai_proxy/sprint_facts.py``
and ``ai_proxy/epic_facts.py``); ai-service computes nothing from Jira, it words the story around
them and its guardrails check the text against them (every key cited must be in the data, every
count must be one of the facts). ``facts`` holds only figures computed from Jira: no timestamps of
the generation, every list sorted (keys in Jira's order: project, then number), so a cached and a
regenerated report carry identical facts.

Sprint figures (how each is computed is in the README, "How each sprint figure is computed"):
``committed`` = in the sprint at its start (the Sprint field's value at ``start_date``, rebuilt
from the changelog); ``added`` = entered after the start and before completion; ``removed`` = left
before completion; ``completed`` = in the sprint at completion and in status category Done then;
``not_completed`` = in the sprint at completion and not Done; ``carried_over`` (a closed sprint) =
the not completed that moved into a later sprint. An issue's points are the estimate it had when it
entered the sprint (at the start for the committed), so ``committed + added - removed = completed +
not_completed`` holds for issues and for points; changes of estimate during the sprint are listed
apart in ``estimate_changes``. An active sprint is read as if it completed now.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from ai_service.contract.schemas import (
    IssueKey,
    Item,
    Language,
    LLMItem,
    NormalizedIssue,
    Quality,
    ShortText,
    _Strict,
)

Audience = Literal["team", "stakeholders"]
SprintState = Literal["active", "future", "closed"]
BoardType = Literal["scrum", "kanban"]
BlockerReason = Literal["flagged", "blocked_by", "blocked_status"]
DueStatus = Literal["no_due_date", "done", "on_track", "at_risk", "overdue"]
MAX_REPORT_ISSUES = 5_000


class BoardInfo(BaseModel):
    id: int
    name: ShortText
    type: BoardType
    project_key: ShortText | None = None


class SprintInfo(BaseModel):
    id: int
    name: ShortText
    state: SprintState
    start_date: dt.datetime | None = None
    end_date: dt.datetime | None = None
    complete_date: dt.datetime | None = None
    goal: ShortText = ""


class IssueSet(BaseModel):
    """A set of issues: how many, their points (the estimate each had when it entered the
    sprint; unestimated issues count 0), and their keys, sorted."""

    issues: int = 0
    points: float = 0.0
    keys: list[IssueKey] = Field(default_factory=list)


class EstimateChange(BaseModel):
    """An estimate changed while the issue was in the sprint: the first value and the last."""

    key: IssueKey
    before: float | None
    after: float | None


class VelocityEntry(BaseModel):
    sprint_id: int
    name: ShortText
    committed_points: float
    completed_points: float


class GroupCompletion(BaseModel):
    """The sprint's issues at completion grouped by one field (``(none)`` when empty)."""

    name: ShortText
    issues: int
    completed_issues: int
    points: float
    completed_points: float


class Blocker(BaseModel):
    """An issue of the sprint (at completion) that is flagged, linked "is blocked by" an issue
    not Done (``blocked_by``: those keys, sorted), or in a status named like Blocked."""

    key: IssueKey
    reasons: list[BlockerReason]
    blocked_by: list[IssueKey] = Field(default_factory=list)


class SprintFacts(BaseModel):
    committed: IssueSet
    added: IssueSet
    removed: IssueSet
    completed: IssueSet
    not_completed: IssueSet
    carried_over: IssueSet
    estimate_changes: list[EstimateChange]
    scope_change_percent: float = Field(
        description="100 * (added points + removed points) / committed points, one decimal; "
        "0 when nothing was committed."
    )
    velocity: list[VelocityEntry] = Field(
        description="The board's last 5 closed sprints (this one included when closed), "
        "oldest first."
    )
    by_assignee: list[GroupCompletion]
    by_type: list[GroupCompletion]
    blockers: list[Blocker]


class StatusGroup(BaseModel):
    status: ShortText
    status_category: ShortText
    issues: int
    points: float
    keys: list[IssueKey]


class EpicFacts(BaseModel):
    """The epic's direct children (what ``parent = EPIC`` returns, any project)."""

    epic_key: IssueKey
    children_total: int
    children: list[StatusGroup] = Field(description="by status, sorted by status name")
    done: IssueSet = Field(description="children in status category Done")
    estimated_points: float = Field(description="points of the estimated children")
    done_percent_points: float | None = Field(
        description="100 * points of the Done children / points of the estimated children, "
        "one decimal; null when no child is estimated."
    )
    done_percent_issues: float | None = Field(
        description="100 * Done children / children, one decimal; null without children."
    )
    unestimated: list[IssueKey]
    stale: list[IssueKey] = Field(description="not Done, no update in ``stale_days`` days")
    stale_days: int
    projects: list[ShortText] = Field(description="project keys of the children, sorted")
    due: dt.date | None
    due_status: DueStatus
    expected_percent: float | None = Field(
        description="share of the time from the epic's creation to its due date elapsed at the "
        "report's day, one decimal (null without a due date)."
    )


class ReportCoverage(BaseModel):
    """``analyzed``: issues whose lines the model was given; ``total``: issues the facts cover."""

    analyzed: int
    total: int


class SprintReportRequest(BaseModel):
    """What the public API sends ai-service (or the local engine) for a sprint report."""

    board: BoardInfo
    sprint: SprintInfo
    facts: SprintFacts
    # The issues of the facts (in the sprint at any time between its start and completion).
    issues: list[NormalizedIssue] = Field(max_length=MAX_REPORT_ISSUES)
    language: Language | None = None
    audience: Audience = "team"


class EpicReportRequest(BaseModel):
    epic: NormalizedIssue
    facts: EpicFacts
    children: list[NormalizedIssue] = Field(max_length=MAX_REPORT_ISSUES)
    language: Language | None = None
    audience: Audience = "team"


class _ReportText(BaseModel):
    summary: str
    went_well: list[Item]
    slipped: list[Item]
    risks: list[Item]
    next_steps: list[Item]
    coverage: ReportCoverage
    quality: Quality = Field(default_factory=Quality)
    audience: Audience = "team"
    language: Language
    provider: str
    model: str
    prompt_version: str
    cached: bool = False
    generated_at: dt.datetime


class SprintReport(_ReportText):
    board: BoardInfo
    sprint: SprintInfo
    facts: SprintFacts


class EpicReport(_ReportText):
    epic: NormalizedIssue
    facts: EpicFacts


class LLMReport(_Strict):
    """What the model is asked to write for either report (a strict JSON schema)."""

    summary: str
    went_well: list[LLMItem]
    slipped: list[LLMItem]
    risks: list[LLMItem]
    next_steps: list[LLMItem]
