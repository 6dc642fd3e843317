"""A Jira 429 storm through the API (Daphne, the default retry budget and breaker settings): 20
concurrent reads cost Jira at most 10 % more calls than reads, and each gets a clear 503."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.ids import ACME, ALICE
from tests.support.jira import add_fault
from tests.support.keys import forget_keys
from tests.support.sandbox import jira_routes
from tests.support.signin import SignIn

pytestmark = pytest.mark.django_db(transaction=True)

READS = 20
BUDGET_PERCENT = 10  # JIRA_RETRY_BUDGET_PERCENT's default


async def forget_site_state() -> None:
    """The storm opens ACME's breaker: nobody after this test may inherit it (nor the budget
    window of earlier tests, which would widen this one's)."""
    await forget_keys(f"jira:breaker:{ACME}*", "jira:v1:*")


@pytest.fixture
async def fresh_site() -> AsyncIterator[None]:
    await forget_site_state()
    yield
    await forget_site_state()


async def test_twenty_reads_in_a_429_storm_stay_within_the_retry_budget(
    sign_in_as: SignIn, sandbox_url: str, fresh_site: None
) -> None:
    client = await sign_in_as(ALICE, ACME)
    # Retry-After: 0 opens no window: each read reaches Jira once and only the budget bounds
    # the retries.
    add_fault(sandbox_url, path_regex="/project", mode="status", status=429, retry_after=0)
    before = sum(n for route, n in jira_routes(sandbox_url).items() if "/project" in route)

    answers = await asyncio.gather(*(client.get("/jira/projects") for _ in range(READS)))

    calls = sum(n for route, n in jira_routes(sandbox_url).items() if "/project" in route) - before
    assert [a.status_code for a in answers] == [503] * READS, answers[0].text
    assert {a.json()["code"] for a in answers} == {"jira_rate_limited"}
    assert all("retry-after" in a.headers for a in answers)
    budget = max(1, math.floor(READS * BUDGET_PERCENT / 100))
    print(f"{READS} reads in a 429 storm: {calls} Jira calls (budget {budget} retries)")
    assert READS <= calls <= READS + budget
    httpx.delete(sandbox_url + "/_sandbox/faults")
