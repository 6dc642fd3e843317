"""One way to stream work as events: the work runs as a task and emits its progress (``log``,
``delta``) as it goes; the generator yields those as they come, then the events of the result, or
one final ``error`` event. Closing the generator (the client went away) cancels the task, up to
the LLM. Used by the streamed summary, the reports and the release notes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ai_service.contract.events import error_event
from core.sse import Event

logger = logging.getLogger(__name__)

R = TypeVar("R")
Emit = Callable[[Event], None]


@dataclass(frozen=True)
class _Result(Generic[R]):
    value: R


@dataclass(frozen=True)
class _Failure:
    error: BaseException


async def task_events(
    work: Callable[[Emit], Awaitable[R]],
    finish: Callable[[R], Iterable[Event]],
    *,
    what: str,
) -> AsyncGenerator[Event, None]:
    """``work(emit)``'s emitted events as they come, then ``finish(result)``; a failure (typed
    errors and bugs alike) ends the stream with one ``error`` event, logged as ``what``."""
    queue: asyncio.Queue[Event | _Result[R] | _Failure] = asyncio.Queue()

    async def run() -> None:
        try:
            result = await work(queue.put_nowait)
        except Exception as exc:
            queue.put_nowait(_Failure(exc))
        else:
            queue.put_nowait(_Result(result))

    task = asyncio.create_task(run())
    try:
        while True:
            item = await queue.get()
            if isinstance(item, Event):
                yield item
            elif isinstance(item, _Failure):
                logger.warning(
                    "streamed %s failed: %s", what, getattr(item.error, "code", item.error)
                )
                yield error_event(item.error)
                return
            else:
                for event in finish(item.value):
                    yield event
                return
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
