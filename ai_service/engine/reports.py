"""Sprint and epic reports: the facts come computed from Jira (the request's), the model writes
the story around them in ONE call (plus at most one repair turn), the guardrails check it.

The prompt (``prompts/v3/report.<language>.txt``) holds the facts as JSON, the allowed keys (the
request's issues and every key of the facts) and, fenced as Jira data, the sprint's or the
epic's header and one compact line per issue (:func:`.pipeline.issue_line`). When the lines do
not all fit the model's context, the most telling go first and the rest is left out, which
``coverage`` says (``analyzed`` lines given of ``total`` issues covered by the facts):

- sprint: the blockers, then the not completed (carried over among them), then the added and
  the removed, then the rest (completed as committed);
- epic: the stale children, then the other children not Done, then the unestimated, then the
  rest.

The facts of the answer are the request's, unchanged: the model never touches a figure, and the
number guard corrects any count it writes that is none of the facts' (:func:`.checks.report_facts`).
A report with no issue at all is not asked of the model: its narrative is written from the facts.

The streams send ``log`` (``queue`` / ``load`` / ``think``) while the call waits for the model,
``delta {section: "summary", text}`` for the narrative as it is written (held and judged as in the
streamed summary: :class:`.summary_stream.Narrative`), one ``result {section: "report", content}``
with the whole report (the same JSON as the synchronous answer), then ``done {coverage: {analyzed,
total}, duration_ms, quality}``, or one final ``error``. Closing a stream cancels the LLM call.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from ai_service.contract.events import DeltaData, DoneData, LogData, ResultData
from ai_service.contract.reports import (
    Audience,
    EpicFacts,
    EpicReport,
    EpicReportRequest,
    LLMReport,
    ReportCoverage,
    SprintFacts,
    SprintReport,
    SprintReportRequest,
)
from ai_service.contract.schemas import Item, Language, LLMItem, NormalizedIssue, Quality
from ai_service.engine.checks import (
    NONE_LABEL,
    epic_report_from_facts,
    first_answer_check,
    invalid_answer_seen,
    report_empty,
    report_facts,
    report_guarded,
    report_texts,
    sprint_report_from_facts,
)
from ai_service.engine.config import EngineConfig
from ai_service.engine.guards import Review, language_detector_ready
from ai_service.engine.llm import LLMPromptCut, Step, llm_client
from ai_service.engine.pipeline import (
    SUMMARY_DESCRIPTION_CHARS,
    Cost,
    _messages,
    cost_of,
    issue_line,
    language_of,
)
from ai_service.engine.progress import progress_message
from ai_service.engine.prompts import PROMPT_VERSION, audience_rules, render
from ai_service.engine.summary_stream import Narrative
from ai_service.engine.task_events import Emit, task_events
from ai_service.engine.text import one_line
from core.keys import ISSUE_KEY_IN_TEXT_RE as KEY_RE
from core.sse import Event

logger = logging.getLogger(__name__)

ReportKind = Literal["sprint", "epic"]
R = TypeVar("R", SprintReport, EpicReport)

KIND_LABELS = {
    "fr": {"sprint": "la revue du sprint", "epic": "le point d'avancement de l'épic"},
    "en": {"sprint": "sprint review", "epic": "epic status report"},
}
AUDIENCE_LABELS = {
    "fr": {"team": "l'équipe", "stakeholders": "les parties prenantes"},
    "en": {"team": "the team", "stakeholders": "the stakeholders"},
}
OMITTED = {
    "fr": " ; les plus parlants d'abord, les autres laissés de côté faute de place",
    "en": "; the most telling first, the others left out for room",
}
# The prompt's "Issues given" line is rendered with this many for its fixed cost.
WIDEST_COUNT = 99_999


class ReportProgress(Protocol):
    """What a streamed report hears of its call."""

    async def on_step(self, step: Step, position: int | None) -> None: ...

    def narrative(self, attempt: int, piece: str) -> None: ...


@dataclass(frozen=True)
class ReportSource:
    """A report's prompt material, before the budget: the issues most telling first."""

    kind: ReportKind
    language: Language
    audience: Audience
    facts: SprintFacts | EpicFacts
    header: str  # the sprint's or the epic's own fields (Jira text: fenced)
    issues: list[NormalizedIssue]
    allowed: frozenset[str]
    total: int
    from_facts: str

    @property
    def facts_json(self) -> str:
        return json.dumps(
            self.facts.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")
        )

    def data(self, lines: Sequence[str]) -> str:
        return "\n".join([self.header, *lines])

    def user(self, lines: Sequence[str], *, count: int | None = None) -> str:
        """The prompt with ``lines``; ``count`` (the fixed cost): as if that many were given,
        said to be a part."""
        count = len(lines) if count is None else count
        language = self.language
        return render(
            "report",
            language,
            kind_label=KIND_LABELS[language][self.kind],
            audience_label=AUDIENCE_LABELS[language][self.audience],
            audience_rules=audience_rules(language)[self.audience],
            kind=self.kind,
            audience=self.audience,
            facts=self.facts_json,
            count=count,
            total=self.total,
            omitted=OMITTED[language] if count < self.total or count == WIDEST_COUNT else "",
            keys=", ".join(sorted(self.allowed)),
            data=self.data(lines),
        )


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).date().isoformat() if value is not None else "?"


