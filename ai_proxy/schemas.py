"""Request bodies of the public /ai/* endpoints (responses are the engine's wire schemas)."""

from __future__ import annotations

from ninja import Field, Schema

from ai_service.engine.schemas import Language


class SummarizeIn(Schema):
    jql: str = Field(min_length=1, max_length=4000, examples=["project = PAY ORDER BY updated"])
    max_issues: int = Field(100, ge=1, le=1000, description="Issues read from Jira (at most)")
    language: Language | None = Field(None, description="fr or en; default: the site's language")
    refresh: bool = Field(False, description="Re-read Jira and regenerate (skip the cache)")


class AnalyzeIn(Schema):
    issue_key: str = Field(max_length=64, examples=["PAY-42"])
    language: Language | None = None
    refresh: bool = False


class AnalyzeStreamIn(Schema):
    issue_key: str = Field(max_length=64, examples=["PAY-42"])
    language: Language | None = None
