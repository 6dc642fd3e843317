"""What the real OpenAI API does to a client, on /v1 for gpt-* and o* names: reasoning models refuse
``temperature`` ≠ 1 and ``max_tokens`` and spend ``max_completion_tokens`` on hidden reasoning; an
account without credit gets ``insufficient_quota``; a token-per-minute bucket with its headers.
Ollama names on the same endpoint keep Ollama's behaviour."""

from __future__ import annotations

import math
import re

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from sandbox.llm import tokens
from tests.sandbox.llm_helpers import USER, control

MESSAGES = [USER]
ANSWER = (
    "PROJ-1 (Done) is about “Fix the login page”. PROJ-2 (To Do) is about “Add an export button”."
)
QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors."
)


@pytest.fixture
def llm_url(sandbox_url: str) -> str:
    control(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    return sandbox_url


def _client(url: str, key: str = "sk-test") -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=10)


async def test_reasoning_models_refuse_a_temperature_other_than_one(llm_url: str) -> None:
    client = _client(llm_url)

    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="gpt-5-mini",
            messages=MESSAGES,
            temperature=0.2,
        )
    async with httpx.AsyncClient() as http:
        raw = await http.post(
            f"{llm_url}/v1/chat/completions",
            headers={"authorization": "Bearer sk-test"},
            json={"model": "o4-mini", "messages": MESSAGES, "temperature": 0},
        )
    one = await client.chat.completions.create(
        model="gpt-5-mini",
        messages=MESSAGES,
        temperature=1,
    )
    other = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        temperature=0.2,
    )

    assert caught.value.body == {
        "message": "Unsupported value: 'temperature' does not support 0.2 with this model. Only "
        "the default (1) value is supported.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "unsupported_value",
    }
    assert raw.status_code == 400
    assert raw.json()["error"]["message"].startswith(
        "Unsupported value: 'temperature' does not support 0 with this model."
    )
    assert one.choices[0].message.content == ANSWER
    assert other.choices[0].message.content == ANSWER


