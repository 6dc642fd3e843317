"""What a careful model writes for jira-ai's own prompts: product-owner prose grounded in the facts
the prompt states, nothing else.

The prompts (``ai_service/engine/prompts/v2``) state their facts in fixed lines, parsed here:
``Issues in this part: N (out of T matched by the query)`` (combine: ``Issues analyzed``; French
``Tickets de cette partie`` / ``Tickets analysés``), ``Facts computed from the data (JSON): {...}``
(the counts by status, priority, assignee and type), ``Allowed issue keys: ...``, ``Comments
included: A (... out of B)``; and, between ``<<<JIRA_DATA`` and ``JIRA_DATA>>>``, one line per
issue (``KEY [type | status | priority] summary: ... | assignee: ... | due: ...`` and its
``description:``), an issue's header (``key:``, ``summary:``, ``status:``...), description and
``--- Author, date:`` comments, or the partial summaries to combine (one JSON object each).

The rules a careful model keeps: a number in a narrative is one the prompt states (the counts
are never recomputed, nor summed); an item cites one allowed key and says something about that
issue (its summary, status, priority, assignee, due date); text from the data that addresses the
model (instructions, links, JSON) is never repeated. Everything is a pure function of the
prompt: the same prompt gives the same bytes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Language = Literal["fr", "en"]
Kind = Literal["summary", "combine", "analysis", "report", "notes", "other"]

NONE_LABEL = "(none)"
DATA_RE = re.compile(r"<<<JIRA_DATA\n?(.*?)\n?JIRA_DATA>>>", re.DOTALL)
KEY_RE = re.compile(r"\b([A-Z][A-Z0-9_]+-\d+)\b")
PART_RE = re.compile(
    r"(?:Issues in this part|Tickets de cette partie)\s*:\s*(\d+)\s*\((?:out of|sur)\s+(\d+)"
)
COMBINE_RE = re.compile(
    r"(?:Issues analyzed|Tickets analysés)\s*:\s*(\d+)\s*\((?:out of|sur)\s+(\d+)"
)
COMMENTS_RE = re.compile(
    r"(?:Comments included|Commentaires inclus)\s*:\s*(\d+)\s*\([^()\n]*?(?:out of|sur)\s+(\d+)\)"
)
STATS_RE = re.compile(r"(?m)^(?:Facts computed|Faits calculés)[^\n]*?\(JSON\)\s*:\s*(\{.*\})\s*$")
# A report's prompt: its kind, audience, facts (JSON) and how many issue lines it gives.
REPORT_RE = re.compile(r"(?m)^(?:Report|Rapport)\s*:\s*(sprint|epic)\s*$")
AUDIENCE_RE = re.compile(r"(?m)^(?:Audience|Public)\s*:\s*(team|stakeholders)\s*$")
REPORT_FACTS_RE = re.compile(
    r"(?m)^(?:Report facts|Faits du rapport)\s*\(JSON\)\s*:\s*(\{.*\})\s*$"
)
# Release notes' prompt: the version, the audience; the data's ``section: <kind>`` lines.
NOTES_RE = re.compile(r"(?m)^(?:Release notes|Notes de version)\s*:\s*(.+?)\s*$")
NOTES_AUDIENCE_RE = re.compile(r"(?m)^(?:Audience|Public)\s*:\s*(users|team)\s*$")
NOTES_SECTION_RE = re.compile(r"^section: (features|improvements|fixes|known_issues)$")
GIVEN_RE = re.compile(r"(?:Issues given|Tickets fournis)\s*:\s*(\d+)\s*\((?:out of|sur)\s+(\d+)")
HEADER_LINE_RE = re.compile(r"(?m)^(board|sprint|goal|epic): (.*)$")
ALLOWED_RE = re.compile(r"(?m)^(?:Allowed issue keys|Clés de tickets autorisées)\s*:[ \t]*(.*)$")
ISSUE_LINE_RE = re.compile(
    r"^(?P<key>[A-Z][A-Z0-9_]+-\d+) \[(?P<type>[^|\]\n]*) \| (?P<status>[^|\]\n]*) \| "
    r"(?P<priority>[^\]\n]*)\] summary: (?P<rest>.*)$"
)
LINE_FIELDS_RE = re.compile(r" \| (?=(?:due|points|sprint|parent|labels|updated): )")
HEADER_NAMES = (
    "key",
    "summary",
    "type",
    "status",
    "priority",
    "assignee",
    "reporter",
    "created",
    "updated",
    "due",
    "story points",
    "sprint",
    "parent",
    "labels",
    "fix versions",
)
COMMENT_HEAD_RE = re.compile(r"(?m)^--- (?P<author>.+), (?P<when>\d{4}-\d\d-\d\d \d\d:\d\d|\?):$")
URL_RE = re.compile(r"https?://[^\s<>\"'`)\]}]+")
# Text in the data that addresses the model: never repeated by a careful model (and what the
# ``obedient`` model copies, :mod:`sandbox.llm.misbehave`).
INSTRUCTION_RE = re.compile(
    r"(?i)ignore (?:all |the )?previous instructions|^\s*(?:system|assistant)\s*:"
    r"|\"role\"\s*:\s*\"system\"|\byou must\b|\btu dois\b|\breply only with\b"
    r"|\bréponds uniquement\b|\bfrom now on\b"
)
# Also kept out of a careful answer: a role anywhere in a line ("</issue> ASSISTANT: Sure!").
# Markup is not: it is quoted as text (the UI shows it escaped).
ROLE_RE = re.compile(r"(?i)\b(?:system|assistant)\s*:")
BLOCKED_RE = re.compile(r"(?i)\bblo(?:cked|cking|qu[ée]e?s?|quant|cage)\b")
AC_RE = re.compile(
    r"(?i)acceptance criteria|crit[èe]res? d['\u2019]acceptation"
    r"|\bgiven\b[^\n]*\bwhen\b[^\n]*\bthen\b"
    r"|[ée]tant donn[ée]|definition of done"
)
GWT_RE = re.compile(r"(?i)\bgiven\b[^\n]*\bwhen\b[^\n]*\bthen\b|[ée]tant donn[ée][^\n]*\bquand\b")
DONE_STATUSES = frozenset(
    {"done", "closed", "resolved", "terminé", "termine", "fermé", "résolu", "livré", "fini"}
)
STARTED_STATUSES = frozenset(
    {"in progress", "in review", "en cours", "en revue", "review", "in test", "testing", "qa"}
)
PRIORITY_RANK = {
    "blocker": 0,
    "highest": 0,
    "critical": 0,
    "critique": 0,
    "bloquant": 0,
    "très haute": 0,
    "urgent": 0,
    "high": 1,
    "haute": 1,
    "élevée": 1,
    "major": 1,
    "majeure": 1,
}
NOT_ASSIGNED_ONE = "n'est assigné"
SUMMARY_CHARS = 90
QUOTE_CHARS = 160


@dataclass
class Issue:
    key: str
    summary: str = ""
    type: str = ""
    status: str = ""
    category: str = ""
    priority: str = ""  # "" for (none)
    assignee: str = ""  # "" for (none): unassigned
    due: str = ""
    updated: str = ""
    description: str = ""
    parent: str = ""  # an analysis's "parent: KEY summary" line

    @property
    def done(self) -> bool:
        return self.status.lower() in DONE_STATUSES or self.category.lower() in ("done", "terminé")

    @property
    def started(self) -> bool:
        return self.status.lower() in STARTED_STATUSES or self.category.lower() in (
            "in progress",
            "en cours",
        )

    @property
    def blocked(self) -> bool:
        if self.done:
            return False
        return bool(BLOCKED_RE.search(self.status) or BLOCKED_RE.search(self.summary))

    @property
    def urgent(self) -> bool:
        return self.priority.lower() in PRIORITY_RANK

    def rank(self) -> tuple[int, str]:
        return PRIORITY_RANK.get(self.priority.lower(), 9), self.due or "9999-99-99"


@dataclass
class Comment:
    author: str
    when: str
    body: str


@dataclass
class Facts:
    """What jira-ai's prompt states, parsed (``kind`` "other": not one of its prompts)."""

    kind: Kind
    language: Language
    analyzed: int | None = None
    total: int | None = None
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)
    data: str = ""
    issues: list[Issue] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    comments_analyzed: int | None = None
    comments_total: int | None = None
    partials: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)  # a report's facts, as the prompt states
    report_kind: str = ""  # sprint, epic
    audience: str = "team"
    header: dict[str, str] = field(default_factory=dict)  # board, sprint, goal, epic lines
    sections: dict[str, str] = field(default_factory=dict)  # release notes: key -> section

    @property
    def fr(self) -> bool:
        return self.language == "fr"


