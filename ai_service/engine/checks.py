"""The guardrails applied to each kind of answer: the facts of a summary and of an analysis, the
texts the user will see in each, the check that asks for a repair turn, and the sanitized answer
(with the plain texts built from the facts when the model's cannot be used).

The generic rules live in :mod:`.guards`; this module knows the answers' shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from ai_service.contract.release_notes import LLMReleaseNotes
from ai_service.contract.reports import (
    EpicFacts,
    IssueSet,
    LLMReport,
    SprintFacts,
    SprintInfo,
)
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

A = TypeVar("A", LLMSummary, LLMAnalysis, LLMReport, LLMReleaseNotes)
NONE_LABEL = "(none)"
SUMMARY_LISTS = ("highlights", "risks", "blockers", "next_steps")
ANALYSIS_LISTS = ("risks", "blockers", "next_actions")
REPORT_LISTS = ("went_well", "slipped", "risks", "next_steps")

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


# The words a sentence of a report uses for each figure: a contradicted count in a sentence that
# names one is corrected to that figure (the longest word first: "not completed" before
# "completed").
SPRINT_LABELS = {
    "committed": ("committed", "engagé", "prévu"),
    "added": ("added", "ajouté"),
    "removed": ("removed", "retiré"),
    "completed": ("completed", "terminé", "done", "fini"),
    "not_completed": ("not completed", "non terminé", "unfinished", "inachevé"),
    "carried_over": ("carried over", "reporté"),
}
EPIC_LABELS = {
    "done": ("done", "terminé", "completed", "fini"),
    "children": ("children", "enfant"),
    "unestimated": ("unestimated", "without estimate", "sans estimation", "non estimé"),
    "stale": ("stale", "sans mise à jour", "without update", "inactif"),
}


def _integral(values: Iterable[float]) -> set[int]:
    return {int(v) for v in values if float(v).is_integer()}


def report_numbers(facts: SprintFacts | EpicFacts) -> tuple[set[int], dict[str, int]]:
    """The counts (and the whole points) a report's facts state, and the words naming them."""
    counts: set[int] = set()
    labels: dict[str, int] = {}

    def named(words: Sequence[str], value: int) -> None:
        counts.add(value)
        for word in words:
            labels.setdefault(word, value)

    if isinstance(facts, SprintFacts):
        for name, words in SPRINT_LABELS.items():
            issue_set: IssueSet = getattr(facts, name)
            named(words, issue_set.issues)
            counts.update(_integral([issue_set.points]))
        named(("blocked", "bloqué", "blocker", "blocage"), len(facts.blockers))
        named(("estimate", "estimation"), len(facts.estimate_changes))
        for group in (*facts.by_assignee, *facts.by_type):
            if group.name != NONE_LABEL:
                labels.setdefault(group.name.lower(), group.issues)
            counts.update((group.issues, group.completed_issues))
            counts.update(_integral([group.points, group.completed_points]))
        for entry in facts.velocity:
            counts.update(_integral([entry.committed_points, entry.completed_points]))
        return counts, labels
    named(EPIC_LABELS["children"], facts.children_total)
    named(EPIC_LABELS["done"], facts.done.issues)
    named(EPIC_LABELS["unestimated"], len(facts.unestimated))
    named(EPIC_LABELS["stale"], len(facts.stale))
    counts.add(facts.children_total - facts.done.issues)  # what is left: stated as a fact too
    for status in facts.children:
        labels.setdefault(status.status.lower(), status.issues)
        counts.add(status.issues)
        counts.update(_integral([status.points]))
    counts.update(_integral([facts.done.points, facts.estimated_points]))
    return counts, labels


def report_facts(
    language: Language,
    *,
    facts: SprintFacts | EpicFacts,
    allowed: frozenset[str],
    analyzed: int,
    total: int,
    data: str,
) -> Facts:
    """What a sprint or epic report may say: the keys of the request and of its facts, the
    counts and whole points of the facts (and the issues given and covered), the links and
    instructions of its fenced data."""
    counts, labels = report_numbers(facts)
    counts.update((analyzed, total))
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


def report_texts(output: LLMReport) -> list[str]:
    return [output.summary, *(i.text for name in REPORT_LISTS for i in getattr(output, name))]


def report_empty(output: LLMReport) -> list[str]:
    empty = ["summary"] if not output.summary.strip() else []
    for name in REPORT_LISTS:
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


