"""What a careful model answers to jira-ai's JQL prompt (``prompts/v3/jql``): the question
translated by rules over the vocabulary the prompt gives, not from a table of known questions.

The prompt is recognized by its ``Vocabulary (JSON): {...}`` line (French ``Vocabulaire (JSON)
:``) and its ``<<<QUESTION`` … ``QUESTION>>>`` fence; ``Answer language:`` / ``Langue de la
réponse :`` gives the explanation's language; a ``<<<JIRA_DATA`` block with ``jql:`` and
``error:`` lines is the repair turn (the refused JQL and Jira's messages).

The rules (French and English; matching ignores case and accents): a project by key or name;
issue types (bug/bogue/anomalie, story/histoire/récit, task/tâche, epic/épopée, or a type's own
name); a status named in the vocabulary; open/ouvert (``statusCategory != Done``), done/terminé
(``statusCategory = Done``); priorities (« haute priorité », "high priority", "highest",
urgent); the user (« à moi », « mes », "me", "my" → ``currentUser()``, as assignee or, with
reported/signalé/créé par, reporter), a named person after "assigned to" / « assignés à »,
unassigned / « non assignés »; sprints (« sprint actif », "current sprint" → ``openSprints()``,
a sprint of the vocabulary by name); created/updated in the last N days/weeks, this week,
today, this month; labels; overdue; text in quotes; ordering (newest, oldest, by priority).

``sloppy`` (its first answer only, as the other misbehaviours): the field names a careless
model guesses (``type``, ``etat``/``state``, ``priorite``, ``projet``) and a ``JQL:`` prefix;
when the prompt carries Jira's errors it answers with the right names.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

VOCABULARY_RE = re.compile(r"(?m)^(?:Vocabulary|Vocabulaire) \(JSON\)\s*:\s*(\{.*\})\s*$")
QUESTION_RE = re.compile(r"(?ms)^<<<QUESTION\n(.*?)\n^QUESTION>>>")
LANGUAGE_RE = re.compile(r"(?m)^(?:Answer language|Langue de la réponse)\s*:\s*(fr|en)\s*$")
REFUSED_RE = re.compile(r"(?m)^error: ")

TYPE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "bug": ("bug", "bugs", "bogue", "bogues", "anomalie", "anomalies", "defaut", "defauts"),
    "story": ("story", "stories", "histoire", "histoires", "recit", "recits", "user story"),
    "task": ("task", "tasks", "tache", "taches"),
    "epic": ("epic", "epics", "epopee", "epopees", "epique", "epiques"),
    "sub-task": ("sub-task", "sub-tasks", "subtask", "subtasks", "sous-tache", "sous-taches"),
}
TYPE_NAMES = {
    "bug": ("bug", "bogue"),
    "story": ("story", "histoire", "recit"),
    "task": ("task", "tache"),
    "epic": ("epic", "epopee"),
    "sub-task": ("sub-task", "subtask", "sous-tache"),
}
PRIORITY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "highest",
        (
            "highest priority",
            "priorite la plus haute",
            "plus haute priorite",
            "priorite maximale",
            "urgent",
            "urgents",
            "critical",
            "critique",
            "critiques",
            "bloquant",
        ),
    ),
    ("high", ("high priority", "priority high", "haute priorite", "priorite haute", "prioritaire")),
    ("medium", ("medium priority", "priorite moyenne", "moyenne priorite", "normal priority")),
    ("lowest", ("lowest priority", "priorite la plus basse")),
    (
        "low",
        ("low priority", "priority low", "basse priorite", "priorite basse", "faible priorite"),
    ),
)
PRIORITY_NAMES = {
    "highest": ("highest", "la plus haute", "critique"),
    "high": ("high", "haute", "elevee"),
    "medium": ("medium", "moyenne", "normale"),
    "low": ("low", "basse", "faible"),
    "lowest": ("lowest", "la plus basse"),
}
OPEN_RE = re.compile(
    r"\b(?:open|opened|still open|unresolved|not done|not finished|not closed|pending|"
    r"ouvert|ouverts|ouverte|ouvertes|non resolus?|non resolues?|non termines?|non terminees?|"
    r"pas termines?|pas terminees?|pas fini|en suspens|restants?)\b"
)
DONE_RE = re.compile(
    r"\b(?:done|closed|finished|completed|resolved|termines?|terminees?|fermes?|fermees?|"
    r"finis|finies|resolus|resolues|clos|clotures?)\b"
)
ME_ASSIGNEE_RE = re.compile(
    r"\b(?:assigned to me|assigned to myself|my issues|my tickets|my bugs|my tasks|my stories|"
    r"mine|assigned to myself|assignes? a moi|assignees? a moi|attribues? a moi|a moi|"
    r"mes tickets|mes bugs|mes taches|mes stories|mes histoires|mes anomalies|me concernant|"
    r"i am assigned|je suis assigne|ou je suis assigne|my|mes)\b"
)
ME_REPORTER_RE = re.compile(
    r"\b(?:reported by me|created by me|i reported|i created|signales? par moi|"
    r"signalees? par moi|crees? par moi|creees? par moi|que j'ai (?:crees?|signales?|ouverts?))\b"
)
UNASSIGNED_RE = re.compile(
    r"\b(?:unassigned|not assigned|without (?:an )?assignee|nobody assigned|"
    r"non assignes?|non assignees?|sans assignee?|sans responsable|pas assignes?|"
    r"personne n'est assigne|non attribues?)\b"
)
NAMED_RE = re.compile(
    r"(?:assigned to|assignés? à|assignées? à|attribués? à|owned by|de la part de|"
    r"reported by|signalés? par|créés? par)\s+"
    r"(?P<name>[A-ZÀ-Ý][\w'-]+(?:\s+[A-ZÀ-Ý][\w'-]+)*)"
)
OPEN_SPRINT_RE = re.compile(
    r"\b(?:active sprint|current sprint|open sprints?|this sprint|ongoing sprint|"
    r"sprint actif|sprints actifs|sprint en cours|sprint courant|sprint actuel|ce sprint)\b"
)
CLOSED_SPRINT_RE = re.compile(
    r"\b(?:closed sprints?|past sprints?|previous sprints?|last sprint|"
    r"sprints? termines?|sprints? precedents?|sprint passe|dernier sprint)\b"
)
FUTURE_SPRINT_RE = re.compile(
    r"\b(?:future sprints?|next sprint|upcoming sprints?|prochains? sprints?|sprints? futurs?)\b"
)
NO_SPRINT_RE = re.compile(r"\b(?:not in (?:a|any) sprint|without sprint|hors sprint|sans sprint)\b")
UPDATED_RE = re.compile(
    r"\b(?:updated|modified|changed|touched|mis a jour|mises? a jour|modifies?|modifiees?)\b"
)
DAYS_RE = re.compile(
    r"\b(?:(?:in |over |during )?(?:the )?(?:last|past) (?P<n1>\d+) (?P<u1>days?|weeks?|months?)|"
    r"(?:ces|les|depuis|dans les|au cours des) (?P<n2>\d+) (?:derniers|dernieres) "
    r"(?P<u2>jours|semaines|mois)|depuis (?P<n3>\d+) (?P<u3>jours?|semaines?|mois))\b"
)
WEEK_RE = re.compile(r"\b(?:this week|cette semaine|since monday|depuis lundi)\b")
LAST_WEEK_RE = re.compile(r"\b(?:last week|past week|la semaine derniere|derniere semaine)\b")
TODAY_RE = re.compile(r"\b(?:today|aujourd'hui|aujourd hui)\b")
MONTH_RE = re.compile(r"\b(?:this month|ce mois|ce mois-ci)\b")
YESTERDAY_RE = re.compile(r"\b(?:since yesterday|yesterday|depuis hier|hier)\b")
OVERDUE_RE = re.compile(
    r"\b(?:overdue|past due|late|en retard|echeance depassee|date d'echeance depassee)\b"
)
NEWEST_RE = re.compile(
    r"\b(?:most recent|newest|latest|recent first|les plus recents|les plus recentes|"
    r"du plus recent|derniers crees|plus recents d'abord)\b"
)
OLDEST_RE = re.compile(
    r"\b(?:oldest|les plus anciens|les plus anciennes|du plus ancien|plus anciens d'abord)\b"
)
RECENTLY_UPDATED_ORDER_RE = re.compile(
    r"\b(?:recently updated|last updated first|mis a jour recemment|derniers modifies)\b"
)
BY_PRIORITY_RE = re.compile(
    r"\b(?:by priority|sorted by priority|ordered by priority|par priorite|tries par priorite)\b"
)
LABEL_RE = re.compile(
    r"(?i)\b(?:label(?:l?ed)?|tagged|tag|étiquette|étiquetés?|libellé)\s*[«\"'“]?\s*"
    r"(?P<label>[\w.-]+)"
)
TEXT_RE = re.compile(
    r"(?i)(?:containing|mentioning|about|with the words?|contenant|qui contiennent|"
    r"qui mentionnent|parlant de|à propos de|sur)\s*[«\"“]\s*(?P<text>[^»\"”]{2,80}?)\s*[»\"”]"
)
NOT_LABELS = frozenset({"le", "la", "les", "the", "a", "de", "des", "du"})


def plain(text: str) -> str:
    """Lower case, accents stripped, apostrophes made straight, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'").lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def quoted(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.-]+", value) and value.upper() not in {
        "AND",
        "OR",
        "NOT",
        "EMPTY",
    }:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _has(words: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", words) is not None


@dataclass
class Translation:
    clauses: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # explanation pieces, in the asked language
    order: str = ""
    order_said: str = ""

    def add(self, clause: str, said: str) -> None:
        if clause not in self.clauses:
            self.clauses.append(clause)
            self.said.append(said)

    @property
    def jql(self) -> str:
        text = " AND ".join(self.clauses)
        if self.order:
            text = f"{text} {self.order}".strip()
        return text


def _field_jql(vocabulary: dict[str, Any], *names: str) -> str | None:
    for f in vocabulary.get("fields") or []:
        name = plain(str(f.get("name", "")))
        if any(n in name for n in names):
            name = str(f.get("jql") or f.get("name"))
            return f'"{name}"' if " " in name else name
    return None


def _projects(
    question: str, words: str, vocabulary: dict[str, Any], out: Translation, fr: bool
) -> None:
    found: list[str] = []
    # A sprint's name often holds its project's key ("PAY Sprint 2"): not a project criterion.
    for sprint in vocabulary.get("sprints") or []:
        question = re.sub(re.escape(str(sprint)), " ", question, flags=re.IGNORECASE)
        words = words.replace(plain(str(sprint)), " ")
    for project in vocabulary.get("projects") or []:
        key, name = str(project.get("key", "")), str(project.get("name", ""))
        if not key:
            continue
        if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", question) or (
            name and _has(words, plain(name))
        ):
            found.append(key)
    if len(found) == 1:
        out.add(
            f"project = {quoted(found[0])}",
            f"du projet {found[0]}" if fr else f"in project {found[0]}",
        )
    elif found:
        keys = ", ".join(quoted(k) for k in found)
        out.add(
            f"project in ({keys})", ("des projets " if fr else "in projects ") + ", ".join(found)
        )


