"""Server-sent events out of a Django service: the per-process stream cap and the body writer, used
by ai-service and by the public API's relay (each with its own metrics and its own error events).

The writer sends ``: ok`` at once (the headers leave with it), then each event as soon as it
exists, and ``: keepalive`` whenever nothing was written for ``keepalive`` seconds. The events are
produced by one pump task (so an upstream HTTP stream is always read from the same task, and no
task is created per event) into a queue the writer drains; events already queued leave together in
one write. A client that goes away cancels the writer, which cancels the pump, whose generator then
closes its upstream streams (the LLM's, or ai-service's).

A failure inside the events becomes one final ``error`` event, built by the caller's ``on_error``:
after the first bytes, the HTTP status is already 200.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ai_service.engine.sse import KEEPALIVE, OPEN


class Event(Protocol):
    """What the writer needs of an event: its id, its name and its ``data`` (read only for an
    ``error`` event's code)."""

    @property
    def id(self) -> int: ...

    @property
    def event(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=Event)


class StreamSlots:
    """The streams of this process, at most ``limit()`` at once: a cap on its memory and upstream
    connections, so process-local by nature (the HTTP pools are sized from the same number)."""

    def __init__(
        self, *, limit: Callable[[], int], on_change: Callable[[int], None] | None = None
    ) -> None:
        self.limit = limit
        self.on_change = on_change
        self.in_flight = 0

    def acquire(self) -> StreamSlot | None:
        """A slot, or None when the process is at its cap."""
        if self.in_flight >= self.limit():
            return None
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


@dataclass(frozen=True, slots=True)
class _End:
    error: BaseException | None = None


async def _pump(events: AsyncGenerator[Any, None], queue: asyncio.Queue[Any]) -> None:
    try:
        async for event in events:
            queue.put_nowait(event)
    except Exception as exc:
        queue.put_nowait(_End(exc))
    else:
        queue.put_nowait(_End())
    finally:
        await events.aclose()


async def sse_body(
    events: AsyncGenerator[E, None],
    *,
    encode: Callable[[E], bytes],
    on_error: Callable[[int, BaseException], tuple[str, bytes]],
    on_close: Callable[[str], None],
    keepalive: float,
) -> AsyncIterator[bytes]:
    """The SSE bytes of ``events``. ``on_error(next_id, exc)`` gives the outcome code and the
    final ``error`` frame of a failure raised by ``events`` (and logs it); ``on_close(outcome)``
    runs once at the end, however it ends: ``ok``, an ``error`` event's code, or ``cancelled``."""
    queue: asyncio.Queue[E | _End] = asyncio.Queue()
    pump: asyncio.Task[None] | None = None
    outcome = "ok"
    last_id = 0
    try:
        yield OPEN
        pump = asyncio.create_task(_pump(events, queue))
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
                        outcome, frame = on_error(last_id + 1, item.error)
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
                await events.aclose()
        on_close(outcome)
