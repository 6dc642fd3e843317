"""The wire contract of the release notes of a fix version (issue #17).

**Code decides, the model words.** The public API reads every issue of the version
(``fixVersion = "name"``, all pages) and decides, from each issue's type, labels and status
category, which section it goes to or why it is omitted (``ai_proxy/release_notes.py``); nothing
is silently dropped: ``coverage.total = in_notes + omitted``. The engine only words one item per
issue of the planned sections (an issue the model leaves out keeps a text built from its summary),
titles the sections and writes the Markdown itself (``markdown`` starts with a level-1 heading and
cites only keys of the version).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from ai_service.contract.schemas import (
    IssueKey,
    Language,
    NormalizedIssue,
    Quality,
    ShortText,
    _Strict,
)

NotesAudience = Literal["users", "team"]
SectionKind = Literal["features", "improvements", "fixes", "known_issues"]
SECTION_KINDS: tuple[SectionKind, ...] = ("features", "improvements", "fixes", "known_issues")
OmitReason = Literal["internal", "no_user_impact", "not_done"]
MAX_VERSION_ISSUES = 1_000


class VersionInfo(BaseModel):
    id: ShortText
    name: ShortText
    released: bool
    archived: bool = False
    release_date: dt.date | None = None
    start_date: dt.date | None = None


class PlannedSection(BaseModel):
    """A section as code decided it: its kind and the keys of its issues, in Jira's order."""

    kind: SectionKind
    keys: list[IssueKey]


class Omitted(BaseModel):
    issue_key: IssueKey
    reason: OmitReason


class ReleaseNotesRequest(BaseModel):
    """What the public API sends ai-service (or the local engine)."""

    project_key: ShortText
    version: VersionInfo
    sections: list[PlannedSection]
    omitted: list[Omitted]
    # The issues of the sections (the omitted ones are not sent).
    issues: list[NormalizedIssue] = Field(max_length=MAX_VERSION_ISSUES)
    audience: NotesAudience = "users"
    language: Language | None = None


class NoteItem(BaseModel):
    issue_key: IssueKey
    text: str


class NotesSection(BaseModel):
    kind: SectionKind
    title: str
    items: list[NoteItem]


class NotesCoverage(BaseModel):
    total: int
    in_notes: int
    omitted: int


class ReleaseNotes(BaseModel):
    project_key: str
    version: VersionInfo
    sections: list[NotesSection]
    omitted: list[Omitted]
    markdown: str
    coverage: NotesCoverage
    quality: Quality = Field(default_factory=Quality)
    audience: NotesAudience = "users"
    language: Language
    provider: str
    model: str
    prompt_version: str
    cached: bool = False
    generated_at: dt.datetime


class LLMNoteItem(_Strict):
    issue_key: str
    text: str


class LLMReleaseNotes(_Strict):
    """What the model is asked to write: one item per issue it was given."""

    items: list[LLMNoteItem]
