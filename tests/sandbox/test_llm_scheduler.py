"""Ollama's scheduler: one request at a time per model in FIFO order (nothing sent while waiting), a
bounded queue answering 503, cold loads on first use and after keep_alive, reloads, aborted loads,
prompt evaluation in proportion to its tokens. Timing is read from the sandbox's own state and
metrics, never from sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import ollama
import pytest

from sandbox.__main__ import parse_args
from tests.sandbox.llm_helpers import USER, control, runner, stats, wait_for
from tests.servers import ServerProcess, start_sandbox

BUSY = "server busy, please try again.  maximum pending requests exceeded"
STREAM = {"model": "llama3.1:8b", "messages": [USER], "stream": True}


@pytest.fixture
def llm_url(sandbox_url: str) -> str:
    control(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    return sandbox_url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def _request(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Request:
    return http.build_request("POST", f"{url}/api/chat", json=body)


class Stream:
    """A streamed chat read line by line. The line iterator is kept: a collected one closes the
    response (httpx), which the sandbox would count as a client that left."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def first(self) -> str:
        return await anext(self.lines)

    async def rest(self) -> list[str]:
        return [line async for line in self.lines if line]

    async def aclose(self) -> None:
        await self.response.aclose()


async def _running(http: httpx.AsyncClient, url: str) -> Stream:
    """A streamed chat whose first token has arrived (it holds the model's slot)."""
    stream = Stream(await http.send(_request(http, url, STREAM), stream=True))
    assert '"done":false' in await stream.first()
    return stream


def test_the_defaults_are_a_stock_servers() -> None:
    config = parse_args([])

    assert config.ollama_context_length == 4096
    assert config.ollama_parallel == 1
    assert config.ollama_queue_max == 512
    assert config.ollama_keep_alive == "5m"
    assert config.ollama_load_ms == 3000
    assert config.ollama_prompt_tokens_per_second == 1000.0
    assert (config.openai_tpm, config.openai_rpm) == (200_000, 500)


async def test_one_request_at_a_time_in_fifo_order_with_no_bytes_while_queued(
    llm_url: str, http: httpx.AsyncClient
) -> None:
    control(llm_url, tokens_per_second=20)
    a = await _running(http, llm_url)
    b_task = asyncio.create_task(http.send(_request(http, llm_url, STREAM), stream=True))
    await wait_for(lambda: runner(llm_url, "llama3.1:8b")["queued"] == 1, "B queued")
    c_task = asyncio.create_task(http.send(_request(http, llm_url, STREAM), stream=True))
    await wait_for(lambda: runner(llm_url, "llama3.1:8b")["queued"] == 2, "C queued")

    # B and C wait without a byte, not even their headers.
    assert runner(llm_url, "llama3.1:8b")["running"] == 1
    assert not b_task.done()
    assert not c_task.done()
    await a.aclose()  # A leaves: its slot goes to the oldest waiter, B
    b = Stream(await b_task)
    assert '"done":false' in await b.first()
    assert runner(llm_url, "llama3.1:8b") == {
        "loaded": True,
        "context_length": 4096,
        "running": 1,
        "queued": 1,
    }
    assert not c_task.done()
    control(llm_url, tokens_per_second=50_000)
    await b.aclose()
    c = Stream(await c_task)
    body = await c.rest()
    await c.aclose()

    assert body[-1].startswith('{"model":"llama3.1:8b"')
    assert '"done":true' in body[-1]
    counters = stats(llm_url)
    assert counters["llm_queue_max"] == 2
    assert counters["llm_cancelled"] == 2
    assert counters["counters"]["llm_loads"] == 1


