"""The streamed summary of a JQL result: the map-reduce of :func:`.pipeline.jql_summarize` told
as it goes, its map results kept in Redis (:mod:`.chunks`).

Events (the payloads of ``ai_service/contract/events.py``): ``log {step: "map", done, total}``
before the first chunk and after each (its message says how many were reused from an earlier,
unfinished run), ``log {step: "combine"}`` for each combine round, ``queue``/``load``/``think``
while a call waits for the model; ``delta {section: "summary", text}`` for the final narrative
as the last call writes it (provisional: the first 240 characters of a first answer are held back
and judged, as in the streamed analysis, and go out in whole, safe words); one ``result {section:
"summary", content}`` holding the whole summary, checked (the same JSON as the synchronous
endpoint); then ``done {coverage, duration_ms, quality}``, or one final ``error``. Closing the
generator (the client went away) cancels every call, up to the LLM.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from ai_service.contract.events import DeltaData, DoneData, LogData, ResultData
from ai_service.contract.schemas import Language, SummarizeRequest, Summary
from ai_service.engine.checks import summary_facts
from ai_service.engine.chunks import ChunkStore, run_key
from ai_service.engine.config import EngineConfig
from ai_service.engine.guards import DeltaFilter, Review
from ai_service.engine.llm import Step
from ai_service.engine.pipeline import jql_summarize, language_of, summary_stats
from ai_service.engine.progress import progress_message
from ai_service.engine.prompts import PROMPT_VERSION
from ai_service.engine.stream import CONFIRM_CHARS, SectionParser
from ai_service.engine.task_events import Emit, task_events
from core.env import env_int
from core.sse import Event


@dataclass
class Narrative:
    """The final call's ``summary`` string read as it streams, per attempt; a first attempt is
    held back until ``CONFIRM_CHARS`` of it can be judged."""

    review: Review
    attempt: int = 0
    parser: SectionParser = field(default_factory=lambda: SectionParser(frozenset({"summary"})))
    filter: DeltaFilter | None = None
    held: list[str] = field(default_factory=list)
    refused: bool = False
    confirmed: bool = False

    def feed(self, attempt: int, piece: str) -> list[str]:
        if attempt != self.attempt:  # the repair turn starts afresh, shown as it comes
            self.attempt, self.held, self.refused = attempt, [], False
            self.confirmed = attempt > 1
            self.parser = SectionParser(frozenset({"summary"}))
            self.filter = DeltaFilter(self.review)
        assert self.filter is not None
        if self.refused:
            return []
        out: list[str] = []
        for _, text, finished in self.parser.feed(piece):
            safe = self.filter.feed(text) + (self.filter.flush() if finished else "")
            if safe:
                out.append(safe)
        if self.confirmed:
            return out
        self.held.extend(out)
        seen = "".join(self.parser.text) or self.parser.done.get("summary", "")
        if len(seen) < CONFIRM_CHARS and "summary" not in self.parser.done:
            return []
        if self.review.problems([seen]):
            self.refused = True  # its repair turn will be streamed instead
            self.held = []
            return []
        self.confirmed = True
        released, self.held = self.held, []
        return released


async def jql_summarize_stream(
    *, config: EngineConfig, request: SummarizeRequest, account_id: str
) -> AsyncGenerator[Event, None]:
    """Events of the streamed summary of ``request`` for ``account_id`` (see the module)."""
    started = time.monotonic()
    language: Language = language_of(request.language, config)
    store = ChunkStore(
        config.redis_url,
        run_key(
            account_id=account_id,
            cloud_id=request.cloud_id,
            language=language,
            model=f"{config.provider}:{config.model}",
            prompt_version=PROMPT_VERSION,
            jql=request.jql.strip(),
            issues=request.issues,
        ),
        ttl=env_int("AI_CHUNK_TTL_SECONDS", 86_400),
    )
    stats = summary_stats(request.issues)
    narrative = Narrative(
        Review(
            summary_facts(
                language,
                stats=stats,
                analyzed=len(request.issues),
                total=max(request.total, len(request.issues)),
                allowed=frozenset(i.key for i in request.issues),
                data="",
            )
        )
    )

    async def work(emit: Emit) -> Summary:
        class Progress:
            async def on_step(self, step: Step, position: int | None) -> None:
                message = progress_message(step, language, position=position)
                emit(LogData(step=step, message=message).event())

            def mapped(self, done: int, total: int, reused: int) -> None:
                name = "map_reused" if reused else "map"
                message = progress_message(name, language, done=done, total=total, reused=reused)
                emit(LogData(step="map", message=message, done=done, total=total).event())

            def combining(self, parts: int) -> None:
                message = progress_message("combine", language, parts=parts)
                emit(LogData(step="combine", message=message).event())

            def narrative(self, attempt: int, piece: str) -> None:
                for text in narrative.feed(attempt, piece):
                    emit(DeltaData(section="summary", text=text).event())

        return await jql_summarize(
            config=config, request=request, progress=Progress(), chunks=store
        )

    def finish(summary: Summary) -> list[Event]:
        return [
            ResultData(section="summary", content=summary.model_dump(mode="json")).event(),
            DoneData(
                coverage={
                    "analyzed": summary.coverage.analyzed,
                    "total": summary.coverage.total,
                    "chunks": summary.coverage.chunks,
                    "chunks_reused": store.reused,
                },
                duration_ms=round((time.monotonic() - started) * 1000),
                quality=summary.quality.model_dump(),
            ).event(),
        ]

    events = task_events(work, finish, what="summary")
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()  # cancels the work at once, not when the generator is collected
