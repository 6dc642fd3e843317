"""Two API and two ai-service processes: the database, the caches and the LLM limit are shared,
and a killed ai-service costs only its own streams.

Where the test must choose the process (a read cached on one, served by the other), it talks to
each API process directly with the same session (``pinned``); everything else goes through the
balancer, and the ai-services' own ``/metrics`` say which of them answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from html import unescape

import httpx

from tests.scale import postgres
from tests.scale.support import (
    analyses_served,
    forget_jira_cache,
    forget_quota,
    pinned,
    streams_open,
)
from tests.scale.topology import Topology
from tests.support import sandbox
from tests.support.ids import ACME, ALICE, BRUNO, CHLOE, GLOBEX
from tests.support.signin import hidden_fields, sign_in
from tests.support.sse import SSEReader

OLLAMA_CHAT = "POST /api/chat"


async def test_both_api_processes_share_one_postgresql_database(
    scaled: Topology, scale_database_url: str
) -> None:
    # Given an operator's superuser, made in the session's PostgreSQL database.
    password = secrets.token_urlsafe(16)
    await asyncio.to_thread(postgres.superuser_create, scale_database_url, "scale-admin", password)
    first, second = scaled.apis
    async with httpx.AsyncClient(base_url=first.url, timeout=30) as browser:
        # When they sign in to /admin/ on one API process...
        page = await browser.get("/admin/login/")
        assert page.status_code == 200, page.text[:300]
        fields = {**hidden_fields(page.text), "username": "scale-admin", "password": password}
        signed = await browser.post("/admin/login/?next=/admin/", data=fields)
        assert signed.status_code == 302, unescape(signed.text)[:500]
        assert signed.headers["location"] == "/admin/"
        # ...the other one knows them.
        browser.base_url = httpx.URL(second.url)
        index = await browser.get("/admin/")

    assert index.status_code == 200
    assert "scale-admin" in index.text
    # The login was written to PostgreSQL (not to a file of each process).
    assert postgres.last_login_of(scale_database_url, "scale-admin") is not None


async def test_a_jira_read_cached_through_one_api_process_is_served_by_the_other(
    scaled: Topology, sandbox_url: str
) -> None:
    client = await sign_in(scaled.api_url, CHLOE, GLOBEX)
    first, second = (pinned(client, api) for api in scaled.apis)
    try:
        await forget_jira_cache()
        before = sandbox.jira_requests(sandbox_url)
        read = await first.get("/jira/projects")
        after_first = sandbox.jira_requests(sandbox_url)
        again = await second.get("/jira/projects")
        after_second = sandbox.jira_requests(sandbox_url)
    finally:
        for each in (first, second, client):
            await each.aclose()

    assert read.status_code == again.status_code == 200, (read.text[:200], again.text[:200])
    assert again.json() == read.json()
    assert after_first - before >= 1
    assert after_second == after_first  # api2 answered from the cache api1 filled
    print(f"Jira calls: {after_first - before} through api1, 0 through api2")


async def test_an_analysis_answered_by_one_api_process_is_a_cache_hit_on_the_other(
    scaled: Topology, fast_llm: str
) -> None:
    await forget_quota(CHLOE)
    client = await sign_in(scaled.api_url, CHLOE, GLOBEX)
    first, second = (pinned(client, api) for api in scaled.apis)
    try:
        # refresh: a fresh answer from the model, whatever an earlier run left in Redis.
        fresh = await first.post("/ai/analyze-issue", json={"issue_key": "OPS-1", "refresh": True})
        calls = sandbox.llm_requests(fast_llm)
        hit = await second.post("/ai/analyze-issue", json={"issue_key": "OPS-1"})
    finally:
        for each in (first, second, client):
            await each.aclose()

    assert fresh.status_code == hit.status_code == 200, (fresh.text[:300], hit.text[:300])
    assert calls >= 1
    assert fresh.json()["cached"] is False
    assert hit.json()["cached"] is True
    assert sandbox.llm_requests(fast_llm) == calls  # no new LLM call for the hit
    assert {k: v for k, v in hit.json().items() if k != "cached"} == {
        k: v for k, v in fresh.json().items() if k != "cached"
    }


async def test_the_llm_limit_holds_across_both_ai_services(
    scaled: Topology, sandbox_url: str
) -> None:
    """LLM_MAX_CONCURRENCY=auto is 1 for Ollama (it serves one request at a time): six analyses
    at once, spread over both ai-services, meet one LLM call at a time at the model server.
    A limit per process would let two in at once."""
    await forget_quota(BRUNO)
    sandbox.llm_pace(sandbox_url, tokens_per_second=2_000, first_token_ms=150)
    client = await sign_in(scaled.api_url, BRUNO, ACME)
    served_before = await analyses_served(scaled.ais)
    started = time.monotonic()
    try:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/ai/analyze-issue",
                    json={"issue_key": f"MOB-{n}", "refresh": True},
                    timeout=120,
                )
                for n in range(1, 7)
            )
        )
    finally:
        await client.aclose()
    seconds = time.monotonic() - started
    served = [
        now - then
        for now, then in zip(await analyses_served(scaled.ais), served_before, strict=True)
    ]
    stats = sandbox.stats(sandbox_url)

    assert [a.status_code for a in answers] == [200] * 6, [a.text[:200] for a in answers]
    assert all(s >= 1 for s in served), served
    assert stats["routes"][OLLAMA_CHAT] >= 6
    assert stats["max_in_flight"][OLLAMA_CHAT] == 1
    print(
        f"6 analyses over ai-services {served}: {stats['routes'][OLLAMA_CHAT]} LLM calls, "
        f"at most {stats['max_in_flight'][OLLAMA_CHAT]} in flight, {seconds:.1f}s"
    )


ANALYSIS_STREAM = "/ai/analyze-issue/stream"


async def until_streams_on_both(
    scaled: Topology, *, total: int, timeout: float = 20.0
) -> list[float]:
    """The streams each ai-service writes, once they write ``total`` together and each at least
    one (the API reads Jira before it calls ai-service)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = await streams_open(scaled.ais)
        if sum(counts) == total and all(c >= 1 for c in counts):
            return counts
        await asyncio.sleep(0.05)
    raise AssertionError(f"streams per ai-service: {await streams_open(scaled.ais)}")