async def test_reasoning_models_refuse_max_tokens(llm_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await _client(llm_url).chat.completions.create(
            model="gpt-5-mini",
            messages=MESSAGES,
            max_tokens=500,
        )

    assert caught.value.body == {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
        "'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }


async def test_max_completion_tokens_covers_the_hidden_reasoning(llm_url: str) -> None:
    client = _client(llm_url)

    full = await client.chat.completions.create(
        model="gpt-5-mini",
        messages=MESSAGES,
    )
    starved = await client.chat.completions.create(
        model="gpt-5-mini",
        messages=MESSAGES,
        max_completion_tokens=150,
    )
    short = await client.chat.completions.create(
        model="gpt-5-mini",
        messages=MESSAGES,
        max_completion_tokens=198,
    )
    minimal = await client.chat.completions.create(
        model="gpt-5-mini",
        messages=MESSAGES,
        reasoning_effort="minimal",
    )

    assert full.choices[0].message.content == ANSWER
    assert full.usage is not None
    assert full.usage.completion_tokens_details is not None
    assert full.usage.completion_tokens_details.reasoning_tokens == 192
    assert full.usage.completion_tokens == 192 + tokens.count(ANSWER)
    # All 150 tokens went to reasoning: an empty answer, cut.
    assert starved.choices[0].message.content == ""
    assert starved.choices[0].finish_reason == "length"
    assert starved.usage is not None
    assert starved.usage.completion_tokens == 150
    assert short.choices[0].message.content == "PROJ-1 (Done)"
    assert short.choices[0].finish_reason == "length"
    assert minimal.usage is not None
    assert minimal.usage.completion_tokens == tokens.count(ANSWER)


async def test_reasoning_effort_is_refused_by_other_models(llm_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await _client(llm_url).chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            reasoning_effort="low",
        )

    assert caught.value.param == "reasoning_effort"
    assert caught.value.code == "unsupported_parameter"


async def test_an_account_without_credit_gets_insufficient_quota(llm_url: str) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await _client(llm_url, "sk-noquota-1").chat.completions.create(
            model="gpt-5-mini",
            messages=MESSAGES,
        )
    fine = await _client(llm_url, "sk-paid").chat.completions.create(
        model="gpt-5-mini",
        messages=MESSAGES,
    )

    assert caught.value.status_code == 429
    assert caught.value.body == {
        "message": QUOTA,
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
    assert "retry-after" not in caught.value.response.headers
    assert fine.choices[0].message.content == ANSWER


async def test_every_answer_carries_the_rate_limit_headers(llm_url: str) -> None:
    response = await _client(llm_url).chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        max_completion_tokens=800,
    )

    prompt = tokens.chat_tokens(MESSAGES)
    assert response.headers["x-ratelimit-limit-tokens"] == "200000"
    assert response.headers["x-ratelimit-remaining-tokens"] == str(200_000 - prompt - 800)
    assert response.headers["x-ratelimit-limit-requests"] == "500"
    assert response.headers["x-ratelimit-remaining-requests"] == "499"
    assert re.fullmatch(r"\d+ms", response.headers["x-ratelimit-reset-tokens"])
    assert response.headers["x-ratelimit-reset-requests"] == "120ms"


async def test_a_spent_token_budget_is_a_429_with_when_to_retry(llm_url: str) -> None:
    client = _client(llm_url, "sk-tpm1000-a")
    prompt = tokens.chat_tokens(MESSAGES)

    first = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        max_completion_tokens=800,
    )
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            max_completion_tokens=800,
        )

    left = 1000 - prompt - 800
    assert first.headers["x-ratelimit-remaining-tokens"] == str(left)
    assert first.headers["x-ratelimit-limit-tokens"] == "1000"
    error = caught.value
    assert isinstance(error.body, dict)
    message = error.body["message"]
    assert error.type == "tokens"
    assert error.code == "rate_limit_exceeded"
    match = re.fullmatch(
        r"Rate limit reached for gpt-4o-mini in organization org-sandbox on tokens per min "
        rf"\(TPM\): Limit 1000, Used (\d+), Requested {prompt + 800}\. Please try again "
        r"in (\d+\.\d+)s\. Visit https://platform\.openai\.com/account/rate-limits to learn more\.",
        message,
    )
    assert match is not None, message
    # The bucket refills 1,000 tokens a minute (one every 60 ms) while the test runs: a few
    # tokens of slack, no more.
    used, wait = int(match.group(1)), float(match.group(2))
    assert 1000 - left - 5 <= used <= 1000 - left
    assert (prompt + 800 - left - 5) * 0.06 < wait <= (prompt + 800 - left) * 0.06
    assert error.response.headers["retry-after"] == str(math.ceil(wait))
    assert left <= int(error.response.headers["x-ratelimit-remaining-tokens"]) <= left + 5
    assert error.response.headers["x-ratelimit-limit-tokens"] == "1000"


async def test_ollama_names_keep_ollamas_rules_on_v1(llm_url: str) -> None:
    async with httpx.AsyncClient() as http:
        # No key needed, any temperature, max_completion_tokens unknown to Ollama (dropped).
        unbounded = await http.post(
            f"{llm_url}/v1/chat/completions",
            json={
                "model": "llama3.1:8b",
                "messages": MESSAGES,
                "temperature": 0.2,
                "max_completion_tokens": 3,
            },
        )
        capped = await http.post(
            f"{llm_url}/v1/chat/completions",
            json={"model": "llama3.1:8b", "messages": MESSAGES, "max_tokens": 3},
        )

    assert unbounded.status_code == 200
    assert unbounded.json()["choices"][0]["message"]["content"] == ANSWER
    assert unbounded.json()["choices"][0]["finish_reason"] == "stop"
    assert "x-ratelimit-limit-tokens" not in unbounded.headers
    assert capped.json()["choices"][0] == {
        "index": 0,
        "message": {"role": "assistant", "content": "PROJ-1"},
        "finish_reason": "length",
    }
    assert capped.json()["usage"] == {
        "prompt_tokens": 40,
        "completion_tokens": 3,
        "total_tokens": 43,
    }
    assert capped.json()["system_fingerprint"] == "fp_ollama"


async def test_include_usage_adds_a_last_chunk(llm_url: str) -> None:
    stream = await _client(llm_url).chat.completions.create(
        model="gpt-5-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 192 + tokens.count(ANSWER)
    assert chunks[-1].usage.prompt_tokens == tokens.chat_tokens(MESSAGES)
    assert all(c.usage is None for c in chunks[:-1])