def _types(words: str, vocabulary: dict[str, Any], out: Translation, fr: bool) -> None:
    types = [str(t) for t in vocabulary.get("issue_types") or []]
    found: list[str] = []
    for kind, synonyms in TYPE_SYNONYMS.items():
        if not any(_has(words, s) for s in synonyms):
            continue
        match = next((t for t in types if plain(t) in TYPE_NAMES[kind]), None)
        if match is not None and match not in found:
            found.append(match)
    for t in types:
        name = plain(t)
        seen = any(plain(f) == name for f in found)
        if not seen and len(name) > 3 and (_has(words, name) or _has(words, name + "s")):
            found.append(t)
    if len(found) == 1:
        out.add(
            f"issuetype = {quoted(found[0])}",
            f"de type {found[0]}" if fr else f"of type {found[0]}",
        )
    elif found:
        names = ", ".join(quoted(t) for t in found)
        out.add(f"issuetype in ({names})", ("de type " if fr else "of type ") + " / ".join(found))


def _statuses(words: str, vocabulary: dict[str, Any], out: Translation, fr: bool) -> bool:
    """A status named in the question; True when one was (the category rules then stay out)."""
    found = [
        str(s)
        for s in vocabulary.get("statuses") or []
        if plain(str(s)) not in {"done", "termine", "open", "ouvert", "closed", "ferme"}
        and _has(words, plain(str(s)))
    ]
    found = sorted(set(found), key=found.index)
    if len(found) == 1:
        out.add(
            f"status = {quoted(found[0])}",
            f"au statut {found[0]}" if fr else f"in status {found[0]}",
        )
    elif found:
        names = ", ".join(quoted(s) for s in found)
        out.add(
            f"status in ({names})", ("aux statuts " if fr else "in statuses ") + ", ".join(found)
        )
    return bool(found)