async def test_a_full_queue_answers_503_busy(llm_url: str, http: httpx.AsyncClient) -> None:
    assert httpx.get(f"{llm_url}/_sandbox/llm").json()["queue_max"] == 512
    control(llm_url, tokens_per_second=20, queue_max=1)
    a = await _running(http, llm_url)
    b_task = asyncio.create_task(http.send(_request(http, llm_url, STREAM), stream=True))
    await wait_for(lambda: runner(llm_url, "llama3.1:8b")["queued"] == 1, "B queued")

    native = await http.post(f"{llm_url}/api/chat", json={**STREAM, "stream": False})
    v1 = await http.post(
        f"{llm_url}/v1/chat/completions", json={"model": "llama3.1:8b", "messages": [USER]}
    )
    with pytest.raises(ollama.ResponseError) as caught:
        await ollama.AsyncClient(host=llm_url).chat(model="llama3.1:8b", messages=[USER])
    await a.aclose()
    b = await b_task
    await b.aclose()

    assert native.status_code == 503
    assert native.json() == {"error": BUSY}
    assert v1.status_code == 503
    assert v1.json() == {
        "error": {"message": BUSY, "type": "api_error", "param": None, "code": None}
    }
    assert caught.value.status_code == 503
    assert caught.value.error == BUSY
    assert stats(llm_url)["llm_queue_max"] == 1


async def test_prompt_evaluation_takes_time_in_proportion_to_its_tokens(llm_url: str) -> None:
    control(llm_url, prompt_tokens_per_second=1000)
    client = ollama.AsyncClient(host=llm_url)

    short = await client.chat(model="llama3.1:8b", messages=[USER])
    long = await client.chat(model="llama3.1:8b", messages=[USER, USER, USER])

    assert short.prompt_eval_count == 40
    assert short.prompt_eval_duration == 40_000_000  # 40 tokens at 1,000 a second
    assert long.prompt_eval_count == 110
    assert long.prompt_eval_duration == 110_000_000


async def test_the_first_request_loads_the_model(llm_url: str) -> None:
    control(llm_url, load_ms=150)
    client = ollama.AsyncClient(host=llm_url)

    cold = await client.chat(model="llama3.1:8b", messages=[USER])
    warm = await client.chat(model="llama3.1:8b", messages=[USER])
    other = await client.chat(model="qwen3:8b", messages=[USER], think=False)

    assert cold.load_duration is not None
    assert cold.load_duration >= 150_000_000
    assert warm.load_duration is not None
    assert warm.load_duration < 150_000_000
    assert other.load_duration is not None
    assert other.load_duration >= 150_000_000
    assert stats(llm_url)["counters"]["llm_loads"] == 2
    assert stats(llm_url)["llm_reloads"] == 0


async def test_keep_alive_zero_unloads_after_the_request(llm_url: str) -> None:
    control(llm_url, load_ms=150)
    client = ollama.AsyncClient(host=llm_url)

    await client.chat(model="llama3.1:8b", messages=[USER], keep_alive=0)
    after = await client.ps()
    again = await client.chat(model="llama3.1:8b", messages=[USER])

    assert after.models == []
    assert again.load_duration is not None
    assert again.load_duration >= 150_000_000
    assert stats(llm_url)["counters"]["llm_loads"] == 2


async def test_an_idle_model_unloads_after_its_keep_alive(llm_url: str) -> None:
    client = ollama.AsyncClient(host=llm_url)

    await client.chat(model="llama3.1:8b", messages=[USER], keep_alive="300ms")
    expires = (await client.ps()).models[0].expires_at
    await wait_for(
        lambda: httpx.get(f"{llm_url}/api/ps").json()["models"] == [], "the model to unload"
    )
    await client.chat(model="llama3.1:8b", messages=[USER])

    assert expires is not None
    assert expires.timestamp() - time.time() <= 0.3
    assert stats(llm_url)["counters"]["llm_loads"] == 2


async def test_keep_alive_sets_the_expiry_shown_by_ps(llm_url: str) -> None:
    client = ollama.AsyncClient(host=llm_url)

    await client.chat(model="llama3.1:8b", messages=[USER], keep_alive="1h")
    await client.chat(model="qwen3:8b", messages=[USER], keep_alive=-1, think=False)
    loaded = {m.model: m.expires_at for m in (await client.ps()).models}

    hour = loaded["llama3.1:8b"]
    forever = loaded["qwen3:8b"]
    assert hour is not None
    assert 3590 < hour.timestamp() - time.time() <= 3600
    assert forever is not None
    assert forever > datetime(2300, 1, 1, tzinfo=UTC)
    assert list(loaded) == ["qwen3:8b", "llama3.1:8b"]  # the longest left first


async def test_bad_keep_alive_is_refused(llm_url: str, http: httpx.AsyncClient) -> None:
    response = await http.post(
        f"{llm_url}/api/chat", json={"model": "llama3.1:8b", "messages": [USER], "keep_alive": "-1"}
    )

    assert response.status_code == 400
    assert response.json() == {"error": 'time: missing unit in duration "-1"'}


