"""Ollama's native API seen through the ollama SDK and raw httpx: NDJSON streaming, structured
outputs, num_predict, token counts, discovery (/api/tags, /api/show, /api/ps) and errors."""

from __future__ import annotations

import json
import time

import httpx
import jsonschema
import ollama
import pytest

from sandbox.llm import tokens

DATA = (
    "Summarize these issues.\n```data\n"
    '{"key": "WEB-3", "fields": {"summary": "Footer links are broken", '
    '"status": {"name": "To Do"}}}\n'
    '{"key": "WEB-4", "fields": {"summary": "Dark mode flickers", '
    '"status": {"name": "In Review"}}}\n```'
)
MESSAGES = [{"role": "user", "content": DATA}]
SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "status": {"type": "string"}},
                "required": ["key", "status"],
            },
        },
    },
    "required": ["summary", "issues"],
}


@pytest.fixture
def llm_url(sandbox_url: str) -> str:
    httpx.post(
        f"{sandbox_url}/_sandbox/llm", json={"tokens_per_second": 5000, "first_token_ms": 0}
    ).raise_for_status()
    return sandbox_url


@pytest.fixture
def client(llm_url: str) -> ollama.AsyncClient:
    return ollama.AsyncClient(host=llm_url, timeout=10)


async def test_tags_lists_only_the_pulled_models(client: ollama.AsyncClient) -> None:
    listed = await client.list()

    assert [m.model for m in listed.models] == [
        "llama3.1:8b",
        "qwen3:8b",
        "thinker:latest",
        "sloppy:latest",
        "obedient:latest",
    ]
    assert listed.models[0].details is not None
    assert listed.models[0].details.family == "llama"
    assert listed.models[0].details.parameter_size == "8.0B"


async def test_streamed_chat_ends_with_a_done_line_and_its_stats(
    client: ollama.AsyncClient,
) -> None:
    parts = [
        part
        async for part in await client.chat(model="llama3.1:8b", messages=MESSAGES, stream=True)
    ]

    text = "".join(p.message.content or "" for p in parts)
    final = parts[-1]
    assert text == (
        "WEB-3 (To Do) is about “Footer links are broken”. "
        "WEB-4 (In Review) is about “Dark mode flickers”."
    )
    assert [p.done for p in parts].count(True) == 1
    # One token a chunk, as Ollama streams; the counts include the chat template's tokens.
    assert len(parts) - 1 == tokens.count(text) == final.eval_count
    assert final.prompt_eval_count == 81  # 71 tokens of text, 10 of llama 3's template
    assert final.done is True
    assert final.done_reason == "stop"
    assert final.message.content == ""
    assert final.total_duration is not None
    assert final.eval_duration is not None
    assert final.prompt_eval_duration is not None
    assert final.load_duration is not None
    assert final.total_duration >= final.eval_duration > 0


async def test_streamed_wire_is_ndjson(llm_url: str) -> None:
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "POST", f"{llm_url}/api/chat", json={"model": "qwen3:8b", "messages": MESSAGES}
        ) as response,
    ):
        lines = [json.loads(line) async for line in response.aiter_lines() if line]

    assert response.headers["content-type"] == "application/x-ndjson"
    assert [line["done"] for line in lines[-2:]] == [False, True]
    assert set(lines[-1]) == {
        "model",
        "created_at",
        "message",
        "done",
        "done_reason",
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    }
    assert lines[-1]["prompt_eval_count"] == 79  # qwen's ChatML template: 8 tokens


async def test_format_schema_gives_a_valid_grounded_object(client: ollama.AsyncClient) -> None:
    response = await client.chat(model="llama3.1:8b", messages=MESSAGES, format=SCHEMA)

    value = json.loads(response.message.content or "")
    jsonschema.validate(value, SCHEMA)
    assert value["issues"] == [
        {"key": "WEB-3", "status": "To Do"},
        {"key": "WEB-4", "status": "In Review"},
    ]
    assert response.done_reason == "stop"


