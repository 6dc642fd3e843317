"""The LLM limiter shared through Redis: a waiting analysis streams its place in the queue and
never times out while queued; a full queue is 503 ``llm_busy`` with Retry-After; the cap holds
across limiter instances (processes) because its state lives in Redis only."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
import redis

from ai_service.contract.schemas import AnalyzeRequest
from ai_service.engine import EngineConfig, issue_analyze_stream
from ai_service.engine import limiter as limiter_module
from ai_service.engine.errors import LLMBusy
from ai_service.engine.limiter import Limiter, LimiterSpec
from core.redis import async_redis_for
from tests.support import sandbox
from tests.support.ai import make_issue


@pytest.fixture
async def shared(engine_config: EngineConfig, redis_url: str) -> EngineConfig:
    """The engine with the limiter in Redis, one call at a time, its state cleared."""
    client = async_redis_for(redis_url)
    keys = [key async for key in client.scan_iter(match="llm:limit:*")]
    if keys:
        await client.delete(*keys)
    return dataclasses.replace(engine_config, redis_url=redis_url, max_concurrency=1)


def request(n: int) -> AnalyzeRequest:
    return AnalyzeRequest(issue=make_issue(n), language="fr")


async def test_a_queued_analysis_streams_its_position_and_does_not_time_out(
    shared: EngineConfig, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=40)
    # The second analysis has a total timeout far shorter than its wait: it only runs once it
    # holds the slot.
    impatient = dataclasses.replace(
        shared, timeout_seconds=0.4, first_token_timeout_seconds=0.4, idle_timeout_seconds=0.4
    )
    first = issue_analyze_stream(config=shared, request=request(1))
    seen: list[tuple[str, dict[str, Any]]] = []
    queued = asyncio.Event()

    async def second() -> None:
        async for event in issue_analyze_stream(config=impatient, request=request(2)):
            seen.append((event.name, json.loads(event.data)))
            if event.name == "log" and seen[-1][1]["step"] == "queue":
                queued.set()

    async for event in first:
        if event.name == "delta":
            break
    waiting = asyncio.create_task(second())
    await queued.wait()
    # 30 more chunks of the first answer at 40 a second: the second has waited 0.75 s > 0.4 s.
    deltas = 0
    async for event in first:
        deltas += event.name == "delta"
        if deltas == 30:
            break
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000)
    await first.aclose()
    await waiting

    names = [name for name, _ in seen]
    queue_logs = [data for name, data in seen if name == "log" and data["step"] == "queue"]
    assert queue_logs == [{"step": "queue", "message": "en attente du modèle, position 1"}]
    assert names.index("log") < names.index("delta")
    assert names[-1] == "done"
    assert "error" not in names
    assert (await sandbox.wait_for_async(sandbox_url, "llm_cancelled>=1"))[
        "llm_cancelled"
    ] == 1  # the first, closed by us


async def test_a_full_queue_is_llm_busy_with_retry_after(
    shared: EngineConfig, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=20)
    config = dataclasses.replace(shared, queue_max=0)
    first = issue_analyze_stream(config=config, request=request(1))
    async for event in first:
        if event.name == "delta":
            break

    events = [e async for e in issue_analyze_stream(config=config, request=request(2))]
    await first.aclose()

    assert [e.name for e in events][-1] == "error"
    assert json.loads(events[-1].data) == {
        "code": "llm_busy",
        "detail": "The language model is busy with other requests; retry shortly.",
        "retry_after": 10,
    }
    assert (LLMBusy.status, LLMBusy.code) == (503, "llm_busy")


async def test_the_cap_is_shared_by_every_limiter_on_the_same_redis(redis_url: str) -> None:
    spec = LimiterSpec(scope="test:shared", concurrency=2, queue_max=10, redis_url=redis_url)
    client = async_redis_for(redis_url)
    keys = [key async for key in client.scan_iter(match="llm:limit:*")]
    if keys:
        await client.delete(*keys)
    # Two instances stand for two processes: nothing but Redis is shared between them.
    limiters = [Limiter(spec), Limiter(spec), Limiter(spec)]
    holding = 0
    most = 0
    release = asyncio.Event()
    positions: list[int] = []

    async def call(limiter: Limiter) -> None:
        nonlocal holding, most

        async def on_wait(position: int) -> None:
            positions.append(position)

        async with limiter.slot(on_wait):
            holding += 1
            most = max(most, holding)
            await release.wait()
            holding -= 1

    tasks = [asyncio.create_task(call(limiters[n % 3])) for n in range(5)]
    while len(positions) < 3:  # three callers queued behind the two slots
        await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(*tasks)

    assert most == 2
    assert sorted(positions[:3]) == [1, 2, 3]
    assert await client.zcard(limiters[0].keys[0]) == 0  # every slot given back


class _CancelBecomesTimeout:
    """The real Redis client, except that a lease renewal hangs until cancelled and the cancel
    comes out as redis-py's ``TimeoutError``: what redis-py can do when a cancel lands while it
    reads a reply under its socket-timeout context (seen in the 500-stream burst)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.renewing = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    async def eval(self, script: str, numkeys: int, *args: Any) -> Any:
        if numkeys != 1:  # acquire and release: the real thing
            return await self.client.eval(script, numkeys, *args)
        self.renewing.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError as exc:
            raise redis.exceptions.TimeoutError("Timeout reading from socket") from exc


async def test_a_slot_is_given_back_even_when_redis_turns_the_renewers_cancel_into_a_timeout(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = LimiterSpec(scope="test:renew", concurrency=1, queue_max=1, redis_url=redis_url)
    client = _CancelBecomesTimeout(async_redis_for(redis_url))
    monkeypatch.setattr(limiter_module, "async_redis_for", lambda url: client)
    monkeypatch.setattr(limiter_module, "LEASE_SECONDS", 3.0)  # the first renewal after 1 s
    limiter = Limiter(spec)
    await client.client.delete(*limiter.keys)

    async def hold() -> None:
        async with limiter.slot():
            await client.renewing.wait()  # the renewer is inside its Redis call

    task = asyncio.create_task(hold())
    done, _ = await asyncio.wait({task}, timeout=10)

    # Before the fix the renewer swallowed its cancel and renewed for ever: never done.
    assert task in done
    assert await client.client.zcard(limiter.keys[0]) == 0
