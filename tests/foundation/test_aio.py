"""core.aio.gather_first_error: results in order; the first failure cancels the rest and is
raised as itself, never inside an ExceptionGroup."""

from __future__ import annotations

import asyncio

import pytest

from core.aio import gather_first_error


async def test_results_come_back_in_the_order_of_the_calls_not_of_their_ends() -> None:
    second_done = asyncio.Event()

    async def first() -> int:
        await second_done.wait()
        return 1

    async def second() -> str:
        second_done.set()
        return "two"

    assert await gather_first_error(first(), second()) == (1, "two")
    assert await gather_first_error() == ()


async def test_the_first_failure_is_raised_as_itself_and_cancels_the_others() -> None:
    waiting = asyncio.Event()
    cancelled: list[bool] = []

    async def never_ends() -> None:
        waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def fails() -> None:
        await waiting.wait()
        raise LookupError("first")

    with pytest.raises(LookupError) as caught:
        await gather_first_error(never_ends(), fails())

    assert str(caught.value) == "first"
    assert cancelled == [True]


async def test_a_group_raised_by_a_call_is_unwrapped_to_its_first_leaf() -> None:
    async def raises_a_group() -> None:
        raise ExceptionGroup("inner", [KeyError("leaf"), ValueError("other")])

    with pytest.raises(KeyError) as caught:
        await gather_first_error(raises_a_group())

    assert caught.value.args == ("leaf",)
