"""A Jira 429 storm under the shared retry budget, and the ``Retry-After`` window shared per site
(both in Redis), on the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import math

import pytest

from jira.errors import JiraError, JiraRateLimited, JiraUnavailable
from tests.support.jira import MakeClient, add_fault
from tests.support.sandbox import jira_requests

CONCURRENT = 20


async def test_a_429_storm_of_20_concurrent_calls_stays_within_the_retry_budget(
    make_client: MakeClient, sandbox_url: str
) -> None:
    # Retry-After: 0 opens no window, so every call reaches Jira once and only the budget limits
    # the retries: 10 % of the site's requests, at least 1.
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=429, retry_after=0)
    client = make_client(retry_budget_floor=1, retry_budget_percent=10.0, breaker_threshold=100)

    outcomes = await asyncio.gather(
        *(client.myself() for _ in range(CONCURRENT)), return_exceptions=True
    )

    assert all(isinstance(o, JiraRateLimited) for o in outcomes)
    budget = max(1, math.floor(CONCURRENT * 10 / 100))
    calls = jira_requests(sandbox_url)
    assert CONCURRENT <= calls <= CONCURRENT + budget


# A 429 or a 503 whose Retry-After (30 s) is beyond our wait (3 s): no retry inside it, the
# caller gets Jira's wait, and no worker calls the site until the window ends.
@pytest.mark.parametrize(
    ("status", "error"), [(429, JiraRateLimited), (503, JiraUnavailable)], ids=["429", "503"]
)
async def test_a_call_inside_the_retry_after_window_makes_no_jira_call(
    make_client: MakeClient, sandbox_url: str, status: int, error: type[JiraError]
) -> None:
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=status, retry_after=30)
    client = make_client()
    with pytest.raises(error) as first:
        await client.myself()
    assert (first.value.status, first.value.retry_after) == (503, 30)
    assert jira_requests(sandbox_url) == 1

    # Another client (as another worker would) on the same site: refused at once.
    other = make_client()
    other.breaker = client.breaker
    with pytest.raises(error) as caught:
        await other.myself()
    assert caught.value.status == 503
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 30
    assert jira_requests(sandbox_url) == 1


async def test_calls_ending_rate_limited_open_the_breaker(
    make_client: MakeClient, sandbox_url: str
) -> None:
    # A Retry-After beyond our wait: each call ends at once, rate limited; each counts.
    add_fault(sandbox_url, path_regex="/myself", mode="status", status=429, retry_after=60)
    client = make_client(breaker_threshold=2)
    with pytest.raises(JiraRateLimited):
        await client.myself()
    assert client.breaker is not None
    await client.breaker.redis.delete(client.breaker._hold_key(client.cloud_id))
    with pytest.raises(JiraRateLimited):
        await client.myself()
    state = await client.breaker.redis.hget(
        f"{client.breaker.prefix}:{client.cloud_id}", "opened_until"
    )
    assert state is not None
    assert jira_requests(sandbox_url) == 2
