"""Typed, normalized Jira data: the only shapes that leave the ``jira`` app.

They are the shapes of docs/http-contract.md (``model_dump(mode="json")`` is the answer), and the
services the AI app calls return them. Text fields are already converted from ADF and cleaned of
invisible Unicode.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IssueRef(_Model):
    key: str
    summary: str


class Issue(_Model):
    key: str
    url: str
    summary: str
    status: str
    status_category: str = Field(description="Jira's status category key: new, indeterminate, done")
    priority: str | None
    issue_type: str | None
    assignee: str | None = Field(description="display name")
    reporter: str | None = Field(description="display name")
    labels: list[str]
    created: dt.datetime
    updated: dt.datetime
    due: dt.date | None
    story_points: float | None
    sprint: str | None = Field(description="the active sprint, else the latest one")
    parent: IssueRef | None
    fix_versions: list[str]
    description: str = Field(description="ADF converted to compact Markdown-like text")


class Comment(_Model):
    id: str
    author: str | None = Field(description="display name")
    created: dt.datetime
    updated: dt.datetime
    body: str = Field(description="ADF converted to compact Markdown-like text")


class CommentPage(_Model):
    """Comments newest first; ``total`` is Jira's count of all of them."""

    comments: list[Comment]
    total: int

    @property
    def complete(self) -> bool:
        return len(self.comments) >= self.total


class Project(_Model):
    id: str
    key: str
    name: str
    avatar_url: str | None


class ProjectList(_Model):
    projects: list[Project]


class Version(_Model):
    """A fix version of a project: its days as Jira gives them (``releaseDate``, ``startDate``),
    null when unset."""

    id: str
    name: str
    released: bool
    archived: bool
    release_date: dt.date | None
    start_date: dt.date | None


class VersionList(_Model):
    """A project's versions in Jira's order (the project's own sequence), archived ones
    included."""

    versions: list[Version]


class SearchResult(_Model):
    """``total`` is Jira's approximate count (exact when every page was read); ``truncated`` is
    true when more issues matched than were returned."""

    issues: list[Issue]
    total: int
    truncated: bool


class IssueWithComments(_Model):
    issue: Issue
    comments: list[Comment]
    comments_total: int


class ProjectOverview(_Model):
    key: str
    name: str
    by_status: dict[str, int] = Field(description="open and recently done issues, by status")
    recent: list[Issue]
    open_total: int


class Myself(_Model):
    account_id: str
    display_name: str
    email: str | None
    time_zone: str | None


class SearchWithComments(_Model):
    """A search plus every comment of each issue returned (newest first), by issue key."""

    issues: list[Issue]
    total: int
    truncated: bool
    comments: dict[str, CommentPage]


# --- Jira Software (boards and sprints) -------------------------------------------------------


class Board(_Model):
    id: int
    name: str
    type: str = Field(description="scrum or kanban (Jira's `simple` boards read as kanban)")
    project_key: str | None = Field(description="the board's location project, when it has one")


class BoardList(_Model):
    boards: list[Board]


class Sprint(_Model):
    id: int
    name: str
    state: str = Field(description="active, future or closed")
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    complete_date: dt.datetime | None
    goal: str


class SprintList(_Model):
    """A board's sprints: the active one(s) first, then the closed newest first, then the future
    ones in Jira's order (the order of the board's backlog)."""

    sprints: list[Sprint]


class IssueLink(_Model):
    """An "is blocked by" link (link type ``Blocks``, this issue on the inward side)."""

    key: str
    status_category: str


class ChangeItem(_Model):
    """One field change of a changelog history: Jira's ``from``/``to`` ids and their strings."""

    field_id: str
    from_id: str | None
    from_string: str | None
    to_id: str | None
    to_string: str | None


class ChangeHistory(_Model):
    id: str
    created: dt.datetime
    items: list[ChangeItem]


class AgileIssue(_Model):
    """An issue as a sprint report reads it: the normalized issue plus what only the report uses
    (Jira's numeric id, the bulk changelog's key; the Flagged field; "is blocked by" links)."""

    id: str
    issue: Issue
    sprint_ids: list[int] = Field(description="the Sprint field's sprints, now")
    flagged: bool
    blocked_by: list[IssueLink]