def _category(words: str, out: Translation, fr: bool) -> None:
    if OPEN_RE.search(words) or OVERDUE_RE.search(words):
        out.add(
            "statusCategory != Done",
            "encore ouverts (catégorie de statut autre que Terminé)"
            if fr
            else "still open (status category not Done)",
        )
    elif DONE_RE.search(words):
        out.add("statusCategory = Done", "terminés" if fr else "done")


def _priorities(words: str, vocabulary: dict[str, Any], out: Translation, fr: bool) -> None:
    priorities = [str(p) for p in vocabulary.get("priorities") or []]
    for level, phrases in PRIORITY_WORDS:
        if any(_has(words, p) for p in phrases):
            match = next((p for p in priorities if plain(p) in PRIORITY_NAMES[level]), None)
            if match is not None:
                out.add(
                    f"priority = {quoted(match)}",
                    f"de priorité {match}" if fr else f"with priority {match}",
                )
                return
    for p in priorities:
        name = plain(p)
        if (
            _has(words, f"priority {name}")
            or _has(words, f"priorite {name}")
            or _has(words, f"{name} priority")
        ):
            out.add(f"priority = {quoted(p)}", f"de priorité {p}" if fr else f"with priority {p}")
            return


def _people(question: str, words: str, out: Translation, fr: bool) -> None:
    if UNASSIGNED_RE.search(words):
        out.add("assignee is EMPTY", "non assignés" if fr else "unassigned")
    elif ME_ASSIGNEE_RE.search(words):
        out.add("assignee = currentUser()", "assignés à vous" if fr else "assigned to you")
    if ME_REPORTER_RE.search(words):
        out.add("reporter = currentUser()", "signalés par vous" if fr else "reported by you")
    for match in NAMED_RE.finditer(question):
        name = match.group("name")
        head = plain(match.group(0).split(name)[0])
        fieldname = (
            "reporter" if any(w in head for w in ("report", "signal", "cree")) else "assignee"
        )
        if fieldname == "assignee" and any(c.startswith("assignee") for c in out.clauses):
            continue
        out.add(
            f"{fieldname} = {quoted(name)}",
            (f"assignés à {name}" if fieldname == "assignee" else f"signalés par {name}")
            if fr
            else (f"assigned to {name}" if fieldname == "assignee" else f"reported by {name}"),
        )