# -- parsing -----------------------------------------------------------------------------------


def fenced_data(text: str) -> str:
    return "\n".join(m.group(1) for m in DATA_RE.finditer(text))


def _value(raw: str) -> str:
    value = raw.strip()
    return "" if value == NONE_LABEL else value


def _issue_lines(data: str) -> list[Issue]:
    issues: list[Issue] = []
    for line in data.split("\n"):
        match = ISSUE_LINE_RE.match(line)
        if match:
            summary, _, tail = match.group("rest").partition(" | assignee: ")
            pieces = LINE_FIELDS_RE.split(tail)
            named = dict(p.split(": ", 1) for p in pieces[1:] if ": " in p)
            issues.append(
                Issue(
                    key=match.group("key"),
                    summary=summary.strip(),
                    type=_value(match.group("type")),
                    status=_value(match.group("status")),
                    priority=_value(match.group("priority")),
                    assignee=_value(pieces[0]),
                    due=named.get("due", "").strip(),
                    updated=named.get("updated", "").strip(),
                )
            )
        elif issues and line.startswith("  description: "):
            issues[-1].description = line.removeprefix("  description: ").strip()
    return issues


def _analysis(data: str) -> tuple[Issue | None, list[Comment]]:
    heads = list(COMMENT_HEAD_RE.finditer(data))
    body = data[: heads[0].start()] if heads else data
    head_text, _, description = body.partition("\ndescription:\n")
    fields: dict[str, str] = {}
    for line in head_text.split("\n"):
        name, sep, value = line.partition(": ")
        if sep and name in HEADER_NAMES and name not in fields:
            fields[name] = value.strip()
    key = fields.get("key", "")
    if not KEY_RE.fullmatch(key):
        return None, []
    status, category = fields.get("status", ""), ""
    match = re.fullmatch(r"(.*?) \(([^()]*)\)", status)
    if match:
        status, category = match.group(1), match.group(2)
    issue = Issue(
        key=key,
        summary=fields.get("summary", ""),
        type=_value(fields.get("type", "")),
        status=_value(status),
        category=category,
        priority=_value(fields.get("priority", "")),
        assignee=_value(fields.get("assignee", "")),
        due=fields.get("due", ""),
        updated=fields.get("updated", ""),
        description=_value(description.strip()),
        parent=fields.get("parent", ""),
    )
    comments = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(data)
        comments.append(
            Comment(head.group("author"), head.group("when"), data[head.end() : end].strip())
        )
    return issue, comments


