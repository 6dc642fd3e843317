"""The guardrails applied to each kind of answer: the facts of a summary and of an analysis, the
texts the user will see in each, the check that asks for a repair turn, and the sanitized answer
(with the plain texts built from the facts when the model's cannot be used).

The generic rules live in :mod:`.guards`; this module knows the answers' shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ai_service.contract.schemas import (
    Language,
    LLMAcceptanceCriteria,
    LLMAnalysis,
    LLMItem,
    LLMSummary,
    NormalizedIssue,
    Stats,
)
from ai_service.engine.guards import (
    Facts,
    Review,
    cited_keys,
    data_instructions,
    data_links,
    number_format,
)
from ai_service.engine.text import one_line

A = TypeVar("A", LLMSummary, LLMAnalysis)
NONE_LABEL = "(none)"
SUMMARY_LISTS = ("highlights", "risks", "blockers", "next_steps")
ANALYSIS_LISTS = ("risks", "blockers", "next_actions")

_NONE = {
    "fr": {"assignee": "non assigné", "priority": "sans priorité", "other": "(aucun)"},
    "en": {"assignee": "unassigned", "priority": "no priority", "other": "(none)"},
}


def none_label(language: Language, kind: str) -> str:
    labels = _NONE[language]
    return labels.get(kind, labels["other"])


def _label(value: str, language: Language, kind: str) -> str:
    return none_label(language, kind) if value == NONE_LABEL else value


# -- facts -------------------------------------------------------------------------------------


def summary_facts(
    language: Language,
    *,
    stats: Stats,
    analyzed: int,
    total: int,
    allowed: frozenset[str],
    data: str,
) -> Facts:
    labels: dict[str, int] = {}
    for group in (stats.by_status, stats.by_priority, stats.by_type, stats.by_assignee):
        for label, count in group.items():
            if label != NONE_LABEL:
                labels.setdefault(label.lower(), count)
    counts = {analyzed, total, *labels.values()}
    counts.update(stats.by_assignee.values())
    return Facts(
        language=language,
        allowed=allowed,
        noun="issues",
        analyzed=analyzed,
        total=total,
        counts=frozenset(counts),
        labels=labels,
        links=data_links(data),
        instructions=data_instructions(data),
    )


def analysis_facts(
    language: Language,
    *,
    allowed: frozenset[str],
    comments_analyzed: int,
    comments_total: int,
    data: str,
) -> Facts:
    return Facts(
        language=language,
        allowed=allowed,
        noun="comments",
        analyzed=comments_analyzed,
        total=comments_total,
        counts=frozenset({comments_analyzed, comments_total}),
        links=data_links(data),
        instructions=data_instructions(data),
    )


# -- texts the user sees -----------------------------------------------------------------------


def summary_texts(output: LLMSummary) -> list[str]:
    return [output.summary, *(i.text for name in SUMMARY_LISTS for i in getattr(output, name))]


def summary_empty(output: LLMSummary) -> list[str]:
    empty = ["summary"] if not output.summary.strip() else []
    for name in SUMMARY_LISTS:
        empty += [
            f"{name}/{n}/text" for n, i in enumerate(getattr(output, name)) if not i.text.strip()
        ]
    return empty


def analysis_texts(output: LLMAnalysis) -> list[str]:
    return [
        output.summary,
        output.status_assessment,
        output.acceptance_criteria.assessment,
        *output.acceptance_criteria.gaps,
        *(i.text for name in ANALYSIS_LISTS for i in getattr(output, name)),
        *output.open_questions,
    ]


def analysis_empty(output: LLMAnalysis) -> list[str]:
    empty = [n for n in ("summary", "status_assessment") if not getattr(output, n).strip()]
    for name in ANALYSIS_LISTS:
        empty += [
            f"{name}/{n}/text" for n, i in enumerate(getattr(output, name)) if not i.text.strip()
        ]
    return empty


def first_answer_check(
    review: Review, texts: Callable[[A], list[str]], empty: Callable[[A], list[str]]
) -> Callable[[A], str | None]:
    """The ``check`` of :meth:`LLMClient.complete_json`: the problems of a first answer, which is
    then thrown away for the repair turn (what it held is counted)."""

    def check(output: A) -> str | None:
        shown = texts(output)
        problems = review.problems(shown, empty=empty(output))
        if not problems:
            return None
        review.discarded(shown)
        return "; ".join(problems)

    return check


def invalid_answer_seen(review: Review) -> Callable[[str], None]:
    """The ``on_invalid`` of :meth:`LLMClient.complete_json`: an unparseable first answer that
    repeats the data (an injected format) is flagged."""

    def seen(content: str) -> None:
        review.discarded([content])

    return seen


# -- plain texts from the facts ----------------------------------------------------------------


def _top(group: dict[str, int], language: Language, kind: str, n: int = 4) -> str:
    parts = [
        f"{number_format(c, language)} « {_label(k, language, kind)} »"
        for k, c in list(group.items())[:n]
    ]
    if language == "en":
        parts = [p.replace("« ", "“").replace(" »", "”") for p in parts]
    return ", ".join(parts)


FACTS_PHRASES = {
    "fr": {
        "head": "{a} tickets analysés sur {t} trouvés par la requête.",
        "status": " Par statut : {v}.",
        "priority": " Par priorité : {v}.",
        "unassigned": " Tickets non assignés : {v}.",
    },
    "en": {
        "head": "{a} issues analyzed out of {t} matched by the query.",
        "status": " By status: {v}.",
        "priority": " By priority: {v}.",
        "unassigned": " Unassigned issues: {v}.",
    },
}


def summary_from_facts(language: Language, *, stats: Stats, analyzed: int, total: int) -> str:
    """The narrative of a summary, written from the computed facts only."""
    phrases = FACTS_PHRASES[language]
    text = phrases["head"].format(
        a=number_format(analyzed, language), t=number_format(total, language)
    )
    if stats.by_status:
        text += phrases["status"].format(v=_top(stats.by_status, language, "status"))
    if stats.by_priority:
        text += phrases["priority"].format(v=_top(stats.by_priority, language, "priority"))
    unassigned = stats.by_assignee.get(NONE_LABEL, 0)
    if unassigned:
        text += phrases["unassigned"].format(v=number_format(unassigned, language))
    return text


def issue_from_facts(issue: NormalizedIssue, language: Language) -> str:
    """One issue's facts as a sentence (an item in the wrong language is replaced by it)."""
    summary = one_line(issue.summary, limit=120)
    assignee = issue.assignee or none_label(language, "assignee")
    status = issue.status or none_label(language, "status")
    if language == "fr":
        text = f"{issue.key} « {summary} » : statut « {status} », {assignee}"
        if issue.priority:
            text += f", priorité {issue.priority}"
        if issue.due:
            text += f", échéance le {issue.due.isoformat()}"
        return text + "."
    text = f"{issue.key} “{summary}”: status “{status}”, {assignee}"
    if issue.priority:
        text += f", priority {issue.priority}"
    if issue.due:
        text += f", due {issue.due.isoformat()}"
    return text + "."


