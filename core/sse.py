"""Server-sent events, both ways, for both services: the frames on the wire (WHATWG), the one
reader (on ``httpx-sse``), the one writer (``sse_body``), the per-process stream cap and the one
``sse_response()``.

The writer sends ``: ok`` at once (the headers leave with it), then each event as soon as it
exists, and ``: keepalive`` whenever nothing was written for ``keepalive`` seconds. It numbers the
events (``id:`` 1, 2, ...), so no producer assigns ids; the one exception is a stream replayed from
storage (the resumable summary), whose events carry the id they were stored under (``<run>:<n>``),
so that a reconnect's ``Last-Event-ID`` names a place in the stored run. The events are produced
by one pump task (so an upstream HTTP stream is always read from the same task, and no task is
created per event) into a queue the writer drains; events already queued leave together in one
write. A client that goes away cancels the writer, which cancels the pump, whose generator then
closes its upstream streams (the LLM's, or ai-service's).

A failure raised inside the events becomes one final ``error`` event, built by the stream's
``on_error`` (``ai_service.contract.events.error_event``): after the first bytes, the HTTP status
is already 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
from django.http import StreamingHttpResponse
from httpx_sse import EventSource

from core.errors import ApiError, ErrorCode

OPEN = b": ok\n\n"
KEEPALIVE = b": keepalive\n\n"


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its name and its data, one JSON document (a typed payload's, or relayed as
    received). Its id is the writer's business, unless the event was stored under one (``id``)."""

    name: str
    data: str
    id: str | None = None

    def error_code(self) -> str | None:
        """The ``code`` of an ``error`` event (what the stream's outcome is counted as)."""
        if self.name != "error":
            return None
        try:
            payload = json.loads(self.data)
        except ValueError:
            return "error"
        return str(payload.get("code", "error")) if isinstance(payload, dict) else "error"


def sse_frame(event_id: int | str, event: Event) -> bytes:
    # Our payloads are one line of JSON; a relayed multi-line data keeps one ``data:`` per line.
    data = event.data if "\n" not in event.data else event.data.replace("\n", "\ndata: ")
    return f"id: {event_id}\nevent: {event.name}\ndata: {data}\n\n".encode()


async def sse_read(response: httpx.Response) -> AsyncGenerator[Event, None]:
    """The events of a ``text/event-stream`` response as they arrive (each as soon as its blank
    line is read); comments and ids are dropped (the reader's side numbers and keeps alive)."""
    events = EventSource(response).aiter_sse()
    try:
        async for sse in events:
            if not sse.data:
                # httpx-sse 0.4 dispatches an empty event at the blank line that ends a comment
                # once an id was seen (every keepalive after the first event); WHATWG's parser
                # dispatches nothing for an empty data buffer, and none of our events is empty.
                continue
            yield Event(sse.event, sse.data)
    finally:
        await events.aclose()


class TooManyStreams(ApiError):
    status = 503
    code = ErrorCode.TOO_MANY_STREAMS
    detail = "Too many analyses are streaming; retry shortly."


class StreamSlots:
    """The streams of this process, at most ``limit()`` at once: a cap on its memory and upstream
    connections, so process-local by nature (the HTTP pools are sized from the same number)."""

    def __init__(
        self, *, limit: Callable[[], int], on_change: Callable[[int], None] | None = None
    ) -> None:
        self.limit = limit
        self.on_change = on_change
        self.in_flight = 0

    def acquire(self) -> StreamSlot:
        """A slot, or 503 ``too_many_streams`` when the process is at its cap."""
        if self.in_flight >= self.limit():
            raise TooManyStreams()
        self._add(1)
        return StreamSlot(self)

    def _add(self, delta: int) -> None:
        self.in_flight += delta
        if self.on_change is not None:
            self.on_change(delta)


class StreamSlot:
    """Released once, whichever comes first: the body's end or the response's close (a body that
    is never iterated)."""

    __slots__ = ("_slots", "released")

    def __init__(self, slots: StreamSlots) -> None:
        self._slots = slots
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._slots._add(-1)


@dataclass
class EventStream:
    """What a streaming service hands its view: the events, the builder of the final ``error``
    event of a failure, and ``on_close(outcome)``, run exactly once however the stream ends
    (``ok``, an ``error`` event's code, ``cancelled``, or ``not_started`` for a body never read)."""

    events: AsyncGenerator[Event, None]
    on_error: Callable[[BaseException], Event]
    on_close: Callable[[str], None]
    _closed: bool = field(default=False, init=False)

    def close(self, outcome: str) -> None:
        if not self._closed:
            self._closed = True
            self.on_close(outcome)


@dataclass(frozen=True, slots=True)
class _End:
    error: BaseException | None = None


async def _pump(events: AsyncGenerator[Event, None], queue: asyncio.Queue[Event | _End]) -> None:
    try:
        async for event in events:
            queue.put_nowait(event)
    except Exception as exc:
        queue.put_nowait(_End(exc))
    else:
        queue.put_nowait(_End())
    finally:
        await events.aclose()


async def sse_body(stream: EventStream, *, keepalive: float) -> AsyncIterator[bytes]:
    """The SSE bytes of ``stream``, its events numbered from 1; the stream ends after an
    ``error`` event (nothing follows it)."""
    queue: asyncio.Queue[Event | _End] = asyncio.Queue()
    pump: asyncio.Task[None] | None = None
    outcome = "ok"
    next_id = 1
    try:
        yield OPEN
        pump = asyncio.create_task(_pump(stream.events, queue))
        while True:
            if queue.empty():
                try:
                    async with asyncio.timeout(keepalive):
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
                        item = stream.on_error(item.error)
                    else:
                        break
                code = item.error_code()
                if item.id is not None:
                    frames.append(sse_frame(item.id, item))
                else:
                    frames.append(sse_frame(next_id, item))
                    next_id += 1
                if code is not None:
                    outcome, finished = code, True
                    break
                if finished or queue.empty():
                    break
                item = queue.get_nowait()
            if frames:
                yield frames[0] if len(frames) == 1 else b"".join(frames)
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
            with contextlib.suppress(RuntimeError):
                await stream.events.aclose()
        stream.close(outcome)


def sse_response(stream: EventStream, *, keepalive: float) -> StreamingHttpResponse:
    """The ``text/event-stream`` response of ``stream``: never cached, never buffered by a proxy
    (``X-Accel-Buffering: no``), never compressed."""
    response = StreamingHttpResponse(
        sse_body(stream, keepalive=keepalive), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    # A body that is never iterated still closes the stream (its slot, its metrics).
    response._resource_closers.append(  # type: ignore[attr-defined]
        lambda: stream.close("not_started")
    )
    return response
