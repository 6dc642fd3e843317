"""Two API and two ai-service processes behind HAProxy: what must hold across processes does."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import httpx

from tests.scale.conftest import QUOTA
from tests.scale.support import forget_jira_cache, forget_quota, until_llm_busy
from tests.scale.topology import Topology
from tests.support import sandbox
from tests.support.ids import ACME, ALICE, BRUNO
from tests.support.signin import sign_in
from tests.support.sse import SSEReader


async def test_session_and_csrf_hold_on_both_api_processes(
    scaled: Topology, sandbox_url: str
) -> None:
    client = await sign_in(scaled.api_url, BRUNO)
    try:
        served: Counter[str] = Counter()
        for _ in range(8):
            answer = await client.put("/me/site", json={"cloud_id": ACME})
            assert answer.status_code == 200, answer.text
            served[answer.headers["x-served-by"]] += 1
        # Without the CSRF header the same session is refused, on either process.
        refused = await client.put("/me/site", json={"cloud_id": ACME}, headers={"X-CSRFToken": ""})
        assert refused.status_code == 403
    finally:
        await client.aclose()

    assert set(served) == {"api1", "api2"}, served
    assert min(served.values()) >= 3, served
    print(f"session/CSRF requests per process: {dict(served)}")


async def test_one_refresh_for_twenty_calls_over_both_processes(
    scaled: Topology, sandbox_url: str
) -> None:
    client = await sign_in(scaled.api_url, ALICE, ACME)
    try:
        await forget_jira_cache()
        httpx.post(sandbox_url + "/_sandbox/tokens/expire", json={"account_id": ALICE})
        before = sandbox.stats(sandbox_url)["refreshes"]
        answers = await asyncio.gather(*(client.get("/jira/projects") for _ in range(20)))
    finally:
        await client.aclose()

    assert [a.status_code for a in answers] == [200] * 20, [a.text[:200] for a in answers]
    served = Counter(a.headers["x-served-by"] for a in answers)
    assert set(served) == {"api1", "api2"}, served
    refreshes = sandbox.stats(sandbox_url)["refreshes"] - before
    print(f"20 calls after expiry: {dict(served)}, refreshes {refreshes}")
    assert refreshes == 1


async def test_the_ai_quota_holds_across_both_processes(scaled: Topology, fast_llm: str) -> None:
    await forget_quota(BRUNO)
    client = await sign_in(scaled.api_url, BRUNO, ACME)
    try:
        answers = [
            await client.post("/ai/analyze-issue", json={"issue_key": "MOB-1"})
            for _ in range(QUOTA + 1)
        ]
    finally:
        await client.aclose()

    assert [a.status_code for a in answers] == [200] * QUOTA + [429], answers[-2].text[:300]
    assert answers[-1].json()["code"] == "rate_limited"
    served = Counter(a.headers["x-served-by"] for a in answers)
    assert set(served) == {"api1", "api2"}, served
    print(f"quota {QUOTA}/min: {len(answers)} calls over {dict(served)}, last one 429")


SUMMARY = "/ai/summarize-jql/stream"
SMALL = {"jql": "project = MOB", "max_issues": 30, "language": "fr", "refresh": True}


async def open_stream(
    client: httpx.AsyncClient, stack: contextlib.AsyncExitStack, body: dict[str, object]
) -> tuple[str, SSEReader]:
    answer = await stack.enter_async_context(client.stream("POST", SUMMARY, json=body, timeout=180))
    assert answer.status_code == 200
    return answer.headers["x-served-by"], SSEReader(answer)


async def until_map(stream: SSEReader) -> None:
    async for event in stream:
        if event.event == "log" and event.json()["step"] == "map":
            return
    raise AssertionError("the stream ended before its first map chunk")


async def test_a_killed_api_process_costs_only_its_streams_which_resume_on_the_other(
    scaled: Topology, sandbox_url: str
) -> None:
    """Runs last: it leaves one API process behind the balancer."""
    await forget_quota(ALICE)  # other tests of the session analyze as Alice too
    client = await sign_in(scaled.api_url, ALICE, ACME)
    sandbox.llm_pace(sandbox_url, tokens_per_second=300, first_token_ms=0)
    try:
        async with contextlib.AsyncExitStack() as stack:
            streams: dict[str, SSEReader] = {}
            bodies: dict[str, dict[str, object]] = {}
            for language in ("fr", "en", "de", "es"):
                body = {**SMALL, "language": language}
                served, stream = await open_stream(client, stack, body)
                if served not in streams:
                    streams[served], bodies[served] = stream, body
                if len(streams) == 2:
                    break
            assert set(streams) == {"api1", "api2"}
            for stream in streams.values():
                # SSE is not buffered by the balancer: progress arrives while the run goes on.
                await until_map(stream)
            assert await until_llm_busy(sandbox_url) >= 1

            victim, survivor = scaled.apis[0], streams["api2"]
            victim_stream = streams["api1"]
            victim.process.kill()
            victim.process.wait(timeout=10)
            killed_at = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                await victim_stream.read()
            last_id = victim_stream.events[-1].id
            body = bodies["api1"]

            resumed_answer = await stack.enter_async_context(
                client.stream(
                    "POST", SUMMARY, json=body, headers={"Last-Event-ID": last_id}, timeout=180
                )
            )
            assert resumed_answer.headers["x-served-by"] == "api2"
            resumed = SSEReader(resumed_answer)
            first = await resumed.__anext__()
            resume_seconds = time.monotonic() - killed_at
            await resumed.read()
            # The other process's stream never noticed.
            await survivor.read()
    finally:
        await client.aclose()

    assert survivor.events[-1].event == "done"
    assert first is not None
    assert resumed.events[-1].event == "done"
    assert resumed.events[-1].json()["coverage"]["chunks_reused"] >= 1
    print(f"resume after kill: first event {resume_seconds:.2f}s after the kill")