def analysis_from_facts(
    issue: NormalizedIssue, language: Language, *, comments_analyzed: int, comments_total: int
) -> str:
    a, t = number_format(comments_analyzed, language), number_format(comments_total, language)
    if language == "fr":
        return f"{issue_from_facts(issue, language)} {a} commentaires analysés sur {t}."
    return f"{issue_from_facts(issue, language)} {a} of {t} comments analyzed."


# -- sanitized answers -------------------------------------------------------------------------


def _items(
    review: Review,
    items: Sequence[LLMItem],
    issues: dict[str, NormalizedIssue],
    *,
    from_facts: bool,
) -> list[LLMItem]:
    """Items with their unknown keys and sentences removed; ``from_facts`` (the answer is in the
    wrong language): each item's text replaced by its issue's facts, or the item dropped."""
    out = []
    for item in items:
        key = review.key(item.issue_key)
        text = review.text(item.text)
        if text and from_facts:
            about = issues.get(key or "") or next(
                (issues[k] for k in cited_keys(text) if k in issues), None
            )
            text = issue_from_facts(about, review.facts.language) if about is not None else ""
        if text:
            out.append(LLMItem(text=text, issue_key=key))
    return out


def _language_settled(review: Review, texts: Sequence[str]) -> bool:
    """Whether the final answer is in the wrong language (then rebuilt from the facts)."""
    wrong = review.wrong_language(texts)
    if wrong:
        review.language_ok = False
        review.narrative_from_facts = True
    return wrong


def summary_guarded(
    output: LLMSummary,
    review: Review,
    *,
    issues: dict[str, NormalizedIssue],
    stats: Stats,
    analyzed: int,
    total: int,
) -> LLMSummary:
    """``output`` as the user may see it (see :mod:`.guards`)."""
    wrong = _language_settled(review, summary_texts(output))
    narrative = "" if wrong else review.text(output.summary)
    if not narrative:
        review.narrative_from_facts = True
        narrative = summary_from_facts(
            review.facts.language, stats=stats, analyzed=analyzed, total=total
        )
    lists = {
        name: _items(review, getattr(output, name), issues, from_facts=wrong)
        for name in SUMMARY_LISTS
    }
    return LLMSummary(summary=narrative, **lists)


def analysis_guarded(
    output: LLMAnalysis,
    review: Review,
    *,
    issue: NormalizedIssue,
    comments_analyzed: int,
    comments_total: int,
) -> LLMAnalysis:
    """``output`` as the user may see it (see :mod:`.guards`)."""
    language = review.facts.language
    issues = {issue.key: issue}
    wrong = _language_settled(review, analysis_texts(output))
    summary = "" if wrong else review.text(output.summary)
    if not summary:
        review.narrative_from_facts = True
        summary = analysis_from_facts(
            issue, language, comments_analyzed=comments_analyzed, comments_total=comments_total
        )
    status = "" if wrong else review.text(output.status_assessment)
    if not status:
        review.narrative_from_facts = True
        status = issue_from_facts(issue, language)

    def plain(texts: Sequence[str]) -> list[str]:
        """Gaps and questions: a line in the wrong language (a comment copied as it was, say)
        is dropped."""
        if wrong:
            return []
        kept = (review.text(text) for text in texts)
        return [t for t in kept if t and not review.wrong_language([t])]

    criteria = output.acceptance_criteria
    return LLMAnalysis(
        summary=summary,
        status_assessment=status,
        risks=_items(review, output.risks, issues, from_facts=wrong),
        blockers=_items(review, output.blockers, issues, from_facts=wrong),
        acceptance_criteria=LLMAcceptanceCriteria(
            present=criteria.present,
            assessment="" if wrong else review.text(criteria.assessment),
            gaps=plain(criteria.gaps),
        ),
        next_actions=_items(review, output.next_actions, issues, from_facts=wrong),
        open_questions=plain(output.open_questions),
    )