async def test_format_json_gives_a_summary_object(client: ollama.AsyncClient) -> None:
    response = await client.chat(model="llama3.1:8b", messages=MESSAGES, format="json")

    assert list(json.loads(response.message.content or "")) == ["summary"]


async def test_num_predict_caps_the_output_with_done_reason_length(
    client: ollama.AsyncClient,
) -> None:
    response = await client.chat(
        model="llama3.1:8b", messages=MESSAGES, options={"num_predict": 3, "temperature": 0.2}
    )

    assert response.message.content == "WEB-3"
    assert response.done_reason == "length"
    assert response.eval_count == 3


async def test_unknown_model_is_404_in_ollama_shape(llm_url: str) -> None:
    client = ollama.AsyncClient(host=llm_url)
    with pytest.raises(ollama.ResponseError) as caught:
        await client.chat(model="mistral:7b", messages=MESSAGES, stream=False)
    async with httpx.AsyncClient() as http:
        raw = await http.post(
            f"{llm_url}/api/chat", json={"model": "llama3.1", "messages": MESSAGES}
        )

    assert caught.value.status_code == 404
    assert caught.value.error == 'model "mistral:7b" not found, try pulling it first'
    # No tag means :latest, which is not pulled.
    assert raw.status_code == 404
    assert raw.json() == {"error": 'model "llama3.1" not found, try pulling it first'}


async def test_the_sandbox_models_answer_with_or_without_latest(
    client: ollama.AsyncClient,
) -> None:
    bare = await client.chat(model="thinker", messages=MESSAGES)
    tagged = await client.chat(model="thinker:latest", messages=MESSAGES)

    assert bare.model == "thinker"
    assert tagged.model == "thinker:latest"
    assert bare.message.content == tagged.message.content


async def test_show_gives_the_training_context_and_capabilities(
    client: ollama.AsyncClient, llm_url: str
) -> None:
    llama = await client.show("llama3.1:8b")
    qwen = await client.show("qwen3:8b")
    async with httpx.AsyncClient() as http:
        raw = await http.post(f"{llm_url}/api/show", json={"model": "thinker"})
        missing = await http.post(f"{llm_url}/api/show", json={"model": "mistral"})

    assert llama.modelinfo is not None
    assert llama.modelinfo["llama.context_length"] == 131072
    assert llama.modelinfo["general.architecture"] == "llama"
    assert llama.capabilities == ["completion", "tools"]
    assert qwen.modelinfo is not None
    assert qwen.modelinfo["qwen3.context_length"] == 40960
    assert qwen.capabilities == ["completion", "tools", "thinking"]
    # The sandbox's own models are llama3.1:8b to /api/show (thinker too: it only thinks aloud).
    assert raw.json()["capabilities"] == ["completion", "tools"]
    assert raw.json()["model_info"] == llama.modelinfo
    assert raw.json()["details"]["family"] == "llama"
    assert missing.status_code == 404
    assert missing.json() == {"error": "model 'mistral:latest' not found"}


async def test_ps_lists_loaded_models_with_their_allocated_context(
    client: ollama.AsyncClient,
) -> None:
    before = await client.ps()
    await client.chat(model="llama3.1:8b", messages=MESSAGES)
    await client.chat(model="qwen3:8b", messages=MESSAGES, options={"num_ctx": 8192})
    after = await client.ps()

    assert before.models == []
    loaded = {str(m.model): m for m in after.models}
    assert sorted(loaded) == ["llama3.1:8b", "qwen3:8b"]
    assert loaded["llama3.1:8b"].context_length == 4096
    assert loaded["qwen3:8b"].context_length == 8192
    assert loaded["llama3.1:8b"].size == 4_920_753_328 + 4096 * 131_072  # weights + KV cache
    assert loaded["llama3.1:8b"].size_vram == 0  # a CPU host, as docker-compose runs it
    assert loaded["qwen3:8b"].expires_at is not None
    assert loaded["llama3.1:8b"].expires_at is not None
    remaining = loaded["llama3.1:8b"].expires_at.timestamp() - time.time()
    assert 290 < remaining <= 300  # OLLAMA_KEEP_ALIVE's 5 minutes, from the end of the request
