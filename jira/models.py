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
