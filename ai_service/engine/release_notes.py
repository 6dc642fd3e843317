"""Release notes of a fix version: code keeps the plan, the model only words the items.

The public API decided the sections and the omissions (``ReleaseNotesRequest``); this module asks
the model (``prompts/v3/notes.<language>.txt``) for one item per issue of the planned sections,
their lines fenced as Jira data (:func:`.pipeline.issue_line`) under one ``section: <kind>`` line
each, and answers ``LLMReleaseNotes``. What code does with the answer:

- an item for a key that was not given in that call is dropped (counted in
  ``quality.unknown_citations_removed``), as is a second item for the same key;
- each item's text goes through the answer-quality guards (:class:`.guards.Review`: sentences
  citing keys outside the version, or repeating the data's instructions and links, removed;
  contradicted counts corrected; the language checked, one repair turn on a first answer that
  fails them, as for a report);
- an issue the model left out, or whose text the guards emptied, or an answer still in the wrong
  language after its repair, gets a text built from its summary (``quality.narrative_from_facts``
  then says code wrote some of the notes);
- the sections keep the request's order and keys; an empty section is left out of ``sections``
  and of the Markdown; the titles are code's, per language and audience (:data:`TITLES`);
- ``omitted`` is the request's, unchanged; ``coverage`` is counted
  (``total = in_notes + omitted``);
- ``markdown`` is built here: ``# PAY 2.1 — Release notes`` (``Notes de version``), the release
  date line, one ``##`` per non-empty section, ``- text (PAY-12)`` items (team:
  ``- text (PAY-12, Assignee)``), nothing else cited.

When the lines do not all fit the model's context, the issues are worded in batches (one call
each, in the plan's order); a prompt the server reports as cut is retried once in two halves.
A version with no planned issue is not asked of the model.

The stream sends ``log`` (``queue`` / ``load`` / ``think``) while a call waits for the model,
``delta {section: "notes", text}`` with each item's Markdown line once its batch is checked (the
items are only shown after the guards: a streamed JSON item could still be dropped), one
``result {section: "notes", content}`` (the same JSON as the synchronous answer), then ``done
{coverage: {total, in_notes, omitted}, duration_ms, quality}``, or one final ``error``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ai_service.contract.events import DeltaData, DoneData, LogData, ResultData
from ai_service.contract.release_notes import (
    LLMReleaseNotes,
    NoteItem,
    NotesAudience,
    NotesCoverage,
    NotesSection,
    ReleaseNotes,
    ReleaseNotesRequest,
    SectionKind,
)
from ai_service.contract.schemas import Language, NormalizedIssue, Quality
from ai_service.engine.checks import first_answer_check, invalid_answer_seen
from ai_service.engine.config import EngineConfig
from ai_service.engine.guards import (
    Facts,
    Review,
    data_instructions,
    data_links,
    language_detector_ready,
)
from ai_service.engine.llm import LLMPromptCut, Step, llm_client
from ai_service.engine.pipeline import _messages, cost_of, issue_line, language_of
from ai_service.engine.progress import progress_message
from ai_service.engine.prompts import PROMPT_VERSION, named_lines, render
from ai_service.engine.reports import _lines_that_fit
from ai_service.engine.task_events import Emit, task_events
from ai_service.engine.text import one_line
from core.sse import Event

logger = logging.getLogger(__name__)

TITLES: dict[Language, dict[NotesAudience, dict[SectionKind, str]]] = {
    "fr": {
        "users": {
            "features": "Nouveautés",
            "improvements": "Améliorations",
            "fixes": "Corrections",
            "known_issues": "Problèmes connus",
        },
        "team": {
            "features": "Fonctionnalités",
            "improvements": "Améliorations",
            "fixes": "Corrections de bugs",
            "known_issues": "Anomalies connues",
        },
    },
    "en": {
        "users": {
            "features": "New features",
            "improvements": "Improvements",
            "fixes": "Fixes",
            "known_issues": "Known issues",
        },
        "team": {
            "features": "Features",
            "improvements": "Improvements",
            "fixes": "Bug fixes",
            "known_issues": "Known issues",
        },
    },
}
HEADINGS: dict[Language, str] = {"fr": "Notes de version", "en": "Release notes"}
DATE_LINES: dict[Language, tuple[str, str]] = {
    "fr": ("Date de sortie : {d}", "Date de sortie : non fixée"),
    "en": ("Release date: {d}", "Release date: not set"),
}
AUDIENCE_LABELS: dict[Language, dict[NotesAudience, str]] = {
    "fr": {"users": "les utilisateurs", "team": "l'équipe"},
    "en": {"users": "the users", "team": "the team"},
}
UNASSIGNED: dict[Language, str] = {"fr": "non assigné", "en": "unassigned"}
# The prompt's "Issues given" line is rendered with this many for its fixed cost.
WIDEST_COUNT = 99_999


class NotesProgress:
    """What a streamed run hears of its calls (the synchronous run hears nothing)."""

    async def on_step(self, step: Step, position: int | None) -> None:
        return None

    def item(self, line: str) -> None:
        return None


@dataclass(frozen=True)
class NotesSource:
    """The notes' prompt material: the planned issues in the plan's order, with their section."""

    request: ReleaseNotesRequest
    language: Language
    planned: list[tuple[SectionKind, str]]  # (section, key), the plan's order, each key once
    issues: dict[str, NormalizedIssue]
    allowed: frozenset[str]  # every key of the version (planned and omitted)

    @property
    def title(self) -> str:
        return f"{one_line(self.request.project_key)} {one_line(self.request.version.name)}"

    def data(self, planned: Sequence[tuple[SectionKind, str]]) -> str:
        lines: list[str] = []
        current: str | None = None
        for kind, key in planned:
            if kind != current:
                lines.append(f"section: {kind}")
                current = kind
            issue = self.issues.get(key)
            if issue is not None:  # a planned key without its issue: nothing to word
                lines.append(issue_line(issue))
        return "\n".join(lines)

    def user(self, planned: Sequence[tuple[SectionKind, str]], *, count: int | None = None) -> str:
        language, audience = self.language, self.request.audience
        count = len(planned) if count is None else count
        return render(
            "notes",
            language,
            title=self.title,
            audience_label=AUDIENCE_LABELS[language][audience],
            audience_rules=named_lines("notes_audiences", language)[audience],
            audience=audience,
            count=count,
            total=len(self.planned),
            keys=", ".join(key for _, key in planned if key in self.issues),
            data=self.data(planned),
        )

    def review(self, planned: Sequence[tuple[SectionKind, str]]) -> Review:
        data = self.data(planned)
        return Review(
            Facts(
                language=self.language,
                allowed=self.allowed,
                noun="issues",
                analyzed=len(planned),
                total=len(self.planned),
                counts=frozenset({len(planned), len(self.planned)}),
                links=data_links(data),
                instructions=data_instructions(data),
            )
        )


def notes_source(config: EngineConfig, request: ReleaseNotesRequest) -> NotesSource:
    seen: set[str] = set()
    planned: list[tuple[SectionKind, str]] = []
    for section in request.sections:
        for key in section.keys:
            if key not in seen:
                seen.add(key)
                planned.append((section.kind, key))
    return NotesSource(
        request=request,
        language=language_of(request.language, config),
        planned=planned,
        issues={i.key: i for i in request.issues},
        allowed=frozenset(seen | {o.issue_key for o in request.omitted}),
    )


def notes_texts(output: LLMReleaseNotes) -> list[str]:
    return [i.text for i in output.items]


def notes_empty(output: LLMReleaseNotes) -> list[str]:
    return [f"items/{n}/text" for n, i in enumerate(output.items) if not i.text.strip()]


def text_from_summary(source: NotesSource, key: str, review: Review) -> str:
    """An item's text when the model's cannot be used: its issue's summary (made safe)."""
    issue = source.issues.get(key)
    summary = one_line(issue.summary, limit=200) if issue is not None else ""
    text = review.text(summary).rstrip(" .")
    return f"{text}." if text else key


