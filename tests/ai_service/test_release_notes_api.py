"""ai-service's release-notes routes over HTTP, under real Daphne, against the sandbox LLM (the
JSON, the signed token, 422 on a bad body, the stream), and the public API's RemoteBackend
calling them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pytest_django.fixtures import Settings

from ai_proxy.backends import RemoteBackend
from ai_service.contract.release_notes import ReleaseNotes
from core.errors import ApiError
from tests.ai_service.notes_requests import PLAN, notes_request
from tests.support import sandbox
from tests.support.ai import bearer
from tests.support.ids import AI_SHARED_SECRET
from tests.support.servers import ServerProcess
from tests.support.sse import read_events

pytestmark = pytest.mark.usefixtures("fast_llm")


def notes_body(**fields: Any) -> dict[str, Any]:
    return {**notes_request("en").model_dump(mode="json"), **fields}


def test_the_release_notes_answer_the_notes_json(ai_service_server: ServerProcess) -> None:
    body = notes_body()

    response = httpx.post(
        ai_service_server.url + "/ai/release-notes", json=body, headers=bearer(), timeout=10
    )

    assert response.status_code == 200, response.text
    notes = ReleaseNotes.model_validate(response.json())
    assert {s.kind: [i.issue_key for i in s.items] for s in notes.sections} == PLAN
    assert response.json()["omitted"] == body["omitted"]
    assert notes.coverage.model_dump() == {"total": 8, "in_notes": 6, "omitted": 2}
    assert notes.markdown.startswith("# PAY 2.1 — Release notes\n")


@pytest.mark.parametrize("path", ["/ai/release-notes", "/ai/release-notes/stream"])
def test_the_release_notes_routes_need_a_service_token(
    ai_service_server: ServerProcess, path: str
) -> None:
    unsigned = httpx.post(ai_service_server.url + path, json=notes_body(), timeout=10)
    forged = httpx.post(
        ai_service_server.url + path, json=notes_body(), headers=bearer("not-it"), timeout=10
    )

    assert unsigned.status_code == 401
    assert forged.status_code == 401
    assert forged.json()["code"] == "invalid_service_token"


@pytest.mark.parametrize(
    "body",
    [
        notes_body(audience="board"),
        notes_body(sections=[{"kind": "chores", "keys": ["PAY-1"]}]),
        notes_body(omitted=[{"issue_key": "PAY-7", "reason": "boring"}]),
        notes_body(version=None),
    ],
    ids=["audience", "section kind", "omit reason", "version"],
)
def test_a_bad_body_is_422(ai_service_server: ServerProcess, body: dict[str, Any]) -> None:
    response = httpx.post(
        ai_service_server.url + "/ai/release-notes", json=body, headers=bearer(), timeout=10
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_an_llm_failure_is_a_json_502(ai_service_server: ServerProcess, sandbox_url: str) -> None:
    sandbox.add_fault(sandbox_url, "llm", mode="status", status=500)

    response = httpx.post(
        ai_service_server.url + "/ai/release-notes", json=notes_body(), headers=bearer(), timeout=10
    )

    assert response.status_code == 502
    assert response.json()["code"] == "llm_unavailable"


async def test_the_release_notes_stream(ai_service_server: ServerProcess) -> None:
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream(
            "POST",
            ai_service_server.url + "/ai/release-notes/stream",
            json=notes_body(),
            headers=bearer(),
        ) as response,
    ):
        stream = await read_events(response)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    names = [e.event for e in stream.events]
    assert names[-2:] == ["result", "done"]
    assert "delta" in names
    assert stream.ids() == list(range(1, len(names) + 1))
    [result] = stream.data("result")
    assert result["section"] == "notes"
    items = [line for line in result["content"]["markdown"].splitlines() if line.startswith("- ")]
    assert "".join(d["text"] for d in stream.data("delta")).splitlines() == items
    assert stream.data("done")[0]["coverage"] == {"total": 8, "in_notes": 6, "omitted": 2}


@pytest.fixture
def remote(ai_service_server: ServerProcess, settings: Settings) -> RemoteBackend:
    settings.AI_SHARED_SECRET = [AI_SHARED_SECRET]
    return RemoteBackend(ai_service_server.url)


async def test_the_remote_release_notes_are_the_typed_notes(remote: RemoteBackend) -> None:
    request = notes_request("fr", audience="team")

    notes = await remote.release_notes(account_id="acc-1", request=request)

    assert notes.omitted == request.omitted
    assert notes.audience == "team"
    assert {s.kind: [i.issue_key for i in s.items] for s in notes.sections} == PLAN


async def test_the_remote_release_notes_stream_is_relayed(remote: RemoteBackend) -> None:
    request = notes_request("en")

    events = [
        event
        async for event in remote.release_notes_stream(
            account_id="acc-1", request=request, request_id="req-notes-1"
        )
    ]

    assert [e.name for e in events][-2:] == ["result", "done"]
    result = json.loads(events[-2].data)
    assert ReleaseNotes.model_validate(result["content"]).omitted == request.omitted


async def test_a_remote_llm_failure_comes_back_as_its_code(
    remote: RemoteBackend, sandbox_url: str
) -> None:
    sandbox.add_fault(sandbox_url, "llm", mode="status", status=500)

    with pytest.raises(ApiError) as caught:
        await remote.release_notes(account_id="acc-1", request=notes_request())

    assert caught.value.status == 502
    assert caught.value.code == "llm_unavailable"
