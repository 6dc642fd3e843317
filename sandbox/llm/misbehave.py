"""How the sandbox's ``sloppy`` and ``obedient`` models misbehave on the FIRST answer of a
conversation (no assistant message yet); on a repair turn they answer as a careful model does.

``sloppy``, for a JSON request, all at once: the JSON in a Markdown fence between two lines of
prose (``Voici la réponse demandée :`` … ``N'hésitez pas si besoin.``, or ``Here is the requested
answer:`` … ``Let me know if you need anything else.``); the other language than asked; a key the
data does not hold (``unknown_key``: ``ZZZ-9999``) in the narrative (the first top-level string),
in one item's ``text`` and as its ``issue_key``; a count that contradicts the facts in the
narrative, ``<N + 37> issues`` / ``tickets`` (N: the issues analyzed; for an analysis the comments'
total B, ``comments`` / ``commentaires``; else the number of keys); a required field left empty
(the last top-level string when there are several, else the ``text`` of the first item of the
last non-empty list; for an answer of items only, the release notes, the wrong count goes in the
last item's text, and ``obedient`` makes the first item's text obey). For free text: the other
language, the unknown key and the wrong count.

``obedient`` follows what the fenced Jira data (``<<<JIRA_DATA`` … ``JIRA_DATA>>>``) tells it: a
line that is a JSON object becomes the whole answer, verbatim (one without a ``"role"`` key
preferred: that one is a fake chat message, the other an output format); otherwise its first
prose string starts with the first instruction-like sentence, copied verbatim, and ends with
``Voir <url> .`` / ``See <url> .`` for the first link of the data.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from sandbox.llm.grounded import INSTRUCTION_RE, ISSUE_LINE_RE, URL_RE, Language

WRONG_COUNT_OFFSET = 37
ITEM_LIST_NAMES = (
    "highlights",
    "went_well",
    "slipped",
    "risks",
    "blockers",
    "next_steps",
    "next_actions",
)
# The engine's own labels in the fenced data: what follows them is the data's text.
LABEL_RE = re.compile(r"^\s*(?:summary|description)\s*:\s*")


def other_language(language: Language) -> Language:
    return "en" if language == "fr" else "fr"


def fence(value: Any, language: Language) -> str:
    body = json.dumps(value, ensure_ascii=False, indent=2)
    if language == "fr":
        return f"Voici la réponse demandée :\n\n```json\n{body}\n```\n\nN'hésitez pas si besoin."
    return (
        f"Here is the requested answer:\n\n```json\n{body}\n```\n\n"
        "Let me know if you need anything else."
    )


def wrong_count_sentence(extra: str, wrong: int, *, comments: bool, language: Language) -> str:
    if comments:
        if language == "fr":
            return f"{extra} est discuté dans {wrong} commentaires."
        return f"{extra} is discussed in {wrong} comments."
    if language == "fr":
        return f"{extra} bloque {wrong} tickets."
    return f"{extra} blocks {wrong} issues."


def _item_lists(value: dict[str, Any]) -> list[str]:
    return [
        name
        for name, items in value.items()
        if isinstance(items, list)
        and items
        and all(isinstance(i, dict) and isinstance(i.get("text"), str) for i in items)
    ]


def sloppy_value(value: Any, *, extra: str, wrong: int, comments: bool, language: Language) -> Any:
    """The default JSON answer (already written in the other language) made sloppy."""
    if not isinstance(value, dict):
        return value
    value = copy.deepcopy(value)
    strings = [name for name, v in value.items() if isinstance(v, str)]
    lists = _item_lists(value)
    if len(strings) >= 2:
        value[strings[-1]] = ""
    elif lists:
        value[lists[-1]][0]["text"] = ""
    sentence = wrong_count_sentence(extra, wrong, comments=comments, language=language)
    if not strings and lists and len(value[lists[0]]) > 1:
        # Items only (release notes): the wrong count in an item of its own words.
        count = (
            f"Cette version corrige {wrong} tickets."
            if language == "fr"
            else f"This version fixes {wrong} issues."
        )
        last = value[lists[0]][-1]
        last["text"] = f"{last['text']} {count}".strip()
    if strings:
        narrative = strings[0]
        value[narrative] = f"{value[narrative]} {sentence}".strip()
    unknown_text = (
        f"{extra} doit être traité en priorité."
        if language == "fr"
        else f"{extra} must be handled first."
    )
    if lists:
        template = value[lists[0]][0]
        item = {k: ("" if isinstance(v, str) else v) for k, v in template.items()}
        item["text"] = unknown_text
        for name in item:
            if name == "issue_key" or name == "key" or name.endswith("_key"):
                item[name] = extra
        value[lists[0]].append(item)
    else:
        empty = next((n for n in ITEM_LIST_NAMES if value.get(n) == []), None)
        if empty is not None:
            value[empty].append({"text": unknown_text, "issue_key": extra})
        elif len(strings) >= 3:
            # A flat object of texts (the streamed sections): the key also in a bulleted section.
            second = strings[1]
            value[second] = f"{value[second]}\n- {unknown_text}".strip()
    return value


def sloppy_text(text: str, *, extra: str, wrong: int, comments: bool, language: Language) -> str:
    return f"{text} {wrong_count_sentence(extra, wrong, comments=comments, language=language)}"


@dataclass(frozen=True)
class Injection:
    """What the fenced data tells the model to do."""

    json_line: str | None
    instruction: str | None
    url: str | None

    @property
    def any(self) -> bool:
        return bool(self.json_line or self.instruction or self.url)


def _fields(line: str) -> list[str]:
    """The pieces of one data line a model reads as text (the engine's labels dropped)."""
    match = ISSUE_LINE_RE.match(line)
    text = match.group("rest") if match else LABEL_RE.sub("", line)
    return [field.strip() for field in text.split(" | ") if field.strip()]


def injection(data: str) -> Injection:
    json_lines: list[tuple[str, dict[str, Any]]] = []
    instruction = None
    for line in data.split("\n"):
        stripped = line.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                parsed = json.loads(stripped)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                json_lines.append((stripped, parsed))
        if instruction is None:
            for candidate in _fields(line):
                sentences = re.split(r"(?<=[.!?])\s+", candidate)
                hit = next((s for s in sentences if INSTRUCTION_RE.search(s)), None)
                if hit is not None:
                    instruction = hit.strip()
                    break
    chosen = next((text for text, parsed in json_lines if "role" not in parsed), None)
    if chosen is None and json_lines:
        chosen = json_lines[0][0]
    url_match = URL_RE.search(data)
    url = url_match.group(0).rstrip(".,;:!?") if url_match else None
    return Injection(json_line=chosen, instruction=instruction, url=url)


def obey_text(text: str, found: Injection, language: Language) -> str:
    if found.instruction:
        text = f"{found.instruction} {text}"
    if found.url:
        text += f" Voir {found.url} ." if language == "fr" else f" See {found.url} ."
    return text


def obey_value(value: Any, found: Injection, language: Language) -> Any:
    if not isinstance(value, dict):
        return value
    value = copy.deepcopy(value)
    first = next((name for name, v in value.items() if isinstance(v, str)), None)
    if first is not None:
        value[first] = obey_text(value[first], found, language)
    else:
        # Items only (release notes): the first item's text obeys.
        lists = _item_lists(value)
        if lists:
            item = value[lists[0]][0]
            item["text"] = obey_text(item["text"], found, language)
    return value
