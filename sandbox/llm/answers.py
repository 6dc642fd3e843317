"""Deterministic, prompt-grounded answers: what the stand-in LLM "writes".

Everything here is a pure function of the request (messages, output format): the material (issue
keys, statuses, summaries, quoted text, language) is extracted from the system and user messages,
and the answer is built from it: prose for a free-text request, an instance of the schema for a
JSON request. No randomness, no clock, so the same request always gives the same bytes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sandbox.llm import grounded, jql, misbehave
from sandbox.llm.models import Behaviour

Language = Literal["fr", "en"]

MARKER_CITE_UNKNOWN = "[[sandbox:cite-unknown]]"
MARKER_INVALID_JSON = "[[sandbox:invalid-json]]"
MARKER_INVALID_JSON_ONCE = "[[sandbox:invalid-json-once]]"

# Jira's key shape: a capital, then capitals, digits or "_" (as in AB_C), "-" and a number.
KEY_RE = re.compile(r"\b([A-Z][A-Z0-9_]+-\d+)\b")
# Identifiers that look like issue keys but are standards or versions ("UTF-8", "ISO-8601").
NOT_KEY_PREFIXES = frozenset(
    {"UTF", "ISO", "SHA", "RFC", "GPT", "AES", "RSA", "TLS", "SSL", "HTTP", "HTTPS", "CVE", "MD5"}
)
# A key that starts a record: at the start of a line (after bullets/quotes) or as a "key" field.
ANCHOR_RE = re.compile(
    r"""(?mx)
    (?:^[\s>*\-•#\d.)\[]*(?:(?:issue|key|cl[ée]|ticket)\s*[:=]\s*)?["']?
      |["']key["']\s*:\s*["'])
    ([A-Z][A-Z0-9_]+-\d+)\b"""
)
FIELD_RE = re.compile(
    r"""(?imx)
    ["']?\b(?P<name>summary|title|titre|r[ée]sum[ée]|status|statut|state|[ée]tat)["']?\s*[:=]\s*
    (?:\{[^{}\n]*?["']name["']\s*:\s*"(?P<named>[^"\n]{1,200})"
      |"(?P<quoted>(?:[^"\\\n]|\\.){1,300})"
      |(?P<plain>[^\n,;|{}\[\]"]{1,200}))"""
)
QUOTE_RE = re.compile(r"\"([^\"\n]{8,160})\"(?!\s*:)|«\s*([^»\n]{3,160}?)\s*»|“([^”\n]{3,160})”")
FENCE_RE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
KNOWN_STATUSES = (
    "To Do",
    "In Progress",
    "In Review",
    "Done",
    "Backlog",
    "Blocked",
    "Open",
    "Closed",
    "Resolved",
    "Reopened",
    "Selected for Development",
    "À faire",
    "A faire",
    "En cours",
    "Terminé",
    "Fermé",
    "Ouvert",
    "Bloqué",
)
_KNOWN_STATUS_BY_LOWER = {s.lower(): s for s in KNOWN_STATUSES}
FR_WORDS = frozenset(
    [
        "le",
        "la",
        "les",
        "des",
        "du",
        "de",
        "est",
        "et",
        "une",
        "un",
        "pour",
        "dans",
        "sur",
        "avec",
        "qui",
        "que",
        "pas",
        "ce",
        "cette",
        "au",
        "aux",
        "sont",
        "par",
        "ou",
        "mais",
        "nous",
        "vous",
        "il",
        "elle",
        "ils",
        "leur",
        "leurs",
        "ces",
        "ses",
        "son",
        "sa",
        "plus",
        "être",
        "fait",
        "réponds",
        "résume",
        "rédige",
        "tickets",
        "ticket",
        "données",
        "problème",
        "utilisateur",
    ]
)
EN_WORDS = frozenset(
    [
        "the",
        "is",
        "and",
        "of",
        "to",
        "in",
        "for",
        "with",
        "on",
        "that",
        "this",
        "are",
        "be",
        "it",
        "by",
        "or",
        "but",
        "we",
        "you",
        "he",
        "she",
        "they",
        "their",
        "these",
        "its",
        "his",
        "her",
        "more",
        "was",
        "has",
        "have",
        "write",
        "answer",
        "summarize",
        "issues",
        "issue",
        "data",
        "problem",
        "user",
    ]
)
EXPLICIT_LANG_RE = re.compile(
    r"(?i)\b(?:answer|respond|reply|write|language)\b[^.\n]{0,40}?\b(?:in\s+)?(french|english)\b"
    r"|\ben\s+(français|anglais)\b|\blangue\s*:\s*(français|anglais|fr|en)\b"
)
UNKNOWN_KEY_CANDIDATES = ("ZZZ-9999", "ZZZ-9998", "ZZZ-9997", "ZZZ-9996")

KEY_NAMES = frozenset(
    {"key", "issue_key", "issuekey", "issue", "ticket", "ticket_key", "cited_key", "citation"}
)
KEY_ARRAY_NAMES = frozenset(
    {
        "keys",
        "issue_keys",
        "issuekeys",
        "issues",
        "tickets",
        "cited_keys",
        "citedkeys",
        "citations",
        "cited_issues",
        "issues_cited",
        "sources",
        "references",
        "related_issues",
        "related_keys",
        "cites",
        "cited",
    }
)
STATUS_NAMES = frozenset({"status", "statut", "state", "current_status", "status_name"})
TITLE_NAMES = frozenset({"title", "titre", "issue_summary", "issue_title", "name"})
LANGUAGE_NAMES = frozenset({"language", "lang", "langue", "locale"})
COUNT_NAMES = frozenset(
    {"count", "total", "n", "number", "issue_count", "issues_count", "total_issues", "num_issues"}
)


@dataclass
class IssueFacts:
    key: str
    summary: str | None = None
    status: str | None = None


@dataclass
class Material:
    """What the answer may quote, extracted from the prompt."""

    keys: list[str]
    issues: dict[str, IssueFacts]
    statuses: list[str]
    quotes: list[str]
    topic: str
    language: Language
    prompt_text: str
    task: str = ""  # an explicit "Task:" / "Tâche :" line, echoed so sections read differently

    def facts(self, key: str) -> IssueFacts:
        return self.issues.get(key) or IssueFacts(key)


@dataclass(frozen=True)
class Answer:
    content: str
    is_json: bool


def text_of(content: Any) -> str:
    """A message's text: a string, or OpenAI content parts of type text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        ]
        return "\n".join(parts)
    return ""


def _clean(value: str, limit: int = 120) -> str:
    value = " ".join(value.strip().strip("\"'`").split())
    value = value.rstrip(" .,;:")
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def _is_key(candidate: str) -> bool:
    return candidate.split("-", 1)[0] not in NOT_KEY_PREFIXES


def find_keys(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in KEY_RE.finditer(text):
        if _is_key(match.group(1)):
            seen.setdefault(match.group(1), None)
    return list(seen)


def _status_name(value: str) -> str | None:
    value = _clean(value, 40)
    if not value or not re.search(r"\w", value):
        return None
    return _KNOWN_STATUS_BY_LOWER.get(value.lower(), value)


def _unescape(quoted: str) -> str:
    try:
        return str(json.loads(f'"{quoted}"'))
    except ValueError:
        return quoted


def _split_line_remainder(rest: str) -> tuple[str | None, str | None]:
    """(summary, status) from what follows a key on its line, e.g. ``[Done] Fix login``."""
    parts = [p.strip() for p in re.split(r"\s+[|\u2014\u2013]\s+|\s+-\s+|[|\[\]();]", rest)]
    status = None
    candidates = []
    for part in parts:
        cleaned = _clean(part.strip(":"), 200)
        if not cleaned:
            continue
        if cleaned.lower() in _KNOWN_STATUS_BY_LOWER:
            status = status or _KNOWN_STATUS_BY_LOWER[cleaned.lower()]
        elif FIELD_RE.match(cleaned) or '"' in cleaned or "{" in cleaned:
            continue
        elif re.search(r"[^\W\d_]{3}", cleaned):
            candidates.append(cleaned)
    summary = max(candidates, key=len) if candidates else None
    return (_clean(summary) if summary else None), status


def _detect_language(system: str, user: str, cut: bool = False) -> Language:
    outside = FENCE_RE.sub(" ", f"{system}\n{user}")
    explicit = list(EXPLICIT_LANG_RE.finditer(outside))
    if explicit:
        word = next(g for g in explicit[-1].groups() if g).lower()
        return "fr" if word in ("french", "français", "fr") else "en"
    if cut:
        # The front of the prompt was cut with its language instruction: the model falls back to
        # its own language, whatever the data's.
        return "en"
    words = re.findall(r"[a-zà-ÿ]+", f"{system}\n{user}".lower())
    fr = sum(1 for w in words if w in FR_WORDS)
    en = sum(1 for w in words if w in EN_WORDS)
    return "fr" if fr > en else "en"


TASK_RE = re.compile(r"^(?:Task|Tâche)\s?:\s*(.+)$", re.MULTILINE)


def _topic(user: str) -> str:
    text = FENCE_RE.sub(" ", user)
    for marker in (MARKER_CITE_UNKNOWN, MARKER_INVALID_JSON_ONCE, MARKER_INVALID_JSON):
        text = text.replace(marker, " ")
    sentence = re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0] if text.strip() else ""
    return _clean(sentence, 100)


def extract_material(messages: list[dict[str, Any]], *, cut: bool = False) -> Material:
    system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "system")
    user = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "user")
    # Issues come from the user messages (the fenced data); the system message is a fallback so an
    # example key in the instructions never shadows the data.
    source = user if find_keys(user) else f"{system}\n{user}"
    keys = find_keys(source)
    issues: dict[str, IssueFacts] = {}
    statuses: dict[str, None] = {}
    events: list[tuple[int, str, str]] = []  # (position, kind, value)
    for match in ANCHOR_RE.finditer(source):
        if _is_key(match.group(1)):
            events.append((match.start(1), "anchor", match.group(1)))
    for match in FIELD_RE.finditer(source):
        raw = match.group("named") or match.group("quoted") or match.group("plain") or ""
        value = _unescape(raw) if match.group("quoted") else raw
        name = match.group("name").lower()
        kind = "status" if name.startswith(("stat", "état", "etat")) else "summary"
        events.append((match.start(), kind, value))
    events.sort()
    current: IssueFacts | None = None
    for pos, kind, value in events:
        if kind == "anchor":
            current = issues.setdefault(value, IssueFacts(value))
            line_end = source.find("\n", pos)
            line = source[pos + len(value) : None if line_end < 0 else line_end]
            summary, status = _split_line_remainder(line)
            if summary and current.summary is None and not FIELD_RE.search(line):
                current.summary = summary
            if status:
                statuses.setdefault(status, None)
                current.status = current.status or status
        elif kind == "status":
            status_name = _status_name(value)
            if status_name:
                statuses.setdefault(status_name, None)
                if current is not None and current.status is None:
                    current.status = status_name
        elif current is not None and current.summary is None:
            summary = _clean(value)
            if re.search(r"[^\W\d_]{2}", summary):
                current.summary = summary
    quotes: dict[str, None] = {}
    for match in QUOTE_RE.finditer(user):
        quote = _clean(next(g for g in match.groups() if g))
        if quote and not KEY_RE.fullmatch(quote) and "sandbox:" not in quote:
            quotes.setdefault(quote, None)
    return Material(
        keys=keys,
        issues=issues,
        statuses=list(statuses),
        quotes=list(quotes)[:10],
        topic=_topic(user),
        language=_detect_language(system, user, cut),
        prompt_text=f"{system}\n{user}",
        task=_task(user),
    )


# -- prose -------------------------------------------------------------------------------------


def _join(items: list[str], language: Language) -> str:
    if len(items) <= 1:
        return "".join(items)
    conj = " et " if language == "fr" else " and "
    return ", ".join(items[:-1]) + conj + items[-1]


def issue_sentence(material: Material, key: str) -> str:
    facts = material.facts(key)
    fr = material.language == "fr"
    if facts.summary and facts.status:
        if fr:
            return f"{key} (statut « {facts.status} ») porte sur « {facts.summary} »."
        return f"{key} ({facts.status}) is about “{facts.summary}”."
    if facts.summary:
        return (
            f"{key} porte sur « {facts.summary} »." if fr else f"{key} is about “{facts.summary}”."
        )
    if facts.status:
        if fr:
            return f"{key} est au statut « {facts.status} »."
        return f"{key} is in status “{facts.status}”."
    return f"{key} : {material.topic}." if material.topic else f"{key}."


def _task(user: str) -> str:
    match = TASK_RE.search(FENCE_RE.sub(" ", user))
    return _clean(match.group(1), 100).rstrip(".") if match else ""


def prose(material: Material) -> str:
    """1 to 5 sentences built from the material, in the prompt's language: what the prompt says
    of its issues (summaries, statuses), else what it is about; no counts, no filler."""
    fr = material.language == "fr"
    keys = material.keys
    described = [k for k in keys if material.facts(k).summary or material.facts(k).status]
    sentences = [issue_sentence(material, key) for key in described[:4]]
    if keys and not sentences:
        shown = keys[:5]
        sentences.append(
            f"La demande concerne {_join(shown, 'fr')}."
            if fr
            else f"The request concerns {_join(shown, 'en')}."
        )
    if not keys:
        if material.topic:
            sentences.append(
                f"La demande porte sur « {material.topic} »."
                if fr
                else f"The request is about “{material.topic}”."
            )
        else:
            sentences.append(
                "La demande ne cite aucun ticket." if fr else "The request cites no issue."
            )
        if material.statuses:
            listed = ", ".join(material.statuses[:4])
            sentences.append(f"Statuts cités : {listed}." if fr else f"Statuses cited: {listed}.")
        if material.quotes:
            quote = material.quotes[0]
            sentences.append(
                f"Les données mentionnent « {quote} »." if fr else f"The data mentions “{quote}”."
            )
    return " ".join(sentences[:5])


# -- schema instances --------------------------------------------------------------------------


@dataclass
class _Gen:
    material: Material
    root: dict[str, Any]
    key_slots: list[tuple[Any, Any]] = field(default_factory=list)
    key_arrays: list[tuple[list[Any], int | None]] = field(default_factory=list)
    prose_slots: list[tuple[Any, Any]] = field(default_factory=list)


def _norm(name: str | None) -> str:
    if not name:
        return ""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return snake.lower().replace("-", "_")


def _is_key_name(name: str) -> bool:
    return name in KEY_NAMES or name.endswith("_key")


def _is_key_array_name(name: str) -> bool:
    return name in KEY_ARRAY_NAMES or name.endswith("_keys")


def _resolve(gen: _Gen, schema: Any, depth: int = 0) -> Any:
    while isinstance(schema, dict) and "$ref" in schema and depth < 20:
        ref = schema["$ref"]
        target: Any = None
        if isinstance(ref, str) and ref.startswith("#"):
            target = gen.root
            for part in ref.lstrip("#").strip("/").split("/"):
                if not part:
                    continue
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**(target if isinstance(target, dict) else {}), **merged}
        depth += 1
    if isinstance(schema, dict) and isinstance(schema.get("allOf"), list):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = _resolve(gen, part, depth + 1)
            if isinstance(part, dict):
                for k, v in part.items():
                    if k == "properties" and isinstance(merged.get("properties"), dict):
                        merged["properties"] = {**merged["properties"], **v}
                    elif k == "required" and isinstance(merged.get("required"), list):
                        merged["required"] = [*merged["required"], *v]
                    else:
                        merged.setdefault(k, v)
        schema = merged
    return schema


def _schema_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return non_null[0] if non_null else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _pick_enum(gen: _Gen, values: list[Any], name: str) -> Any:
    if name in LANGUAGE_NAMES:
        for value in values:
            if isinstance(value, str) and value.lower().startswith(gen.material.language):
                return value
    lowered = gen.material.prompt_text.lower()
    for value in values:
        if isinstance(value, str) and re.search(rf"\b{re.escape(value.lower())}\b", lowered):
            return value
    return values[0]


def _string(gen: _Gen, schema: dict[str, Any], name: str, focus: str | None, index: int) -> str:
    material = gen.material
    fmt = schema.get("format")
    if fmt == "date-time":
        value = "2024-01-01T00:00:00Z"
    elif fmt == "date":
        value = "2024-01-01"
    elif fmt in ("uri", "url"):
        value = "https://example.invalid/"
    elif fmt == "email":
        value = "sandbox@example.invalid"
    elif _is_key_name(name):
        value = focus or (material.keys[index % len(material.keys)] if material.keys else "")
    elif name in STATUS_NAMES:
        status = material.facts(focus).status if focus else None
        value = status or (material.statuses[0] if material.statuses else "")
    elif name in LANGUAGE_NAMES:
        value = material.language
    elif focus and (name in TITLE_NAMES or name == "summary"):
        value = material.facts(focus).summary or issue_sentence(material, focus)
    elif focus:
        value = issue_sentence(material, focus)
    elif index > 0 or name in TITLE_NAMES:
        key = material.keys[index % len(material.keys)] if material.keys else None
        if key:
            value = issue_sentence(material, key)
        elif material.statuses:
            status = material.statuses[index % len(material.statuses)]
            value = (
                f"Statut présent : « {status} »."
                if material.language == "fr"
                else f"Status seen: “{status}”."
            )
        else:
            value = prose(material).split(". ")[0].rstrip(".") + "."
            if index:
                value = f"{index + 1}. {value}"
    else:
        value = prose(material)
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        candidates = [value, *(material.keys if material.keys else []), *material.statuses]
        value = next((c for c in candidates if _search(pattern, c)), value)
    max_length = schema.get("maxLength")
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and len(value) < min_length:
        filler = value or "…"
        while len(value) < min_length:
            value = f"{value} {filler}".strip()
    if isinstance(max_length, int) and len(value) > max_length:
        value = value[:max_length]
    return value


def _search(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def _number(schema: dict[str, Any], name: str, material: Material, integer: bool) -> float | int:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    ex_lo = schema.get("exclusiveMinimum")
    ex_hi = schema.get("exclusiveMaximum")
    step = 1 if integer else 0.5
    if isinstance(ex_lo, int | float) and not isinstance(ex_lo, bool):
        lo = ex_lo + step if lo is None else max(lo, ex_lo + step)
    if isinstance(ex_hi, int | float) and not isinstance(ex_hi, bool):
        hi = ex_hi - step if hi is None else min(hi, ex_hi - step)
    if name in COUNT_NAMES or name.endswith(("_count", "_total")) or name.startswith("num_"):
        value: float = len(material.keys)
    elif lo is not None and hi is not None:
        value = (lo + hi) / 2
    else:
        value = lo if lo is not None else 0
    if lo is not None:
        value = max(value, lo)
    if hi is not None:
        value = min(value, hi)
    if integer:
        rounded = math.ceil(value) if lo is not None and math.floor(value) < lo else int(value)
        return int(rounded)
    return float(value)


def _array_len(gen: _Gen, schema: dict[str, Any], wanted: int) -> int:
    count = max(1, min(3, wanted))
    min_items = schema.get("minItems")
    max_items = schema.get("maxItems")
    if isinstance(min_items, int):
        count = max(count, min_items)
    if isinstance(max_items, int):
        count = min(count, max_items)
    return count


def _has_key_property(gen: _Gen, schema: Any) -> bool:
    schema = _resolve(gen, schema)
    props = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(props, dict) and any(_is_key_name(_norm(p)) for p in props)


def instance(
    gen: _Gen, schema: Any, name: str = "", focus: str | None = None, index: int = 0, depth: int = 0
) -> Any:
    """A value valid against ``schema``, quoting the material (keys, statuses, summaries)."""
    schema = _resolve(gen, schema)
    if schema is True or schema is None or schema == {}:
        schema = {"type": "string"}
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return _pick_enum(gen, schema["enum"], name)
    for combinator in ("anyOf", "oneOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            resolved = [_resolve(gen, b) for b in branches]
            usable = [b for b in resolved if not (isinstance(b, dict) and b.get("type") == "null")]
            if depth > 8 and len(usable) < len(resolved):
                return None
            chosen = usable[0] if usable else resolved[0]
            base = {k: v for k, v in schema.items() if k not in (combinator,)}
            if isinstance(chosen, dict):
                base = {**base, **chosen}
            return instance(gen, base, name, focus, index, depth + 1)
    kind = _schema_type(schema)
    nullable = isinstance(schema.get("type"), list) and "null" in schema["type"]
    if depth > 8 and nullable:
        return None
    if kind == "null":
        return None
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return _number(schema, name, gen.material, integer=kind == "integer")
    if kind == "object":
        result: dict[str, Any] = {}
        raw_props = schema.get("properties")
        props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
        if depth > 8:
            required = schema.get("required") or []
            props = {k: v for k, v in props.items() if k in required}
        for prop, sub in props.items():
            result[prop] = instance(gen, sub, _norm(prop), focus, index, depth + 1)
            if _is_key_name(_norm(prop)) and isinstance(result[prop], str) and result[prop]:
                gen.key_slots.append((result, prop))
            elif _is_prose_slot(result[prop], depth):
                gen.prose_slots.append((result, prop))
        return result
    if kind == "array":
        items = schema.get("items", {})
        if isinstance(items, list):  # draft-04 tuple form
            return [instance(gen, s, name, focus, i, depth + 1) for i, s in enumerate(items)]
        keys = gen.material.keys
        item_schema = _resolve(gen, items)
        item_type = _schema_type(item_schema) if isinstance(item_schema, dict) else None
        if _is_key_array_name(name) and item_type in (None, "string"):
            if not keys and not schema.get("minItems"):
                gen.key_arrays.append(([], _max_items(schema)))
                return gen.key_arrays[-1][0]
            count = _array_len(gen, schema, len(keys))
            values: list[Any] = [keys[i % len(keys)] if keys else "" for i in range(count)]
            gen.key_arrays.append((values, _max_items(schema)))
            return values
        if depth > 8:
            return []
        per_issue = item_type == "object" and _has_key_property(gen, item_schema)
        wanted = len(keys) if (per_issue or keys) else max(1, len(gen.material.statuses))
        count = _array_len(gen, schema, wanted)
        singular = name[:-1] if name.endswith("s") and not _is_key_array_name(name) else name
        out = []
        for i in range(count):
            item_focus = keys[i % len(keys)] if (per_issue and keys) else focus
            item_index = i if focus is None else index + i
            out.append(instance(gen, items, singular, item_focus, item_index, depth + 1))
        return out
    # string (or no type at all)
    return _string(gen, schema, name, focus, index)


def _max_items(schema: dict[str, Any]) -> int | None:
    value = schema.get("maxItems")
    return value if isinstance(value, int) else None


def _is_prose_slot(value: Any, depth: int) -> bool:
    return isinstance(value, str) and depth == 0 and value.endswith(".") and " " in value


def unknown_key(material: Material) -> str:
    return next(k for k in UNKNOWN_KEY_CANDIDATES if k not in material.prompt_text)


def schema_answer(
    material: Material,
    schema: dict[str, Any],
    cite_unknown: bool,
    found: grounded.Grounded | None = None,
) -> Any:
    gen = _Gen(material=material, root=schema)
    value = instance(gen, schema)
    if found is not None and _fill(gen, schema, value, found):
        if cite_unknown:
            _cite_unknown_grounded(value, unknown_key(material))
        return value
    if cite_unknown:
        extra = unknown_key(material)
        if gen.key_arrays:
            values, max_items = gen.key_arrays[0]
            if max_items is not None and len(values) >= max_items and values:
                values[-1] = extra
            else:
                values.append(extra)
        elif gen.key_slots:
            container, slot = gen.key_slots[-1]
            container[slot] = extra
        elif gen.prose_slots:
            container, slot = gen.prose_slots[0]
            container[slot] = f"{container[slot]} ({extra})"
    return value


def _nullable(gen: _Gen, schema: Any) -> bool:
    schema = _resolve(gen, schema)
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    branches = [*(schema.get("anyOf") or []), *(schema.get("oneOf") or [])]
    return any(_nullable(gen, b) for b in branches)


def _string_schema(gen: _Gen, schema: Any) -> dict[str, Any] | None:
    """The string branch of ``schema`` (itself, or a non-null anyOf/oneOf branch), or None."""
    schema = _resolve(gen, schema)
    if not isinstance(schema, dict):
        return None
    if _schema_type(schema) == "string" and "enum" not in schema and "const" not in schema:
        return schema
    for branch in [*(schema.get("anyOf") or []), *(schema.get("oneOf") or [])]:
        found = _string_schema(gen, branch)
        if found is not None:
            return found
    return None


def _fits(schema: dict[str, Any], text: str) -> bool:
    lo, hi, pattern = schema.get("minLength"), schema.get("maxLength"), schema.get("pattern")
    if isinstance(lo, int) and len(text) < lo:
        return False
    if isinstance(hi, int) and len(text) > hi:
        return False
    return not (isinstance(pattern, str) and not _search(pattern, text))


def _grounded_item(gen: _Gen, schema: Any, item: dict[str, Any], generic: Any) -> Any:
    schema = _resolve(gen, schema)
    if not isinstance(schema, dict):
        return generic
    if _schema_type(schema) == "string":
        text = item["text"]
        return text if _fits(schema, text) else generic
    props = schema.get("properties")
    if _schema_type(schema) != "object" or not isinstance(props, dict):
        return generic
    out = dict(generic) if isinstance(generic, dict) else {}
    for prop, sub in props.items():
        name = _norm(prop)
        text_schema = _string_schema(gen, sub)
        if _is_key_name(name):
            key = item.get("issue_key")
            if key is None and _nullable(gen, sub):
                out[prop] = None
            elif key is not None and text_schema is not None and _fits(text_schema, key):
                out[prop] = key
        elif (
            text_schema is not None
            and name in ("text", "description", "note", "detail", "item")
            and _fits(text_schema, item["text"])
        ):
            out[prop] = item["text"]
    return out


def _fill(gen: _Gen, schema: Any, value: Any, found: grounded.Grounded) -> bool:
    """Put the grounded content in the properties of ``value`` the schema makes room for (the
    rest keeps its generic instance). True when something was put."""
    schema = _resolve(gen, schema)
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(value, dict) or not isinstance(props, dict):
        return False
    used = False
    for prop, sub in props.items():
        if prop not in value:
            continue
        sub = _resolve(gen, sub)
        if not isinstance(sub, dict):
            continue
        kind = _schema_type(sub)
        wanted = found.values.get(prop)
        text_schema = _string_schema(gen, sub)
        if kind != "array" and text_schema is not None and prop in found.texts:
            if _fits(text_schema, found.texts[prop]):
                value[prop] = found.texts[prop]
                used = True
        elif kind == "array" and isinstance(wanted, list):
            items = sub.get("items", {})
            generic = value[prop] if isinstance(value[prop], list) else []
            filler = generic[0] if generic else instance(gen, items, _norm(prop), depth=1)
            out = [
                _grounded_item(gen, items, w if isinstance(w, dict) else {"text": w}, filler)
                for w in wanted
            ]
            lo, hi = sub.get("minItems"), sub.get("maxItems")
            if isinstance(hi, int):
                out = out[:hi]
            if isinstance(lo, int):
                out += generic[len(out) : lo] or [filler] * max(0, lo - len(out))
            value[prop] = out
            used = True
        elif kind == "object" and isinstance(wanted, dict) and isinstance(value[prop], dict):
            sub_props = sub.get("properties") or {}
            for name, v in wanted.items():
                sub_schema = _resolve(gen, sub_props.get(name))
                if not isinstance(sub_schema, dict):
                    continue
                sub_kind = _schema_type(sub_schema)
                if (
                    (sub_kind == "boolean" and isinstance(v, bool))
                    or (sub_kind == "string" and isinstance(v, str))
                    or (sub_kind == "array" and isinstance(v, list))
                ):
                    value[prop][name] = v
            used = True
    return used


def _cite_unknown_grounded(value: dict[str, Any], extra: str) -> None:
    for items in value.values():
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and "issue_key" in item:
                    item["issue_key"] = extra
                    return
    first = next((k for k, v in value.items() if isinstance(v, str)), None)
    if first is not None:
        value[first] = f"{value[first]} ({extra})"


def schema_in_prompt(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A JSON Schema given in a fenced block of the prompt (system messages first)."""
    ordered = [m for m in messages if m.get("role") == "system"] + [
        m for m in messages if m.get("role") == "user"
    ]
    best: dict[str, Any] | None = None
    for message in ordered:
        text = text_of(message.get("content"))
        for match in FENCE_RE.finditer(text):
            try:
                candidate = json.loads(match.group(1))
            except ValueError:
                continue
            if not _looks_like_schema(candidate):
                continue
            before = text[max(0, match.start() - 200) : match.start()].lower()
            if "schema" in before:
                return candidate
            best = best or candidate
    return best


def _looks_like_schema(candidate: Any) -> bool:
    if not isinstance(candidate, dict):
        return False
    if "$schema" in candidate:
        return True
    kind = candidate.get("type")
    return kind in ("object", "array") and ("properties" in candidate or "items" in candidate)


def broken_json(text: str) -> str:
    """A strict prefix of a JSON document: never valid JSON (its closing bracket is missing)."""
    if not text.startswith(("{", "[")):
        text = json.dumps({"summary": text}, ensure_ascii=False)
    return text[: max(1, len(text) // 2)]


def user_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "user")


@dataclass
class Draft:
    """A careful model's answer before it is written out: a JSON value, or free text."""

    value: Any
    is_json: bool
    facts: grounded.Facts


def draft(
    messages: list[dict[str, Any]],
    material: Material,
    *,
    json_mode: bool,
    schema: dict[str, Any] | None,
    cite_unknown: bool,
) -> Draft:
    facts = grounded.parse_facts(user_text(messages), material.language)
    found = grounded.grounded(facts)
    extra = unknown_key(material)
    if not json_mode:
        text = found.prose if found is not None else prose(material)
        if cite_unknown:
            text += f" Voir aussi {extra}." if material.language == "fr" else f" See also {extra}."
        return Draft(text, False, facts)
    if schema is None:
        schema = schema_in_prompt(messages)
    if schema is None:
        value: Any = {"summary": found.prose if found is not None else prose(material)}
        if cite_unknown:
            value["summary"] += f" ({extra})"
    else:
        value = schema_answer(material, schema, cite_unknown, found)
    return Draft(value, True, facts)


def build_answer(
    messages: list[dict[str, Any]],
    *,
    json_mode: bool,
    schema: dict[str, Any] | None,
    cut: bool = False,
    behaviour: Behaviour = "default",
) -> Answer:
    """The full answer text for a request. ``schema`` None with ``json_mode``: JSON object mode.
    ``cut``: the messages are what survived a cut prompt (no language instruction: English).
    ``behaviour``: the model's (:mod:`sandbox.llm.misbehave`), on the conversation's first answer
    only; a repair turn (an assistant message already there) is answered carefully."""
    material = extract_material(messages, cut=cut)
    last_user = next(
        (text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    cite_unknown = MARKER_CITE_UNKNOWN in last_user
    has_assistant = any(m.get("role") == "assistant" for m in messages)
    if has_assistant:
        behaviour = "default"
    found_injection = None
    if behaviour == "obedient":
        found_injection = misbehave.injection(grounded.fenced_data(user_text(messages)))
        if found_injection.json_line is not None:
            return Answer(found_injection.json_line, is_json=json_mode)
    asked_jql = jql.jql_answer(user_text(messages), sloppy=behaviour == "sloppy")
    if asked_jql is not None and json_mode:
        if behaviour == "sloppy" and not has_assistant:
            return Answer(misbehave.fence(asked_jql, material.language), is_json=True)
        return Answer(json.dumps(asked_jql, ensure_ascii=False), is_json=True)
    language = material.language
    if behaviour == "sloppy":
        language = misbehave.other_language(material.language)
        material = replace(material, language=language)
    made = draft(messages, material, json_mode=json_mode, schema=schema, cite_unknown=cite_unknown)
    extra = unknown_key(material)
    facts = made.facts
    comments = facts.kind == "analysis" and facts.comments_total is not None
    base = facts.comments_total if comments else facts.analyzed
    wrong = (base if base is not None else len(material.keys)) + misbehave.WRONG_COUNT_OFFSET
    if not made.is_json:
        text = str(made.value)
        if behaviour == "sloppy":
            text = misbehave.sloppy_text(
                text, extra=extra, wrong=wrong, comments=comments, language=language
            )
        elif found_injection is not None:
            text = misbehave.obey_text(text, found_injection, language)
        return Answer(text, is_json=False)
    value = made.value
    if behaviour == "sloppy":
        value = misbehave.sloppy_value(
            value, extra=extra, wrong=wrong, comments=comments, language=language
        )
    elif found_injection is not None:
        value = misbehave.obey_value(value, found_injection, language)
    text = json.dumps(value, ensure_ascii=False)
    if MARKER_INVALID_JSON in last_user or (
        MARKER_INVALID_JSON_ONCE in last_user and not has_assistant
    ):
        return Answer(broken_json(text), is_json=True)
    if behaviour == "sloppy":
        text = misbehave.fence(value, language)
    return Answer(text, is_json=True)


def strict_schema_problem(schema: Any, context: tuple[str, ...] = ()) -> str | None:
    """What OpenAI's strict structured outputs would reject, or None (objects must close and
    require every property)."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            problem = strict_schema_problem(item, (*context, str(i)))
            if problem:
                return problem
        return None
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    if is_object or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return (
                f"In context={context}, 'additionalProperties' is required to be supplied "
                "and to be false."
            )
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        missing = [p for p in props if p not in required]
        if missing:
            return (
                f"In context={context}, 'required' is required to be supplied and to be an "
                f"array including every key in properties. Missing '{missing[0]}'."
            )
    for word in ("properties", "$defs", "definitions"):
        sub = schema.get(word)
        if isinstance(sub, dict):
            for prop, sub_schema in sub.items():
                problem = strict_schema_problem(sub_schema, (*context, word, prop))
                if problem:
                    return problem
    for word in ("items", "anyOf", "oneOf", "allOf"):
        if word in schema:
            problem = strict_schema_problem(schema[word], (*context, word))
            if problem:
                return problem
    return None


def thoughts(messages: list[dict[str, Any]], *, cut: bool = False, chars: int = 4_000) -> str:
    """What a thinking model muses before it answers (English, as qwen3 thinks): a monologue built
    from the material, at least ``chars`` long (the caller cuts it to its thinking budget)."""
    material = extract_material(messages, cut=cut)
    language = "French" if material.language == "fr" else "English"
    lines = ["Okay, let me work out what is asked here."]
    if material.task:
        lines.append(f"The task is: {material.task}.")
    elif material.topic:
        lines.append(f"The request says: {material.topic}.")
    if material.keys:
        listed = ", ".join(material.keys[:8])
        lines.append(f"The data mentions {len(material.keys)} issue keys: {listed}.")
    else:
        lines.append("The data does not seem to cite any issue key.")
    for key in material.keys[:6]:
        facts = material.facts(key)
        about = f" about {facts.summary}" if facts.summary else ""
        status = f", status {facts.status}" if facts.status else ""
        lines.append(f"{key} is{about}{status}.")
    lines.append(f"I should only cite keys from the data and answer in {language}.")
    rounds = [
        "Wait, let me check the details again before writing anything.",
        "Hmm, is anything blocked or at risk? Let me look at the statuses once more.",
        "Let me make sure I do not invent a key, a number or a person.",
    ]
    text = " ".join(lines)
    out = [text]
    i = 0
    while sum(len(part) + 1 for part in out) < chars:
        out.append(rounds[i % len(rounds)] + " " + text)
        i += 1
    return " ".join(out)