def _ranked(issues: Sequence[NormalizedIssue], ranks: Sequence[set[str]]) -> list[NormalizedIssue]:
    """``issues`` by the first of ``ranks`` holding their key (stable: Jira's order within)."""

    def rank(issue: NormalizedIssue) -> int:
        return next((n for n, keys in enumerate(ranks) if issue.key in keys), len(ranks))

    return sorted(issues, key=rank)


def _facts_keys(facts: SprintFacts | EpicFacts) -> set[str]:
    return set(KEY_RE.findall(json.dumps(facts.model_dump(mode="json"))))


def sprint_source(config: EngineConfig, request: SprintReportRequest) -> ReportSource:
    language = language_of(request.language, config)
    facts, sprint, board = request.facts, request.sprint, request.board
    header = [
        f"board: {one_line(board.name, limit=120)} ({board.type})",
        f"sprint: {one_line(sprint.name, limit=120)} ({sprint.state})",
        f"start: {_when(sprint.start_date)} | end: {_when(sprint.end_date)}"
        f" | completed: {_when(sprint.complete_date)}",
        f"goal: {one_line(sprint.goal, limit=400) or NONE_LABEL}",
    ]
    issues = _ranked(
        request.issues,
        [
            {b.key for b in facts.blockers},
            set(facts.not_completed.keys) | set(facts.carried_over.keys),
            set(facts.added.keys) | set(facts.removed.keys),
        ],
    )
    covered = {
        *facts.committed.keys,
        *facts.added.keys,
        *facts.completed.keys,
        *facts.not_completed.keys,
        *facts.removed.keys,
    }
    return ReportSource(
        kind="sprint",
        language=language,
        audience=request.audience,
        facts=facts,
        header="\n".join(header),
        issues=issues,
        allowed=frozenset({i.key for i in request.issues} | _facts_keys(facts)),
        total=max(len(request.issues), len(covered)),
        from_facts=sprint_report_from_facts(language, sprint=sprint, facts=facts),
    )


def epic_source(config: EngineConfig, request: EpicReportRequest) -> ReportSource:
    language = language_of(request.language, config)
    facts, epic = request.facts, request.epic
    header = [
        f"epic: {epic.key} | summary: {one_line(epic.summary, limit=200)}"
        f" | status: {one_line(epic.status) or '?'}"
        f" | assignee: {one_line(epic.assignee) or NONE_LABEL}"
        f" | due: {epic.due.isoformat() if epic.due else NONE_LABEL}",
    ]
    description = one_line(epic.description, limit=SUMMARY_DESCRIPTION_CHARS)
    if description:
        header.append(f"  description: {description}")
    done = set(facts.done.keys)
    issues = _ranked(
        request.children,
        [set(facts.stale), {c.key for c in request.children} - done, set(facts.unestimated)],
    )
    return ReportSource(
        kind="epic",
        language=language,
        audience=request.audience,
        facts=facts,
        header="\n".join(header),
        issues=issues,
        allowed=frozenset({epic.key} | {c.key for c in request.children} | _facts_keys(facts)),
        total=max(len(request.children), facts.children_total),
        from_facts=epic_report_from_facts(language, facts=facts),
    )


def _lines_that_fit(lines: Sequence[str], room: int, cost: Cost) -> list[str]:
    """The first ``lines`` that fit ``room`` tokens (an issue's line is never cut)."""
    kept: list[str] = []
    used = 0
    for line in lines:
        size = cost(line) + 1
        if used + size > room:
            break
        kept.append(line)
        used += size
    return kept


@dataclass(frozen=True)
class Written:
    """The report's text as the user may see it, what the guards did, and what it covered."""

    output: LLMReport
    quality: Quality
    coverage: ReportCoverage


def source_review(source: ReportSource, lines: Sequence[str]) -> Review:
    return Review(
        report_facts(
            source.language,
            facts=source.facts,
            allowed=source.allowed,
            analyzed=len(lines),
            total=source.total,
            data=source.data(lines),
        )
    )