def figure(value: float, language: Language) -> str:
    """A count, points or a percentage as the facts hold it (one decimal at most: as computed)."""
    if float(value).is_integer():
        return number_format(int(value), language)
    text = f"{value:g}"
    return text.replace(".", ",") if language == "fr" else text


REPORT_PHRASES = {
    "fr": {
        "sprint": "Sprint « {name} » : {c} tickets engagés ({cp} points), {a} ajoutés et {r} "
        "retirés en cours de sprint ; {d} terminés ({dp} points), {n} non terminés",
        "carried": ", dont {co} reportés",
        "scope": " Variation de périmètre : {s} %.",
        "blocked": " Tickets bloqués : {b}.",
        "epic": "Épic {key} : {t} tickets enfants, dont {d} terminés.",
        "epic_points": " Points terminés : {p} % des points estimés.",
        "unestimated": " Enfants sans estimation : {u}.",
        "stale": " Enfants sans mise à jour depuis {days} jours : {s}.",
        "due": " Échéance le {due} : {status}.",
        "no_due_date": "sans échéance",
        "done": "terminé",
        "on_track": "dans les temps",
        "at_risk": "à risque",
        "overdue": "en retard",
    },
    "en": {
        "sprint": "Sprint “{name}”: {c} issues committed ({cp} points), {a} added and {r} "
        "removed during the sprint; {d} completed ({dp} points), {n} not completed",
        "carried": ", {co} of them carried over",
        "scope": " Scope change: {s}%.",
        "blocked": " Blocked issues: {b}.",
        "epic": "Epic {key}: {t} child issues, {d} of them done.",
        "epic_points": " Points done: {p}% of the estimated points.",
        "unestimated": " Children without an estimate: {u}.",
        "stale": " Children without an update for {days} days: {s}.",
        "due": " Due {due}: {status}.",
        "no_due_date": "no due date",
        "done": "done",
        "on_track": "on track",
        "at_risk": "at risk",
        "overdue": "overdue",
    },
}


def sprint_report_from_facts(language: Language, *, sprint: SprintInfo, facts: SprintFacts) -> str:
    """The narrative of a sprint report, written from its facts only."""
    phrases = REPORT_PHRASES[language]

    def f(value: float) -> str:
        return figure(value, language)

    text = phrases["sprint"].format(
        name=one_line(sprint.name, limit=120),
        c=f(facts.committed.issues),
        cp=f(facts.committed.points),
        a=f(facts.added.issues),
        r=f(facts.removed.issues),
        d=f(facts.completed.issues),
        dp=f(facts.completed.points),
        n=f(facts.not_completed.issues),
    )
    if facts.carried_over.issues:
        text += phrases["carried"].format(co=f(facts.carried_over.issues))
    text += "." + phrases["scope"].format(s=f(facts.scope_change_percent))
    if facts.blockers:
        text += phrases["blocked"].format(b=f(len(facts.blockers)))
    return text


def epic_report_from_facts(language: Language, *, facts: EpicFacts) -> str:
    """The narrative of an epic report, written from its facts only."""
    phrases = REPORT_PHRASES[language]
    text = phrases["epic"].format(
        key=facts.epic_key,
        t=figure(facts.children_total, language),
        d=figure(facts.done.issues, language),
    )
    if facts.done_percent_points is not None:
        text += phrases["epic_points"].format(p=figure(facts.done_percent_points, language))
    if facts.unestimated:
        text += phrases["unestimated"].format(u=figure(len(facts.unestimated), language))
    if facts.stale:
        text += phrases["stale"].format(
            days=figure(facts.stale_days, language), s=figure(len(facts.stale), language)
        )
    if facts.due is not None:
        text += phrases["due"].format(due=facts.due.isoformat(), status=phrases[facts.due_status])
    return text


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


def report_guarded(
    output: LLMReport,
    review: Review,
    *,
    issues: dict[str, NormalizedIssue],
    from_facts: str,
) -> LLMReport:
    """``output`` as the user may see it (see :mod:`.guards`); ``from_facts``: the narrative
    written from the report's facts, for when the model's cannot be used."""
    wrong = _language_settled(review, report_texts(output))
    narrative = "" if wrong else review.text(output.summary)
    if not narrative:
        review.narrative_from_facts = True
        narrative = from_facts
    lists = {
        name: _items(review, getattr(output, name), issues, from_facts=wrong)
        for name in REPORT_LISTS
    }
    return LLMReport(summary=narrative, **lists)
