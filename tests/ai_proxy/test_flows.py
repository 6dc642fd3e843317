"""POST /ai/summarize-jql and /ai/analyze-issue under Daphne, with the local engine, through
ai-service and on a 50% canary: the shapes of docs/http-contract.md, coverage, citations, faults,
tracing, cache, quota and the cheap checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.ai_proxy.conftest import ALICE, BRUNO, Collector, SignIn, metric_value
from tests.ai_service.conftest import llm_fault, sandbox_stats, wait_until
from tests.servers import ServerProcess, start_api

SUMMARY_KEYS = {
    "summary",
    "highlights",
    "risks",
    "blockers",
    "next_steps",
    "stats",
    "coverage",
    "citations_removed",
    "language",
    "provider",
    "model",
    "prompt_version",
    "cached",
    "generated_at",
}
ANALYSIS_KEYS = {
    "issue_key",
    "summary",
    "status_assessment",
    "risks",
    "blockers",
    "acceptance_criteria",
    "next_actions",
    "open_questions",
    "coverage",
    "citations_removed",
    "language",
    "provider",
    "model",
    "prompt_version",
    "cached",
    "generated_at",
}
MODES = ["api_server", "remote_api"]


def llm_requests(sandbox_url: str) -> int:
    # The engine talks to Ollama natively (never its /v1, which cannot set num_ctx).
    return int(sandbox_stats(sandbox_url)["routes"].get("POST /api/chat", 0))


def cited(document: dict[str, Any], *lists: str) -> set[str]:
    return {item["issue_key"] for name in lists for item in document[name] if item["issue_key"]}


async def search_keys(client: httpx.AsyncClient, jql: str, limit: int) -> set[str]:
    found = await client.get("/jira/search", params={"jql": jql, "limit": limit})
    assert found.status_code == 200, found.text
    return {issue["key"] for issue in found.json()["issues"]}


@pytest.mark.parametrize("mode", MODES)
async def test_summary_has_the_design_shape_and_stats_add_up(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    server: ServerProcess = request.getfixturevalue(mode)
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
    assert cited(summary, "highlights", "risks", "blockers", "next_steps") <= await search_keys(
        client, "project = PAY", 40
    )


@pytest.mark.parametrize("mode", MODES)
async def test_analysis_of_the_injection_issue_keeps_its_structure(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    server: ServerProcess = request.getfixturevalue(mode)
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
    assert cited(analysis, "risks", "blockers", "next_actions") <= {"PAY-8"}


async def test_a_1600_issue_query_reports_its_coverage(
    api_server: ServerProcess, signed_in: SignIn, fast_llm: str
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


@pytest.mark.parametrize("mode", ["tight_api", "tight_remote_api"])
async def test_a_small_context_is_map_reduced_with_truthful_coverage(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    server: ServerProcess = request.getfixturevalue(mode)
    client = await signed_in(server, ALICE)
    before = llm_requests(fast_llm)

    response = await client.post(
        "/ai/summarize-jql", json={"jql": "project = MOB", "max_issues": 300}
    )

    assert response.status_code == 200, response.text
    coverage = response.json()["coverage"]
    assert coverage["analyzed"] == 300
    assert coverage["total"] == 500
    assert coverage["truncated"] is True
    assert coverage["chunks"] > 1
    # a call per chunk, then the combine step(s)
    assert llm_requests(fast_llm) - before > coverage["chunks"]


async def test_the_canary_sends_each_account_to_its_side(
    canary_api: ServerProcess,
    ai_service_server: ServerProcess,
    signed_in: SignIn,
    fast_llm: str,
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


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("fault", "status", "code"), FAULTS)
async def test_an_llm_fault_is_its_status_and_code(
    mode: str,
    fault: dict[str, Any],
    status: int,
    code: str,
    request: pytest.FixtureRequest,
    signed_in: SignIn,
    fast_llm: str,
) -> None:
    server: ServerProcess = request.getfixturevalue(mode)
    client = await signed_in(server, ALICE)
    llm_fault(fast_llm, **fault)

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    if code == "llm_rate_limited":
        assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("mode", ["tight_api", "tight_remote_api"])
async def test_a_hanging_llm_is_a_504_llm_timeout(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    server: ServerProcess = request.getfixturevalue(mode)
    client = await signed_in(server, ALICE)
    llm_fault(fast_llm, mode="hang")

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert response.status_code == 504, response.text
    assert response.json() == {
        "detail": "The language model did not answer in time.",
        "code": "llm_timeout",
    }


@pytest.fixture(scope="module")
def orphan_api(api_env: dict[str, str]) -> Iterator[ServerProcess]:
    """An API whose ai-service does not listen (a port nobody binds)."""
    server = start_api(
        api_env,
        client_id="jira-ai-tests-orphan",
        extra_env={"AI_SERVICE_URL": "http://127.0.0.1:9"},
    )
    yield server
    server.stop()


async def test_an_unreachable_ai_service_is_503(
    orphan_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(orphan_api, ALICE)

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The AI service is unavailable.",
        "code": "ai_service_unavailable",
    }


async def test_ai_service_joins_the_api_trace(
    remote_api: ServerProcess, otlp_collector: Collector, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(remote_api, ALICE)

    response = await client.post(
        "/ai/summarize-jql", json={"jql": "project = PAY", "max_issues": 5}
    )
    assert response.status_code == 200, response.text

    def spans() -> tuple[Any, Any, Any]:
        snapshot = otlp_collector.snapshot()
        api_server_span = next(
            (
                s
                for s in snapshot
                if s.service == "test-api" and s.kind == 2 and "summarize-jql" in s.name
            ),
            None,
        )
        service_span = next(
            (
                s
                for s in snapshot
                if s.service == "test-ai-service" and s.kind == 2 and "summarize-jql" in s.name
            ),
            None,
        )
        client_spans = [s for s in snapshot if s.service == "test-api" and s.kind == 3]
        return api_server_span, service_span, client_spans

    assert wait_until(lambda: None not in spans()[:2], deadline_seconds=10)
    api_span, service_span, client_spans = spans()
    assert service_span.trace_id == api_span.trace_id
    parent = next(s for s in client_spans if s.span_id == service_span.parent_span_id)
    assert parent.trace_id == api_span.trace_id


async def test_a_second_call_is_served_from_the_cache_of_its_account_only(
    api_server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    alice = await signed_in(api_server, ALICE)
    bruno = await signed_in(api_server, BRUNO)
    body = {"jql": "project = MOB", "max_issues": 10}

    first = await alice.post("/ai/summarize-jql", json=body)
    calls = llm_requests(fast_llm)
    second = await alice.post("/ai/summarize-jql", json=body)
    calls_after_second = llm_requests(fast_llm)
    other_account = await bruno.post("/ai/summarize-jql", json=body)
    calls_after_bruno = llm_requests(fast_llm)
    refreshed = await alice.post("/ai/summarize-jql", json={**body, "refresh": True})

    assert [first.json()["cached"], second.json()["cached"]] == [False, True]
    assert calls_after_second == calls
    assert {**second.json(), "cached": False} == first.json()
    assert other_account.json()["cached"] is False
    assert calls_after_bruno == calls + 1
    assert refreshed.json()["cached"] is False
    assert llm_requests(fast_llm) == calls_after_bruno + 1


async def test_the_analysis_cache_follows_the_language(
    api_server: ServerProcess, signed_in: SignIn, fast_llm: str
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


async def test_the_quota_answers_429_with_retry_after(
    tight_api: ServerProcess, signed_in: SignIn, fast_llm: str
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
    before = sandbox_stats(fast_llm)["routes"]

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
    assert sandbox_stats(fast_llm)["routes"] == before


async def test_a_missing_issue_is_404_and_a_bad_jql_422(
    api_server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(api_server, ALICE)

    missing = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-999999"})
    bad_jql = await client.post("/ai/summarize-jql", json={"jql": "project = = PAY"})

    assert (missing.status_code, missing.json()["code"]) == (404, "issue_not_found")
    assert (bad_jql.status_code, bad_jql.json()["code"]) == (422, "invalid_jql")


async def test_a_body_that_is_not_json_is_422_invalid_input(
    api_server: ServerProcess, signed_in: SignIn, fast_llm: str
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


@pytest.mark.parametrize("mode", MODES)
async def test_an_llm_retry_after_out_of_range_is_the_default_one(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    server: ServerProcess = request.getfixturevalue(mode)
    client = await signed_in(server, ALICE)
    llm_fault(fast_llm, mode="status", status=429, retry_after="1e999")

    response = await client.post("/ai/analyze-issue", json={"issue_key": "PAY-3"})

    assert response.status_code == 503, response.text
    assert response.json()["code"] == "llm_rate_limited"
    assert response.headers["Retry-After"] == "30"
