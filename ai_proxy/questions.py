"""A question in plain language turned into JQL that Jira itself has checked (issue #17):
``POST /ai/jql-from-question``.

The flow, for the signed-in user on the current site:

1. a blank question is 422 ``invalid_input`` (no quota point); otherwise one quota point;
2. the site's vocabulary (``jira.vocabulary``, cached) goes with the question to the account's
   backend (ai-service or the local engine), which proposes ``{jql, explanation}``;
3. the proposal is checked by Jira, never by us: ``POST jql/parse?validation=strict``. When Jira
   refuses it, one repair call carries the proposal and Jira's messages (``previous``); a repair
   Jira refuses too is 422 ``invalid_jql`` whose detail is Jira's own words;
4. a checked query gets its ``search/approximate-count``: nothing else runs (the user runs the
   summary when they choose to).

``warnings`` are Jira's warnings on the accepted query, then, after a repair, the messages Jira
gave on the first proposal (what was corrected). The answer is not cached: the vocabulary is (the
Jira reads), and the check and the count must reflect the site as it is now. Names are not
rewritten by us (no case folding of known names): JQL's names are case-insensitive and Jira is
the judge of what exists.
"""

from __future__ import annotations

import logging

from accounts.context import UserContext
from ai_proxy.backends import backend_for
from ai_proxy.metrics import AI_REQUESTS
from ai_proxy.quota import quota_hit
from ai_proxy.services import language_resolve
from ai_service.contract.questions import (
    JqlAttempt,
    JqlFromQuestion,
    JqlProposal,
    JqlQuestionRequest,
)
from ai_service.contract.schemas import Language
from core.errors import ApiError, ErrorCode
from jira.client import JiraClient, JqlCheck
from jira.errors import InvalidJql
from jira.services import MAX_JQL_CHARS, jira_client_for
from jira.vocabulary import vocabulary_get

logger = logging.getLogger(__name__)

ENDPOINT = "jql-from-question"
MAX_QUESTION_CHARS = 1_000
# Our words for what Jira's parser cannot be asked about (it refuses an empty query outright).
EMPTY_JQL = "The proposed JQL query is empty."
TOO_LONG_JQL = f"The proposed JQL query is longer than {MAX_JQL_CHARS} characters."


def question_validate(question: str) -> str:
    text = question.strip()
    if not text:
        raise ApiError("question is required.", code=ErrorCode.INVALID_INPUT, status=422)
    if len(text) > MAX_QUESTION_CHARS:
        raise ApiError(
            f"question is longer than {MAX_QUESTION_CHARS} characters.",
            code=ErrorCode.INVALID_INPUT,
            status=422,
        )
    return text


async def jql_check(client: JiraClient, jql: str) -> JqlCheck:
    """Jira's strict verdict on ``jql`` (our own message only for what Jira cannot be asked)."""
    if not jql.strip():
        return JqlCheck(query=jql, errors=[EMPTY_JQL], warnings=[])
    if len(jql) > MAX_JQL_CHARS:
        return JqlCheck(query=jql, errors=[TOO_LONG_JQL], warnings=[])
    return (await client.jql_parse([jql], validation="strict"))[0]


async def jql_from_question_get(
    *,
    ctx: UserContext,
    question: str,
    language: Language | None = None,
    client: JiraClient | None = None,
) -> JqlFromQuestion:
    """The checked JQL for ``question`` (see the module): 422 ``invalid_input`` for a blank
    question, 422 ``invalid_jql`` with Jira's messages when the repaired proposal is refused
    too; Jira's and the model's failures are their usual 502/503/504."""
    text = question_validate(question)
    await quota_hit(account_id=ctx.account_id)
    resolved = language_resolve(language)
    vocabulary = await vocabulary_get(ctx=ctx, client=client)
    client = client or jira_client_for(ctx)
    backend = backend_for(ctx.account_id, ENDPOINT)
    request = JqlQuestionRequest(question=text, vocabulary=vocabulary, language=resolved)
    proposal: JqlProposal = await backend.jql_propose(account_id=ctx.account_id, request=request)
    jql = proposal.jql.strip()
    check = await jql_check(client, jql)
    corrected: list[str] = []
    repaired = False
    if not check.valid:
        logger.info("proposed JQL refused by Jira (%d errors): one repair", len(check.errors))
        retry = request.model_copy(
            update={"previous": JqlAttempt(jql=jql[:10_000], errors=check.errors)}
        )
        first_errors = check.errors
        proposal = await backend.jql_propose(account_id=ctx.account_id, request=retry)
        jql = proposal.jql.strip()
        check = await jql_check(client, jql)
        if not check.valid:
            AI_REQUESTS.labels(ENDPOINT, ErrorCode.INVALID_JQL.value).inc()
            raise InvalidJql("Invalid JQL: " + " ".join(check.errors))
        repaired = True
        corrected = first_errors
    count = await client.count(jql)
    AI_REQUESTS.labels(ENDPOINT, "ok").inc()
    return JqlFromQuestion(
        question=text,
        jql=jql,
        explanation=proposal.explanation,
        valid=True,
        warnings=list(dict.fromkeys([*check.warnings, *corrected])),
        approximate_count=count,
        language=proposal.language,
        repaired=repaired,
    )
