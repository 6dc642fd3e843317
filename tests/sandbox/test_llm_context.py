"""Context size, as a stock Ollama applies it.

``/v1`` ignores ``num_ctx`` and cuts a long prompt to the server's 4,096 tokens (first 5 tokens and
the tail kept, a normal 200 built from what survived); ``/api/chat`` honours ``options.num_ctx`` up
to the model's maximum, a changed one reloads the model, and a chat that does not fit loses its
oldest messages first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import pytest
from openai import AsyncOpenAI

from sandbox.llm import tokens
from sandbox.llm.answers import find_keys
from tests.sandbox.llm_helpers import control, pay7_messages, stats
from tests.support.servers import ServerProcess, start_sandbox

REPORT_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "cited_keys": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["summary", "cited_keys"],
    "additionalProperties": False,
}


@pytest.fixture
def llm_url(sandbox_url: str) -> str:
    control(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    return sandbox_url


def _survivors(messages: list[dict[str, Any]], num_ctx: int) -> str:
    return "\n".join(m["content"] for m in tokens.evaluate(messages, num_ctx).messages)


async def test_v1_ignores_num_ctx_and_cuts_to_the_server_context(llm_url: str) -> None:
    messages = pay7_messages()
    client = AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="ollama", max_retries=0, timeout=30)

    completion = await client.chat.completions.create(
        model="llama3.1:8b",
        messages=messages,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "report", "schema": REPORT_SCHEMA},
        },
        extra_body={"options": {"num_ctx": 32768}, "num_ctx": 32768, "keep_alive": 0},
    )
    loaded = (await ollama.AsyncClient(host=llm_url).ps()).models

    survived = _survivors(messages, 4096)
    report = completion.choices[0].message.content or ""
    assert tokens.chat_tokens(messages) == 7752  # what was sent
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 4096  # the only sign of the cut
    assert completion.choices[0].finish_reason == "stop"
    # Lost with the front: the rules, "Réponds en français", the ticket, its description.
    assert "Réponds en français" not in survived
    assert "Ticket : PAY-7" not in survived
    assert survived.endswith("JIRA_DATA>>>")
    assert find_keys(survived) == []
    # The answer is valid JSON, in English, and cites nothing it did not see.
    assert report.startswith('{"summary": "The request is about')
    assert '"cited_keys": []' in report
    assert "PAY-7" not in report
    assert stats(llm_url)["llm_truncated"] == 1
    assert stats(llm_url)["llm_prompt_tokens"] == 4096
    # keep_alive 0 was dropped too: the model stays loaded, with the server's context.
    assert [(m.model, m.context_length) for m in loaded] == [("llama3.1:8b", 4096)]


async def test_v1_answers_from_the_whole_prompt_when_it_fits(llm_url: str) -> None:
    messages = pay7_messages(max_chars=8_000)
    client = AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="ollama", max_retries=0, timeout=30)

    completion = await client.chat.completions.create(
        model="llama3.1:8b",
        messages=messages,
    )

    assert completion.usage is not None
    assert completion.usage.prompt_tokens == tokens.chat_tokens(messages) < 4096
    content = completion.choices[0].message.content or ""
    assert content.startswith(
        "PAY-7 « Les virements SEPA restent bloqués à l'état « en attente » » est un ticket de "
        "type « Story » au statut « Terminé », priorité « High », assigné à Diego Ramos."
    )
    assert "54 commentaires lus sur 2150." in content  # the counts the prompt states
    assert stats(llm_url)["llm_truncated"] == 0


async def test_native_honours_num_ctx_and_a_change_costs_a_reload(llm_url: str) -> None:
    control(llm_url, load_ms=100)
    messages = pay7_messages()
    client = ollama.AsyncClient(host=llm_url, timeout=30)
    v1 = AsyncOpenAI(base_url=f"{llm_url}/v1", api_key="ollama", max_retries=0, timeout=30)

    cold = await client.chat(model="llama3.1:8b", messages=messages, options={"num_ctx": 16384})
    warm = await client.chat(model="llama3.1:8b", messages=messages, options={"num_ctx": 16384})
    at_16k = (await client.ps()).models
    await v1.chat.completions.create(
        model="llama3.1:8b",
        messages=messages,
    )
    back = await client.chat(model="llama3.1:8b", messages=messages, options={"num_ctx": 16384})

    assert cold.prompt_eval_count == warm.prompt_eval_count == 7752  # nothing cut
    assert (cold.message.content or "").startswith("PAY-7 « Les virements SEPA restent bloqués")
    assert [m.context_length for m in at_16k] == [16384]
    assert cold.load_duration is not None
    assert cold.load_duration >= 100_000_000
    assert warm.load_duration is not None
    assert warm.load_duration < 100_000_000
    # 16384 -> the server's 4096 for /v1 -> 16384 again: two reloads, each paying the load.
    assert back.load_duration is not None
    assert back.load_duration >= 100_000_000
    counters = stats(llm_url)
    assert counters["llm_reloads"] == 2
    assert counters["counters"]["llm_loads"] == 3
    assert counters["llm_truncated"] == 1  # the /v1 request
    assert counters["llm_prompt_tokens"] == 3 * 7752 + 4096


async def test_native_num_ctx_is_capped_at_the_model_maximum(llm_url: str) -> None:
    client = ollama.AsyncClient(host=llm_url, timeout=30)

    await client.chat(
        model="llama3.1:8b",
        messages=[{"role": "user", "content": "Bonjour"}],
        options={"num_ctx": 200_000},
    )
    await client.chat(
        model="qwen3:8b",
        messages=[{"role": "user", "content": "Bonjour"}],
        options={"num_ctx": 200_000},
        think=False,
    )

    loaded = {m.model: m.context_length for m in (await client.ps()).models}
    assert loaded == {"llama3.1:8b": 131072, "qwen3:8b": 40960}


async def test_native_prompt_over_num_ctx_is_cut_the_same_way(llm_url: str) -> None:
    messages = pay7_messages()
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{llm_url}/api/chat",
            json={
                "model": "llama3.1:8b",
                "messages": messages,
                "stream": False,
                "options": {"num_ctx": 2048},
            },
        )

    body = response.json()
    assert response.status_code == 200
    assert body["prompt_eval_count"] == 2048
    assert body["done_reason"] == "stop"
    assert body["message"]["content"].startswith("The request is about")
    assert stats(llm_url)["llm_truncated"] == 1


async def test_a_chat_too_long_loses_its_oldest_messages_before_any_token(llm_url: str) -> None:
    """A repair turn: [system, user(data), assistant(bad JSON), user(repair)]. Ollama's chatPrompt
    drops the data message, keeps the system message and the last one."""
    system, data = pay7_messages()
    assistant = {"role": "assistant", "content": '{"summary": "Le ticket'}
    repair = {
        "role": "user",
        "content": "Ta réponse précédente n'était pas un objet JSON valide. Réponds de nouveau "
        "à la même demande avec uniquement l'objet JSON, complet et valide.",
    }
    messages = [system, data, assistant, repair]
    client = ollama.AsyncClient(host=llm_url, timeout=30)

    response = await client.chat(model="llama3.1:8b", messages=messages, format=REPORT_SCHEMA)

    assert tokens.chat_tokens(messages) > 4096
    assert response.prompt_eval_count == tokens.chat_tokens([system, assistant, repair]) == 286
    content = response.message.content or ""
    assert '"cited_keys": []' in content  # built without the data
    assert "PAY-7" not in content
    assert stats(llm_url)["llm_truncated"] == 1
    assert stats(llm_url)["counters"]["llm_messages_dropped"] == 1


@pytest.fixture(scope="module")
def roomy_sandbox() -> Iterator[ServerProcess]:
    """A sandbox whose Ollama was started with OLLAMA_CONTEXT_LENGTH=8192."""
    server = start_sandbox(["--ollama-context-length", "8192"])
    yield server
    server.stop()


async def test_the_server_context_is_a_knob(roomy_sandbox: ServerProcess) -> None:
    url = roomy_sandbox.url
    messages = pay7_messages()
    client = AsyncOpenAI(base_url=f"{url}/v1", api_key="ollama", max_retries=0, timeout=30)

    completion = await client.chat.completions.create(
        model="llama3.1:8b",
        messages=messages,
    )
    loaded = (await ollama.AsyncClient(host=url).ps()).models

    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 7752
    assert [m.context_length for m in loaded] == [8192]
    assert httpx.get(f"{url}/_sandbox/llm").json()["context_length"] == 8192