def _partials(data: str) -> list[dict[str, Any]]:
    out = []
    for line in data.split("\n"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def parse_facts(user: str, language: Language) -> Facts:
    """The facts of jira-ai's prompt in ``user`` (all user messages of the conversation)."""
    data = fenced_data(user)
    outside = DATA_RE.sub(" ", user)
    allowed_match = ALLOWED_RE.search(outside)
    allowed = KEY_RE.findall(allowed_match.group(1)) if allowed_match else []
    stats: dict[str, dict[str, int]] = {}
    stats_match = STATS_RE.search(outside)
    if stats_match:
        try:
            raw = json.loads(stats_match.group(1))
        except ValueError:
            raw = {}
        if isinstance(raw, dict):
            stats = {
                str(k): {str(n): c for n, c in v.items() if isinstance(c, int)}
                for k, v in raw.items()
                if isinstance(v, dict)
            }
    facts = Facts(kind="other", language=language, allowed=allowed, data=data, stats=stats)
    report, report_facts = REPORT_RE.search(outside), REPORT_FACTS_RE.search(outside)
    if report and report_facts:
        try:
            raw_report = json.loads(report_facts.group(1))
        except ValueError:
            raw_report = None
        if isinstance(raw_report, dict):
            facts.kind, facts.report_kind, facts.report = "report", report.group(1), raw_report
            audience = AUDIENCE_RE.search(outside)
            facts.audience = audience.group(1) if audience else "team"
            given = GIVEN_RE.search(outside)
            if given:
                facts.analyzed, facts.total = int(given.group(1)), int(given.group(2))
            facts.issues = _issue_lines(data)
            facts.header = {m.group(1): m.group(2).strip() for m in HEADER_LINE_RE.finditer(data)}
            return facts
    notes = NOTES_RE.search(outside)
    if notes:
        facts.kind = "notes"
        audience = NOTES_AUDIENCE_RE.search(outside)
        facts.audience = audience.group(1) if audience else "users"
        given = GIVEN_RE.search(outside)
        if given:
            facts.analyzed, facts.total = int(given.group(1)), int(given.group(2))
        facts.issues = _issue_lines(data)
        section = ""
        for line in data.split("\n"):
            heading = NOTES_SECTION_RE.match(line)
            if heading:
                section = heading.group(1)
            elif ISSUE_LINE_RE.match(line):
                facts.sections[line.split(" ", 1)[0]] = section
        return facts
    part, combine, comments = (r.search(outside) for r in (PART_RE, COMBINE_RE, COMMENTS_RE))
    if part or combine:
        match = part or combine
        assert match is not None
        facts.analyzed, facts.total = int(match.group(1)), int(match.group(2))
    if part:
        facts.kind = "summary"
        facts.issues = _issue_lines(data)
    elif combine:
        facts.kind = "combine"
        facts.partials = _partials(data)
    elif comments:
        issue, found = _analysis(data)
        if issue is not None:
            facts.kind = "analysis"
            facts.issues, facts.comments = [issue], found
            facts.comments_analyzed = int(comments.group(1))
            facts.comments_total = int(comments.group(2))
    return facts


# -- phrasing ----------------------------------------------------------------------------------


def _short(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split()).strip(" .")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quote(text: str, fr: bool) -> str:
    return f"« {text} »" if fr else f"“{text}”"


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _join(items: list[str], fr: bool) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + (" et " if fr else " and ") + items[-1]


def addresses_model(text: str) -> bool:
    """Text written to the model (an instruction, a link, a JSON object): never quoted."""
    return bool(
        INSTRUCTION_RE.search(text) or ROLE_RE.search(text) or URL_RE.search(text) or "{" in text
    )


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        out.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if s.strip())
    return out


def _safe_sentence(text: str, pattern: re.Pattern[str] | None = None) -> str:
    """The first sentence worth quoting (matching ``pattern``), from a line that does not
    address the model (a line with an instruction is skipped whole: its next sentence is the
    instruction's sequel)."""
    for line in text.split("\n"):
        if addresses_model(line):
            continue
        for sentence in _sentences(line):
            if len(sentence) >= 12 and (pattern is None or pattern.search(sentence)):
                return _short(sentence, QUOTE_CHARS)
    return ""


def _who(issue: Issue, fr: bool) -> str:
    if issue.assignee:
        return f"assigné à {issue.assignee}" if fr else f"assigned to {issue.assignee}"
    return "non assigné" if fr else "unassigned"


def _named(issue: Issue, fr: bool) -> str:
    if not issue.summary or addresses_model(issue.summary):
        return issue.key
    return f"{issue.key} {quote(_short(issue.summary), fr)}"


def _item(text: str, key: str | None) -> dict[str, Any]:
    return {"text": text, "issue_key": key}


# -- summaries ---------------------------------------------------------------------------------


def _counts(counts: dict[str, int], names: list[str], fr: bool) -> str:
    """``12 sont « Blocked » et 3 « Done »``: each number as the facts state it."""
    parts = []
    for i, name in enumerate(names):
        n = counts[name]
        verb = (_plural(n, "est ", "sont ") if fr else _plural(n, "is ", "are ")) if i == 0 else ""
        parts.append(f"{n} {verb}{quote(name, fr)}")
    return _join(parts, fr)


def narrative(facts: Facts, issues: list[Issue]) -> str:
    """2 to 4 sentences: the counts the prompt states (analyzed, matched, the stats), never one
    computed here, and the most pressing issue."""
    fr = facts.fr
    n, t = facts.analyzed, facts.total
    by_status = {k: v for k, v in facts.stats.get("by_status", {}).items() if k != NONE_LABEL}
    statuses = list(by_status)[:3]
    if n is not None and t is not None:
        if fr:
            head = f"Sur {n} {_plural(n, 'ticket analysé', 'tickets analysés')}"
            head += f" ({t} {_plural(t, 'trouvé', 'trouvés')} par la requête)" if t != n else ""
        else:
            head = f"Of the {n} {_plural(n, 'issue', 'issues')} analyzed"
            head += f" ({t} matched by the query)" if t != n else ""
        first = f"{head}, {_counts(by_status, statuses, fr)}." if statuses else f"{head}."
    elif statuses:
        first = (
            f"Par statut, {_counts(by_status, statuses, fr)}."
            if fr
            else f"By status, {_counts(by_status, statuses, fr)}."
        )
    else:
        first = ""
    sentences = [first] if first else []
    by_priority = facts.stats.get("by_priority", {})
    urgent = [p for p in by_priority if p.lower() in PRIORITY_RANK][:2]
    if urgent:
        counted = _counts(by_priority, urgent, fr)
        sentences.append(f"Côté priorités, {counted}." if fr else f"By priority, {counted}.")
    unassigned = facts.stats.get("by_assignee", {}).get(NONE_LABEL)
    if unassigned:
        sentences.append(
            f"{unassigned} {_plural(unassigned, NOT_ASSIGNED_ONE, 'ne sont assignés')} à personne."
            if fr
            else f"{unassigned} {_plural(unassigned, 'is', 'are')} unassigned."
        )
    pressing = next((i for i in issues if i.blocked), None) or next(
        (i for i in sorted(issues, key=Issue.rank) if i.urgent and not i.done), None
    )
    if pressing is not None:
        # By its key only: a summary's own digits ("3-D Secure") would read as counts.
        sentences.append(
            f"Le point le plus pressant est {pressing.key} ({quote(pressing.status, fr)})."
            if fr
            else f"The most pressing point is {pressing.key} ({quote(pressing.status, fr)})."
        )
    if not sentences and issues:
        named = [_named(i, fr) for i in issues[:2]]
        sentences.append(
            f"La sélection porte sur {_join(named, fr)}."
            if fr
            else f"The selection covers {_join(named, fr)}."
        )
    return " ".join(sentences[:4])


