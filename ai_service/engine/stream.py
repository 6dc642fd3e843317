"""The streamed analysis: ONE request writes the four sections, parsed into section events as the
text comes.

The issue's data is evaluated once (a stock Ollama serves one request at a time: four section
prompts meant four evaluations of the same ~8k tokens, one after the other). The sections are
marked by the keys of a JSON object requested with its schema (``synthesis``, ``risks_blockers``,
``acceptance_criteria``, ``next_actions``, in that order): a grammar-constrained answer cannot
forget, repeat or misspell a marker, as free-text markers can. :class:`SectionParser` reads the
object as it is written and turns each string's characters into ``delta`` events of its section,
and its closing quote into the section's ``result``.

An async generator of typed events (``log``, ``delta``, ``result``, then ``done`` or one final
``error``); the SSE writer numbers them. While the call waits for the LLM server, ``log`` events
say so (``queue`` with the position, ``load``, ``think``). Closing the generator (the client went
away) cancels the call, which closes the upstream LLM stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from ai_service.contract.events import (
    DeltaData,
    DoneData,
    LogData,
    ResultData,
    error_event,
)
from ai_service.contract.schemas import STREAM_SECTIONS, AnalyzeRequest, Language
from ai_service.engine.checks import analysis_from_facts
from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import EngineError, LLMInvalidOutput
from ai_service.engine.guards import DeltaFilter, Review, language_detector_ready
from ai_service.engine.llm import Message, Step, llm_client, repair_conversation
from ai_service.engine.pipeline import (
    IssueContext,
    analysis_messages,
    analysis_room,
    context_facts,
    cost_of,
    issue_context,
    language_of,
)
from ai_service.engine.progress import progress_message
from ai_service.engine.prompts import render, section_tasks
from core.sse import Event

logger = logging.getLogger(__name__)

SECTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in STREAM_SECTIONS},
    "required": list(STREAM_SECTIONS),
    "additionalProperties": False,
}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass
class SectionParser:
    """A flat JSON object of strings read as it streams: ``feed`` returns, for the text given,
    ``(section, text, finished)`` triples (text of a section's value; ``finished`` once its
    closing quote is read). Escapes split across pieces (``\\u00e9`` in two) are held back."""

    wanted: frozenset[str] = frozenset(STREAM_SECTIONS)
    state: str = "object"  # object, key, colon, value, string, other
    key: list[str] = field(default_factory=list)
    escape: str = ""  # a pending escape: "\\", "\\u", "\\u00", ...
    surrogate: str = ""
    current: str | None = None
    done: dict[str, str] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)

    def feed(self, piece: str) -> list[tuple[str, str, bool]]:
        out: list[tuple[str, str, bool]] = []
        buffer: list[str] = []

        def flush(finished: bool = False) -> None:
            if self.current is not None and (buffer or finished):
                chunk = "".join(buffer)
                self.text.append(chunk)
                out.append((self.current, chunk, finished))
            buffer.clear()

        for char in piece:
            state = self.state
            if state == "string":
                if self.escape:
                    self.escape += char
                    decoded = self._decoded()
                    if decoded is not None:
                        if self.current is not None:
                            buffer.append(decoded)
                        self.escape = ""
                elif char == "\\":
                    self.escape = "\\"
                elif char == '"':
                    flush(finished=True)
                    if self.current is not None:
                        self.done[self.current] = "".join(self.text)
                    self.current, self.text, self.state = None, [], "object"
                elif self.current is not None:
                    buffer.append(char)
            elif state == "object":
                if char == '"':
                    self.state, self.key = "key", []
            elif state == "key":
                if char == '"':
                    self.state = "colon"
                else:
                    self.key.append(char)
            elif state == "colon":
                if char == ":":
                    self.state = "value"
            elif state == "value":
                if char == '"':
                    name = "".join(self.key)
                    known = name in self.wanted and name not in self.done
                    self.current = name if known else None
                    self.state = "string"
                elif not char.isspace():
                    self.state = "other"  # a non-string value: skipped to the next comma
            elif state == "other" and char in ",}":
                self.state = "object"
        flush()
        return out

    def _decoded(self) -> str | None:
        """The character of a complete escape, else None (wait for more)."""
        escape = self.escape
        if len(escape) == 2 and escape[1] != "u":
            return _ESCAPES.get(escape[1], escape[1])
        if escape[1] != "u" or len(escape) < 6:
            return None
        try:
            code = int(escape[2:6], 16)
        except ValueError:
            return ""
        if 0xD800 <= code < 0xDC00:  # the first half of a surrogate pair
            self.surrogate = chr(code)
            return ""
        if 0xDC00 <= code < 0xE000 and self.surrogate:
            pair = (self.surrogate + chr(code)).encode("utf-16", "surrogatepass")
            self.surrogate = ""
            return pair.decode("utf-16")
        return chr(code)


@dataclass(frozen=True)
class _End:
    pass


@dataclass(frozen=True)
class _Retry:
    """A first answer refused by the guardrails before anything of it was shown."""

    problem: str
    content: str


# The first answer's characters read (and held back) before its start is judged.
CONFIRM_CHARS = 240
NOTHING_KEPT = {
    "fr": "Aucun élément retenu pour cette section.",
    "en": "Nothing kept for this section.",
}


def section_guarded(review: Review, section: str, text: str, context: IssueContext) -> str:
    """A finished section as the user may see it: sentences with unknown keys or the data's
    instructions removed, counts corrected; in the wrong language or empty, the synthesis is
    written from the facts and another section says nothing was kept."""
    language = review.facts.language
    shown = review.text(text.strip())
    if shown and review.wrong_language([shown]):
        review.language_ok = False
        shown = ""
    if shown:
        return shown
    if section == "synthesis":
        review.narrative_from_facts = True
        return analysis_from_facts(
            context.issue,
            language,
            comments_analyzed=context.comments_analyzed,
            comments_total=context.comments_total,
        )
    return NOTHING_KEPT[language]


@dataclass(frozen=True)
class _Failed:
    error: Exception


def _tasks_text(language: Language) -> str:
    return "\n".join(f"- {name} : {task}" for name, task in section_tasks(language).items())


async def issue_analyze_stream(
    *, config: EngineConfig, request: AnalyzeRequest
) -> AsyncGenerator[Event, None]:
    """Events of the streamed analysis of ``request.issue``."""
    started = time.monotonic()
    language = language_of(request.language, config)
    await language_detector_ready()
    client = llm_client(config)
    budget = await client.budget()
    tasks = _tasks_text(language)
    room = analysis_room(budget, language, "stream", tasks=tasks)
    context = issue_context(request, room=room, cost=cost_of(budget))
    yield LogData(
        step="section",
        message=progress_message(
            "context",
            language,
            key=context.key,
            analyzed=context.comments_analyzed,
            total=context.comments_total,
        ),
    ).event()
    yield LogData(
        step="section",
        message=progress_message("generate", language, count=len(STREAM_SECTIONS)),
    ).event()
    queue: asyncio.Queue[Event | _End | _Failed] = asyncio.Queue()
    review = Review(context_facts(language, context))

    async def on_step(step: Step, position: int | None) -> None:
        message = progress_message(step, language, position=position)
        queue.put_nowait(LogData(step=step, message=message).event())

    async def attempt(messages: list[Message], *, first: bool) -> _Retry | SectionParser:
        """One streamed answer. The first is held back until ``CONFIRM_CHARS`` of it are read
        and checked (language, injection, format): a bad start is dropped unseen for one repair
        turn (``_Retry``). Deltas go out in whole words, made safe (:class:`DeltaFilter`)."""
        parser = SectionParser()
        filters: dict[str, DeltaFilter] = {}
        held: list[Event | str] | None = [] if first else None  # str: a finished section
        raw: list[str] = []
        chunks = client.stream(
            messages=messages,
            budget=budget,
            schema=SECTIONS_SCHEMA,
            schema_name="issue_sections",
            on_step=on_step,
        )

        def put(event: Event | str) -> None:
            if held is None:
                queue.put_nowait(event if isinstance(event, Event) else result(event))
            else:
                held.append(event)

        def result(section: str) -> Event:
            content = section_guarded(review, section, parser.done[section], context)
            return ResultData(section=section, content=content).event()

        def release(events: list[Event | str]) -> None:
            for event in events:
                queue.put_nowait(event if isinstance(event, Event) else result(event))

        def refused() -> str | None:
            texts = [*parser.done.values(), "".join(parser.text)]
            problems = review.problems(texts)
            if not parser.done and not parser.current and sum(map(len, raw)) >= CONFIRM_CHARS:
                problems.append("not the JSON object of the four sections")
            if not problems:
                return None
            review.discarded(["".join(raw)])
            return "; ".join(problems)

        try:
            async for piece in chunks:
                raw.append(piece)
                for section, text, finished in parser.feed(piece):
                    guard = filters.setdefault(section, DeltaFilter(review))
                    safe = guard.feed(text) + (guard.flush() if finished else "")
                    if safe:
                        put(DeltaData(section=section, text=safe).event())
                    if finished:
                        put(section)
                seen = sum(len(t) for t in parser.done.values()) + sum(map(len, parser.text))
                if held is not None and (
                    seen >= CONFIRM_CHARS or sum(map(len, raw)) >= 4 * CONFIRM_CHARS
                ):
                    problem = refused()
                    if problem is not None:
                        return _Retry(problem, "".join(raw))
                    release(held)
                    held = None
        finally:
            # Cancelled mid-stream: closing the generator closes the HTTP response upstream.
            await chunks.aclose()
        if held is not None:
            missing = [s for s in STREAM_SECTIONS if s not in parser.done]
            problem = refused() or ("missing sections: " + ", ".join(missing) if missing else None)
            if problem is not None:
                if missing:
                    review.discarded(["".join(raw)])
                return _Retry(problem, "".join(raw))
            release(held)
        return parser

    async def run() -> None:
        messages = analysis_messages(language, "stream", context, tasks=tasks)
        try:
            outcome = await attempt(messages, first=True)
            if isinstance(outcome, _Retry):
                logger.warning(
                    "streamed analysis refused by the guardrails: %s", outcome.problem[:200]
                )
                queue.put_nowait(
                    LogData(step="section", message=progress_message("repair", language)).event()
                )
                request = render("revise", language, problem=outcome.problem[:500])
                outcome = await attempt(
                    repair_conversation(messages, outcome.content, request, budget), first=False
                )
            if isinstance(outcome, _Retry):
                raise LLMInvalidOutput()
            missing = [s for s in STREAM_SECTIONS if s not in outcome.done]
            if missing:
                logger.warning("streamed analysis without sections %s", ", ".join(missing))
                raise LLMInvalidOutput()
            queue.put_nowait(_End())
        except EngineError as exc:
            queue.put_nowait(_Failed(exc))
        except Exception as exc:
            # Anything else (a bug, a library's error) still ends the stream with one error
            # event: a task that died silently would leave the reader waiting for ever.
            logger.exception("streamed analysis failed unexpectedly")
            queue.put_nowait(_Failed(exc))

    task = asyncio.create_task(run())
    try:
        while True:
            item = await queue.get()
            if isinstance(item, Event):
                yield item
            elif isinstance(item, _Failed):
                logger.warning(
                    "streamed analysis failed: %s", getattr(item.error, "code", "internal_error")
                )
                yield error_event(item.error)
                return
            else:
                break
        yield DoneData(
            coverage={
                "comments_analyzed": context.comments_analyzed,
                "comments_total": context.comments_total,
            },
            duration_ms=round((time.monotonic() - started) * 1000),
            quality=review.quality().model_dump(),
        ).event()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
