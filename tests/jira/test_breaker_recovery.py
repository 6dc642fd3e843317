"""The breaker closes again after Jira recovers, whatever reads run at once during the half-open
window (the issue, search and overview reads run two Jira calls concurrently: a refused sibling
used to cancel the probe before it reached Jira, so the breaker never closed)."""

from __future__ import annotations

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