def _blocker_text(issue: Issue, fr: bool) -> str:
    by_status = BLOCKED_RE.search(issue.status)
    if fr:
        how = "est bloqué" if by_status else "est signalé comme bloqué"
        return f"{_named(issue, fr)} {how} (statut {quote(issue.status, fr)}, {_who(issue, fr)})."
    how = "is blocked" if by_status else "is reported as blocked"
    return f"{_named(issue, fr)} {how} (status {quote(issue.status, fr)}, {_who(issue, fr)})."


def _risk_text(issue: Issue, fr: bool) -> str:
    parts = []
    if issue.priority:
        parts.append(
            f"priorité {quote(issue.priority, fr)}"
            if fr
            else f"priority {quote(issue.priority, fr)}"
        )
    if issue.due:
        parts.append(f"échéance le {issue.due}" if fr else f"due {issue.due}")
    parts.append(f"statut {quote(issue.status, fr)}" if fr else f"status {quote(issue.status, fr)}")
    parts.append(_who(issue, fr))
    return (
        f"{_named(issue, fr)} : {', '.join(parts)}."
        if fr
        else f"{_named(issue, fr)}: {', '.join(parts)}."
    )


def _highlight_text(issue: Issue, fr: bool) -> str:
    if issue.done:
        return (
            f"{_named(issue, fr)} est terminé ({quote(issue.status, fr)})."
            if fr
            else f"{_named(issue, fr)} is done ({quote(issue.status, fr)})."
        )
    return (
        f"{_named(issue, fr)} avance ({quote(issue.status, fr)}, {_who(issue, fr)})."
        if fr
        else f"{_named(issue, fr)} is moving ({quote(issue.status, fr)}, {_who(issue, fr)})."
    )


def _next_text(issue: Issue, fr: bool) -> str:
    if not issue.assignee:
        what = (
            f"priorité {quote(issue.priority, fr)}"
            if fr
            else f"priority {quote(issue.priority, fr)}"
        )
        if not issue.priority:
            what = (
                f"statut {quote(issue.status, fr)}" if fr else f"status {quote(issue.status, fr)}"
            )
        return (
            f"Assigner {_named(issue, fr)} ({what}, non assigné)."
            if fr
            else f"Assign {_named(issue, fr)} ({what}, unassigned)."
        )
    if issue.blocked:
        return (
            f"Lever le blocage de {_named(issue, fr)} avec {issue.assignee}."
            if fr
            else f"Unblock {_named(issue, fr)} with {issue.assignee}."
        )
    if issue.due:
        return (
            f"Tenir l'échéance du {issue.due} de {_named(issue, fr)} avec {issue.assignee}."
            if fr
            else f"Meet the {issue.due} due date of {_named(issue, fr)} with {issue.assignee}."
        )
    return (
        f"Faire le point avec {issue.assignee} sur {_named(issue, fr)} ({quote(issue.status, fr)})."
        if fr
        else f"Check {_named(issue, fr)} ({quote(issue.status, fr)}) with {issue.assignee}."
    )


def summary_lists(facts: Facts) -> dict[str, list[dict[str, Any]]]:
    """highlights / risks / blockers / next_steps: at most 3 items each, one allowed key each."""
    fr = facts.fr
    allowed = set(facts.allowed) if facts.allowed else None
    issues = [i for i in facts.issues if allowed is None or i.key in allowed]
    open_ = [i for i in issues if not i.done]
    blockers = [i for i in open_ if i.blocked or BLOCKED_RE.search(i.description)][:3]
    blocked_keys = {i.key for i in blockers}
    risks = sorted(
        (i for i in open_ if i.key not in blocked_keys and (i.urgent or i.due)), key=Issue.rank
    )[:3]
    highlights = ([i for i in issues if i.done][:2] + [i for i in open_ if i.started][:2])[:3]
    steps = [i for i in sorted(open_, key=Issue.rank) if not i.assignee and i.urgent]
    steps += [i for i in blockers if i.assignee] + [i for i in risks if i.assignee]
    if not (highlights or risks or blockers or steps) and open_:
        steps = open_[:1]  # nothing stands out: the first open issue still gets its next step
    by_key = {i.key: i for i in steps}
    next_steps = [by_key[k] for k in dict.fromkeys(i.key for i in steps)][:3]
    return {
        "highlights": [_item(_highlight_text(i, fr), i.key) for i in highlights],
        "risks": [_item(_risk_text(i, fr), i.key) for i in risks],
        "blockers": [_item(_blocker_text(i, fr), i.key) for i in blockers],
        "next_steps": [_item(_next_text(i, fr), i.key) for i in next_steps],
    }


def combine_lists(facts: Facts) -> dict[str, list[dict[str, Any]]]:
    """The partial summaries' items, without duplicates and with allowed keys only."""
    allowed = set(facts.allowed)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in ("highlights", "risks", "blockers", "next_steps"):
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for partial in facts.partials:
            for raw in partial.get(name) or []:
                if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
                    continue
                key = raw.get("issue_key") if isinstance(raw.get("issue_key"), str) else None
                text = raw["text"].strip()
                if not text or (key is not None and key not in allowed):
                    continue
                if (key or text) in seen:
                    continue
                seen.add(key or text)
                items.append(_item(text, key))
        out[name] = items[:4]
    return out


# -- analyses ----------------------------------------------------------------------------------


def _ac(issue: Issue) -> tuple[bool, str]:
    """(present, the line that says so) from the description."""
    for line in issue.description.split("\n"):
        if AC_RE.search(line) and not addresses_model(line):
            return True, _short(line, QUOTE_CHARS)
    return False, ""


@dataclass
class AnalysisParts:
    summary: str
    status_assessment: str
    risks: list[dict[str, Any]]
    blockers: list[dict[str, Any]]
    ac_present: bool
    ac_assessment: str
    ac_gaps: list[str]
    next_actions: list[dict[str, Any]]
    open_questions: list[str]