async def test_empty_messages_load_and_unload_the_model(
    llm_url: str, http: httpx.AsyncClient
) -> None:
    load = await http.post(f"{llm_url}/api/chat", json={"model": "llama3.1:8b"})
    loaded = httpx.get(f"{llm_url}/api/ps").json()["models"]
    unload = await http.post(
        f"{llm_url}/api/chat", json={"model": "llama3.1:8b", "messages": [], "keep_alive": 0}
    )
    unloaded = httpx.get(f"{llm_url}/api/ps").json()["models"]

    assert load.json()["done_reason"] == "load"
    assert load.json()["done"] is True
    assert [m["model"] for m in loaded] == ["llama3.1:8b"]
    assert unload.json()["done_reason"] == "unload"
    assert unloaded == []


async def test_a_client_that_leaves_during_the_load_aborts_it(llm_url: str) -> None:
    control(llm_url, load_ms=30_000)
    hasty = httpx.AsyncClient(timeout=httpx.Timeout(30, read=0.3))

    with pytest.raises(httpx.ReadTimeout):
        await hasty.post(f"{llm_url}/api/chat", json={**STREAM, "stream": False})
    await hasty.aclose()
    await wait_for(
        lambda: stats(llm_url)["counters"].get("llm_load_aborted") == 1, "the load to abort"
    )
    state = runner(llm_url, "llama3.1:8b")
    control(llm_url, load_ms=0)
    await ollama.AsyncClient(host=llm_url).chat(model="llama3.1:8b", messages=[USER])
    loaded = httpx.get(f"{llm_url}/api/ps").json()["models"]

    assert state["loaded"] is False  # the aborted load left nothing behind
    assert [m["model"] for m in loaded] == ["llama3.1:8b"]
    counters = stats(llm_url)
    assert counters["llm_cancelled"] == 1
    assert counters["counters"]["llm_loads"] == 1  # only the load that finished


@pytest.fixture(scope="module")
def parallel_sandbox() -> Iterator[ServerProcess]:
    """A sandbox whose Ollama runs with OLLAMA_NUM_PARALLEL=2."""
    server = start_sandbox(["--ollama-parallel", "2"])
    yield server
    server.stop()


async def test_parallel_is_a_knob(parallel_sandbox: ServerProcess) -> None:
    url = parallel_sandbox.url
    httpx.post(f"{url}/_sandbox/reset").raise_for_status()
    control(url, tokens_per_second=20, first_token_ms=0)
    async with httpx.AsyncClient(timeout=30) as http:
        a = await _running(http, url)
        b = await _running(http, url)
        c_task = asyncio.create_task(http.send(_request(http, url, STREAM), stream=True))
        await wait_for(lambda: runner(url, "llama3.1:8b")["queued"] == 1, "C queued")
        state = runner(url, "llama3.1:8b")
        await a.aclose()
        c = await c_task
        await b.aclose()
        await c.aclose()

    assert state["running"] == 2
    assert httpx.get(f"{url}/_sandbox/llm").json()["parallel"] == 2


async def test_reset_zeroes_the_llm_stats_and_unloads_every_model(llm_url: str) -> None:
    control(llm_url, queue_max=3, load_ms=0)
    client = ollama.AsyncClient(host=llm_url)
    await client.chat(model="llama3.1:8b", messages=[USER], options={"num_ctx": 2048})
    await client.chat(model="llama3.1:8b", messages=[USER] * 80, options={"num_ctx": 8})
    before = stats(llm_url)

    httpx.post(f"{llm_url}/_sandbox/reset").raise_for_status()

    after = stats(llm_url)
    assert before["llm_reloads"] == 1
    assert before["llm_truncated"] == 1
    assert before["llm_prompt_tokens"] == 40 + 8
    assert [after[k] for k in ("llm_truncated", "llm_prompt_tokens", "llm_reloads")] == [0, 0, 0]
    assert after["llm_queue_max"] == 0
    assert httpx.get(f"{llm_url}/api/ps").json() == {"models": []}
    assert httpx.get(f"{llm_url}/_sandbox/llm").json()["queue_max"] == 512
