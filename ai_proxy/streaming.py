"""Server-sent events out of the public API: the per-process stream cap and the body writer.

The writer sends ``: ok`` at once (the headers leave with it, before Jira answers), then each event
as soon as it exists, and ``: keepalive`` whenever nothing was written for ``keepalive`` seconds.
The events are produced by one pump task (so an upstream HTTP stream is always read from the same
task) into a queue the writer drains; a client that goes away cancels the writer, which cancels
the pump, whose generator then closes the upstream stream (ai-service's, or the LLM's).

Failures inside the events (``ApiError``: Jira, ai-service; ``EngineError``: the LLM) become one
final ``error`` event: after the first bytes, the HTTP status is already 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ai_proxy.errors import TooManyStreams
from ai_proxy.metrics import AI_REQUESTS, STREAMS_IN_FLIGHT
from ai_service.engine import KEEPALIVE, OPEN, EngineError, StreamEvent, sse_frame
from jira_ai.errors import ApiError, ErrorCode

logger = logging.getLogger(__name__)

ENDPOINT = "analyze-issue/stream"


class StreamSlot:
    """One of ``AI_MAX_STREAMS`` of this process: a cap on its memory and upstream connections,
    so process-local by nature (the HTTP pools are sized from the same number)."""

    in_flight = 0

    def __init__(self) -> None:
        self.released = False

    @classmethod
    def acquire(cls) -> StreamSlot:
        if cls.in_flight >= int(settings.AI_MAX_STREAMS):
            AI_REQUESTS.labels(ENDPOINT, ErrorCode.TOO_MANY_STREAMS).inc()
            raise TooManyStreams()
        cls.in_flight += 1
        STREAMS_IN_FLIGHT.inc()
        return cls()

    def release(self) -> None:
        if not self.released:
            self.released = True
            type(self).in_flight -= 1
            STREAMS_IN_FLIGHT.dec()


@dataclass(frozen=True)
class RelayedEvent:
    """An event relayed from ai-service: its ``data`` line is passed on as received (already
    one line of JSON), only the ``id`` is ours; parsed only when someone reads ``data``."""

    id: int
    event: str
    raw_data: str

    @property
    def data(self) -> dict[str, Any]:
        payload = json.loads(self.raw_data)
        return payload if isinstance(payload, dict) else {"value": payload}

    def frame(self) -> bytes:
        return f"id: {self.id}\nevent: {self.event}\ndata: {self.raw_data}\n\n".encode()


Event = StreamEvent | RelayedEvent


def encode(event: Event) -> bytes:
    if isinstance(event, RelayedEvent):
        return event.frame()
    return sse_frame(event.id, event.event, event.data)


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


async def _pump(events: AsyncGenerator[Event, None], queue: asyncio.Queue[Event | _End]) -> None:
    try:
        async for event in events:
            queue.put_nowait(event)
    except (ApiError, EngineError) as exc:
        queue.put_nowait(_End(exc))
    except Exception as exc:
        logger.exception("streamed analysis failed")
        queue.put_nowait(_End(exc))
    else:
        queue.put_nowait(_End())
    finally:
        await events.aclose()


def error_frame(event_id: int, exc: BaseException) -> tuple[str, bytes]:
    if isinstance(exc, ApiError):
        code, detail, retry_after = str(exc.code), exc.detail, exc.retry_after
    elif isinstance(exc, EngineError):
        code, detail, retry_after = exc.code, exc.detail, exc.retry_after
    else:
        code, detail, retry_after = ErrorCode.INTERNAL_ERROR.value, "Internal error.", None
    data: dict[str, object] = {"code": code, "detail": detail}
    if retry_after is not None:
        data["retry_after"] = retry_after
    return code, sse_frame(event_id, "error", data)


async def sse_body(
    events: AsyncGenerator[Event, None],
    *,
    on_close: Callable[[], None],
    keepalive: float | None = None,
) -> AsyncIterator[bytes]:
    interval = float(keepalive if keepalive is not None else settings.AI_KEEPALIVE_SECONDS)
    queue: asyncio.Queue[Event | _End] = asyncio.Queue()
    pump: asyncio.Task[None] | None = None
    outcome = "ok"
    last_id = 0
    try:
        yield OPEN
        pump = asyncio.create_task(_pump(events, queue))
        while True:
            if queue.empty():
                try:
                    async with asyncio.timeout(interval):
                        item = await queue.get()
                except TimeoutError:
                    yield KEEPALIVE
                    continue
            else:
                item = queue.get_nowait()
            # Events that are already here leave together, in one write: under a burst (four
            # sections at once) that saves a trip through Django and Daphne per event, and
            # nothing ever waits to be batched.
            frames: list[bytes] = []
            finished = False
            while True:
                if isinstance(item, _End):
                    finished = True
                    if item.error is not None:
                        outcome, frame = error_frame(last_id + 1, item.error)
                        frames.append(frame)
                    break
                last_id = item.id
                if item.event == "error":
                    outcome = str(item.data.get("code", "error"))
                frames.append(encode(item))
                if queue.empty():
                    break
                item = queue.get_nowait()
            if frames:
                yield b"".join(frames)
            if finished:
                return
    except asyncio.CancelledError:
        outcome = "cancelled"
        raise
    finally:
        if pump is not None and not pump.done():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        elif pump is None:
            await events.aclose()
        on_close()
        AI_REQUESTS.labels(ENDPOINT, outcome).inc()
