"""POST /ai/summarize-jql/stream under Daphne, local engine and through ai-service: progress
(count, Jira pages, map chunks), the relayed narrative and result, the AI cache shared with the
synchronous endpoint, cancellation on disconnect, errors as one final event, and the resumable
runs on Redis Streams (replay on another API process, attach of an identical request)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import sandbox
from tests.support.ids import ALICE
from tests.support.keys import forget_keys
from tests.support.servers import ServerFactory, ServerProcess
from tests.support.signin import SignIn
from tests.support.sse import SSEReader, read_events

URL = "/ai/summarize-jql/stream"
SEARCH_ROUTE = "POST /ex/jira/{cloudId}/rest/api/3/search/jql"
MODES = ["summary_api", "summary_remote_api"]
# MOB has 500 issues: 250 of them are three Jira pages (100, 200, 250) and, in a 2,000-token
# context, several map chunks.
MOB = {"jql": "project = MOB", "max_issues": 250, "language": "fr"}
# Readers and leases renew fast, so that a run whose readers all left in another process is
# cancelled within a test's wait.
# One page and a few dozen chunks: the runs that resume, attach and cancel.
SMALL = {"jql": "project = MOB", "max_issues": 30, "language": "fr"}
SUMMARY_ENV = {
    "LLM_CONTEXT_TOKENS": "2000",
    "AI_USER_REQUESTS_PER_MINUTE": "1000",
    "AI_STREAM_HEARTBEAT_SECONDS": "0.3",
}


@pytest.fixture(scope="session")
def summary_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(**SUMMARY_ENV)


@pytest.fixture(scope="session")
def summary_api_b(server_factory: ServerFactory) -> ServerProcess:
    """A second API process of the same configuration (another worker behind the balancer)."""
    return server_factory.api(**SUMMARY_ENV, OTEL_SERVICE_NAME="api-b")


@pytest.fixture(scope="session")
def summary_remote_api(server_factory: ServerFactory) -> ServerProcess:
    service = server_factory.ai_service(LLM_CONTEXT_TOKENS="2000")
    return server_factory.api(AI_SERVICE_URL=service.url, **SUMMARY_ENV)


@pytest.fixture(autouse=True)
async def summary_state_clean() -> None:
    """No Jira search cached and no map chunk kept by an earlier test (both live in Redis)."""
    await forget_keys("jira:v1:*", "aisum:*")


def steps(events: list[Any]) -> list[tuple[str, str | None]]:
    return [(e.event, e.json().get("step") if e.event == "log" else None) for e in events]


def run_ids(stream: SSEReader) -> list[tuple[str, int]]:
    out = []
    for event in stream.events:
        run, n = event.id.split(":")
        out.append((run, int(n)))
    return out


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_progress_then_narrative_then_result_and_done(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)

    async with client.stream("POST", URL, json=MOB, timeout=180) as answer:
        stream = await read_events(answer)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/event-stream"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert stream.lines[0] == ": ok"
    events = stream.events
    assert events[0].event == "log"
    assert events[0].json() == {
        "step": "count",
        "message": "500 tickets correspondent à la requête",
        "total": 500,
    }
    fetches = [e.json() for e in events if e.event == "log" and e.json()["step"] == "fetch"]
    assert fetches == [
        {
            "step": "fetch",
            "message": f"Lecture de Jira : {d} tickets sur 250",
            "done": d,
            "total": 250,
        }
        for d in (100, 200, 250)
    ]
    assert steps(events[1:4]) == [("log", "fetch")] * 3
    maps = [e.json() for e in events if e.event == "log" and e.json()["step"] == "map"]
    chunks = maps[-1]["total"]
    assert chunks > 1
    # The engine says how many chunks there are, then one more after each.
    assert [m["done"] for m in maps] == list(range(chunks + 1))
    assert {m["total"] for m in maps} == {chunks}
    names = [e.event for e in events]
    assert names[-2:] == ["result", "done"]
    assert names.count("result") == 1
    assert "delta" in names
    assert names.index("delta") > max(
        i for i, e in enumerate(events) if e.event == "log" and e.json()["step"] == "map"
    )
    result = events[-2].json()
    assert result["section"] == "summary"
    summary = result["content"]
    assert summary["coverage"] == {
        "analyzed": 250,
        "total": 500,
        "truncated": True,
        "chunks": chunks,
    }
    assert summary["cached"] is False
    done = events[-1].json()
    assert done["coverage"]["analyzed"] == 250
    assert done["coverage"]["chunks"] == chunks
    # Ids are the run's: one run, numbered from 1.
    ids = run_ids(stream)
    assert {run for run, _ in ids} == {ids[0][0]}
    assert [n for _, n in ids] == list(range(1, len(events) + 1))


async def test_the_first_bytes_leave_before_jiras_first_page(
    summary_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(summary_api, ALICE)
    sandbox.add_fault(fast_llm, "jira", path_regex="search/jql", mode="delay", delay_ms=4000)

    # A read timeout shorter than Jira's delay: a stream that waited for the first page fails.
    timeout = httpx.Timeout(30.0, read=2.0)
    async with client.stream("POST", URL, json=SMALL, timeout=timeout) as answer:
        lines = answer.aiter_lines()
        first = await anext(lines)
        pages = sandbox.stats(fast_llm)["routes"].get(SEARCH_ROUTE, 0)

    assert answer.status_code == 200
    assert first == ": ok"
    assert pages <= 1  # asked for, perhaps, and not answered


async def test_a_stored_summary_is_streamed_at_once_and_the_stream_fills_the_cache(
    summary_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(summary_api, ALICE)
    body = {"jql": "project = AB_C", "language": "en"}

    async with client.stream("POST", URL, json=body, timeout=120) as answer:
        first = await read_events(answer)
    calls = sandbox.llm_requests(fast_llm)
    synchronous = await client.post("/ai/summarize-jql", json=body, timeout=60)
    async with client.stream("POST", URL, json=body, timeout=60) as answer:
        second = await read_events(answer)

    streamed = first.data("result")[0]["content"]
    assert synchronous.status_code == 200
    assert synchronous.json()["cached"] is True
    assert synchronous.json()["summary"] == streamed["summary"]
    assert [e.event for e in second.events] == ["log", "result", "done"]
    assert second.events[0].json() == {
        "step": "count",
        "message": "12 issues match the query",
        "total": 12,
    }
    cached = second.data("result")[0]["content"]
    assert cached["cached"] is True
    assert cached["summary"] == streamed["summary"]
    chunks = streamed["coverage"]["chunks"]
    assert second.data("done")[0]["coverage"] == {
        "analyzed": 12,
        "total": 12,
        "chunks": chunks,
        "chunks_reused": chunks,
    }
    assert sandbox.llm_requests(fast_llm) == calls


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_a_disconnect_cancels_every_llm_call(
    server: ServerProcess, signed_in: SignIn, sandbox_url: str
) -> None:
    client = await signed_in(server, ALICE)
    sandbox.llm_pace(sandbox_url, tokens_per_second=20, first_token_ms=0)

    async with client.stream("POST", URL, json={**SMALL, "refresh": True}, timeout=180) as answer:
        stream = SSEReader(answer)
        async for event in stream:
            if event.event == "log" and event.json()["step"] == "map":
                break
        await sandbox.wait_for_async(sandbox_url, "llm_requests>=1", timeout=30)
        assert sandbox.stats(sandbox_url)["llm_cancelled"] == 0

    stats = await sandbox.wait_for_async(sandbox_url, "llm_cancelled>=1", timeout=15)
    assert stats["llm_cancelled"] >= 1
    assert sandbox.llm_active(sandbox_url) == 0


STREAM_ERRORS = [
    (
        "jira",
        {"path_regex": "search/jql", "mode": "status", "status": 503},
        {"code": "jira_unavailable"},
    ),
    (
        "llm",
        {"mode": "status", "status": 429, "retry_after": 7},
        {"code": "llm_rate_limited", "retry_after": 7},
    ),
]


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.parametrize(("target", "fault", "expected"), STREAM_ERRORS)
async def test_a_failure_is_one_final_error_event(
    server: ServerProcess,
    signed_in: SignIn,
    fast_llm: str,
    target: str,
    fault: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    client = await signed_in(server, ALICE)
    sandbox.add_fault(fast_llm, target, **fault)

    async with client.stream("POST", URL, json={**SMALL, "refresh": True}, timeout=180) as answer:
        stream = await read_events(answer)

    assert answer.status_code == 200
    names = [e.event for e in stream.events]
    assert names.count("error") == 1
    assert names[-1] == "error"
    assert "done" not in names
    error = stream.events[-1].json()
    assert {k: v for k, v in error.items() if k != "detail"} == expected


async def test_cheap_checks_are_http_statuses(
    summary_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(summary_api, ALICE)

    blank = await client.post(URL, json={"jql": "   "})
    too_many = await client.post(URL, json={"jql": "project = PAY", "max_issues": 1001})
    anonymous = httpx.post(summary_api.url + URL, json={"jql": "project = PAY"}, timeout=5)

    assert (blank.status_code, blank.json()["code"]) == (422, "invalid_input")
    assert (too_many.status_code, too_many.json()["code"]) == (422, "invalid_input")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")


async def test_last_event_id_replays_on_another_process_and_follows_the_run(
    summary_api: ServerProcess,
    summary_api_b: ServerProcess,
    signed_in: SignIn,
    sandbox_url: str,
) -> None:
    client = await signed_in(summary_api, ALICE)
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=100)
    body = {**SMALL, "refresh": True}

    async with client.stream("POST", URL, json=body, timeout=180) as answer:
        first = SSEReader(answer)
        async for event in first:
            if event.event == "log" and event.json()["step"] == "fetch":
                break
        cut_at = first.events[-1].id
        # While the first reader is still there, a reader on process B resumes after the count.
        resume_from = first.events[0].id
        async with client.stream(
            "POST",
            summary_api_b.url + URL,
            json=body,
            headers={"Last-Event-ID": resume_from},
            timeout=180,
        ) as resumed_answer:
            resumed = await read_events(resumed_answer)
        rest = await first.read()

    run, n = resume_from.split(":")
    assert cut_at.startswith(run + ":")
    # B replayed exactly what came after the count, and followed the run to its end.
    assert [e.id for e in resumed.events] == [e.id for e in rest[int(n) :]]
    assert [e.data for e in resumed.events] == [e.data for e in rest[int(n) :]]
    assert resumed.events[-1].event == "done"


async def test_an_identical_request_attaches_to_the_running_one(
    summary_api: ServerProcess,
    summary_api_b: ServerProcess,
    signed_in: SignIn,
    sandbox_url: str,
) -> None:
    client = await signed_in(summary_api, ALICE)
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=100)
    body = {**SMALL, "refresh": True}

    async with client.stream("POST", URL, json=body, timeout=180) as answer:
        first = SSEReader(answer)
        async for event in first:
            if event.event == "log" and event.json()["step"] == "map":
                break
        async with client.stream(
            "POST", summary_api_b.url + URL, json=body, timeout=180
        ) as attached_answer:
            attached = await read_events(attached_answer)
        await first.read()

    # The second request got the same run from its first event, not a run of its own.
    assert [e.id for e in attached.events] == [e.id for e in first.events]
    chunks = first.data("done")[0]["coverage"]["chunks"]
    received = sandbox.llm_received(sandbox_url)
    # One run: a call per chunk, then the combine (and narrative) calls, never a second map step.
    assert len(received) < 2 * chunks


async def test_a_run_left_by_every_reader_is_cancelled_and_a_reconnect_resumes_it(
    summary_api: ServerProcess,
    summary_api_b: ServerProcess,
    signed_in: SignIn,
    sandbox_url: str,
) -> None:
    client = await signed_in(summary_api, ALICE)
    sandbox.llm_pace(sandbox_url, tokens_per_second=200, first_token_ms=0)
    body = {**SMALL, "refresh": True}

    async with client.stream("POST", URL, json=body, timeout=180) as answer:
        first = SSEReader(answer)
        async for event in first:
            if event.event == "log" and event.json()["step"] == "map" and event.json()["done"] == 2:
                # The model's next call (a chunk or the combine) stalls before its first token,
                # so one is surely in flight when the last reader leaves (on a busy machine the
                # run could otherwise be cancelled between two calls, with none to cut).
                sent = int(sandbox.stats(sandbox_url)["counters"].get("llm_requests", 0))
                sandbox.llm_pace(sandbox_url, tokens_per_second=200, first_token_ms=120_000)
                await sandbox.wait_for_async(sandbox_url, f"llm_requests>={sent + 1}", timeout=30)
                break
    await sandbox.wait_for_async(sandbox_url, "llm_cancelled>=1", timeout=15)
    last_id = first.events[-1].id
    mapped = first.events[-1].json()["done"]
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000, first_token_ms=0)

    async with client.stream(
        "POST", summary_api_b.url + URL, json=body, headers={"Last-Event-ID": last_id}, timeout=180
    ) as resumed_answer:
        resumed = await read_events(resumed_answer)

    old_run = last_id.split(":")[0]
    runs = [e.id.split(":")[0] for e in resumed.events]
    # What was left of the cancelled run (nothing after the cut was written), then a new run.
    assert old_run not in runs[-1:]
    assert resumed.events[-1].event == "done"
    reused = resumed.events[-1].json()["coverage"]["chunks_reused"]
    assert reused >= mapped
    assert sandbox.llm_active(sandbox_url) == 0
