"""The streamed summary through the engine against the sandbox LLM and the tests' Redis: progress
of the map-reduce, the narrative, the checked result; map results kept so a cut run resumes."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import Any

import pytest

from ai_service.contract.schemas import SummarizeRequest, Summary
from ai_service.engine import EngineConfig, jql_summarize_stream
from tests.support import sandbox
from tests.support.ai import make_issue

pytestmark = pytest.mark.usefixtures("fast_llm")
KEY = re.compile(r"\b[A-Z][A-Z0-9_]+-[1-9][0-9]*\b")


@pytest.fixture
def config(engine_config: EngineConfig, redis_url: str) -> EngineConfig:
    # A small context: 120 issues take several chunks, one at a time (a stock Ollama).
    return dataclasses.replace(
        engine_config, context_tokens=4000, redis_url=redis_url, max_concurrency=1
    )


def request_of(count: int = 120, **fields: Any) -> SummarizeRequest:
    # A JQL of its own per test: map results of another test's run are never found.
    return SummarizeRequest(
        jql=f"project = PAY AND text ~ '{uuid.uuid4().hex}'",
        issues=[make_issue(n) for n in range(1, count + 1)],
        total=count + 30,
        language="fr",
        cloud_id="cloud-1",
        **fields,
    )


async def events_of(
    config: EngineConfig, request: SummarizeRequest, *, stop_after_maps: int | None = None
) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    stream = jql_summarize_stream(config=config, request=request, account_id="acc-1")
    try:
        async for event in stream:
            out.append((event.name, json.loads(event.data)))
            maps = [d for n, d in out if n == "log" and d["step"] == "map" and d["done"]]
            if stop_after_maps is not None and len(maps) >= stop_after_maps:
                break
    finally:
        await stream.aclose()
    return out


async def test_progress_then_the_narrative_then_the_checked_summary(
    config: EngineConfig, sandbox_url: str
) -> None:
    request = request_of()
    events = await events_of(config, request)
    names = [n for n, _ in events]
    assert names[-2:] == ["result", "done"], events[-3:]
    maps = [d for n, d in events if n == "log" and d["step"] == "map"]
    total = maps[0]["total"]
    assert total > 1
    assert [m["done"] for m in maps] == list(range(total + 1))
    assert {m["total"] for m in maps} == {total}
    assert maps[1]["message"] == f"Résumé des morceaux : 1 sur {total}"
    assert any(n == "log" and d["step"] == "combine" for n, d in events)
    summary = Summary.model_validate(events[-2][1]["content"])
    assert summary.coverage.analyzed == 120
    assert summary.coverage.total == 150
    assert summary.coverage.chunks == total
    # The narrative came as it was written, before the result, and the result is the checked text.
    deltas = "".join(d["text"] for n, d in events if n == "delta")
    assert deltas.strip()
    assert names.index("delta") < names.index("result")
    assert set(KEY.findall(deltas)) <= {i.key for i in request.issues}
    done = events[-1][1]
    assert done["coverage"] == {"analyzed": 120, "total": 150, "chunks": total, "chunks_reused": 0}
    assert done["quality"] == summary.quality.model_dump()


async def test_a_cut_run_resumes_with_the_chunks_already_summarized(
    config: EngineConfig, sandbox_url: str
) -> None:
    request = request_of()
    first = await events_of(config, request, stop_after_maps=2)
    assert [n for n, _ in first][-1] == "log"  # cut after its second chunk
    total = next(d["total"] for n, d in first if n == "log" and d["step"] == "map")
    before = sandbox.llm_requests(sandbox_url)

    second = await events_of(config, request)
    assert [n for n, _ in second][-1] == "done"
    done = second[-1][1]
    assert done["coverage"]["chunks"] == total
    assert done["coverage"]["chunks_reused"] >= 2
    reused_logs = [d for n, d in second if n == "log" and "déjà faits" in d["message"]]
    assert reused_logs != []
    # Only the missing chunks (and the combines) went to the LLM.
    combines = sum(1 for n, d in second if n == "log" and d["step"] == "combine")
    assert sandbox.llm_requests(sandbox_url) - before <= total - 2 + combines

    # A completed run's chunks are redone on refresh.
    third = await events_of(config, request.model_copy(update={"refresh": True}))
    assert third[-1][1]["coverage"]["chunks_reused"] == 0


async def test_an_llm_failure_is_one_error_event(config: EngineConfig, sandbox_url: str) -> None:
    sandbox.add_fault(sandbox_url, "llm", mode="status", status=503, retry_after=7, count=100)
    events = await events_of(config, request_of(10))
    assert [n for n, _ in events][-1] == "error"
    # A 503 with Retry-After: the model is unavailable and says when to come back.
    assert events[-1][1]["code"] == "llm_unavailable"
    assert events[-1][1]["retry_after"] == 7


async def test_sloppy_narrative_is_never_shown_wrong(
    config: EngineConfig, sandbox_url: str
) -> None:
    request = request_of(8)
    events = await events_of(dataclasses.replace(config, ollama_model="sloppy"), request)
    assert events[-1][0] == "done", events[-3:]
    deltas = "".join(d["text"] for n, d in events if n == "delta")
    allowed = {i.key for i in request.issues}
    assert set(KEY.findall(deltas)) <= allowed
    summary = Summary.model_validate(events[-2][1]["content"])
    assert set(KEY.findall(summary.summary)) <= allowed
    assert summary.quality.repaired is True
    assert "Here is" not in deltas