def _sprints(words: str, vocabulary: dict[str, Any], out: Translation, fr: bool) -> None:
    named = [str(s) for s in vocabulary.get("sprints") or [] if _has(words, plain(str(s)))]
    if named:
        names = ", ".join(quoted(s) for s in named)
        clause = f"sprint = {quoted(named[0])}" if len(named) == 1 else f"sprint in ({names})"
        out.add(clause, ("du sprint " if fr else "in sprint ") + ", ".join(named))
    elif NO_SPRINT_RE.search(words):
        out.add("sprint is EMPTY", "hors de tout sprint" if fr else "in no sprint")
    elif OPEN_SPRINT_RE.search(words):
        out.add("sprint in openSprints()", "du sprint actif" if fr else "in the active sprint")
    elif FUTURE_SPRINT_RE.search(words):
        out.add("sprint in futureSprints()", "des sprints à venir" if fr else "in future sprints")
    elif CLOSED_SPRINT_RE.search(words):
        out.add("sprint in closedSprints()", "des sprints terminés" if fr else "in closed sprints")


def _dates(words: str, out: Translation, fr: bool) -> None:
    which = "updated" if UPDATED_RE.search(words) else "created"
    verb_fr = "mis à jour" if which == "updated" else "créés"
    verb_en = which
    match = DAYS_RE.search(words)
    if match:
        n = match.group("n1") or match.group("n2") or match.group("n3")
        unit = (match.group("u1") or match.group("u2") or match.group("u3"))[0]
        letter = {"d": "d", "j": "d", "w": "w", "s": "w", "m": "M"}[unit]
        noun_fr = {"d": "jours", "w": "semaines", "M": "mois"}[letter]
        noun_en = {"d": "days", "w": "weeks", "M": "months"}[letter]
        out.add(
            f"{which} >= -{n}{letter}",
            f"{verb_fr} ces {n} derniers {noun_fr}"
            if fr
            else f"{verb_en} in the last {n} {noun_en}",
        )
    elif LAST_WEEK_RE.search(words):
        out.add(
            f"{which} >= -1w",
            f"{verb_fr} depuis une semaine" if fr else f"{verb_en} in the last week",
        )
    elif WEEK_RE.search(words):
        out.add(
            f"{which} >= startOfWeek()",
            f"{verb_fr} cette semaine" if fr else f"{verb_en} this week",
        )
    elif TODAY_RE.search(words):
        out.add(f"{which} >= startOfDay()", f"{verb_fr} aujourd'hui" if fr else f"{verb_en} today")
    elif YESTERDAY_RE.search(words):
        out.add(f"{which} >= -1d", f"{verb_fr} depuis hier" if fr else f"{verb_en} since yesterday")
    elif MONTH_RE.search(words):
        out.add(
            f"{which} >= startOfMonth()", f"{verb_fr} ce mois-ci" if fr else f"{verb_en} this month"
        )