@dataclass
class Batch:
    planned: list[tuple[SectionKind, str]]
    texts: dict[str, str] = field(default_factory=dict)


def batch_guarded(
    source: NotesSource, batch: Batch, output: LLMReleaseNotes, review: Review
) -> None:
    """The model's items as the user may see them, into ``batch.texts`` (see the module)."""
    given = {key for _, key in batch.planned}
    wrong = review.wrong_language(notes_texts(output))
    if wrong:
        review.language_ok = False
    for item in output.items:
        key = item.issue_key.strip()
        if key not in given or key in batch.texts:
            review.unknown_citations += 1
            continue
        text = "" if wrong else review.text(one_line(item.text, limit=600))
        if text:
            batch.texts[key] = text
    for _, key in batch.planned:
        if key not in batch.texts:
            review.narrative_from_facts = True
            batch.texts[key] = text_from_summary(source, key, review)


def _batches(lines: Sequence[str], room: int, cost: Callable[[str], int]) -> list[list[int]]:
    """Indexes of ``lines`` grouped in order, each group fitting ``room`` (at least one line)."""
    groups: list[list[int]] = []
    start = 0
    while start < len(lines):
        kept = _lines_that_fit(lines[start:], room, cost)
        size = max(len(kept), 1)
        groups.append(list(range(start, start + size)))
        start += size
    return groups