def analysis_parts(facts: Facts) -> AnalysisParts:
    fr = facts.fr
    issue = facts.issues[0]
    key = issue.key
    kind = f"de type {quote(issue.type, fr)} " if fr and issue.type else ""
    kind_en = f"{quote(issue.type, fr)} " if issue.type else ""
    prio = quote(issue.priority, fr) if issue.priority else ("aucune" if fr else "none")
    if fr:
        summary = (
            f"{_named(issue, fr)} est un ticket {kind}au statut {quote(issue.status, fr)}, "
            f"priorité {prio}, {_who(issue, fr)}."
        )
    else:
        summary = (
            f"{_named(issue, fr)} is a {kind_en}issue in status {quote(issue.status, fr)}, "
            f"priority {prio}, {_who(issue, fr)}."
        )
    if issue.due:
        summary += f" Échéance : {issue.due}." if fr else f" Due date: {issue.due}."
    described = _safe_sentence(issue.description)
    if described:
        summary += (
            f" La description indique : {quote(described, fr)}."
            if fr
            else f" The description says: {quote(described, fr)}."
        )
    a, b = facts.comments_analyzed, facts.comments_total
    if a is not None and b is not None:
        summary += (
            f" {a} {_plural(a, 'commentaire lu', 'commentaires lus')} sur {b}."
            if fr
            else f" {a} of {b} {_plural(b, 'comment', 'comments')} read."
        )
    blocked_line = ""
    if not issue.done:
        blocked_line = _safe_sentence(
            "\n".join([issue.description, *(c.body for c in facts.comments)]), BLOCKED_RE
        )
    status = quote(issue.status, fr)
    if issue.done:
        assessment = (
            f"Le ticket est terminé ({status})." if fr else f"The issue is done ({status})."
        )
    elif issue.blocked:
        assessment = (
            f"Le ticket est bloqué ({status})." if fr else f"The issue is blocked ({status})."
        )
    elif blocked_line:
        assessment = (
            f"Le ticket est au statut {status}, mais il est signalé comme bloqué."
            if fr
            else f"The issue is in status {status}, but it is reported as blocked."
        )
    elif issue.started:
        assessment = (
            f"Le ticket est en cours ({status}), {_who(issue, fr)}."
            if fr
            else f"The issue is in progress ({status}), {_who(issue, fr)}."
        )
    else:
        assessment = (
            f"Le ticket n'a pas encore démarré ({status}), {_who(issue, fr)}."
            if fr
            else f"The issue has not started yet ({status}), {_who(issue, fr)}."
        )
    if issue.updated:
        assessment += (
            f" Dernière mise à jour le {issue.updated}."
            if fr
            else f" Last updated {issue.updated}."
        )
    if facts.comments:
        last = facts.comments[0]
        assessment += (
            f" Dernier commentaire : {last.author}, le {last.when}."
            if fr
            else f" Latest comment: {last.author}, {last.when}."
        )
    present, ac_line = _ac(issue)
    risks: list[dict[str, Any]] = []
    if not issue.done:
        if issue.urgent:
            risks.append(
                _item(
                    f"Priorité {quote(issue.priority, fr)} alors que {key} est encore {status}."
                    if fr
                    else f"Priority {quote(issue.priority, fr)} while {key} is still {status}.",
                    key,
                )
            )
        if issue.due:
            risks.append(
                _item(
                    f"Échéance de {key} le {issue.due} avec le statut {status}."
                    if fr
                    else f"{key} is due {issue.due} while its status is {status}.",
                    key,
                )
            )
        if not issue.assignee:
            risks.append(
                _item(
                    f"Personne n'est assigné à {key}." if fr else f"Nobody is assigned to {key}.",
                    key,
                )
            )
        if not present:
            risks.append(
                _item(
                    f"Sans critères d'acceptation, la recette de {key} sera discutable."
                    if fr
                    else f"Without acceptance criteria, the acceptance of {key} will be arguable.",
                    key,
                )
            )
    if INSTRUCTION_RE.search(facts.data):
        risks.insert(
            0,
            _item(
                f"{key} contient des instructions adressées à un assistant IA : contenu non "
                "fiable, ignoré ici."
                if fr
                else f"{key} holds instructions addressed to an AI assistant: untrusted "
                "content, ignored here.",
                key,
            ),
        )
    blockers = []
    if issue.blocked or blocked_line:
        text = (
            (
                f"{key} est bloqué : {quote(blocked_line, fr)}."
                if fr
                else f"{key} is blocked: {quote(blocked_line, fr)}."
            )
            if blocked_line
            else (f"{key} est au statut {status}." if fr else f"{key} is in status {status}.")
        )
        blockers.append(_item(text, key))
    if present:
        ac_assessment = (
            f"La description de {key} contient des critères d'acceptation : {quote(ac_line, fr)}."
            if fr
            else f"The description of {key} has acceptance criteria: {quote(ac_line, fr)}."
        )
        gaps = (
            []
            if GWT_RE.search(issue.description)
            else [
                "Les critères ne sont pas écrits en scénarios vérifiables (Étant donné / Quand / "
                "Alors)."
                if fr
                else "The criteria are not written as testable scenarios (Given / When / Then)."
            ]
        )
    else:
        ac_assessment = (
            f"La description de {key} ne contient aucun critère d'acceptation."
            if fr
            else f"The description of {key} has no acceptance criteria."
        )
        gaps = [
            f"Aucun critère vérifiable pour {_named(issue, fr)}."
            if fr
            else f"No testable criterion for {_named(issue, fr)}.",
            "Aucun cas d'erreur ni cas limite décrit."
            if fr
            else "No error case or edge case is described.",
        ]
    actions: list[str] = []
    if not issue.done and not issue.assignee:
        actions.append(
            f"Désigner un responsable pour {key}." if fr else f"Assign an owner to {key}."
        )
    if not present and not issue.done:
        actions.append(
            f"Rédiger les critères d'acceptation de {key}."
            if fr
            else f"Write the acceptance criteria of {key}."
        )
    if blockers:
        actions.append(
            f"Lever le blocage de {key}" + (f" avec {issue.assignee}." if issue.assignee else ".")
            if fr
            else f"Unblock {key}" + (f" with {issue.assignee}." if issue.assignee else ".")
        )
    if issue.due and not issue.done:
        actions.append(
            f"Confirmer l'échéance du {issue.due}." if fr else f"Confirm the {issue.due} due date."
        )
    if issue.done:
        actions.append(
            f"Vérifier la recette de {key} avant de le clore."
            if fr
            else f"Check the acceptance of {key} before closing it."
        )
    elif issue.assignee:
        actions.append(
            f"Faire le point avec {issue.assignee} sur {key}."
            if fr
            else f"Check in with {issue.assignee} on {key}."
        )
    parent_key, _, parent_summary = issue.parent.partition(" ")
    if KEY_RE.fullmatch(parent_key):
        parent = Issue(parent_key, summary=parent_summary)
        actions = actions[:2]  # the parent's action is kept among the three
        actions.append(
            f"Tenir informé le parent {_named(parent, fr)} de l'avancement."
            if fr
            else f"Keep the parent {_named(parent, fr)} informed of the progress."
        )
    questions: list[str] = []
    for comment in facts.comments:
        for sentence in _sentences(comment.body):
            asked = re.sub(r"^(?:@\S+ \S+ )", "", sentence).rstrip(" ?")
            if not sentence.endswith("?") or addresses_model(sentence) or len(asked) < 12:
                continue
            if all(asked not in q for q in questions) and len(questions) < 2:
                # Quoted as written (in the comment's language), introduced in the asked one.
                quoted = _short(asked, QUOTE_CHARS) + "?"
                questions.append(
                    f"Question restée ouverte dans les commentaires : « {quoted} »"
                    if fr
                    else f"Question left open in the comments: “{quoted}”"
                )
    if not issue.done and not issue.assignee:
        questions.append(f"Qui prend en charge {key} ?" if fr else f"Who takes {key}?")
    if not issue.done and not issue.due:
        questions.append(
            f"Quelle est l'échéance attendue pour {key} ?"
            if fr
            else f"What is the expected due date of {key}?"
        )
    return AnalysisParts(
        summary=summary,
        status_assessment=assessment,
        risks=risks[:3],
        blockers=blockers,
        ac_present=present,
        ac_assessment=ac_assessment,
        ac_gaps=gaps,
        next_actions=[_item(a, _cited(a, key, facts.allowed)) for a in actions[:3]],
        open_questions=questions[:3],
    )