def _others(
    question: str, words: str, vocabulary: dict[str, Any], out: Translation, fr: bool
) -> None:
    if OVERDUE_RE.search(words):
        out.add("due < now()", "dont l'échéance est dépassée" if fr else "past their due date")
    points = _field_jql(vocabulary, "story point")
    if points and re.search(
        r"\b(?:not estimated|unestimated|without (?:story )?points|non estimes?|sans estimation|"
        r"sans points)\b",
        words,
    ):
        out.add(f"{points} is EMPTY", "sans estimation" if fr else "without an estimate")
    label = LABEL_RE.search(question)
    if label and label.group("label").lower() not in NOT_LABELS:
        value = label.group("label")
        out.add(
            f"labels = {quoted(value)}", f"avec le label {value}" if fr else f"labelled {value}"
        )
    text = TEXT_RE.search(question)
    if text:
        value = text.group("text")
        out.add(
            f"text ~ {quoted(value)}", f"contenant « {value} »" if fr else f'containing "{value}"'
        )


def _ordering(words: str, out: Translation, fr: bool) -> None:
    if RECENTLY_UPDATED_ORDER_RE.search(words):
        out.order, out.order_said = (
            "ORDER BY updated DESC",
            ("les derniers mis à jour d'abord" if fr else "most recently updated first"),
        )
    elif NEWEST_RE.search(words):
        out.order, out.order_said = (
            "ORDER BY created DESC",
            ("les plus récents d'abord" if fr else "newest first"),
        )
    elif OLDEST_RE.search(words):
        out.order, out.order_said = (
            "ORDER BY created ASC",
            ("les plus anciens d'abord" if fr else "oldest first"),
        )
    elif BY_PRIORITY_RE.search(words):
        out.order, out.order_said = (
            "ORDER BY priority DESC",
            ("triés par priorité" if fr else "sorted by priority"),
        )


def translate(question: str, vocabulary: dict[str, Any], language: str) -> Translation:
    """The question's JQL by the rules of the module, over ``vocabulary``."""
    fr = language == "fr"
    words = plain(question)
    out = Translation()
    _projects(question, words, vocabulary, out, fr)
    _types(words, vocabulary, out, fr)
    # « sprint en cours » names a sprint, not the status "En cours".
    if not _statuses(OPEN_SPRINT_RE.sub(" ", words), vocabulary, out, fr):
        _category(words, out, fr)
    _priorities(words, vocabulary, out, fr)
    _people(question, words, out, fr)
    _sprints(words, vocabulary, out, fr)
    _dates(words, out, fr)
    _others(question, words, vocabulary, out, fr)
    _ordering(words, out, fr)
    return out


def explanation(out: Translation, language: str) -> str:
    fr = language == "fr"
    pieces = list(out.said)
    if not out.clauses:
        text = (
            "Tous les tickets visibles, faute de critère reconnu dans la question"
            if fr
            else "All the issues you can see, as the question names no criterion I recognize"
        )
    else:
        text = ("Les tickets " if fr else "The issues ") + ", ".join(pieces)
    if out.order_said:
        text += f", {out.order_said}"
    return text + "."


SLOPPY_NAMES = {
    "issuetype": "type",
    "status": "etat",
    "priority": "priorite",
    "project": "projet",
    "assignee": "assigne",
    "statusCategory": "categorie",
}


def sloppy_jql(jql: str, language: str) -> str:
    """The names a careless model guesses instead of Jira's (``etat`` in French, ``state`` in
    English), behind a ``JQL:`` prefix."""
    names = dict(SLOPPY_NAMES, status="etat" if language == "fr" else "state")

    def renamed(match: re.Match[str]) -> str:
        return names.get(match.group(1), match.group(1)) + match.group(2)

    return "JQL: " + re.sub(
        r"\b(issuetype|statusCategory|status|priority|project)(\s*(?:!=|=|in\b))", renamed, jql
    )


def jql_answer(user: str, *, sloppy: bool) -> dict[str, str] | None:
    """The answer to a JQL prompt, or None when ``user`` is not one."""
    vocabulary_line = VOCABULARY_RE.search(user)
    question = QUESTION_RE.search(user)
    if vocabulary_line is None or question is None:
        return None
    try:
        vocabulary = json.loads(vocabulary_line.group(1))
    except ValueError:
        return None
    if not isinstance(vocabulary, dict):
        return None
    found = LANGUAGE_RE.search(user)
    language = found.group(1) if found else "en"
    out = translate(question.group(1), vocabulary, language)
    jql = out.jql
    if sloppy and not REFUSED_RE.search(user):
        jql = sloppy_jql(jql, language)
    return {"jql": jql, "explanation": explanation(out, language)}
