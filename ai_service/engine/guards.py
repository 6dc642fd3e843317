"""Guardrails: every text the model wrote is checked by code before a user reads it.

A model's answer is never trusted. For each answer the engine builds :class:`Facts` (the keys in
the data, the counts it computed, the links and instruction-like lines of the fenced Jira text, the
asked language) and a :class:`Review` that goes through every text the user will see (narrative,
items, assessments, streamed sections):

- **Unknown citations**: a sentence that cites an issue key absent from the data is a claim about
  an issue we never gave the model: the sentence is removed (an item's ``issue_key`` outside the
  data is set to null). Each key is counted.
- **Numbers**: a count written next to an issue noun ("65 tickets", "1 649 issues", "12
  commentaires") that is none of the computed facts is **corrected**: to the count of the status,
  priority, type or assignee its sentence names, else to the total when the sentence speaks of
  what the query matched, else to the analyzed count (comments: the total, or the included ones
  when the sentence says so). Each is counted.
- **Injection**: a sentence that repeats a link or an instruction-like line of the fenced data (or
  a known injection phrase) is removed and the answer flagged ``injection_suspected``; a first
  answer that does it gets one repair turn.
- **Language**: the answer's text (keys, links, numbers and quoted data taken out) goes through an
  offline detector (py3langid, its model in its wheel); a first answer in the wrong language gets
  one repair turn; still wrong after it, its narrative is replaced by a plain text built from the
  facts (``narrative_from_facts``) and items in the wrong language by a line of their issue's facts.
- **Empty fields**: an empty narrative or item text gets the repair turn; still empty, the item is
  dropped and the narrative rebuilt from the facts.

JSON is extracted from Markdown fences and surrounding prose before validation (``json_text``).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ai_service.contract.schemas import Language, Quality
from ai_service.engine.metrics import CITATIONS_REMOVED, GUARD_FIRED
from core.keys import ISSUE_KEY_IN_TEXT_RE as KEY_RE

Noun = Literal["issues", "comments"]

# Standards and versions shaped like issue keys ("UTF-8", "ISO-8601"): never citations.
NOT_KEY_PREFIXES = frozenset(
    {"UTF", "ISO", "SHA", "RFC", "GPT", "AES", "RSA", "TLS", "SSL", "HTTP", "HTTPS", "CVE", "MD5"}
)
URL_RE = re.compile(r"\b(?:https?|ftp|javascript|data):[^\s<>\"'«»“”)\]]+", re.IGNORECASE)
INSTRUCTION_RE = re.compile(
    r"""(?ix)
    ignore\s+(?:all\s+|the\s+|any\s+)?(?:previous|prior|above)\s+instructions
    |^\s*(?:system|assistant|developer)\s*:
    |["']role["']\s*:\s*["'](?:system|developer)["']
    |\byou\s+must\b|\btu\s+dois\b|\breply\s+only\s+with\b|\br[ée]ponds?\s+uniquement\b
    |\bfrom\s+now\s+on\b|\bd[ée]sormais\b|\bdeveloper\s+mode\b|\breveal\s+(?:all\s+)?secrets\b
    |\badmin(?:istrator)?\s+password\b|\bmot\s+de\s+passe\s+admin
    """
)
# Phrases an injected answer carries even when it rephrases the ticket.
INJECTION_PHRASES = re.compile(
    r"""(?ix)
    ignore\s+(?:all\s+|the\s+)?previous\s+instructions|developer\s+mode|reveal\s+all\s+secrets
    |admin(?:istrator)?\s+password|\bklingon\b|^\s*(?:system|assistant)\s*:|\bsbx-fake\b
    """
)
NUMBER = r"(?<![\w.,-])(\d{1,3}(?:[ \u00a0\u202f,.]\d{3})+|\d+)(?![\w.,]\d)"
ISSUE_NOUNS = (
    r"tickets?|issues?|bugs?|stor(?:y|ies)|t[âa]ches?|tasks?|demandes?|[ée]l[ée]ments?|items?"
    r"|epics?|[ée]pics?|sous-t[âa]ches?|sub-?tasks?"
)
COMMENT_NOUNS = r"commentaires?|comments?"
COUNT_RE = {
    "issues": re.compile(rf"{NUMBER}\s+(?:[^\W\d]+\s+)?(?:{ISSUE_NOUNS})\b", re.IGNORECASE),
    "comments": re.compile(rf"{NUMBER}\s+(?:[^\W\d]+\s+)?(?:{COMMENT_NOUNS})\b", re.IGNORECASE),
}
TOTAL_WORDS = re.compile(
    r"(?i)\b(?:trouv[ée]s?|renvoy[ée]s?|au total|en tout|correspond\w*|match\w*|total"
    r"|returned|found)\b"
)
INCLUDED_WORDS = re.compile(r"(?i)\b(?:analys[ée]s|inclus|lus|analy[sz]ed|included|read)\b")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
QUOTED = re.compile('«[^»]*»|\u201c[^\u201d]*\u201d|"[^"]*"|\u2018[^\u2019]*\u2019')
MIN_LETTERS = 25

UNKNOWN = {"fr": "ticket inconnu", "en": "unknown issue"}


def is_citation(key: str) -> bool:
    return key.split("-", 1)[0] not in NOT_KEY_PREFIXES


def cited_keys(text: str) -> list[str]:
    return [k for k in KEY_RE.findall(text) if is_citation(k)]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w:/.]+", " ", text.lower()).split())


def data_links(data: str) -> frozenset[str]:
    return frozenset(u.rstrip(".,;:!?") for u in URL_RE.findall(data))


def data_instructions(data: str) -> tuple[str, ...]:
    """The instruction-like lines (or sentences) of the fenced data, normalized."""
    out: dict[str, None] = {}
    for line in data.splitlines():
        stripped = line.strip()
        if stripped.startswith("{") and stripped.endswith("}") and len(stripped) >= 12:
            # An object in a ticket that a model gives back as its answer: an injected format.
            out.setdefault(_norm(stripped), None)
            continue
        for sentence in SENTENCE_END.split(line):
            if INSTRUCTION_RE.search(sentence):
                text = _norm(sentence)
                if len(text) >= 12:
                    out.setdefault(text, None)
    return tuple(out)


def parse_number(text: str) -> int:
    return int(re.sub(r"[ \u00a0\u202f,.]", "", text))


def number_format(value: int, language: Language) -> str:
    if value < 1_000:
        return str(value)
    grouped = f"{value:,}"
    return grouped.replace(",", "\u202f") if language == "fr" else grouped


# -- the language detector ----------------------------------------------------------------------


class _Detector:
    """py3langid restricted to French and English, loaded once (about 1.4 s: off the event loop,
    see :func:`language_detector_ready`)."""

    def __init__(self) -> None:
        self._identifier: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(["fr", "en"])
                self._identifier = identifier
        return self._identifier

    @property
    def loaded(self) -> bool:
        return self._identifier is not None

    def classify(self, text: str) -> Language | None:
        """The language of ``text`` (keys, links, numbers and quotations left out), or None when
        too little prose remains to tell."""
        prose = QUOTED.sub(" ", URL_RE.sub(" ", KEY_RE.sub(" ", text)))
        letters = sum(c.isalpha() for c in prose)
        if letters < MIN_LETTERS:
            return None
        language, _ = self.load().classify(prose)
        return "fr" if language == "fr" else "en"


_detector = _Detector()


async def language_detector_ready() -> None:
    """Load the detector's model in a thread (once): call before the first check on a loop."""
    if not _detector.loaded:
        await asyncio.to_thread(_detector.load)


def language_of_text(text: str) -> Language | None:
    return _detector.classify(text)


# -- facts and the review of one answer ---------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What an answer may say: the keys in its data, the counts computed from it, the links and
    instruction lines of the fenced text, the asked language."""

    language: Language
    allowed: frozenset[str]
    noun: Noun
    analyzed: int
    total: int
    counts: frozenset[int]
    labels: dict[str, int] = field(default_factory=dict)  # a stats label (lower case) -> count
    links: frozenset[str] = frozenset()
    instructions: tuple[str, ...] = ()

    @property
    def sorted_labels(self) -> list[tuple[str, int]]:
        return sorted(self.labels.items(), key=lambda kv: -len(kv[0]))


@dataclass
class Review:
    """The guards' findings over one answer (every attempt of it), and the sanitizing."""

    facts: Facts
    unknown_citations: int = 0
    numbers_corrected: int = 0
    injection: bool = False
    language_ok: bool = True
    repaired: bool = False
    narrative_from_facts: bool = False

    # -- checks that ask for a repair turn (on a first answer) --------------------------------

    def problems(self, texts: Sequence[str], *, empty: Sequence[str] = ()) -> list[str]:
        """What a repair turn must fix in an answer whose user-visible ``texts`` are given
        (``empty``: the names of required texts left empty). Counts nothing."""
        language = self.facts.language
        found: list[str] = []
        if empty:
            found.append(
                ("champs vides : " if language == "fr" else "empty fields: ") + ", ".join(empty)
            )
        if self.wrong_language(texts):
            found.append(
                "la réponse n'est pas en français"
                if language == "fr"
                else "the answer is not in English"
            )
        if any(self._injected(t) for t in texts):
            found.append(
                "elle recopie une instruction ou un lien des données"
                if language == "fr"
                else "it repeats an instruction or a link from the data"
            )
        unknown = sorted({k for t in texts for k in cited_keys(t) if k not in self.facts.allowed})
        if unknown and found:
            found.append(
                ("clés inconnues : " if language == "fr" else "unknown keys: ")
                + ", ".join(unknown[:5])
            )
        return found

    def wrong_language(self, texts: Iterable[str]) -> bool:
        detected = language_of_text("\n".join(t for t in texts if t))
        return detected is not None and detected != self.facts.language

    def discarded(self, texts: Sequence[str]) -> None:
        """Count what an answer thrown away for its repair held (the user never sees it)."""
        for text in texts:
            self.unknown_citations += sum(
                1 for k in cited_keys(text) if k not in self.facts.allowed
            )
            self.numbers_corrected += sum(1 for _ in self._contradicted(text))
            self.injection = self.injection or self._injected(text)
        self.repaired = True

    # -- sanitizing what is shown --------------------------------------------------------------

    def key(self, key: str | None) -> str | None:
        key = (key or "").strip() or None
        if key is not None and key not in self.facts.allowed:
            self.unknown_citations += 1
            return None
        return key

    def text(self, text: str) -> str:
        """``text`` with its sentences citing unknown keys or repeating the data's links and
        instructions removed, and its contradicted counts corrected."""
        if not text:
            return text
        parts = re.split(r"((?<=[.!?…])[ \t]+|\n+)", text)
        kept: list[str] = []
        for i in range(0, len(parts), 2):
            sentence = parts[i]
            separator = parts[i + 1] if i + 1 < len(parts) else ""
            unknown = [k for k in cited_keys(sentence) if k not in self.facts.allowed]
            if unknown:
                self.unknown_citations += len(unknown)
                sentence = ""
            elif self._injected(sentence):
                self.injection = True
                sentence = ""
            else:
                sentence = self._corrected(sentence)
            if sentence.strip():
                kept.append(sentence + separator)
            elif "\n" in separator and kept:
                kept[-1] = kept[-1].rstrip(" \t") + separator
        return "".join(kept).strip()

    def inline(self, text: str, *, sentence: str = "") -> str:
        """Whole words of streamed text made safe as they pass (nothing counted: the section's
        finished text goes through :meth:`text`): unknown keys and the data's links replaced by
        a marker, contradicted counts corrected (``sentence``: the text of the sentence so far,
        which tells what a count is about)."""
        marker = f"({UNKNOWN[self.facts.language]})"

        def key(match: re.Match[str]) -> str:
            found = match.group(0)
            return marker if is_citation(found) and found not in self.facts.allowed else found

        def link(match: re.Match[str]) -> str:
            found = match.group(0)
            return "(…)" if found.rstrip(".,;:!?") in self.facts.links else found

        text = URL_RE.sub(link, KEY_RE.sub(key, text))
        out, last = [], 0
        for match in self._contradicted(text):
            right = number_format(self._meant(sentence + text), self.facts.language)
            out.append(text[last : match.start(1)] + right)
            last = match.end(1)
        return "".join(out) + text[last:] if out else text

    def _injected(self, text: str) -> bool:
        if not text:
            return False
        links = {u.rstrip(".,;:!?") for u in URL_RE.findall(text)}
        if links & self.facts.links:
            return True
        normalized = _norm(text)
        if any(line in normalized for line in self.facts.instructions):
            return True
        return bool(INJECTION_PHRASES.search(text)) and bool(self.facts.instructions)

    def _contradicted(self, sentence: str) -> Iterable[re.Match[str]]:
        for match in COUNT_RE[self.facts.noun].finditer(sentence):
            if parse_number(match.group(1)) not in self.facts.counts:
                yield match

    def _meant(self, sentence: str) -> int:
        lowered = sentence.lower()
        if self.facts.noun == "issues":
            for label, count in self.facts.sorted_labels:
                if len(label) >= 3 and label in lowered:
                    return count
            return self.facts.total if TOTAL_WORDS.search(sentence) else self.facts.analyzed
        return self.facts.analyzed if INCLUDED_WORDS.search(sentence) else self.facts.total

    def _corrected(self, sentence: str) -> str:
        out, last = [], 0
        for match in self._contradicted(sentence):
            self.numbers_corrected += 1
            right = number_format(self._meant(sentence), self.facts.language)
            out.append(sentence[last : match.start(1)] + right)
            last = match.end(1)
        return "".join(out) + sentence[last:] if out else sentence

    def quality(self) -> Quality:
        if self.unknown_citations:
            CITATIONS_REMOVED.inc(self.unknown_citations)
            GUARD_FIRED.labels("unknown_citation").inc(self.unknown_citations)
        if self.numbers_corrected:
            GUARD_FIRED.labels("number").inc(self.numbers_corrected)
        if self.injection:
            GUARD_FIRED.labels("injection").inc()
        if not self.language_ok:
            GUARD_FIRED.labels("language").inc()
        if self.repaired:
            GUARD_FIRED.labels("repair").inc()
        if self.narrative_from_facts:
            GUARD_FIRED.labels("narrative_from_facts").inc()
        return Quality(
            unknown_citations_removed=self.unknown_citations,
            numbers_corrected=self.numbers_corrected,
            language_ok=self.language_ok,
            injection_suspected=self.injection,
            repaired=self.repaired,
            narrative_from_facts=self.narrative_from_facts,
        )


TRAILING_NUMBER = re.compile(r"(?:\d{1,3}[ \u00a0\u202f,.])*\d+[ \u00a0\u202f]*$")


@dataclass
class DeltaFilter:
    """Streamed text given out in whole words (a key, a link or a count is never split across
    two deltas), each made safe by :meth:`Review.inline`; a trailing number waits for its noun."""

    review: Review
    pending: str = ""
    sentence: str = ""  # what was given out of the current sentence

    def _out(self, ready: str) -> str:
        safe = self.review.inline(ready, sentence=self.sentence)
        ends = list(SENTENCE_END.finditer(ready))
        self.sentence = ready[ends[-1].end() :] if ends else self.sentence + ready
        return safe

    def feed(self, text: str) -> str:
        data = self.pending + text
        cut = max(data.rfind(" "), data.rfind("\n"), data.rfind("\t"))
        if cut < 0:
            self.pending = data
            return ""
        ready, self.pending = data[: cut + 1], data[cut + 1 :]
        number = TRAILING_NUMBER.search(ready)
        if number is not None and number.start() < len(ready):
            ready, self.pending = ready[: number.start()], ready[number.start() :] + self.pending
        return self._out(ready) if ready else ""

    def flush(self) -> str:
        rest, self.pending = self.pending, ""
        return self._out(rest) if rest else ""


def merge(reviews: Sequence[Review], into: Review) -> Review:
    """``into`` with the findings of the partial answers (map-reduce chunks) added."""
    for review in reviews:
        into.unknown_citations += review.unknown_citations
        into.numbers_corrected += review.numbers_corrected
        into.injection = into.injection or review.injection
        into.language_ok = into.language_ok and review.language_ok
        into.repaired = into.repaired or review.repaired
        into.narrative_from_facts = into.narrative_from_facts or review.narrative_from_facts
    return into


# -- JSON inside fences and prose ---------------------------------------------------------------

FENCED = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n(.*?)\n?```", re.DOTALL)


def json_text(content: str) -> str:
    """The JSON object inside an answer: Markdown fences and the prose around them dropped (the
    first fenced block, else the first ``{`` from which a whole object decodes)."""
    text = content.strip()
    if text.startswith("{") and text.endswith("}"):
        return text
    for block in FENCED.findall(text):
        block = block.strip()
        if block.startswith("{"):
            return block
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            _, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        return text[start:end]
    return text
