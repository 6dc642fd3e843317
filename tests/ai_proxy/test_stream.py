"""POST /ai/analyze-issue/stream under Daphne, local engine and through ai-service: events and
headers, incremental delivery, cancellation on disconnect, failures as one final error event, the
stream cap."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ai_service.contract.schemas import STREAM_SECTIONS
from tests.ai_proxy.conftest import ALICE, SignIn, event_data, stream_events
from tests.ai_service.conftest import llm_fault, llm_pace, sandbox_stats, wait_until
from tests.servers import ServerProcess

MODES = ["api_server", "remote_api"]
URL = "/ai/analyze-issue/stream"


def llm_active(sandbox_url: str) -> int:
    return int(httpx.get(sandbox_url + "/_sandbox/llm", timeout=5).json()["active_streams"])


@pytest.mark.parametrize("mode", MODES)
async def test_events_come_in_order_with_sse_headers(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(request.getfixturevalue(mode), ALICE)

    async with client.stream("POST", URL, json={"issue_key": "PAY-8", "language": "en"}) as answer:
        events = await stream_events(answer)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/event-stream"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert answer.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in answer.headers
    assert events[0].comment == "ok"
    named = [e for e in events if e.comment is None]
    assert [int(e.id or 0) for e in named] == list(range(1, len(named) + 1))
    assert [(e.event, json.loads(e.data)["step"]) for e in named[:4]] == [
        ("log", "fetch"),
        ("log", "fetch"),
        ("log", "section"),
        ("log", "section"),
    ]
    # Then the text, and at most the model's own news (waiting for a slot, loading, thinking).
    waits = [json.loads(e.data)["step"] for e in named[4:-1] if e.event == "log"]
    assert set(waits) <= {"queue", "load", "think"}
    assert {e.event for e in named[4:-1]} - {"log"} == {"delta", "result"}
    deltas = event_data(named, "delta")
    assert {d["section"] for d in deltas} == set(STREAM_SECTIONS)
    results = {d["section"]: d["content"] for d in event_data(named, "result")}
    assert sorted(results) == sorted(STREAM_SECTIONS)
    for section in STREAM_SECTIONS:
        text = "".join(d["text"] for d in deltas if d["section"] == section)
        assert results[section] == text.strip()
    assert named[-1].event == "done"
    done = json.loads(named[-1].data)
    assert done["coverage"] == {"comments_analyzed": 49, "comments_total": 49}
    assert isinstance(done["duration_ms"], int)


@pytest.mark.parametrize("mode", MODES)
async def test_deltas_arrive_before_the_llm_has_finished_and_a_disconnect_cancels_it(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, sandbox_url: str
) -> None:
    client = await signed_in(request.getfixturevalue(mode), ALICE)
    llm_pace(sandbox_url, tokens_per_second=10, first_token_ms=0)

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as answer:
        seen: list[str] = []
        async for line in answer.aiter_lines():
            seen.append(line)
            if line == "event: delta":
                break
        # The model is still writing (one request, all four sections) when the first delta is here.
        assert llm_active(sandbox_url) == 1
        assert sandbox_stats(sandbox_url)["llm_cancelled"] == 0
    # Leaving the block closed the connection: API -> (ai-service ->) LLM requests cancelled.

    assert seen[0] == ": ok"
    # One LLM request per analysis (the four sections in one answer): the disconnect cancels it.
    assert wait_until(lambda: sandbox_stats(sandbox_url)["llm_cancelled"] == 1, deadline_seconds=15)
    assert llm_active(sandbox_url) == 0


STREAM_FAULTS = [
    ({"mode": "cut_stream"}, {"code": "llm_unavailable"}),
    ({"mode": "malformed"}, {"code": "llm_invalid_output"}),
    ({"mode": "status", "status": 500}, {"code": "llm_unavailable"}),
    # The vendor's Retry-After reaches the browser as it was sent, an integer of seconds.
    (
        {"mode": "status", "status": 429, "retry_after": 3},
        {"code": "llm_rate_limited", "retry_after": 3},
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("fault", "expected"), STREAM_FAULTS)
async def test_an_llm_fault_ends_the_stream_with_one_error_event(
    mode: str,
    fault: dict[str, Any],
    expected: dict[str, Any],
    request: pytest.FixtureRequest,
    signed_in: SignIn,
    fast_llm: str,
) -> None:
    client = await signed_in(request.getfixturevalue(mode), ALICE)
    llm_fault(fast_llm, **fault)

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as answer:
        events = [e for e in await stream_events(answer) if e.comment is None]

    assert answer.status_code == 200
    assert [e.event for e in events].count("error") == 1
    assert events[-1].event == "error"
    error = json.loads(events[-1].data)
    assert {k: v for k, v in error.items() if k != "detail"} == expected
    assert isinstance(error["detail"], str)
    assert "done" not in [e.event for e in events]
    assert [int(e.id or 0) for e in events] == list(range(1, len(events) + 1))


@pytest.mark.parametrize("mode", ["tight_api", "tight_remote_api"])
async def test_a_hanging_llm_ends_the_stream_with_llm_timeout(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(request.getfixturevalue(mode), ALICE)
    llm_fault(fast_llm, mode="hang")

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as answer:
        events = [e for e in await stream_events(answer) if e.comment is None]

    assert [e.event for e in events][-1] == "error"
    assert json.loads(events[-1].data)["code"] == "llm_timeout"


@pytest.mark.parametrize("mode", MODES)
async def test_a_missing_issue_is_an_error_event_after_the_first_bytes(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(request.getfixturevalue(mode), ALICE)

    async with client.stream("POST", URL, json={"issue_key": "PAY-999999"}) as answer:
        events = await stream_events(answer)

    assert answer.status_code == 200
    assert events[0].comment == "ok"
    assert [e.event for e in events[1:]] == ["log", "error"]
    assert json.loads(events[-1].data) == {
        "code": "issue_not_found",
        "detail": "Issue does not exist or you do not have permission to see it.",
    }
    assert events[-1].id == "2"


async def test_cheap_checks_of_the_stream_are_http_statuses(
    api_server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(api_server, ALICE)

    bad_key = await client.post(URL, json={"issue_key": "PAY_3"})
    anonymous = httpx.post(api_server.url + URL, json={"issue_key": "PAY-3"}, timeout=5)

    assert (bad_key.status_code, bad_key.json()["code"]) == (422, "invalid_input")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")


async def test_the_stream_cap_is_503_with_keepalives_and_freed_on_disconnect(
    tight_api: ServerProcess, signed_in: SignIn, sandbox_url: str
) -> None:
    client = await signed_in(tight_api, ALICE)  # AI_MAX_STREAMS=1, AI_KEEPALIVE_SECONDS=0.2
    llm_pace(sandbox_url, tokens_per_second=5, first_token_ms=2000)

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as first:
        lines = first.aiter_lines()
        assert await anext(lines) == ": ok"
        second = await client.post(URL, json={"issue_key": "PAY-3"})
        async for line in lines:
            if line == ": keepalive":
                break

    assert (second.status_code, second.json()) == (
        503,
        {"detail": "Too many analyses are streaming; retry shortly.", "code": "too_many_streams"},
    )
    llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=0)

    async def third_status() -> int:
        async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as third:
            return third.status_code

    statuses = [await third_status()]
    while statuses[-1] == 503 and len(statuses) < 50:  # the slot frees once Daphne saw the close
        statuses.append(await third_status())
    assert statuses[-1] == 200


@pytest.mark.parametrize("mode", MODES)
async def test_an_issue_with_a_huge_description_streams_to_the_end(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    # PAY-2: a ~1 MB ADF description and 169 comments, cut to the context budget.
    client = await signed_in(request.getfixturevalue(mode), ALICE)

    async with client.stream("POST", URL, json={"issue_key": "PAY-2"}) as answer:
        events = await stream_events(answer)

    named = [e for e in events if e.comment is None]
    assert [e.event for e in named if e.event in {"error", "done"}] == ["done"]
    assert {d["section"] for d in event_data(named, "result")} == set(STREAM_SECTIONS)