def _cited(text: str, key: str, allowed: list[str]) -> str:
    """The key an analysis item is about: the first allowed key it names, else the issue's."""
    return next((k for k in KEY_RE.findall(text) if k in allowed), key)


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


# -- sprint and epic reports -------------------------------------------------------------------


def _figure(value: Any, fr: bool) -> str:
    """A figure as the facts hold it (never rounded or summed here)."""
    number = float(value or 0)
    text = str(int(number)) if number.is_integer() else f"{number:g}"
    return text.replace(".", ",") if fr else text


def _set(report: dict[str, Any], name: str) -> tuple[int, float, list[str]]:
    raw = report.get(name) if isinstance(report.get(name), dict) else {}
    assert isinstance(raw, dict)
    keys = [k for k in raw.get("keys") or [] if isinstance(k, str)]
    return int(raw.get("issues") or 0), float(raw.get("points") or 0), keys


def _plain(issue: Issue, fr: bool) -> str:
    """An issue for stakeholders: its summary in quotes, no key (its key when the summary
    speaks to the model)."""
    if not issue.summary or addresses_model(issue.summary):
        return issue.key
    return quote(_short(issue.summary, 70), fr)


def _report_namer(fr: bool, *, team: bool) -> Callable[[Issue], str]:
    """How a report names an issue: key and summary for the team, plain words for others."""
    return functools.partial(_named, fr=fr) if team else functools.partial(_plain, fr=fr)


@dataclass
class ReportParts:
    summary: str
    lists: dict[str, list[dict[str, Any]]]


def _cap(items: list[dict[str, Any]], stakeholders: bool, limit: int = 4) -> list[dict[str, Any]]:
    """At most ``limit`` items; for stakeholders only the first keeps its key (fewer keys)."""
    out = items[:limit]
    if stakeholders:
        out = [out[0], *({"text": i["text"], "issue_key": None} for i in out[1:])] if out else []
    return out


