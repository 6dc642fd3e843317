"""The streamed analysis, in process against the sandbox LLM: event order, deltas before the
model has finished, cancellation reaching the LLM, a failure mid-stream as one error event (with
the LLM's ``retry_after``), and the SSE writer's framing and numbering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ai_service.contract.events import DeltaData, LogData, error_event
from ai_service.contract.schemas import STREAM_SECTIONS, AnalyzeRequest
from ai_service.engine import EngineConfig, LLMRateLimited, issue_analyze_stream
from core.sse import Event, EventStream, sse_body, sse_frame, sse_read
from tests.support import sandbox
from tests.support.ai import make_issue


@dataclass(frozen=True)
class Seen:
    """An engine event with its position (the writer's id would be ``index + 1``)."""

    index: int
    event: str
    data: dict[str, Any]

    @property
    def id(self) -> int:
        return self.index + 1


async def collect(config: EngineConfig, request: AnalyzeRequest) -> list[Seen]:
    stream = issue_analyze_stream(config=config, request=request)
    return [Seen(i, e.name, json.loads(e.data)) async for i, e in _enumerate(stream)]


async def _enumerate(stream: Any) -> Any:
    index = 0
    async for event in stream:
        yield index, event
        index += 1


@pytest.mark.usefixtures("fast_llm")
async def test_events_come_in_order_with_increasing_ids(engine_config: EngineConfig) -> None:
    events = await collect(engine_config, AnalyzeRequest(issue=make_issue(3), language="en"))

    names = [e.event for e in events]
    assert names[:2] == ["log", "log"]
    assert names[-1] == "done"
    assert "error" not in names
    results = [e for e in events if e.event == "result"]
    assert sorted(e.data["section"] for e in results) == sorted(STREAM_SECTIONS)
    for result in results:
        section = result.data["section"]
        deltas = [e for e in events if e.event == "delta" and e.data["section"] == section]
        assert deltas != []
        assert max(d.id for d in deltas) < result.id
        assert "".join(d.data["text"] for d in deltas).strip() == result.data["content"]
    done = events[-1].data
    assert done["coverage"] == {"comments_analyzed": 0, "comments_total": 0}
    assert isinstance(done["duration_ms"], int)


async def test_deltas_arrive_before_the_llm_has_finished(
    engine_config: EngineConfig, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=20)
    stream = issue_analyze_stream(config=engine_config, request=AnalyzeRequest(issue=make_issue(4)))
    try:
        async for event in stream:
            if event.name == "delta":
                break
        # One request writes the four sections.
        assert sandbox.llm_active(sandbox_url) == 1
    finally:
        await stream.aclose()


async def test_closing_the_stream_cancels_the_llm_requests(
    engine_config: EngineConfig, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=20)
    stream = issue_analyze_stream(config=engine_config, request=AnalyzeRequest(issue=make_issue(5)))
    async for event in stream:
        if event.name == "delta":
            break

    await stream.aclose()

    await sandbox.wait_for_async(sandbox_url, "llm_cancelled>=1")
    assert sandbox.stats(sandbox_url)["llm_cancelled"] == 1


async def test_a_cut_llm_stream_ends_with_one_error_event(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    sandbox.add_fault(fast_llm, "llm", mode="cut_stream", count=1)

    events = await collect(engine_config, AnalyzeRequest(issue=make_issue(6)))

    assert events[-1].event == "error"
    assert events[-1].data == {
        "code": "llm_unavailable",
        "detail": "The language model is unavailable.",
    }
    assert [e.event for e in events].count("error") == 1
    assert "done" not in [e.event for e in events]


async def test_an_llm_failure_before_the_stream_is_an_error_event(
    engine_config: EngineConfig, fast_llm: str
) -> None:
    sandbox.add_fault(fast_llm, "llm", mode="status", status=429, retry_after=3)

    events = await collect(engine_config, AnalyzeRequest(issue=make_issue(6)))

    assert events[-1].event == "error"
    assert events[-1].data == {
        "code": "llm_rate_limited",
        "detail": "The language model is rate-limited; retry later.",
        "retry_after": 3,
    }
    assert [e.event for e in events].count("error") == 1


def test_sse_encoding_is_one_line_of_json_per_event() -> None:
    event = DeltaData(section="synthesis", text="a\nb").event()

    assert sse_frame(7, event) == (
        b'id: 7\nevent: delta\ndata: {"section":"synthesis","text":"a\\nb"}\n\n'
    )


def test_a_relayed_multi_line_data_keeps_one_data_field_per_line() -> None:
    assert (
        sse_frame(2, Event("log", '{"a":\n1}')) == b'id: 2\nevent: log\ndata: {"a":\ndata: 1}\n\n'
    )


async def test_the_writer_numbers_events_and_a_raised_error_is_the_last_event() -> None:
    async def events() -> Any:
        yield LogData(step="fetch", message="one").event()
        yield DeltaData(section="synthesis", text="two").event()
        raise LLMRateLimited(retry_after=2.2)

    outcomes: list[str] = []
    stream = EventStream(events=events(), on_error=error_event, on_close=outcomes.append)

    body = b"".join([chunk async for chunk in sse_body(stream, keepalive=30)])

    assert body == (
        b": ok\n\n"
        b'id: 1\nevent: log\ndata: {"step":"fetch","message":"one"}\n\n'
        b'id: 2\nevent: delta\ndata: {"section":"synthesis","text":"two"}\n\n'
        b'id: 3\nevent: error\ndata: {"code":"llm_rate_limited",'
        b'"detail":"The language model is rate-limited; retry later.","retry_after":3}\n\n'
    )
    assert outcomes == ["llm_rate_limited"]


async def test_the_reader_passes_on_events_only_even_after_ids_and_keepalives() -> None:
    body = (
        b": ok\n\n"
        b'id: 1\nevent: log\ndata: {"step":"fetch"}\n\n'
        b": keepalive\n\n"
        b": keepalive\n\n"
        b'id: 2\nevent: done\ndata: {"duration_ms":1}\n\n'
    )
    sse = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"Content-Type": "text/event-stream"}, content=body
        )
    )

    async with (
        httpx.AsyncClient(transport=sse) as client,
        client.stream("GET", "http://ai-service/stream") as response,
    ):
        events = [event async for event in sse_read(response)]

    assert events == [Event("log", '{"step":"fetch"}'), Event("done", '{"duration_ms":1}')]


@pytest.mark.usefixtures("fast_llm")
async def test_an_unexpected_failure_mid_stream_is_one_error_event_not_a_hang(
    engine_config: EngineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failure outside the engine's error family (here a parser bug, forced) used to kill the
    # section task silently and leave the reader waiting for ever (seen under a 500-stream burst).
    from ai_service.engine import stream as stream_module

    def broken(self: object, piece: str) -> list[tuple[str, str, bool]]:
        raise IndexError("forced")

    monkeypatch.setattr(stream_module.SectionParser, "feed", broken)

    events = await collect(engine_config, AnalyzeRequest(issue=make_issue(6)))

    assert [e.event for e in events][-1] == "error"
    assert events[-1].data == {"code": "internal_error", "detail": "Internal error."}
    assert "done" not in [e.event for e in events]
