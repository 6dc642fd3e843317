"""POST /ai/summarize-jql and /ai/analyze-issue under Daphne, with the local engine, through
ai-service and on a 50% canary: the shapes of docs/http-contract.md, coverage, citations, faults,
tracing, cache, quota and the cheap checks."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support import sandbox
from tests.support.ai import ANALYSIS_KEYS, SUMMARY_KEYS
from tests.support.ids import ALICE, BRUNO
from tests.support.servers import ServerProcess
from tests.support.signin import SignIn
from tests.support.sse import read_events
from tests.support.telemetry import Collector, Span, metric_value

MODES = ["api_server", "remote_api"]


def cited(document: dict[str, Any], *lists: str) -> set[str]:
    return {item["issue_key"] for name in lists for item in document[name] if item["issue_key"]}


async def search_keys(client: httpx.AsyncClient, jql: str, limit: int) -> set[str]:
    found = await client.get("/jira/search", params={"jql": jql, "limit": limit})
    assert found.status_code == 200, found.text
    return {issue["key"] for issue in found.json()["issues"]}


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.usefixtures("fast_llm")
async def test_summary_has_the_design_shape_and_stats_add_up(
    server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(server, ALICE)

    response = await client.post(
        "/ai/summarize-jql", json={"jql": "project = PAY", "max_issues": 40, "language": "en"}
    )

    assert response.status_code == 200, response.text
    summary = response.json()
    assert set(summary) == SUMMARY_KEYS
    assert summary["coverage"] == {"analyzed": 40, "total": 1100, "truncated": True, "chunks": 1}
    for name in ("by_status", "by_priority", "by_assignee", "by_type"):
        assert sum(summary["stats"][name].values()) == 40
    assert summary["language"] == "en"
    assert summary["cached"] is False
    assert summary["provider"] == "ollama"
    keys = cited(summary, "highlights", "risks", "blockers", "next_steps")
    assert keys != set()
    assert keys <= await search_keys(client, "project = PAY", 40)


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.usefixtures("fast_llm")
async def test_analysis_of_the_injection_issue_keeps_its_structure(
    server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(server, ALICE)

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-8"})

    assert response.status_code == 200, response.text
    analysis = response.json()
    assert set(analysis) == ANALYSIS_KEYS
    assert analysis["issue_key"] == "PAY-8"
    assert analysis["language"] == "fr"  # LANGUAGE_CODE
    assert set(analysis["acceptance_criteria"]) == {"present", "assessment", "gaps"}
    assert analysis["coverage"] == {"comments_analyzed": 49, "comments_total": 49}
    assert all(isinstance(q, str) for q in analysis["open_questions"])
    assert cited(analysis, "risks", "blockers", "next_actions") == {"PAY-8"}


@pytest.mark.usefixtures("fast_llm")
async def test_a_1600_issue_query_reports_its_coverage(
    api_server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)

    response = await client.post(
        "/ai/summarize-jql", json={"jql": "project in (PAY, MOB)", "max_issues": 1000}
    )

    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["coverage"]["analyzed"] == 1000
    assert summary["coverage"]["total"] == 1600
    assert summary["coverage"]["truncated"] is True
    assert sum(summary["stats"]["by_status"].values()) == 1000


# AB_C (acme, Alice only): Jira allows "_" in project keys. Its 12 issues; AB_C-1 has one comment
# and the epic AB_C-10 as parent.


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.usefixtures("fast_llm")
async def test_an_underscore_key_typed_in_lower_case_is_analyzed_at_once_and_streamed(
    server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(server, ALICE)
    body = {"issue_key": "ab_c-1", "language": "en"}

    response = await client.post("/ai/analyze-issue", json=body)
    async with client.stream("POST", "/ai/analyze-issue/stream", json=body) as answer:
        stream = await read_events(answer)

    assert response.status_code == 200, response.text
    analysis = response.json()
    assert analysis["issue_key"] == "AB_C-1"
    assert analysis["coverage"] == {"comments_analyzed": 1, "comments_total": 1}
    # The engine's citation check reads keys with "_": nothing it was allowed to cite was removed.
    assert cited(analysis, "risks", "blockers", "next_actions") == {"AB_C-1", "AB_C-10"}
    assert analysis["citations_removed"] == 0
    assert answer.status_code == 200
    assert [d["message"] for d in stream.data("log")[:2]] == [
        "Reading AB_C-1 and its comments from Jira",
        "AB_C-1: 1 of 1 comments read",
    ]
    results = stream.data("result")
    assert len(results) == 4
    assert all("AB_C-1" in r["content"] for r in results)
    assert [e.event for e in stream.events][-1] == "done"
    assert stream.data("done")[0]["coverage"] == analysis["coverage"]


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.usefixtures("fast_llm")
async def test_a_summary_of_a_project_keyed_with_an_underscore_cites_its_keys(
    server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(server, ALICE)

    response = await client.post(
        "/ai/summarize-jql", json={"jql": "project = AB_C", "language": "en"}
    )

    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["coverage"] == {"analyzed": 12, "total": 12, "truncated": False, "chunks": 1}
    assert summary["stats"]["by_status"] == {"Done": 9, "In Progress": 2, "To Do": 1}
    # The sandbox's items (its Done, In Progress and high-priority issues) keep their "_" keys.
    assert cited(summary, "highlights", "risks", "blockers", "next_steps") == {
        "AB_C-7",
        "AB_C-8",
        "AB_C-9",
        "AB_C-11",
        "AB_C-12",
    }
    assert summary["citations_removed"] == 0


@pytest.mark.parametrize("server", ["tight_api", "tight_remote_api"], indirect=True)
async def test_a_small_context_is_map_reduced_with_truthful_coverage(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)
    before = sandbox.llm_requests(fast_llm)

    # The chunks go to the LLM one at a time (LLM_MAX_CONCURRENCY=1, as a stock Ollama serves
    # them): a generous client timeout, since CI's two cores also run every server.
    response = await client.post(
        "/ai/summarize-jql", json={"jql": "project = MOB", "max_issues": 120}, timeout=180
    )

    assert response.status_code == 200, response.text
    coverage = response.json()["coverage"]
    assert coverage["analyzed"] == 120
    assert coverage["total"] == 500
    assert coverage["truncated"] is True
    assert coverage["chunks"] > 1
    # a call per chunk, then the combine step(s)
    assert sandbox.llm_requests(fast_llm) - before > coverage["chunks"]


@pytest.mark.usefixtures("fast_llm")
async def test_the_canary_sends_each_account_to_its_side(
    canary_api: ServerProcess,
    ai_service_server: ServerProcess,
    signed_in: SignIn,
) -> None:
    alice = await signed_in(canary_api, ALICE)  # bucket 21 < 50: ai-service
    bruno = await signed_in(canary_api, BRUNO)  # bucket 76: local engine

    def counts() -> tuple[float, float, float]:
        api = httpx.get(canary_api.url + "/metrics", timeout=5).text
        service = httpx.get(ai_service_server.url + "/metrics", timeout=5).text
        return (
            metric_value(
                api, "jira_ai_ai_backend_calls_total", endpoint="analyze-issue", backend="remote"
            ),
            metric_value(
                api, "jira_ai_ai_backend_calls_total", endpoint="analyze-issue", backend="local"
            ),
            metric_value(service, "ai_service_requests_total", endpoint="analyze-issue", code="ok"),
        )

    start = counts()
    assert (await alice.post("/ai/analyze-issue", json={"issue_key": "MOB-3"})).status_code == 200
    after_alice = counts()
    assert (await bruno.post("/ai/analyze-issue", json={"issue_key": "MOB-3"})).status_code == 200
    after_bruno = counts()

    assert [b - a for a, b in zip(start, after_alice, strict=True)] == [1, 0, 1]
    assert [b - a for a, b in zip(after_alice, after_bruno, strict=True)] == [0, 1, 0]


FAULTS = [
    ({"mode": "status", "status": 500}, 502, "llm_unavailable"),
    ({"mode": "malformed"}, 502, "llm_invalid_output"),
    ({"mode": "status", "status": 429, "retry_after": 7}, 503, "llm_rate_limited"),
]


@pytest.mark.parametrize("server", MODES, indirect=True)
@pytest.mark.parametrize(("fault", "status", "code"), FAULTS)
async def test_an_llm_fault_is_its_status_and_code(
    server: ServerProcess,
    fault: dict[str, Any],
    status: int,
    code: str,
    signed_in: SignIn,
    fast_llm: str,
) -> None:
    client = await signed_in(server, ALICE)
    sandbox.add_fault(fast_llm, "llm", **fault)

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    if code == "llm_rate_limited":
        assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("server", ["tight_api", "tight_remote_api"], indirect=True)
async def test_a_hanging_llm_is_a_504_llm_timeout(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)
    sandbox.add_fault(fast_llm, "llm", mode="hang")

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert response.status_code == 504, response.text
    assert response.json() == {
        "detail": "The language model did not answer in time.",
        "code": "llm_timeout",
    }


@pytest.mark.usefixtures("fast_llm")
async def test_an_unreachable_ai_service_is_503(
    orphan_api: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(orphan_api, ALICE)

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The AI service is unavailable.",
        "code": "ai_service_unavailable",
    }


@pytest.mark.usefixtures("fast_llm")
async def test_ai_service_joins_the_api_trace(
    remote_api: ServerProcess, otlp_collector: Collector, signed_in: SignIn
) -> None:
    client = await signed_in(remote_api, ALICE)

    response = await client.post(
        "/ai/summarize-jql", json={"jql": "project = PAY", "max_issues": 5}
    )
    assert response.status_code == 200, response.text

    def server_span(spans: list[Span], service: str) -> Span | None:
        return next(
            (
                s
                for s in spans
                if s.service == service and s.kind == 2 and "summarize-jql" in s.name
            ),
            None,
        )

    # The API's client span ends (and is exported) before its server span.
    spans = otlp_collector.wait_for(
        lambda spans: (
            None not in (server_span(spans, "test-api"), server_span(spans, "test-ai-service"))
        )
    )
    api_span = server_span(spans, "test-api")
    service_span = server_span(spans, "test-ai-service")
    assert api_span is not None
    assert service_span is not None
    assert service_span.trace_id == api_span.trace_id
    parent = next(
        s
        for s in spans
        if s.service == "test-api" and s.kind == 3 and s.span_id == service_span.parent_span_id
    )
    assert parent.trace_id == api_span.trace_id


async def test_a_second_call_is_served_from_the_cache_of_its_account_only(
    api_server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    alice = await signed_in(api_server, ALICE)
    bruno = await signed_in(api_server, BRUNO)
    body = {"jql": "project = MOB", "max_issues": 10}

    first = await alice.post("/ai/summarize-jql", json=body)
    calls = sandbox.llm_requests(fast_llm)
    second = await alice.post("/ai/summarize-jql", json=body)
    calls_after_second = sandbox.llm_requests(fast_llm)
    other_account = await bruno.post("/ai/summarize-jql", json=body)
    calls_after_bruno = sandbox.llm_requests(fast_llm)
    refreshed = await alice.post("/ai/summarize-jql", json={**body, "refresh": True})

    assert [first.json()["cached"], second.json()["cached"]] == [False, True]
    assert calls_after_second == calls
    assert {**second.json(), "cached": False} == first.json()
    assert other_account.json()["cached"] is False
    assert calls_after_bruno == calls + 1
    assert refreshed.json()["cached"] is False
    assert sandbox.llm_requests(fast_llm) == calls_after_bruno + 1


@pytest.mark.usefixtures("fast_llm")
async def test_the_analysis_cache_follows_the_language(
    api_server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)

    french = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})
    english = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3", "language": "en"})
    again = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3", "language": "fr"})

    assert [french.json()["cached"], english.json()["cached"], again.json()["cached"]] == [
        False,
        False,
        True,
    ]
    assert english.json()["language"] == "en"


@pytest.mark.usefixtures("fast_llm")
async def test_the_quota_answers_429_with_retry_after(
    tight_api: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(tight_api, ALICE)  # AI_USER_REQUESTS_PER_MINUTE=3

    codes = [
        (await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})).status_code
        for _ in range(3)
    ]
    refused = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert codes == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


async def test_cheap_checks_answer_with_their_status(
    tight_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(tight_api, BRUNO)
    before = sandbox.stats(fast_llm)["routes"]

    anonymous = httpx.post(
        tight_api.url + "/ai/analyze-issue", json={"issue_key": "MOB-1"}, timeout=5
    )
    no_csrf = await client.post(
        "/ai/analyze-issue", json={"issue_key": "MOB-1"}, headers={"X-CSRFToken": ""}
    )
    too_large = await client.post(
        "/ai/summarize-jql", content=json.dumps({"jql": "x" * 3000}).encode()
    )
    bad_key = await client.post("/ai/analyze-issue", json={"issue_key": "mob 1"})
    bad_body = await client.post(
        "/ai/summarize-jql", json={"jql": "project = MOB", "max_issues": 0}
    )
    bad_language = await client.post(
        "/ai/analyze-issue", json={"issue_key": "MOB-1", "language": "de"}
    )

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert (no_csrf.status_code, no_csrf.json()["code"]) == (403, "csrf_failed")
    assert (too_large.status_code, too_large.json()["code"]) == (413, "body_too_large")
    assert (bad_key.status_code, bad_key.json()["code"]) == (422, "invalid_input")
    assert (bad_body.status_code, bad_body.json()["code"]) == (422, "invalid_input")
    assert (bad_language.status_code, bad_language.json()["code"]) == (422, "invalid_input")
    # none of them reached Jira or the LLM
    assert sandbox.stats(fast_llm)["routes"] == before


@pytest.mark.usefixtures("fast_llm")
async def test_a_missing_issue_is_404_and_a_bad_jql_422(
    api_server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)

    missing = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-999999"})
    bad_jql = await client.post("/ai/summarize-jql", json={"jql": "project = = PAY"})

    assert (missing.status_code, missing.json()["code"]) == (404, "issue_not_found")
    assert (bad_jql.status_code, bad_jql.json()["code"]) == (422, "invalid_jql")


@pytest.mark.usefixtures("fast_llm")
async def test_a_body_that_is_not_json_is_422_invalid_input(
    api_server: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)

    answers = [
        await client.post(
            "/ai/summarize-jql", content=content, headers={"Content-Type": "application/json"}
        )
        for content in (b"{not json", b'{"jql": "\xff"}')
    ]

    assert [(a.status_code, a.json()) for a in answers] == [
        (422, {"detail": "The request body is not valid JSON.", "code": "invalid_input"})
    ] * 2


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_an_llm_retry_after_out_of_range_is_the_default_one(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)
    sandbox.add_fault(fast_llm, "llm", mode="status", status=429, retry_after="1e999")

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert response.status_code == 503, response.text
    assert response.json()["code"] == "llm_rate_limited"
    assert response.headers["Retry-After"] == "30"