def sprint_report_parts(facts: Facts) -> ReportParts:
    """A sprint review from the report's facts and its issue lines: went well from the
    completed, slipped from the not completed (carried over) and the removed, risks from the
    blockers and the scope change, next steps for each; every figure one the facts state."""
    fr, report = facts.fr, facts.report
    team = facts.audience != "stakeholders"
    by_key = {i.key: i for i in facts.issues}
    c, cp, _ = _set(report, "committed")
    a, _, _ = _set(report, "added")
    r, _, removed = _set(report, "removed")
    d, dp, completed = _set(report, "completed")
    n, _, not_completed = _set(report, "not_completed")
    co, _, carried = _set(report, "carried_over")
    blockers = [b for b in report.get("blockers") or [] if isinstance(b, dict) and b.get("key")]
    scope = float(report.get("scope_change_percent") or 0)
    name = facts.header.get("sprint", "").rsplit(" (", 1)[0]
    title = quote(name, fr) if name and not addresses_model(name) else ""
    f = functools.partial(_figure, fr=fr)
    sentences: list[str] = []
    if team:
        if fr:
            sentences.append(
                f"Sprint {title} : {f(c)} tickets engagés au départ ({f(cp)} points), {f(a)} "
                f"ajoutés et {f(r)} retirés en cours de route ; {f(d)} tickets terminés "
                f"({f(dp)} points) et {f(n)} non terminés."
            )
        else:
            sentences.append(
                f"Sprint {title}: {f(c)} issues committed at the start ({f(cp)} points), {f(a)} "
                f"added and {f(r)} removed along the way; {f(d)} issues completed "
                f"({f(dp)} points) and {f(n)} not completed."
            )
        if co:
            sentences.append(
                f"{f(co)} tickets sont reportés au sprint suivant."
                if fr
                else f"{f(co)} issues were carried over to the next sprint."
            )
        if blockers:
            first = blockers[0]["key"]
            sentences.append(
                f"Le point le plus bloquant est {first}."
                if fr
                else f"The most blocking point is {first}."
            )
    else:
        if fr:
            sentences.append(
                f"L'équipe a livré {f(d)} des {f(c)} éléments prévus au départ de cette période"
                f" de travail ; {f(n)} éléments restent à terminer."
            )
        else:
            sentences.append(
                f"The team delivered {f(d)} of the {f(c)} items planned at the start of this "
                f"period of work; {f(n)} items are still to be finished."
            )
        if scope:
            sentences.append(
                f"Le contenu prévu a changé de {f(scope)} % en cours de route."
                if fr
                else f"The planned content changed by {f(scope)}% along the way."
            )
    named = _report_namer(fr, team=team)

    def who(issue: Issue) -> str:
        """The assignee inside a parenthesis already open."""
        return f", {issue.assignee}" if team and issue.assignee else ""

    def by(issue: Issue) -> str:
        return f" ({issue.assignee})" if team and issue.assignee else ""

    went_well = []
    for key in completed:
        issue = by_key.get(key)
        if issue is None:
            continue
        went_well.append(
            _item(
                f"{named(issue)} est terminé{by(issue)}."
                if fr
                else f"{named(issue)} is done{by(issue)}.",
                key,
            )
        )
    slipped = []
    for key in [*not_completed, *removed]:
        issue = by_key.get(key)
        if issue is None:
            continue
        if key in removed:
            text = (
                f"{named(issue)} a été retiré du sprint avant la fin."
                if fr
                else f"{named(issue)} was removed from the sprint before its end."
            )
        elif key in carried:
            text = (
                f"{named(issue)} n'est pas terminé et passe au sprint suivant{by(issue)}."
                if fr
                else f"{named(issue)} is not done and moves to the next sprint{by(issue)}."
            )
        else:
            text = (
                f"{named(issue)} n'est pas terminé ({quote(issue.status, fr)}{who(issue)})."
                if fr
                else f"{named(issue)} is not done ({quote(issue.status, fr)}{who(issue)})."
            )
        slipped.append(_item(text, key))
    risks = []
    steps = []
    for blocker in blockers:
        key = str(blocker["key"])
        issue = by_key.get(key) or Issue(key=key)
        blocking = [k for k in blocker.get("blocked_by") or [] if isinstance(k, str)]
        cause = ""
        if team and blocking:
            cause = f" par {_join(blocking, fr)}" if fr else f" by {_join(blocking, fr)}"
        risks.append(
            _item(
                f"{named(issue)} est bloqué{cause}."
                if fr
                else f"{named(issue)} is blocked{cause}.",
                key,
            )
        )
        steps.append(
            _item(
                f"Lever le blocage de {named(issue)}{by(issue)}."
                if fr
                else f"Unblock {named(issue)}{by(issue)}.",
                key,
            )
        )
    if scope and team:
        risks.append(
            _item(
                f"Le périmètre a varié de {f(scope)} % pendant le sprint."
                if fr
                else f"The scope changed by {f(scope)}% during the sprint.",
                None,
            )
        )
    for key in not_completed:
        issue = by_key.get(key)
        if issue is None or any(s["issue_key"] == key for s in steps):
            continue
        steps.append(
            _item(
                f"Replanifier {named(issue)}{by(issue)}."
                if fr
                else f"Plan {named(issue)} again{by(issue)}.",
                key,
            )
        )
    if not steps:
        steps.append(
            _item(
                "Préparer le prochain sprint à partir de ces résultats."
                if fr
                else "Prepare the next sprint from these results.",
                None,
            )
        )
    lists = {"went_well": went_well, "slipped": slipped, "risks": risks, "next_steps": steps}
    return ReportParts(" ".join(sentences), {k: _cap(v, not team) for k, v in lists.items()})


DUE_WORDS = {
    "fr": {"overdue": "en retard", "at_risk": "à risque", "on_track": "dans les temps"},
    "en": {"overdue": "overdue", "at_risk": "at risk", "on_track": "on track"},
}


def epic_report_parts(facts: Facts) -> ReportParts:
    """An epic's status from its facts and its children's lines: went well from the done
    children, slipped from the stale ones, risks from the due date and the unestimated, next
    steps for each."""
    fr, report = facts.fr, facts.report
    team = facts.audience != "stakeholders"
    by_key = {i.key: i for i in facts.issues}
    epic = str(report.get("epic_key") or "")
    total = int(report.get("children_total") or 0)
    done, _, done_keys = _set(report, "done")
    percent = report.get("done_percent_points")
    stale = [k for k in report.get("stale") or [] if isinstance(k, str)]
    unestimated = [k for k in report.get("unestimated") or [] if isinstance(k, str)]
    due, due_status = report.get("due"), str(report.get("due_status") or "")
    f = functools.partial(_figure, fr=fr)
    named = _report_namer(fr, team=team)
    subject = epic if team else ("Ce chantier" if fr else "This piece of work")
    if fr:
        head = f"{subject} compte {f(total)} tickets enfants, dont {f(done)} terminés."
        if not team:
            head = f"{subject} compte {f(total)} éléments, dont {f(done)} terminés."
    else:
        head = f"{subject} has {f(total)} child issues, {f(done)} of them done."
        if not team:
            head = f"{subject} has {f(total)} items, {f(done)} of them done."
    sentences = [head]
    if percent is not None:
        sentences.append(
            f"Le travail estimé est fait à {f(percent)} %."
            if fr
            else f"The estimated work is {f(percent)}% done."
        )
    if due and due_status in DUE_WORDS["en"]:
        words = DUE_WORDS["fr" if fr else "en"][due_status]
        sentences.append(
            f"Pour l'échéance du {due}, l'avancement est {words}."
            if fr
            else f"Against the {due} due date, progress is {words}."
        )
    went_well = [
        _item(f"{named(by_key[k])} est terminé." if fr else f"{named(by_key[k])} is done.", k)
        for k in done_keys
        if k in by_key
    ]
    slipped = [
        _item(
            f"{named(by_key[k])} n'avance plus ({quote(by_key[k].status, fr)})."
            if fr
            else f"{named(by_key[k])} has stalled ({quote(by_key[k].status, fr)}).",
            k,
        )
        for k in stale
        if k in by_key
    ]
    risks = []
    if due_status in ("overdue", "at_risk") and due:
        risks.append(
            _item(
                f"L'échéance du {due} est {DUE_WORDS['fr'][due_status]}."
                if fr
                else f"The {due} due date is {DUE_WORDS['en'][due_status]}.",
                None,
            )
        )
    risks += [
        _item(
            f"{named(by_key[k])} n'est pas estimé."
            if fr
            else f"{named(by_key[k])} has no estimate.",
            k,
        )
        for k in unestimated
        if k in by_key
    ]
    steps = [
        _item(f"Relancer {named(by_key[k])}." if fr else f"Get {named(by_key[k])} moving again.", k)
        for k in stale
        if k in by_key
    ]
    steps += [
        _item(f"Estimer {named(by_key[k])}." if fr else f"Estimate {named(by_key[k])}.", k)
        for k in unestimated
        if k in by_key
    ]
    if not steps:
        steps.append(
            _item(
                "Continuer sur le même rythme et revoir l'avancement la semaine prochaine."
                if fr
                else "Keep the same pace and review the progress next week.",
                None,
            )
        )
    lists = {"went_well": went_well, "slipped": slipped, "risks": risks, "next_steps": steps}
    return ReportParts(" ".join(sentences), {k: _cap(v, not team) for k, v in lists.items()})