async def _word(
    config: EngineConfig,
    source: NotesSource,
    planned: list[tuple[SectionKind, str]],
    reviews: list[Review],
    progress: NotesProgress,
    *,
    split: bool = True,
) -> Batch:
    """One call for ``planned``; a prompt cut by the server is worded in two halves, once."""
    client = llm_client(config)
    budget = await client.budget()
    review = source.review(planned)
    batch = Batch(planned)
    try:
        output = await client.complete_json(
            on_step=progress.on_step,
            messages=_messages(source.language, source.user(planned)),
            output=LLMReleaseNotes,
            schema_name="release_notes",
            repair=render("repair", source.language, problem="$problem"),
            revise=render("revise", source.language, problem="$problem"),
            check=first_answer_check(review, notes_texts, notes_empty),
            on_invalid=invalid_answer_seen(review),
            budget=budget,
        )
    except LLMPromptCut:
        if not split or len(planned) < 2:
            raise
        logger.warning("release notes prompt cut by the server: two halves")
        half = len(planned) // 2
        first = await _word(config, source, planned[:half], reviews, progress, split=False)
        second = await _word(config, source, planned[half:], reviews, progress, split=False)
        batch.texts = {**first.texts, **second.texts}
        return batch
    batch_guarded(source, batch, output, review)
    reviews.append(review)
    for _, key in planned:
        progress.item(item_line(source, key, batch.texts[key]))
    return batch


def item_line(source: NotesSource, key: str, text: str) -> str:
    if source.request.audience == "team":
        issue = source.issues.get(key)
        who = one_line(issue.assignee) if issue is not None else ""
        return f"- {text} ({key}, {who or UNASSIGNED[source.language]})"
    return f"- {text} ({key})"


def notes_markdown(source: NotesSource, sections: Sequence[NotesSection]) -> str:
    language, version = source.language, source.request.version
    dated, undated = DATE_LINES[language]
    lines = [
        f"# {source.title} — {HEADINGS[language]}",
        "",
        dated.format(d=version.release_date.isoformat()) if version.release_date else undated,
    ]
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        lines += [item_line(source, i.issue_key, i.text) for i in section.items]
    return "\n".join(lines) + "\n"


