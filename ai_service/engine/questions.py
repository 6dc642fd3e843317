"""A question in plain language turned into a JQL proposal (issue #17): ONE model call answering
``LLMJql {jql, explanation}``, code cleaning the answer.

The prompt (``prompts/v3/jql.<language>.txt``) carries the site's vocabulary as one JSON line
(projects with keys and names, issue types, statuses, priorities, fields with their JQL names,
sprints, the user's display name), the rules of the usual phrasings ("me" is ``currentUser()``,
"open" is ``statusCategory != Done``...) and the question between ``<<<QUESTION`` and
``QUESTION>>>``: the question is untrusted text, to be translated, never obeyed; its fence cannot
be closed from inside (runs of three ``<``/``>`` or more are cut to two; our Jira fence word is
neutralized as in Jira text). The repair turn is a second call from the public API with
``previous``: the refused JQL and Jira's messages, fenced as data (``prompts/v3/jql_previous``).
A vocabulary too large for the model's context is cut, longest list first
(:func:`vocabulary_fitted`).

Nothing runs on the model's word here: the public API checks the proposal with Jira's parser.
What code does to the answer (:func:`jql_clean`): Markdown fences and a ``JQL:`` prefix dropped,
one line, whitespace collapsed, unquoted values with spaces after ``=``, ``!=``, ``~``, ``!~``
quoted; a query longer than 10,000 characters (the contract's bound on ``previous.jql``) is
``LLMInvalidOutput`` (502), a cut query being worse than none. A query still empty after the
revise turn is the model finding nothing to ask Jira in the question ("0000", a greeting): the
question's fault, not the server's, so 422 ``question_not_understood`` (found by ``make fuzz``:
it was a 502). The explanation must be
in the asked language (the language guard judges the first answer, one revise turn); if the
second is still not, or it repeats an instruction line of the question, the explanation is
written by code from the JQL (:func:`explanation_from_jql`).
"""

from __future__ import annotations

import json
import logging
import re

from ai_service.contract.questions import (
    JqlAttempt,
    JqlProposal,
    JqlQuestionRequest,
    LLMJql,
    Vocabulary,
)
from ai_service.contract.schemas import Language
from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import LLMInvalidOutput, QuestionNotUnderstood
from ai_service.engine.guards import (
    data_instructions,
    language_detector_ready,
    language_of_text,
)
from ai_service.engine.llm import llm_client
from ai_service.engine.pipeline import Cost, _messages, cost_of, language_of
from ai_service.engine.prompts import PROMPT_VERSION, render
from ai_service.engine.text import clean, one_line

logger = logging.getLogger(__name__)

