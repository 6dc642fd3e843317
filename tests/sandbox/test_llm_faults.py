"""LLM faults, pace and cancellation, each seen from the vendor SDKs."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import ollama
import openai
import pytest
from openai import AsyncOpenAI

from tests.support import sandbox

MESSAGES = [
    {
        "role": "user",
        "content": "Summarize:\n```data\nPROJ-1 [Done] Fix the login page\n"
        "PROJ-2 [To Do] Add an export button\n```",
    }
]


async def _collect(stream: AsyncIterator[Any], sink: list[Any]) -> None:
    """Append every item of ``stream`` to ``sink`` (kept when the stream fails midway)."""
    async for item in stream:
        sink.append(item)


@pytest.fixture
def llm_url(sandbox_url: str) -> str:
    sandbox.llm_pace(sandbox_url, tokens_per_second=5000)
    return sandbox_url


@pytest.fixture
def client(llm_url: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="sk-test", max_retries=0, timeout=10)


async def test_status_500_is_an_internal_server_error(llm_url: str, client: AsyncOpenAI) -> None:
    sandbox.add_fault(llm_url, "llm", mode="status", status=500, count=1)

    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    after = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    assert after.choices[0].finish_reason == "stop"


async def test_status_429_carries_retry_after(llm_url: str, client: AsyncOpenAI) -> None:
    sandbox.add_fault(llm_url, "llm", mode="status", status=429, retry_after=7)

    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.headers["retry-after-ms"] == "7000"


async def test_status_fault_on_ollama_uses_its_error_shape(llm_url: str) -> None:
    sandbox.add_fault(
        llm_url, "llm", mode="status", status=429, retry_after=3, path_regex="^/api/chat$"
    )

    with pytest.raises(ollama.ResponseError) as caught:
        await ollama.AsyncClient(host=llm_url).chat(model="llama3.1:8b", messages=MESSAGES)

    assert caught.value.status_code == 429
    assert caught.value.error == "too many requests (sandbox fault)"


async def test_delay_postpones_the_answer(llm_url: str, client: AsyncOpenAI) -> None:
    sandbox.add_fault(llm_url, "llm", mode="delay", delay_ms=400)

    started = time.monotonic()
    completion = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert time.monotonic() - started >= 0.4
    assert completion.choices[0].message.content is not None


async def test_hang_ends_in_an_sdk_timeout_counted_as_cancelled(llm_url: str) -> None:
    sandbox.add_fault(llm_url, "llm", mode="hang")
    hasty = AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="sk-test", max_retries=0, timeout=0.3)

    with pytest.raises(openai.APITimeoutError):
        await hasty.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    await sandbox.wait_for_async(llm_url, "llm_cancelled>=1")
    assert sandbox.stats(llm_url)["llm_cancelled"] == 1


async def test_malformed_plain_answer_has_broken_json_content(
    llm_url: str, client: AsyncOpenAI
) -> None:
    sandbox.add_fault(llm_url, "llm", mode="malformed")

    completion = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, response_format={"type": "json_object"}
    )

    content = completion.choices[0].message.content or ""
    assert content.startswith('{"summary": "PROJ-1 (Done) is about')
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)


async def test_malformed_stream_breaks_sdk_iteration(llm_url: str, client: AsyncOpenAI) -> None:
    sandbox.add_fault(llm_url, "llm", mode="malformed")
    received: list[Any] = []

    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    with pytest.raises(json.JSONDecodeError):
        await _collect(stream, received)

    assert len(received) > 3


async def test_malformed_ollama_stream_breaks_sdk_iteration(llm_url: str) -> None:
    sandbox.add_fault(llm_url, "llm", mode="malformed")
    received: list[Any] = []

    stream = await ollama.AsyncClient(host=llm_url).chat(
        model="llama3.1:8b", messages=MESSAGES, stream=True
    )
    with pytest.raises(json.JSONDecodeError):
        await _collect(stream, received)

    assert len(received) > 3


async def test_cut_stream_fails_mid_iteration_without_done(
    llm_url: str, client: AsyncOpenAI
) -> None:
    sandbox.add_fault(llm_url, "llm", mode="cut_stream", count=1)
    chunks: list[Any] = []

    stream = await client.chat.completions.create(
        model="gpt-4.1-mini", messages=MESSAGES, stream=True
    )
    with pytest.raises(httpx.RemoteProtocolError):
        await _collect(stream, chunks)
    texts = [c.choices[0].delta.content or "" for c in chunks]
    full = await client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)

    whole = full.choices[0].message.content or ""
    assert len(texts) > 3
    assert whole.startswith("".join(texts))
    assert len("".join(texts)) < len(whole)
    assert sandbox.stats(llm_url)["llm_cancelled"] == 0


async def test_cut_plain_response_is_a_connection_error(llm_url: str, client: AsyncOpenAI) -> None:
    sandbox.add_fault(llm_url, "llm", mode="cut_stream")

    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert sandbox.stats(llm_url)["llm_cancelled"] == 0


async def test_cut_ollama_stream_ends_with_an_error_line(llm_url: str) -> None:
    sandbox.add_fault(llm_url, "llm", mode="cut_stream")
    received: list[Any] = []

    stream = await ollama.AsyncClient(host=llm_url).chat(
        model="llama3.1:8b", messages=MESSAGES, stream=True
    )
    with pytest.raises(ollama.ResponseError) as caught:
        await _collect(stream, received)

    assert caught.value.status_code == -1
    assert caught.value.error == "an error was encountered while running the model (sandbox cut)"
    assert len(received) > 3


async def test_closing_a_stream_early_is_counted_once(sandbox_url: str) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=20)
    client = AsyncOpenAI(base_url=f"{sandbox_url}/v1", api_key="sk-test", max_retries=0)

    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    received = 0
    async for _chunk in stream:
        received += 1
        if received == 2:
            break
    await stream.close()

    await sandbox.wait_for_async(sandbox_url, "llm_cancelled>=1")
    assert sandbox.stats(sandbox_url)["llm_cancelled"] == 1
    assert sandbox.stats(sandbox_url)["counters"]["llm_requests"] == 1


async def test_completed_requests_are_not_counted_as_cancelled(llm_url: str) -> None:
    client = ollama.AsyncClient(host=llm_url)

    async for _part in await client.chat(model="llama3.1:8b", messages=MESSAGES, stream=True):
        pass
    await client.chat(model="llama3.1:8b", messages=MESSAGES)

    stats = sandbox.stats(llm_url)
    assert stats["llm_cancelled"] == 0
    assert stats["counters"]["llm_requests"] == 2
    assert stats["routes"]["POST /api/chat"] == 2


async def test_stream_chunks_arrive_over_time_at_the_set_pace(sandbox_url: str) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=40, first_token_ms=100)
    client = AsyncOpenAI(base_url=f"{sandbox_url}/v1", api_key="sk-test", max_retries=0)
    contents = 0
    writing_at_first = None

    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            contents += 1
            if contents == 1:
                writing_at_first = sandbox.llm_active(sandbox_url)

    # The first piece reached the SDK while the sandbox was still writing the rest...
    assert writing_at_first == 1
    # ...which it wrote at the set pace, as its own clock kept it: the first after 100 ms, the
    # last (contents - 1) / 40 s later, give or take the ticks it groups writes by.
    timing = sandbox.llm_state(sandbox_url)["last_stream"]
    expected_span_ms = (contents - 1) / 40 * 1000
    assert timing["pieces"] == contents
    assert timing["first_write_ms"] >= 100
    assert timing["last_write_ms"] - timing["first_write_ms"] >= 0.8 * expected_span_ms
    assert expected_span_ms > 500


async def test_pace_control_is_shown_and_restored_by_reset(sandbox_url: str) -> None:
    async with httpx.AsyncClient() as http:
        initial = (await http.get(f"{sandbox_url}/_sandbox/llm")).json()
        changed = await http.post(
            f"{sandbox_url}/_sandbox/llm", json={"tokens_per_second": 7, "first_token_ms": 300}
        )
        refused = await http.post(f"{sandbox_url}/_sandbox/llm", json={"tokens_per_second": 0})
        await http.post(f"{sandbox_url}/_sandbox/reset")
        restored = (await http.get(f"{sandbox_url}/_sandbox/llm")).json()

    assert changed.json()["tokens_per_second"] == 7
    assert changed.json()["first_token_ms"] == 300
    assert refused.status_code == 400
    assert restored == initial
    assert (initial["tokens_per_second"], initial["first_token_ms"]) == (200.0, 20)


RUNNER_CRASH = (
    "model runner has unexpectedly stopped, this may be due to resource limitations or an "
    "internal error, check ollama server logs for details"
)


async def test_runner_crash_is_ollamas_500_and_costs_a_reload(llm_url: str) -> None:
    sandbox.add_fault(llm_url, "llm", mode="runner_crash", count=2)
    async with httpx.AsyncClient() as http:
        native = await http.post(
            f"{llm_url}/api/chat", json={"model": "llama3.1:8b", "messages": MESSAGES}
        )
        loaded = (await http.get(f"{llm_url}/api/ps")).json()["models"]
        v1 = await http.post(
            f"{llm_url}/v1/chat/completions", json={"model": "llama3.1:8b", "messages": MESSAGES}
        )
    after = await ollama.AsyncClient(host=llm_url).chat(model="llama3.1:8b", messages=MESSAGES)

    assert native.status_code == 500
    assert native.json() == {"error": RUNNER_CRASH}
    assert v1.status_code == 500
    assert v1.json() == {
        "error": {"message": RUNNER_CRASH, "type": "api_error", "param": None, "code": None}
    }
    assert loaded == []  # the runner died with the model
    assert after.done_reason == "stop"
    assert sandbox.stats(llm_url)["counters"]["llm_loads"] == 3


async def test_v1_mid_stream_error_is_an_empty_chunk_then_a_clean_end(llm_url: str) -> None:
    sandbox.add_fault(llm_url, "llm", mode="stream_error", count=1)
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "POST",
            f"{llm_url}/v1/chat/completions",
            json={"model": "llama3.1:8b", "messages": MESSAGES, "stream": True},
        ) as response,
    ):
        events = [line async for line in response.aiter_lines() if line]

    chunks = [json.loads(e.removeprefix("data: ")) for e in events]
    assert response.status_code == 200
    assert chunks[-1]["choices"] == [{"index": 0, "delta": {"content": ""}, "finish_reason": None}]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert "data: [DONE]" not in events
    assert len(chunks) > 3
    assert sandbox.stats(llm_url)["llm_cancelled"] == 0


async def test_v1_mid_stream_error_ends_the_sdk_iteration_without_a_finish(llm_url: str) -> None:
    sandbox.add_fault(llm_url, "llm", mode="stream_error", count=1)
    client = AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="ollama", max_retries=0)

    stream = await client.chat.completions.create(
        model="llama3.1:8b",
        messages=MESSAGES,
        stream=True,
    )
    chunks = [chunk async for chunk in stream]

    assert chunks[-1].choices[0].delta.content == ""
    assert [c.choices[0].finish_reason for c in chunks] == [None] * len(chunks)


async def test_native_mid_stream_error_is_an_error_line(llm_url: str) -> None:
    sandbox.add_fault(llm_url, "llm", mode="stream_error")
    received: list[Any] = []

    stream = await ollama.AsyncClient(host=llm_url).chat(
        model="llama3.1:8b", messages=MESSAGES, stream=True
    )
    with pytest.raises(ollama.ResponseError) as caught:
        await _collect(stream, received)

    assert caught.value.status_code == -1
    assert caught.value.error == RUNNER_CRASH
    assert len(received) > 3


async def test_openai_mid_stream_error_is_an_error_event(llm_url: str, client: AsyncOpenAI) -> None:
    sandbox.add_fault(llm_url, "llm", mode="stream_error")
    received: list[Any] = []

    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    with pytest.raises(openai.APIError) as caught:
        await _collect(stream, received)

    assert caught.value.message == (
        "The server had an error while processing your request. Sorry about that!"
    )
    assert len(received) > 3


async def test_ollama_v1_errors_have_ollamas_shape(llm_url: str) -> None:
    sandbox.add_fault(llm_url, "llm", mode="status", status=500, count=1)
    async with httpx.AsyncClient() as http:
        fault = await http.post(
            f"{llm_url}/v1/chat/completions", json={"model": "qwen3:8b", "messages": MESSAGES}
        )
        empty = await http.post(
            f"{llm_url}/v1/chat/completions", json={"model": "qwen3:8b", "messages": []}
        )
        missing = await http.post(
            f"{llm_url}/v1/chat/completions", json={"model": "mistral:7b", "messages": MESSAGES}
        )

    assert fault.json() == {
        "error": {
            "message": "an error was encountered while running the model (sandbox fault 500)",
            "type": "api_error",
            "param": None,
            "code": None,
        }
    }
    assert empty.status_code == 400
    assert empty.json() == {
        "error": {
            "message": "[] is too short - 'messages'",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "message": "model 'mistral:7b' not found",
            "type": "not_found_error",
            "param": None,
            "code": None,
        }
    }
