"""Thinking models: qwen3:8b thinks by default (``message.thinking`` natively, ``delta.reasoning``
with ``"content":""`` on /v1) unless told not to, its thoughts cost time and eval_count; the
sandbox's ``thinker`` puts them in the content as older servers did; think levels."""

from __future__ import annotations

import json
from typing import Any

import httpx
import ollama
import pytest
from openai import AsyncOpenAI

from sandbox.llm import tokens
from tests.sandbox.llm_helpers import USER, control

ANSWER = (
    "PROJ-1 (Done) is about “Fix the login page”. PROJ-2 (To Do) is about “Add an export button”."
)


@pytest.fixture
def llm_url(sandbox_url: str) -> str:
    control(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    return sandbox_url


@pytest.fixture
def client(llm_url: str) -> ollama.AsyncClient:
    return ollama.AsyncClient(host=llm_url, timeout=10)


async def test_qwen3_thinks_before_it_answers_by_default(client: ollama.AsyncClient) -> None:
    parts = [p async for p in await client.chat(model="qwen3:8b", messages=[USER], stream=True)]

    thinking = [p.message.thinking for p in parts if p.message.thinking]
    content = [p.message.content for p in parts if p.message.content]
    first_content = next(i for i, p in enumerate(parts) if p.message.content)
    assert all(not p.message.thinking for p in parts[first_content:])
    assert all(not p.message.content for p in parts[:first_content])
    assert "".join(thinking).startswith("Okay, let me work out what is asked here.")
    assert len(thinking) == 320  # think: true is "medium"
    assert "".join(content) == ANSWER
    final = parts[-1]
    assert final.done
    assert final.done_reason == "stop"
    assert final.eval_count == 320 + tokens.count(ANSWER, "qwen")  # the thoughts are paid for


async def test_think_false_answers_at_once(client: ollama.AsyncClient) -> None:
    response = await client.chat(model="qwen3:8b", messages=[USER], think=False)

    assert response.message.thinking is None
    assert response.message.content == ANSWER
    assert response.eval_count == tokens.count(ANSWER, "qwen")


@pytest.mark.parametrize(("level", "budget"), [("low", 128), ("high", 768), ("max", 1536)])
async def test_think_levels_set_how_long_it_thinks(
    client: ollama.AsyncClient, level: Any, budget: int
) -> None:
    response = await client.chat(model="qwen3:8b", messages=[USER], think=level)

    assert response.message.thinking is not None
    assert len(tokens.tokenize(response.message.thinking, "qwen")) == budget
    assert response.eval_count == budget + tokens.count(ANSWER, "qwen")


async def test_num_predict_can_end_inside_the_thoughts(client: ollama.AsyncClient) -> None:
    response = await client.chat(model="qwen3:8b", messages=[USER], options={"num_predict": 50})

    assert response.message.content == ""
    assert response.done_reason == "length"
    assert response.eval_count == 50


async def test_a_model_without_thinking_refuses_think(llm_url: str) -> None:
    async with httpx.AsyncClient() as http:
        native = await http.post(
            f"{llm_url}/api/chat", json={"model": "llama3.1:8b", "messages": [USER], "think": True}
        )
        v1 = await http.post(
            f"{llm_url}/v1/chat/completions",
            json={"model": "llama3.1:8b", "messages": [USER], "reasoning_effort": "high"},
        )
        bad = await http.post(
            f"{llm_url}/api/chat", json={"model": "qwen3:8b", "messages": [USER], "think": "lots"}
        )
        off = await http.post(
            f"{llm_url}/api/chat",
            json={"model": "llama3.1:8b", "messages": [USER], "think": False, "stream": False},
        )

    assert native.status_code == 400
    assert native.json() == {"error": '"llama3.1:8b" does not support thinking'}
    assert v1.status_code == 400
    assert v1.json() == {
        "error": {
            "message": '"llama3.1:8b" does not support thinking',
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert bad.status_code == 400
    assert bad.json() == {
        "error": 'invalid think value: "lots" (must be "high", "medium", "low", "max", true, or '
        "false)"
    }
    assert off.status_code == 200


async def test_v1_reasoning_chunks_carry_an_empty_content(llm_url: str) -> None:
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "POST",
            f"{llm_url}/v1/chat/completions",
            json={"model": "qwen3:8b", "messages": [USER], "stream": True},
        ) as response,
    ):
        events = [line async for line in response.aiter_lines() if line]

    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": "", "reasoning": "Okay"}
    assert deltas[1] == {"content": "", "reasoning": ","}
    reasoning = [d for d in deltas if "reasoning" in d]
    assert len(reasoning) == 320
    assert all(d["content"] == "" for d in reasoning)
    # Every thought comes before the first word of the answer.
    assert not any("reasoning" in d for d in deltas[320:])
    assert "".join(d["content"] for d in deltas if "content" in d) == ANSWER
    assert deltas[-1] == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[0]["system_fingerprint"] == "fp_ollama"
    assert events[-1] == "data: [DONE]"


async def test_v1_through_the_openai_sdk(llm_url: str) -> None:
    client = AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="ollama", max_retries=0)

    thinking = await client.chat.completions.create(model="qwen3:8b", messages=[USER])
    plain = await client.chat.completions.create(
        model="qwen3:8b",
        messages=[USER],
        reasoning_effort="none",
    )

    message = thinking.choices[0].message
    assert message.content == ANSWER
    assert (message.model_extra or {})["reasoning"].startswith("Okay, let me work out")
    assert thinking.usage is not None
    assert plain.usage is not None
    assert thinking.usage.completion_tokens == 320 + plain.usage.completion_tokens
    assert "reasoning" not in (plain.choices[0].message.model_extra or {})
    assert plain.choices[0].message.content == ANSWER


async def test_thinker_thinks_inside_the_content_as_older_servers_did(
    client: ollama.AsyncClient, llm_url: str
) -> None:
    native = await client.chat(model="thinker", messages=[USER])
    v1 = await AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="ollama").chat.completions.create(
        model="thinker",
        messages=[USER],
        reasoning_effort="none",
    )

    content = native.message.content or ""
    assert native.message.thinking is None
    assert content.startswith("<think>\nOkay, let me work out what is asked here.")
    assert content.endswith(f"\n</think>\n\n{ANSWER}")
    assert v1.choices[0].message.content == content  # think: false changes nothing here