def quality_of(reviews: Sequence[Review], language: Language) -> Quality:
    if not reviews:
        return Quality()
    total = Review(reviews[0].facts)
    for review in reviews:
        total.unknown_citations += review.unknown_citations
        total.numbers_corrected += review.numbers_corrected
        total.injection = total.injection or review.injection
        total.language_ok = total.language_ok and review.language_ok
        total.repaired = total.repaired or review.repaired
        total.narrative_from_facts = total.narrative_from_facts or review.narrative_from_facts
    return total.quality()


async def notes_write(
    config: EngineConfig, source: NotesSource, progress: NotesProgress | None = None
) -> ReleaseNotes:
    progress = progress or NotesProgress()
    texts: dict[str, str] = {}
    reviews: list[Review] = []
    if source.planned:
        await language_detector_ready()
        budget = await llm_client(config).budget()
        fixed = [render("system", source.language), source.user([], count=WIDEST_COUNT)]
        room = max(budget.data_room(fixed), 64)
        lines = [source.data([p]) for p in source.planned]
        groups = _batches(lines, room, cost_of(budget))
        if len(groups) > 1:
            logger.info("release notes: %d issues in %d calls", len(lines), len(groups))
        for group in groups:
            planned = [source.planned[n] for n in group]
            batch = await _word(config, source, planned, reviews, progress)
            texts.update(batch.texts)
    return notes_out(config, source, texts, quality_of(reviews, source.language))


def notes_out(
    config: EngineConfig, source: NotesSource, texts: dict[str, str], quality: Quality
) -> ReleaseNotes:
    request, language = source.request, source.language
    titles = TITLES[language][request.audience]
    sections: list[NotesSection] = []
    for planned in request.sections:
        items = [NoteItem(issue_key=k, text=texts[k]) for k in planned.keys if k in texts]
        # Each key once: a key planned twice stays in its first section.
        items = [i for i in items if texts.pop(i.issue_key, None) is not None]
        if items:
            sections.append(
                NotesSection(kind=planned.kind, title=titles[planned.kind], items=items)
            )
    in_notes = sum(len(s.items) for s in sections)
    return ReleaseNotes(
        project_key=request.project_key,
        version=request.version,
        sections=sections,
        omitted=request.omitted,
        markdown=notes_markdown(source, sections),
        coverage=NotesCoverage(
            total=in_notes + len(request.omitted), in_notes=in_notes, omitted=len(request.omitted)
        ),
        quality=quality,
        audience=request.audience,
        language=language,
        provider=config.provider,
        model=config.model,
        prompt_version=PROMPT_VERSION,
        generated_at=datetime.now(UTC),
    )


async def release_notes(*, config: EngineConfig, request: ReleaseNotesRequest) -> ReleaseNotes:
    """The release notes of ``request``'s version (see the module)."""
    return await notes_write(config, notes_source(config, request))


async def release_notes_stream(
    *, config: EngineConfig, request: ReleaseNotesRequest
) -> AsyncGenerator[Event, None]:
    """Events of the streamed release notes (see the module)."""
    started = time.monotonic()
    source = notes_source(config, request)
    language = source.language

    async def work(emit: Emit) -> ReleaseNotes:
        class Progress(NotesProgress):
            async def on_step(self, step: Step, position: int | None) -> None:
                message = progress_message(step, language, position=position)
                emit(LogData(step=step, message=message).event())

            def item(self, line: str) -> None:
                emit(DeltaData(section="notes", text=line + "\n").event())

        return await notes_write(config, source, Progress())

    def finish(notes: ReleaseNotes) -> list[Event]:
        return [
            ResultData(section="notes", content=notes.model_dump(mode="json")).event(),
            DoneData(
                coverage=notes.coverage.model_dump(),
                duration_ms=round((time.monotonic() - started) * 1000),
                quality=notes.quality.model_dump(),
            ).event(),
        ]

    events = task_events(work, finish, what="release notes")
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()  # cancels the work at once, not when the generator is collected