async def report_write(
    config: EngineConfig, source: ReportSource, *, progress: ReportProgress | None = None
) -> Written:
    """One call for the whole report (lines of the most telling issues first, as many as the
    budget holds); a prompt the server reports as cut is rebuilt with half the lines, once."""
    await language_detector_ready()
    if not source.issues:
        # Nothing in the sprint or the epic: the model could only invent.
        empty = LLMReport(
            summary=source.from_facts, went_well=[], slipped=[], risks=[], next_steps=[]
        )
        return Written(empty, Quality(), ReportCoverage(analyzed=0, total=source.total))
    client = llm_client(config)
    budget = await client.budget()
    all_lines = [issue_line(i) for i in source.issues]
    fixed = [render("system", source.language), source.user([], count=WIDEST_COUNT)]
    room = max(budget.data_room(fixed), 64)
    for attempt in (1, 2):
        lines = _lines_that_fit(all_lines, room, cost_of(budget))
        review = source_review(source, lines)
        try:
            output = await client.complete_json(
                on_step=progress.on_step if progress is not None else None,
                on_text=progress.narrative if progress is not None else None,
                messages=_messages(source.language, source.user(lines)),
                output=LLMReport,
                schema_name=f"{source.kind}_report",
                repair=render("repair", source.language, problem="$problem"),
                revise=render("revise", source.language, problem="$problem"),
                check=first_answer_check(review, report_texts, report_empty),
                on_invalid=invalid_answer_seen(review),
                budget=budget,
            )
            break
        except LLMPromptCut:
            if attempt == 2 or len(lines) < 2:
                raise
            logger.warning("%s report prompt cut by the server: half the issues", source.kind)
            budget = await client.budget()
            room //= 2
    if len(lines) < source.total:
        logger.info("%s report: %d of %d issues given", source.kind, len(lines), source.total)
    guarded = report_guarded(
        output, review, issues={i.key: i for i in source.issues}, from_facts=source.from_facts
    )
    quality = review.quality()
    return Written(guarded, quality, ReportCoverage(analyzed=len(lines), total=source.total))


def _items(items: Sequence[LLMItem]) -> list[Item]:
    return [Item(text=i.text, issue_key=i.issue_key) for i in items]


def _text_fields(config: EngineConfig, source: ReportSource, written: Written) -> dict[str, Any]:
    output = written.output
    return {
        "summary": output.summary,
        "went_well": _items(output.went_well),
        "slipped": _items(output.slipped),
        "risks": _items(output.risks),
        "next_steps": _items(output.next_steps),
        "coverage": written.coverage,
        "quality": written.quality,
        "audience": source.audience,
        "language": source.language,
        "provider": config.provider,
        "model": config.model,
        "prompt_version": PROMPT_VERSION,
        "generated_at": datetime.now(UTC),
    }


def _sprint_out(
    config: EngineConfig, request: SprintReportRequest, source: ReportSource, written: Written
) -> SprintReport:
    return SprintReport(
        **_text_fields(config, source, written),
        board=request.board,
        sprint=request.sprint,
        facts=request.facts,
    )


def _epic_out(
    config: EngineConfig, request: EpicReportRequest, source: ReportSource, written: Written
) -> EpicReport:
    return EpicReport(
        **_text_fields(config, source, written), epic=request.epic, facts=request.facts
    )


async def sprint_report(*, config: EngineConfig, request: SprintReportRequest) -> SprintReport:
    """The report of a sprint: the request's facts, the model's narrative around them."""
    source = sprint_source(config, request)
    return _sprint_out(config, request, source, await report_write(config, source))


async def epic_report(*, config: EngineConfig, request: EpicReportRequest) -> EpicReport:
    """The status report of an epic: the request's facts, the model's narrative around them."""
    source = epic_source(config, request)
    return _epic_out(config, request, source, await report_write(config, source))


def sprint_report_stream(
    *, config: EngineConfig, request: SprintReportRequest
) -> AsyncGenerator[Event, None]:
    """Events of the streamed sprint report (see the module)."""
    source = sprint_source(config, request)

    async def produce(progress: ReportProgress) -> SprintReport:
        return _sprint_out(
            config, request, source, await report_write(config, source, progress=progress)
        )

    return _report_stream(source, produce)


def epic_report_stream(
    *, config: EngineConfig, request: EpicReportRequest
) -> AsyncGenerator[Event, None]:
    """Events of the streamed epic report (see the module)."""
    source = epic_source(config, request)

    async def produce(progress: ReportProgress) -> EpicReport:
        return _epic_out(
            config, request, source, await report_write(config, source, progress=progress)
        )

    return _report_stream(source, produce)


def _report_stream(
    source: ReportSource, produce: Callable[[ReportProgress], Awaitable[R]]
) -> AsyncGenerator[Event, None]:
    started = time.monotonic()
    language = source.language
    # The narrative is judged against the facts of every line (a superset of those given).
    narrative = Narrative(source_review(source, [issue_line(i) for i in source.issues]))

    async def work(emit: Emit) -> R:
        class Progress:
            async def on_step(self, step: Step, position: int | None) -> None:
                message = progress_message(step, language, position=position)
                emit(LogData(step=step, message=message).event())

            def narrative(self, attempt: int, piece: str) -> None:
                for text in narrative.feed(attempt, piece):
                    emit(DeltaData(section="summary", text=text).event())

        return await produce(Progress())

    def finish(report: R) -> list[Event]:
        assert isinstance(report, SprintReport | EpicReport)
        return [
            ResultData(section="report", content=report.model_dump(mode="json")).event(),
            DoneData(
                coverage=report.coverage.model_dump(),
                duration_ms=round((time.monotonic() - started) * 1000),
                quality=report.quality.model_dump(),
            ).event(),
        ]

    return task_events(work, finish, what=f"{source.kind} report")
