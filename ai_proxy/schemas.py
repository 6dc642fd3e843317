"""Request bodies of the public /ai/* endpoints (responses are the contract's schemas): input is
parsed here (an issue key is upper-cased and checked), so a handler gets clean values."""

from __future__ import annotations

from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator

from ai_service.contract.release_notes import NotesAudience
from ai_service.contract.reports import Audience
from ai_service.contract.schemas import Language
from core.keys import MAX_KEY_LENGTH, issue_key_normalize, project_key_normalize
from jira.services import MAX_JQL_CHARS, MAX_SEARCH_LIMIT


def _issue_key(value: str) -> str:
    key = issue_key_normalize(value)
    if key is None:
        raise ValueError("not a Jira issue key (like PAY-42)")
    return key


def _project_key(value: str) -> str:
    key = project_key_normalize(value)
    if key is None:
        raise ValueError("not a Jira project key (like PAY)")
    return key


ProjectKeyIn = Annotated[
    str, Field(max_length=MAX_KEY_LENGTH, examples=["PAY"]), AfterValidator(_project_key)
]

IssueKeyIn = Annotated[
    str, Field(max_length=MAX_KEY_LENGTH, examples=["PAY-42"]), AfterValidator(_issue_key)
]


class SummarizeIn(Schema):
    jql: str = Field(
        min_length=1, max_length=MAX_JQL_CHARS, examples=["project = PAY ORDER BY updated"]
    )
    max_issues: int = Field(
        100, ge=1, le=MAX_SEARCH_LIMIT, description="Issues read from Jira (at most)"
    )
    language: Language | None = Field(None, description="fr or en; default: the site's language")
    refresh: bool = Field(False, description="Re-read Jira and regenerate (skip the cache)")


class AnalyzeIn(Schema):
    issue_key: IssueKeyIn
    language: Language | None = None
    refresh: bool = False


class AnalyzeStreamIn(Schema):
    issue_key: IssueKeyIn
    language: Language | None = None


class SprintReportIn(Schema):
    board_id: int = Field(ge=1, examples=[10], description="A scrum board (GET /jira/boards)")
    sprint_id: int = Field(
        ge=1, examples=[1020], description="A closed or active sprint of the board"
    )
    language: Language | None = Field(None, description="fr or en; default: the site's language")
    audience: Audience = Field(
        "team", description="team (the details) or stakeholders (outcomes, fewer keys)"
    )
    refresh: bool = Field(False, description="Re-read Jira and regenerate (skip the cache)")


class EpicReportIn(Schema):
    epic_key: IssueKeyIn
    language: Language | None = Field(None, description="fr or en; default: the site's language")
    audience: Audience = Field(
        "team", description="team (the details) or stakeholders (outcomes, fewer keys)"
    )
    refresh: bool = Field(False, description="Re-read Jira and regenerate (skip the cache)")


class ReleaseNotesIn(Schema):
    project_key: ProjectKeyIn
    version: str = Field(
        min_length=1,
        max_length=255,
        examples=["2.3"],
        description="The version's name (GET /jira/projects/{key}/versions)",
    )
    audience: NotesAudience = Field(
        "users", description="users (what changes for them) or team (with the keys' details)"
    )
    language: Language | None = Field(None, description="fr or en; default: the site's language")
    refresh: bool = Field(False, description="Re-read Jira and regenerate (skip the cache)")


class QuestionIn(Schema):
    question: str = Field(
        max_length=1_000,
        examples=["Quels sont les bugs encore ouverts du projet PAY ?"],
        description="A question in plain language (French or English); blank is 422",
    )
    language: Language | None = Field(
        None, description="fr or en, of the explanation; default: the site's language"
    )
