"""The LLM stand-in seen through the ollama SDK: NDJSON streaming, structured outputs, errors."""

from __future__ import annotations

import json
import math

import httpx
import jsonschema
import ollama
import pytest

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


async def test_tags_lists_the_ollama_models(client: ollama.AsyncClient) -> None:
    listed = await client.list()

    assert [m.model for m in listed.models] == ["llama3.1:8b", "qwen2.5:7b"]


async def test_streamed_chat_ends_with_a_done_line_and_its_stats(
    client: ollama.AsyncClient,
) -> None:
    parts = [
        part
        async for part in await client.chat(model="llama3.1:8b", messages=MESSAGES, stream=True)
    ]

    text = "".join(p.message.content or "" for p in parts)
    final = parts[-1]
    assert text.startswith("The data covers 2 issues: WEB-3 and WEB-4. ")
    assert "WEB-3 (To Do) is about “Footer links are broken”." in text
    assert len(parts) > 10
    assert [p.done for p in parts].count(True) == 1
    assert final.done is True
    assert final.done_reason == "stop"
    assert final.message.content == ""
    assert final.prompt_eval_count == math.ceil(len(DATA) / 4)
    assert final.eval_count == math.ceil(len(text) / 4)
    assert final.total_duration is not None
    assert final.eval_duration is not None
    assert final.prompt_eval_duration is not None
    assert final.load_duration is not None
    assert final.total_duration >= final.eval_duration > 0


async def test_streamed_wire_is_ndjson(llm_url: str) -> None:
    async with (
        httpx.AsyncClient() as http,
        http.stream(
            "POST", f"{llm_url}/api/chat", json={"model": "qwen2.5:7b", "messages": MESSAGES}
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


async def test_num_predict_truncates_with_done_reason_length(client: ollama.AsyncClient) -> None:
    response = await client.chat(model="llama3.1:8b", messages=MESSAGES, options={"num_predict": 3})

    assert response.message.content == "The data cov"
    assert response.done_reason == "length"
    assert response.eval_count == 3


async def test_unknown_model_is_404_in_ollama_shape(client: ollama.AsyncClient) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        await client.chat(model="mistral:7b", messages=MESSAGES, stream=False)

    assert caught.value.status_code == 404
    assert caught.value.error == 'model "mistral:7b" not found, try pulling it first'