async def test_a_killed_ai_service_costs_only_its_streams_and_the_next_calls_go_to_the_other(
    scaled: Topology, sandbox_url: str
) -> None:
    """Streams the killed ai-service was writing (its LLM call, or its place in the queue) end
    with ``ai_service_unavailable``; the other's end normally, and new calls succeed at once on
    the survivor (the balancer retries a refused connection elsewhere). The dead process's LLM
    slot is freed when its lease lapses (``LEASE_SECONDS``). The process is started again at the
    end, on its port, for the next tests."""
    await forget_quota(ALICE)
    # Each LLM call lasts at least 3 s: the first stream is still open when the last one
    # reaches its ai-service, and the process dies.
    sandbox.llm_pace(sandbox_url, tokens_per_second=2_000, first_token_ms=3_000)
    client = await sign_in(scaled.api_url, ALICE, ACME)
    victim, survivor = scaled.ais
    try:
        async with contextlib.AsyncExitStack() as stack:
            answers = await asyncio.gather(
                *(
                    stack.enter_async_context(
                        client.stream(
                            "POST", ANALYSIS_STREAM, json={"issue_key": f"MOB-{n}"}, timeout=120
                        )
                    )
                    for n in range(1, 5)
                )
            )
            assert [a.status_code for a in answers] == [200] * 4
            streams = [SSEReader(answer) for answer in answers]
            counts = await until_streams_on_both(scaled, total=4)
            victim.process.kill()
            victim.process.wait(timeout=10)
            killed_at = time.monotonic()
            for stream in streams:
                with contextlib.suppress(httpx.HTTPError):
                    await stream.read()
        survivor_before = (await analyses_served([survivor]))[0]
        after_kill = await asyncio.gather(
            *(
                client.post("/ai/analyze-issue", json={"issue_key": f"MOB-{n}", "refresh": True})
                for n in (7, 8)
            )
        )
        next_seconds = time.monotonic() - killed_at
        survivor_served = (await analyses_served([survivor]))[0] - survivor_before
    finally:
        await client.aclose()
        if victim.process.poll() is not None:
            await asyncio.to_thread(scaled.ai_restart, 0)

    endings = [s.events[-1].event if s.events else None for s in streams]
    errors = [json.loads(s.events[-1].data) for s in streams if s.events[-1].event == "error"]
    assert sum(counts) == 4, counts
    assert endings.count("error") == counts[0], (endings, counts)
    assert endings.count("done") == counts[1], (endings, counts)
    assert {e["code"] for e in errors} == {"ai_service_unavailable"}
    assert [a.status_code for a in after_kill] == [200, 200], [a.text[:200] for a in after_kill]
    assert survivor_served == 2
    print(
        f"ai-service killed with {int(counts[0])} of 4 streams: those ended in "
        f"ai_service_unavailable, {int(counts[1])} done; 2 calls after the kill answered "
        f"{next_seconds:.1f}s after it"
    )
