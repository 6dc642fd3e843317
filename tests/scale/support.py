"""What the tests of tests/scale share: Redis state they start from, the sandbox's LLM in flight,
each ai-service process's own metrics, clients pinned to one API process."""

from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import sandbox
from tests.support.keys import forget_keys
from tests.support.servers import ServerProcess


async def forget_jira_cache() -> None:
    """No Jira read cached by an earlier test or the sign-in (the cache lives in Redis)."""
    await forget_keys("jira:v1:*")


async def forget_quota(account_id: str) -> None:
    """A fresh window for ``account_id``: a re-run within the minute starts from zero too."""
    await forget_keys(f"quota:ai*{account_id}*")


async def until_llm_busy(sandbox_url: str, *, timeout: float = 20.0) -> int:
    """The number of LLM calls in flight, once at least one is (map chunks follow each other,
    so an instant check could fall between two calls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = sandbox.llm_active(sandbox_url)
        if active >= 1:
            return active
        await asyncio.sleep(0.02)
    raise AssertionError(f"no LLM call in flight within {timeout}s")


async def metric(server: ServerProcess, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``, read from that one
    process's ``/metrics`` (not through the balancer, which would pick one)."""
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(server.url + "/metrics")
    answer.raise_for_status()
    return sum(
        sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def analyses_served(servers: list[ServerProcess]) -> list[float]:
    """Synchronous analyses each ai-service answered so far (any outcome)."""
    return [
        await metric(server, "ai_service_requests_total", endpoint="analyze-issue")
        for server in servers
    ]


async def streams_open(servers: list[ServerProcess]) -> list[float]:
    """The streams each ai-service is writing now."""
    return [await metric(server, "ai_service_streams_in_flight") for server in servers]


def pinned(client: httpx.AsyncClient, server: ServerProcess) -> httpx.AsyncClient:
    """``client``'s session (cookies are per host, not per port) and CSRF header, sent to one
    API process directly: which process answers is then the test's choice, not the balancer's."""
    return httpx.AsyncClient(
        base_url=server.url, cookies=client.cookies, headers=client.headers, timeout=60
    )
