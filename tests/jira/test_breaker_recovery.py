"""The breaker closes again after Jira recovers, whatever reads run at once during the half-open
window (the issue, search and overview reads run two Jira calls concurrently: a refused sibling
used to cancel the probe before it reached Jira, so the breaker never closed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from core.aio import gather_first_error
from jira.errors import JiraCircuitOpen, JiraUnavailable
from tests.support.ids import ALICE
from tests.support.jira import MakeClient, add_fault
from tests.support.sandbox import jira_requests


async def test_breaker_closes_with_concurrent_reads_in_the_half_open_window(
    make_client: MakeClient, sandbox_url: str
) -> None:
    now = [2_000_000.0]
    client = make_client(breaker_threshold=2, breaker_reset_seconds=30.0, clock=lambda: now[0])
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=503)
    for _ in range(2):
        with pytest.raises(JiraUnavailable):
            await client.myself()
    with pytest.raises(JiraCircuitOpen):
        await client.myself()
    before = jira_requests(sandbox_url)

    httpx.delete(sandbox_url + "/_sandbox/faults")
    # Jira is back but slow: the probe is surely in flight when its sibling asks the breaker.
    add_fault(sandbox_url, path_regex="/myself", mode="delay", delay_ms=200)
    now[0] += 31  # half-open: two reads at once, as the issue/search/overview reads do
    first, second = await gather_first_error(client.myself(), client.myself())
    assert first.account_id == ALICE
    assert second.account_id == ALICE
    # Closed: the next read goes straight through.
    assert (await client.myself()).account_id == ALICE
    assert jira_requests(sandbox_url) == before + 3


async def until(condition: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s")
        await asyncio.sleep(0.01)


async def test_a_cancelled_probe_gives_its_slot_back_at_once(
    make_client: MakeClient, sandbox_url: str
) -> None:
    now = [3_000_000.0]
    client = make_client(breaker_threshold=1, breaker_reset_seconds=30.0, clock=lambda: now[0])
    assert client.breaker is not None
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=503)
    with pytest.raises(JiraUnavailable):
        await client.myself()
    httpx.delete(sandbox_url + "/_sandbox/faults")
    add_fault(sandbox_url, path_regex="/myself", mode="delay", delay_ms=5000, count=1)
    now[0] += 31
    before = jira_requests(sandbox_url)

    probe = asyncio.create_task(client.myself())

    async def probe_reached_jira() -> bool:
        return jira_requests(sandbox_url) > before

    await until(probe_reached_jira)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    # Given back: not held for its 30 s TTL, during which every other read would wait.
    assert not await client.breaker.redis.exists(client.breaker._keys(client.cloud_id)[1])
    assert (await client.myself()).account_id == ALICE
    # And that read, the new probe, closed the breaker.
    opened = await client.breaker.redis.hget(
        client.breaker._keys(client.cloud_id)[0], "opened_until"
    )
    assert opened is None