# -- release notes -----------------------------------------------------------------------------

# How a careful model frames an issue's summary, by section (users / team), per language.
NOTES_FRAMES = {
    "fr": {
        "users": {
            "features": "Nouveauté : vous pouvez désormais profiter de {s}.",
            "improvements": "Amélioration : {s} fonctionne mieux qu'avant.",
            "fixes": "Correction : le problème {s} ne se produit plus.",
            "known_issues": "Problème connu : {s}, une correction est prévue.",
        },
        "team": {
            "features": "Fonctionnalité livrée : {s} ({t}, statut {st}).",
            "improvements": "Amélioration livrée : {s} ({t}, statut {st}).",
            "fixes": "Anomalie corrigée : {s} ({t}, statut {st}).",
            "known_issues": "Anomalie encore ouverte : {s} ({t}, statut {st}).",
        },
    },
    "en": {
        "users": {
            "features": "New: you can now enjoy {s}.",
            "improvements": "Improved: {s} works better than before.",
            "fixes": "Fixed: the problem {s} no longer happens.",
            "known_issues": "Known issue: {s}, a fix is planned.",
        },
        "team": {
            "features": "Feature shipped: {s} ({t}, status {st}).",
            "improvements": "Improvement shipped: {s} ({t}, status {st}).",
            "fixes": "Bug fixed: {s} ({t}, status {st}).",
            "known_issues": "Bug still open: {s} ({t}, status {st}).",
        },
    },
}
NOTES_UNNAMED = {"fr": "cette évolution du produit", "en": "this change to the product"}


def notes_items(facts: Facts) -> list[dict[str, Any]]:
    """One item per issue line, in the data's order: its summary (quoted; a summary that
    addresses the model is never repeated) framed for its section and the audience."""
    language: Language = "fr" if facts.fr else "en"
    audience = "team" if facts.audience == "team" else "users"
    frames = NOTES_FRAMES[language][audience]
    items = []
    for issue in facts.issues:
        summary = issue.summary
        named = (
            NOTES_UNNAMED[language]
            if not summary or addresses_model(summary)
            else quote(_short(summary), facts.fr)
        )
        frame = frames.get(facts.sections.get(issue.key, ""), frames["improvements"])
        text = frame.format(s=named, t=issue.type or "?", st=issue.status or "?")
        items.append(_item(text[0].upper() + text[1:], issue.key))
    return items


# -- what the writers hand to the schema -------------------------------------------------------


@dataclass
class Grounded:
    """Grounded values by property name: ``texts`` for string properties, ``values`` for the
    others (item lists, the acceptance-criteria object, string lists). ``prose`` is the free
    text."""

    texts: dict[str, str]
    values: dict[str, Any]
    prose: str
    narrative_name: str  # the property the narrative goes to


def grounded(facts: Facts) -> Grounded | None:
    """The grounded content of jira-ai's prompt, or None for a prompt of another shape."""
    fr = facts.fr
    if facts.kind in ("summary", "combine"):
        lists = summary_lists(facts) if facts.kind == "summary" else combine_lists(facts)
        story = narrative(facts, facts.issues)
        if not story:
            return None
        prose = " ".join([story, *(i["text"] for i in (lists["blockers"] + lists["risks"])[:2])])
        return Grounded({"summary": story}, dict(lists), prose, "summary")
    if facts.kind == "report":
        report = (
            sprint_report_parts(facts)
            if facts.report_kind == "sprint"
            else epic_report_parts(facts)
        )
        prose = " ".join([report.summary, *(i["text"] for i in report.lists["risks"][:2])])
        return Grounded({"summary": report.summary}, dict(report.lists), prose, "summary")
    if facts.kind == "notes":
        items = notes_items(facts)
        if not items:
            return None
        return Grounded({}, {"items": items}, " ".join(i["text"] for i in items), "items")
    if facts.kind == "analysis":
        parts = analysis_parts(facts)
        risks = [i["text"] for i in parts.risks] + [i["text"] for i in parts.blockers]
        nothing = (
            f"Aucun risque ni blocage ne ressort de {facts.issues[0].key}."
            if fr
            else f"No risk or blocker stands out in {facts.issues[0].key}."
        )
        ac_text = parts.ac_assessment + ("\n" + _bullets(parts.ac_gaps) if parts.ac_gaps else "")
        texts = {
            "summary": parts.summary,
            "status_assessment": parts.status_assessment,
            "synthesis": f"{parts.summary} {parts.status_assessment}",
            "risks_blockers": _bullets(risks) if risks else nothing,
            "acceptance_criteria": ac_text,
            "next_actions": _bullets(
                [i["text"] for i in parts.next_actions] + parts.open_questions
            ),
        }
        values = {
            "risks": parts.risks,
            "blockers": parts.blockers,
            "acceptance_criteria": {
                "present": parts.ac_present,
                "assessment": parts.ac_assessment,
                "gaps": parts.ac_gaps,
            },
            "next_actions": parts.next_actions,
            "open_questions": parts.open_questions,
        }
        return Grounded(texts, values, f"{parts.summary} {parts.status_assessment}", "summary")
    return None
