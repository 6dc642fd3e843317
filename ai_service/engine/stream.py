"""The streamed analysis: one prompt per section, run concurrently, their text merged as it comes.

An async generator of typed events (``log``, ``delta``, ``result``, then ``done`` or one final
``error``, payloads of :mod:`ai_service.contract.events`); the SSE writer numbers them. Closing the
generator (the client went away) or cancelling its consumer cancels the section tasks, whose
``finally`` closes the upstream LLM streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from ai_service.contract.events import (
    DeltaData,
    DoneData,
    LogData,
    ResultData,
    error_event,
)
from ai_service.contract.schemas import STREAM_SECTIONS, AnalyzeRequest, Language, StreamSection
from ai_service.engine.config import EngineConfig
from ai_service.engine.errors import EngineError
from ai_service.engine.llm import llm_client
from ai_service.engine.pipeline import (
    IssueContext,
    _messages,
    analysis_budget,
    issue_context,
    language_of,
)
from ai_service.engine.progress import progress_message
from ai_service.engine.prompts import render, section_tasks
from core.sse import Event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Delta:
    section: StreamSection
    text: str


@dataclass(frozen=True)
class _Finished:
    section: StreamSection
    content: str


@dataclass(frozen=True)
class _Failed:
    error: EngineError


async def _section(
    config: EngineConfig,
    language: Language,
    context: IssueContext,
    section: StreamSection,
    queue: asyncio.Queue[_Delta | _Finished | _Failed],
) -> None:
    user = render(
        "section",
        language,
        task=section_tasks(language)[section],
        key=context.key,
        comments_analyzed=context.comments_analyzed,
        comments_total=context.comments_total,
        keys=", ".join(sorted(context.allowed)),
        data=context.data,
    )
    parts: list[str] = []
    chunks = llm_client(config).stream_text(messages=_messages(language, user))
    try:
        async for text in chunks:
            parts.append(text)
            queue.put_nowait(_Delta(section, text))
        queue.put_nowait(_Finished(section, "".join(parts).strip()))
    except EngineError as exc:
        queue.put_nowait(_Failed(exc))
    finally:
        # Cancelled mid-stream: closing the generator closes the HTTP response upstream.
        await chunks.aclose()


async def issue_analyze_stream(
    *, config: EngineConfig, request: AnalyzeRequest
) -> AsyncGenerator[Event, None]:
    """Events of the streamed analysis of ``request.issue``."""
    started = time.monotonic()
    language = language_of(request.language, config)
    context = issue_context(request, budget=analysis_budget(config, language, "section"))
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
    queue: asyncio.Queue[_Delta | _Finished | _Failed] = asyncio.Queue()
    tasks = [
        asyncio.create_task(_section(config, language, context, section, queue))
        for section in STREAM_SECTIONS
    ]
    yield LogData(
        step="section", message=progress_message("generate", language, count=len(tasks))
    ).event()
    try:
        pending = set(STREAM_SECTIONS)
        while pending:
            item = await queue.get()
            if isinstance(item, _Delta):
                yield DeltaData(section=item.section, text=item.text).event()
            elif isinstance(item, _Finished):
                pending.discard(item.section)
                yield ResultData(section=item.section, content=item.content).event()
            else:
                logger.warning("streamed analysis failed: %s", item.error.code)
                yield error_event(item.error)
                return
        yield DoneData(
            coverage={
                "comments_analyzed": context.comments_analyzed,
                "comments_total": context.comments_total,
            },
            duration_ms=round((time.monotonic() - started) * 1000),
        ).event()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