MAX_JQL = 10_000
MAX_EXPLANATION = 1_000
QUESTION_OPEN = "<<<QUESTION"
QUESTION_CLOSE = "QUESTION>>>"
_ANGLES = re.compile(r"<{3,}|>{3,}")
_FENCED = re.compile(r"```[^\n`]*\n?(.*?)```", re.DOTALL)
_PREFIX = re.compile(r"^\s*(?:jql|requête jql|query|requête)\s*:\s*", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# An unquoted value of two words or more after a comparison, up to a keyword or the end.
_UNQUOTED = re.compile(
    r"(?P<op>!=|!~|=|~)\s*(?P<value>(?![\"'(])[^\s\"'(),=!~<>]+(?:\s+(?!(?:AND|OR|ORDER|NOT)\b)"
    r"[^\s\"'(),=!~<>]+)+)(?=\s+(?:AND|OR|ORDER)\b|\s*\)|\s*$)",
    re.IGNORECASE,
)
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_LANGUAGE_PROBLEM = {
    "fr": "l'explication doit être écrite en français",
    "en": "the explanation must be written in English",
}

_EMPTY_PROBLEM = {"fr": "la requête JQL est vide", "en": "the JQL query is empty"}


def question_fenced(question: str) -> str:
    """The question as safe text for its fence: no invisible characters, no fence of ours."""
    return _ANGLES.sub(lambda m: m.group()[0] * 2, clean(question, limit=1_000))


LISTS = ("projects", "issue_types", "statuses", "priorities", "fields", "sprints")


def vocabulary_fitted(vocabulary: Vocabulary, room: int, cost: Cost) -> Vocabulary:
    """``vocabulary`` within ``room`` tokens: the longest list halved (its first entries kept,
    in Jira's order) until it fits. A site's 2,000 sprints must not push the question out."""
    fitted = vocabulary
    while cost(vocabulary_json(fitted)) > room:
        longest = max(LISTS, key=lambda name: len(getattr(fitted, name)))
        entries = getattr(fitted, longest)
        if not entries:
            break
        fitted = fitted.model_copy(update={longest: entries[: len(entries) // 2]})
    if fitted is not vocabulary:
        logger.info(
            "jql vocabulary cut to the context: %s",
            {n: len(getattr(fitted, n)) for n in LISTS},
        )
    return fitted


def vocabulary_json(vocabulary: Vocabulary) -> str:
    """The vocabulary on one line (JSON escapes every newline), its texts cleaned."""
    raw = vocabulary.model_dump(mode="json")

    def cleaned(value: object) -> object:
        if isinstance(value, str):
            return _ANGLES.sub("", one_line(value, limit=200))
        if isinstance(value, list):
            return [cleaned(v) for v in value]
        if isinstance(value, dict):
            return {k: cleaned(v) for k, v in value.items()}
        return value

    return json.dumps(cleaned(raw), ensure_ascii=False, separators=(",", ":"))


def previous_block(language: Language, previous: JqlAttempt | None) -> str:
    if previous is None:
        return ""
    errors = "\n".join(f"error: {one_line(e, limit=300)}" for e in previous.errors) or "error: ?"
    return render(
        "jql_previous", language, jql=one_line(previous.jql, limit=MAX_JQL), errors=errors
    )


def jql_prompt(
    language: Language, request: JqlQuestionRequest, vocabulary: Vocabulary | None = None
) -> str:
    return render(
        "jql",
        language,
        answer_language=language,
        vocabulary=vocabulary_json(request.vocabulary if vocabulary is None else vocabulary),
        previous=previous_block(language, request.previous),
        question=question_fenced(request.question),
    )


def _quote_spaced(segment: str) -> str:
    def quoted(match: re.Match[str]) -> str:
        value = match.group("value")
        if value.endswith(")") or "(" in value:
            return match.group(0)
        return f'{match.group("op")} "{value}"'

    return _UNQUOTED.sub(quoted, segment)


def jql_clean(raw: str) -> str:
    """The model's JQL as one clean line (see the module); "" when nothing is left."""
    text = raw.strip()
    fenced = _FENCED.search(text)
    if fenced:
        text = fenced.group(1)
    text = text.strip().strip("`").strip()
    text = _PREFIX.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    # Quote values only outside the strings already quoted.
    parts: list[str] = []
    last = 0
    for match in _STRING.finditer(text):
        parts.append(_quote_spaced(text[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_quote_spaced(text[last:]))
    return "".join(parts).strip()


EXPLAINED = {
    "fr": "Les tickets qui répondent à la requête JQL suivante : {jql}",
    "en": "The issues matching the following JQL query: {jql}",
}


def explanation_from_jql(language: Language, jql: str) -> str:
    return EXPLAINED[language].format(jql=jql)


def _wrong_language(text: str, language: Language) -> bool:
    found = language_of_text(text)
    return found is not None and found != language


async def jql_propose(*, config: EngineConfig, request: JqlQuestionRequest) -> JqlProposal:
    """The model's JQL for ``request.question`` and its explanation, cleaned (see the module)."""
    language = language_of(request.language, config)
    await language_detector_ready()
    client = llm_client(config)
    instructions = data_instructions(request.question)

    def check(answer: LLMJql) -> str | None:
        if not jql_clean(answer.jql):
            return _EMPTY_PROBLEM[language]
        if _wrong_language(answer.explanation, language):
            return _LANGUAGE_PROBLEM[language]
        return None

    budget = await client.budget()
    fixed = [render("system", language), jql_prompt(language, request, Vocabulary())]
    vocabulary = vocabulary_fitted(request.vocabulary, budget.data_room(fixed), cost_of(budget))
    output = await client.complete_json(
        messages=_messages(language, jql_prompt(language, request, vocabulary)),
        budget=budget,
        output=LLMJql,
        schema_name="jql_proposal",
        repair=render("repair", language, problem="$problem"),
        revise=render("revise", language, problem="$problem"),
        check=check,
    )
    jql = jql_clean(output.jql)
    if not jql:
        raise QuestionNotUnderstood()
    if len(jql) > MAX_JQL:
        logger.warning("jql proposal refused: %d characters", len(jql))
        raise LLMInvalidOutput()
    explanation = one_line(output.explanation, limit=MAX_EXPLANATION)
    lowered = " ".join(re.sub(r"[^\w:/.]+", " ", explanation.lower()).split())
    if (
        not explanation
        or _wrong_language(explanation, language)
        or any(i in lowered for i in instructions)
    ):
        explanation = explanation_from_jql(language, jql)
    return JqlProposal(
        jql=jql,
        explanation=explanation,
        language=language,
        provider=config.provider,
        model=config.model,
        prompt_version=PROMPT_VERSION,
    )
