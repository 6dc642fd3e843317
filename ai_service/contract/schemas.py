"""The wire contract between the public API and ai-service (and of the local engine).

Both sides use these pydantic models: ninja validates ai-service's bodies with them, the API's
client builds and parses them, and the local fallback passes them to the engine directly. Text is
already plain (ADF converted by the API's jira app).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.keys import ISSUE_KEY_RE, MAX_KEY_LENGTH

Language = Literal["fr", "en"]
IssueKey = Annotated[str, Field(pattern=ISSUE_KEY_RE.pattern, max_length=MAX_KEY_LENGTH)]
ShortText = Annotated[str, Field(max_length=1_000)]
LONG_TEXT_MAX = 200_000
LongText = Annotated[str, Field(max_length=LONG_TEXT_MAX)]


class IssueRef(BaseModel):
    key: IssueKey
    summary: ShortText = ""


class NormalizedIssue(BaseModel):
    key: IssueKey
    url: str = ""
    summary: ShortText = ""
    status: ShortText = ""
    status_category: ShortText = ""
    priority: ShortText | None = None
    issue_type: ShortText | None = None
    assignee: ShortText | None = None
    reporter: ShortText | None = None
    labels: list[ShortText] = Field(default_factory=list, max_length=200)
    created: datetime | None = None
    updated: datetime | None = None
    due: date | None = None
    story_points: float | None = None
    sprint: ShortText | None = None
    parent: IssueRef | None = None
    fix_versions: list[ShortText] = Field(default_factory=list, max_length=200)
    description: LongText = ""


class Comment(BaseModel):
    id: str
    author: ShortText | None = None
    created: datetime | None = None
    updated: datetime | None = None
    body: LongText = ""


class SummarizeRequest(BaseModel):
    jql: Annotated[str, Field(min_length=1, max_length=10_000)]
    issues: list[NormalizedIssue] = Field(max_length=5_000)
    total: Annotated[int, Field(ge=0)]
    language: Language | None = None
    # The Jira site (part of the key of the map results kept in Redis by the streamed summary).
    cloud_id: ShortText = ""
    # The streamed summary: skip the map results of completed runs (an unfinished run's are
    # always reused).
    refresh: bool = False


class AnalyzeRequest(BaseModel):
    issue: NormalizedIssue
    comments: list[Comment] = Field(default_factory=list, max_length=5_000)
    comments_total: Annotated[int, Field(ge=0)] = 0
    language: Language | None = None


class Item(BaseModel):
    text: str
    issue_key: str | None = None


class Stats(BaseModel):
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_assignee: dict[str, int]
    by_type: dict[str, int]


class Quality(BaseModel):
    """What the engine's guardrails did to the model's answer before it reached the user.

    ``unknown_citations_removed``: issue keys cited (in any text, narrative included) that are not
    in the data, removed. ``numbers_corrected``: counts in the text that contradicted the computed
    facts, corrected (or their sentence dropped). ``language_ok``: the answer came in the asked
    language (after at most one repair turn). ``injection_suspected``: the answer repeated an
    instruction or a link found in the fenced Jira data (removed). ``repaired``: one repair turn
    was needed. ``narrative_from_facts``: the narrative was replaced by a plain text built from the
    computed facts (still the wrong language, or empty, after the repair turn).
    """

    unknown_citations_removed: int = 0
    numbers_corrected: int = 0
    language_ok: bool = True
    injection_suspected: bool = False
    repaired: bool = False
    narrative_from_facts: bool = False


class SummaryCoverage(BaseModel):
    analyzed: int
    total: int
    truncated: bool
    chunks: int = Field(1, description="LLM calls of the map step (1: no map-reduce).")


class Summary(BaseModel):
    summary: str
    highlights: list[Item]
    risks: list[Item]
    blockers: list[Item]
    next_steps: list[Item]
    stats: Stats
    coverage: SummaryCoverage
    citations_removed: int = Field(0, description="Cited issue keys not in the input, removed.")
    quality: Quality = Field(default_factory=Quality)
    language: Language
    provider: str
    model: str
    prompt_version: str
    cached: bool = False
    generated_at: datetime


class AcceptanceCriteria(BaseModel):
    present: bool
    assessment: str
    gaps: list[str]


class AnalysisCoverage(BaseModel):
    comments_analyzed: int
    comments_total: int


class Analysis(BaseModel):
    issue_key: str
    summary: str
    status_assessment: str
    risks: list[Item]
    blockers: list[Item]
    acceptance_criteria: AcceptanceCriteria
    next_actions: list[Item]
    open_questions: list[str]
    coverage: AnalysisCoverage
    citations_removed: int = 0
    quality: Quality = Field(default_factory=Quality)
    language: Language
    provider: str
    model: str
    prompt_version: str
    cached: bool = False
    generated_at: datetime


StreamSection = Literal["synthesis", "risks_blockers", "acceptance_criteria", "next_actions"]
STREAM_SECTIONS: tuple[StreamSection, ...] = (
    "synthesis",
    "risks_blockers",
    "acceptance_criteria",
    "next_actions",
)


class ErrorOut(BaseModel):
    detail: str
    code: str


# -- what the model is asked to write (strict JSON schemas: closed objects, all required) ------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMItem(_Strict):
    text: str
    issue_key: str | None


class LLMSummary(_Strict):
    summary: str
    highlights: list[LLMItem]
    risks: list[LLMItem]
    blockers: list[LLMItem]
    next_steps: list[LLMItem]


class LLMAcceptanceCriteria(_Strict):
    present: bool
    assessment: str
    gaps: list[str]


class LLMAnalysis(_Strict):
    summary: str
    status_assessment: str
    risks: list[LLMItem]
    blockers: list[LLMItem]
    acceptance_criteria: LLMAcceptanceCriteria
    next_actions: list[LLMItem]
    open_questions: list[str]
