"""POST /ai/analyze-issue/stream under Daphne, local engine and through ai-service: events and
headers, incremental delivery, cancellation on disconnect, failures as one final error event, the
stream cap."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ai_service.contract.schemas import STREAM_SECTIONS
from tests.support import sandbox
from tests.support.ids import ALICE
from tests.support.servers import ServerProcess
from tests.support.signin import SignIn
from tests.support.sse import SSEReader, read_events

MODES = ["api_server", "remote_api"]
URL = "/ai/analyze-issue/stream"


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.usefixtures("fast_llm")
async def test_events_come_in_order_with_sse_headers(
    server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(server, ALICE)

    async with client.stream("POST", URL, json={"issue_key": "PAY-8", "language": "en"}) as answer:
        stream = await read_events(answer)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/event-stream"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert answer.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in answer.headers
    assert stream.lines[0] == ": ok"
    named = stream.events
    assert stream.ids() == list(range(1, len(named) + 1))
    assert [(e.event, e.json()["step"]) for e in named[:4]] == [
        ("log", "fetch"),
        ("log", "fetch"),
        ("log", "section"),
        ("log", "section"),
    ]
    # Then the text, and at most the model's own news (waiting for a slot, loading, thinking).
    waits = [e.json()["step"] for e in named[4:-1] if e.event == "log"]
    assert set(waits) <= {"queue", "load", "think"}
    assert {e.event for e in named[4:-1]} - {"log"} == {"delta", "result"}
    deltas = stream.data("delta")
    assert {d["section"] for d in deltas} == set(STREAM_SECTIONS)
    results = {d["section"]: d["content"] for d in stream.data("result")}
    assert sorted(results) == sorted(STREAM_SECTIONS)
    for section in STREAM_SECTIONS:
        text = "".join(d["text"] for d in deltas if d["section"] == section)
        assert results[section] == text.strip()
    assert named[-1].event == "done"
    done = named[-1].json()
    assert done["coverage"] == {"comments_analyzed": 49, "comments_total": 49}
    assert isinstance(done["duration_ms"], int)


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_deltas_arrive_before_the_llm_has_finished_and_a_disconnect_cancels_it(
    server: ServerProcess, signed_in: SignIn, sandbox_url: str
) -> None:
    client = await signed_in(server, ALICE)
    sandbox.llm_pace(sandbox_url, tokens_per_second=10, first_token_ms=0)

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as answer:
        stream = SSEReader(answer)
        async for event in stream:
            if event.event == "delta":
                break
        # The model is still writing (one request, all four sections) when the first delta is here.
        assert sandbox.llm_active(sandbox_url) == 1
        assert sandbox.stats(sandbox_url)["llm_cancelled"] == 0
    # Leaving the block closed the connection: API -> (ai-service ->) LLM requests cancelled.

    assert stream.lines[0] == ": ok"
    # One LLM request per analysis (the four sections in one answer): the disconnect cancels it.
    assert sandbox.wait_for(sandbox_url, "llm_cancelled>=1", timeout=15)["llm_cancelled"] == 1
    assert sandbox.llm_active(sandbox_url) == 0


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


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.parametrize(("fault", "expected"), STREAM_FAULTS)
async def test_an_llm_fault_ends_the_stream_with_one_error_event(
    server: ServerProcess,
    fault: dict[str, Any],
    expected: dict[str, Any],
    signed_in: SignIn,
    fast_llm: str,
) -> None:
    client = await signed_in(server, ALICE)
    sandbox.add_fault(fast_llm, "llm", **fault)

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as answer:
        stream = await read_events(answer)

    events = stream.events
    assert answer.status_code == 200
    assert [e.event for e in events].count("error") == 1
    assert events[-1].event == "error"
    error = events[-1].json()
    assert {k: v for k, v in error.items() if k != "detail"} == expected
    assert isinstance(error["detail"], str)
    assert "done" not in [e.event for e in events]
    assert stream.ids() == list(range(1, len(events) + 1))


@pytest.mark.parametrize("server", ["tight_api", "tight_remote_api"], indirect=True)
async def test_a_hanging_llm_ends_the_stream_with_llm_timeout(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)
    sandbox.add_fault(fast_llm, "llm", mode="hang")

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as answer:
        events = (await read_events(answer)).events

    assert [e.event for e in events][-1] == "error"
    assert events[-1].json()["code"] == "llm_timeout"


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.usefixtures("fast_llm")
async def test_a_missing_issue_is_an_error_event_after_the_first_bytes(
    server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(server, ALICE)

    async with client.stream("POST", URL, json={"issue_key": "PAY-999999"}) as answer:
        stream = await read_events(answer)

    assert answer.status_code == 200
    assert stream.lines[0] == ": ok"
    assert stream.comments == ["ok"]
    assert [e.event for e in stream.events] == ["log", "error"]
    assert stream.events[-1].json() == {
        "code": "issue_not_found",
        "detail": "Issue does not exist or you do not have permission to see it.",
    }
    assert stream.ids() == [1, 2]


async def test_ai_service_keepalives_are_not_relayed_as_events(
    tight_remote_api: ServerProcess, signed_in: SignIn, sandbox_url: str
) -> None:
    client = await signed_in(tight_remote_api, ALICE)  # its ai-service keeps alive every 0.2 s
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=700)

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as answer:
        stream = await read_events(answer)

    # The model's first token came 0.7 s after the sections began: ai-service kept the stream
    # alive meanwhile, and the API relayed events only (never an event of no name or data).
    assert sandbox.llm_state(sandbox_url)["last_stream"]["first_write_ms"] >= 700
    assert {e.event for e in stream.events} == {"log", "delta", "result", "done"}
    assert "event: message" not in stream.lines
    assert "data: " not in stream.lines
    assert stream.ids() == list(range(1, len(stream.events) + 1))


@pytest.mark.usefixtures("fast_llm")
async def test_cheap_checks_of_the_stream_are_http_statuses(
    api_server: ServerProcess, signed_in: SignIn
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
    sandbox.llm_pace(sandbox_url, tokens_per_second=5, first_token_ms=2000)

    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as first:
        lines = first.aiter_lines()
        assert await anext(lines) == ": ok"
        second = await client.post(URL, json={"issue_key": "PAY-3"})
        sandbox.wait_for(sandbox_url, "llm_requests>=1")  # its one request waits on the model
        async for line in lines:
            if line == ": keepalive":
                break

    assert (second.status_code, second.json()) == (
        503,
        {"detail": "Too many analyses are streaming; retry shortly.", "code": "too_many_streams"},
    )
    # The API saw the close when it cancelled the LLM request; the slot went with it.
    sandbox.wait_for(sandbox_url, "llm_cancelled>=1")
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=0)
    async with client.stream("POST", URL, json={"issue_key": "PAY-3"}) as third:
        assert third.status_code == 200


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.usefixtures("fast_llm")
async def test_an_issue_with_a_huge_description_streams_to_the_end(
    server: ServerProcess, signed_in: SignIn
) -> None:
    # PAY-2: a ~1 MB ADF description and 169 comments, cut to the context budget.
    client = await signed_in(server, ALICE)

    async with client.stream("POST", URL, json={"issue_key": "PAY-2"}) as answer:
        stream = await read_events(answer)

    assert [e.event for e in stream.events if e.event in {"error", "done"}] == ["done"]
    assert {d["section"] for d in stream.data("result")} == set(STREAM_SECTIONS)
