"""What a stock Ollama and the real OpenAI API do to a client, on the sandbox at its defaults (a
4,096-token context on Ollama's ``/v1``, one request at a time): the old ``/v1`` path is cut; the
engine's native path sizes the context itself; thinking models stream text; OpenAI's reasoning
models, quota and missing models get what they need."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import openai
import pytest

from ai_service.contract.schemas import STREAM_SECTIONS, AnalyzeRequest
from ai_service.engine import (
    EngineConfig,
    LLMQuotaExhausted,
    LLMRateLimited,
    LLMUnavailable,
    issue_analyze,
    issue_analyze_stream,
    jql_summarize,
)
from ai_service.engine.llm import Budget
from ai_service.engine.pipeline import analysis_messages, analysis_room, cost_of, issue_context
from ai_service.engine.providers.ollama import ollama_error
from ai_service.engine.providers.openai import rate_limit_wait
from ai_service.engine.readiness import llm_check
from core.errors import ProbeFailure
from tests.ai_service.dataset import analyze_request, summarize_request
from tests.support import sandbox
from tests.support.ai import make_issue


def routes(sandbox_url: str) -> dict[str, int]:
    return dict(sandbox.stats(sandbox_url)["routes"])


async def events_of(config: EngineConfig, request: AnalyzeRequest) -> list[tuple[str, Any]]:
    return [
        (e.name, json.loads(e.data))
        async for e in issue_analyze_stream(config=config, request=request)
    ]


def test_the_old_v1_path_is_cut_on_the_sandbox(fast_llm: str) -> None:
    """The regression the sandbox now catches: PAY-7's analysis as the engine builds it for a 16k
    context, sent the old way (the openai SDK on Ollama's /v1, which cannot set num_ctx)."""
    budget = Budget(context_tokens=16_384, output_tokens=2_048, family="llama", factor=1.0)
    request = analyze_request("PAY-7")
    context = issue_context(
        request, room=analysis_room(budget, "fr", "analyze"), cost=cost_of(budget)
    )
    messages = analysis_messages("fr", "analyze", context)
    client = openai.OpenAI(base_url=fast_llm + "/v1", api_key="ollama", max_retries=0)

    completion = client.chat.completions.create(
        model="llama3.1:8b",
        messages=messages,  # type: ignore[arg-type]
        temperature=0.2,
    )

    assert completion.choices[0].finish_reason == "stop"  # a normal 200 ...
    assert completion.usage is not None
    assert completion.usage.prompt_tokens <= 4_096  # ... on what survived the cut
    assert sandbox.stats(fast_llm)["llm_truncated"] == 1


async def test_the_native_path_analyses_pay7_uncut_in_one_request(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    config = dataclasses.replace(engine_config, context_tokens=None)  # auto

    events = await events_of(config, analyze_request("PAY-7"))

    stats = sandbox.stats(fast_llm)
    assert events[-1][0] == "done"
    assert stats["llm_truncated"] == 0
    assert stats["routes"]["POST /api/chat"] == 1
    assert 8_000 < stats["llm_prompt_tokens"] < 16_384
    assert events[-1][1]["coverage"]["comments_analyzed"] > 157  # the old engine's count


async def test_a_1000_issue_summary_is_never_cut(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    config = dataclasses.replace(engine_config, context_tokens=None)

    summary = await jql_summarize(config=config, request=summarize_request(1000))

    stats = sandbox.stats(fast_llm)
    assert summary.coverage.analyzed == 1000
    assert summary.coverage.chunks > 1
    assert stats["llm_truncated"] == 0
    assert stats["routes"]["POST /api/chat"] > summary.coverage.chunks  # the map, then combines


@pytest.mark.parametrize("model", ["qwen3:8b", "thinker:latest"])
async def test_a_thinking_model_streams_text_not_blanks(
    engine_config: EngineConfig, fast_llm: str, model: str
) -> None:
    config = dataclasses.replace(engine_config, ollama_model=model)

    events = await events_of(config, AnalyzeRequest(issue=make_issue(3), language="fr"))

    assert events[-1][0] == "done"
    results = {data["section"]: data["content"] for name, data in events if name == "result"}
    assert sorted(results) == sorted(STREAM_SECTIONS)
    assert all(text.strip() for text in results.values())
    texts = "".join(data["text"] for name, data in events if name == "delta")
    assert "<think>" not in texts
    assert "</think>" not in texts


async def test_reasoning_in_the_content_is_dropped_and_said(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    config = dataclasses.replace(engine_config, ollama_model="thinker:latest")

    events = await events_of(config, AnalyzeRequest(issue=make_issue(4), language="fr"))

    think = [data for name, data in events if name == "log" and data["step"] == "think"]
    assert think == [{"step": "think", "message": "le modèle réfléchit"}]


def openai_config(engine_config: EngineConfig, sandbox_url: str, **fields: Any) -> EngineConfig:
    return dataclasses.replace(
        engine_config,
        provider="openai",
        openai_base_url=sandbox_url + "/v1",
        openai_api_key=fields.pop("key", "sk-test-engine"),
        **fields,
    )


async def test_gpt5_mini_works_without_temperature_once_it_refused_it(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    config = openai_config(
        engine_config, fast_llm, openai_model="gpt-5-mini", key="sk-test-gpt5-mini"
    )

    summary = await jql_summarize(
        config=config,
        request=summarize_request(5).model_copy(update={"language": "en"}),
    )
    analysis = await issue_analyze(config=config, request=AnalyzeRequest(issue=make_issue(2)))
    events = await events_of(config, AnalyzeRequest(issue=make_issue(3)))

    assert (summary.provider, summary.model) == ("openai", "gpt-5-mini")
    assert analysis.issue_key == "PAY-2"
    assert events[-1][0] == "done"
    # Three answers, and one 400 (temperature refused) before the first of them.
    assert routes(fast_llm)["POST /v1/chat/completions"] == 4


async def test_an_account_without_credit_gets_llm_quota_exhausted(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    config = openai_config(engine_config, fast_llm, key="sk-test-noquota")

    with pytest.raises(LLMQuotaExhausted) as caught:
        await issue_analyze(config=config, request=AnalyzeRequest(issue=make_issue(1)))

    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
        502,
        "llm_quota_exhausted",
        None,
    )
    assert "no credit" in caught.value.detail
    assert routes(fast_llm)["POST /v1/chat/completions"] == 1  # no wait cures it: no retry


async def test_readiness_names_a_model_that_is_not_pulled(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    config = dataclasses.replace(engine_config, ollama_model="mistral:7b")

    with pytest.raises(ProbeFailure) as caught:
        await llm_check(config)

    assert str(caught.value) == "model mistral:7b is not pulled: run `ollama pull mistral:7b`"
    assert await llm_check(engine_config) == "ok"


async def test_a_rate_limit_inside_a_map_reduce_is_waited_out(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    config = dataclasses.replace(engine_config, context_tokens=4000)
    sandbox.add_fault(fast_llm, "llm", mode="status", status=429, retry_after=1, count=1)

    summary = await jql_summarize(config=config, request=summarize_request(300))

    assert summary.coverage.chunks > 1
    calls = routes(fast_llm)["POST /api/chat"]
    assert calls > summary.coverage.chunks + 1  # the map, the combine(s), and the refused one


async def test_a_rate_limit_beyond_the_wait_budget_is_passed_on_with_its_retry_after(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    config = dataclasses.replace(engine_config, context_tokens=4000)
    sandbox.add_fault(fast_llm, "llm", mode="status", status=429, retry_after=600, count=1)

    with pytest.raises(LLMRateLimited) as caught:
        await jql_summarize(config=config, request=summarize_request(300))

    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
        503,
        "llm_rate_limited",
        600,
    )


async def test_a_crashed_runner_is_sent_once_more_then_named(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    request = AnalyzeRequest(issue=make_issue(1))
    sandbox.add_fault(fast_llm, "llm", mode="runner_crash", count=1)

    analysis = await issue_analyze(config=engine_config, request=request)

    assert analysis.issue_key == "PAY-1"
    assert routes(fast_llm)["POST /api/chat"] == 2  # the crash, then the reloaded runner's answer

    sandbox.add_fault(fast_llm, "llm", mode="runner_crash")
    with pytest.raises(LLMUnavailable) as caught:
        await issue_analyze(config=engine_config, request=request)

    assert caught.value.detail == (
        "The Ollama model runner stopped (often out of memory); see the Ollama server logs."
    )
    assert routes(fast_llm)["POST /api/chat"] == 4


def test_ollamas_full_queue_is_a_rate_limit_not_an_outage() -> None:
    busy = ollama_error(
        503,
        "server busy, please try again.  maximum pending requests exceeded",
        model="llama3.1:8b",
        headers=httpx.Headers(),
    )
    other = ollama_error(503, "an error", model="llama3.1:8b", headers=httpx.Headers())

    assert (type(busy), busy.status, busy.retry_after, busy.retryable) == (
        LLMRateLimited,
        503,
        10,
        False,
    )
    assert (type(other), other.status, other.retryable) == (LLMUnavailable, 502, False)


def test_openais_wait_is_read_from_whatever_it_sent() -> None:
    def wait(message: str = "", **headers: str) -> int:
        request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions")
        return rate_limit_wait(httpx.Response(429, headers=headers, request=request), message)

    assert wait(**{"retry-after-ms": "1500"}) == 2
    assert wait(**{"retry-after": "7"}) == 7
    assert wait("Rate limit reached for gpt-4o-mini (TPM). Please try again in 8.64s.") == 9
    assert wait("Please try again in 120ms.") == 1
    assert wait(**{"x-ratelimit-reset-tokens": "6m0s"}) == 360
    assert wait() == 30
