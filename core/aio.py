"""Concurrency helpers for asyncio code of both services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar, overload

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")


@overload
async def gather_first_error(first: Awaitable[A], second: Awaitable[B], /) -> tuple[A, B]: ...


@overload
async def gather_first_error(*awaitables: Awaitable[T]) -> tuple[T, ...]: ...


async def gather_first_error(*awaitables: Awaitable[Any]) -> tuple[Any, ...]:
    """The results of ``awaitables`` run concurrently, in their order.

    On the first failure the others are cancelled (a TaskGroup) and that error is raised as
    itself, not inside an ExceptionGroup: callers and the API's error handlers map our typed
    errors, and would see a group as an unknown crash. ``asyncio.gather`` would leave the other
    calls running after a failure.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_as_coroutine(a)) for a in awaitables]
    except BaseExceptionGroup as errors:
        first: BaseException = errors
        # A failing call may itself have raised a group: its first leaf is the cause.
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return tuple(task.result() for task in tasks)


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    # create_task wants a coroutine; callers may pass any awaitable (a future, a task).
    return await awaitable
