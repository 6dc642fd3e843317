"""The wire contract of a question in plain language turned into JQL (issue #17).

The public API gathers the site's vocabulary from Jira (cached per site) and sends it with the
question; the engine asks the model for ``{jql, explanation}``. Nothing runs on the model's word:
the public API checks every proposal with Jira's own ``POST /rest/api/3/jql/parse`` (validation
``strict``); when Jira refuses it, a second call carries Jira's messages in ``previous`` (the one
repair turn), and after a failed repair the answer is 422 ``invalid_jql`` with Jira's words.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from ai_service.contract.schemas import Language, ShortText, _Strict

Question = Annotated[str, Field(min_length=1, max_length=1_000)]
MAX_VOCABULARY = 2_000


class NamedKey(BaseModel):
    key: ShortText
    name: ShortText


class FieldName(BaseModel):
    """A field JQL can search: its JQL name (``clauseNames``' first) and its display name."""

    id: ShortText
    name: ShortText
    jql: ShortText


class Vocabulary(BaseModel):
    projects: list[NamedKey] = Field(default_factory=list, max_length=MAX_VOCABULARY)
    issue_types: list[ShortText] = Field(default_factory=list, max_length=MAX_VOCABULARY)
    statuses: list[ShortText] = Field(default_factory=list, max_length=MAX_VOCABULARY)
    priorities: list[ShortText] = Field(default_factory=list, max_length=MAX_VOCABULARY)
    fields: list[FieldName] = Field(default_factory=list, max_length=MAX_VOCABULARY)
    sprints: list[ShortText] = Field(default_factory=list, max_length=MAX_VOCABULARY)
    # The signed-in user's display name ("moi"/"me" is ``currentUser()`` in JQL).
    me: ShortText | None = None


class JqlAttempt(BaseModel):
    jql: Annotated[str, Field(max_length=10_000)]
    errors: list[ShortText]


class JqlQuestionRequest(BaseModel):
    question: Question
    vocabulary: Vocabulary
    language: Language | None = None
    # The repair turn: the proposal Jira refused, with Jira's messages.
    previous: JqlAttempt | None = None


class JqlProposal(BaseModel):
    jql: str
    explanation: str
    language: Language
    provider: str
    model: str
    prompt_version: str


class JqlFromQuestion(BaseModel):
    """The public API's answer (``POST /ai/jql-from-question``): a 200 always has ``valid``."""

    question: str
    jql: str
    explanation: str
    valid: bool
    warnings: list[str]
    approximate_count: int | None
    language: Language
    repaired: bool = False


class LLMJql(_Strict):
    jql: str
    explanation: str
