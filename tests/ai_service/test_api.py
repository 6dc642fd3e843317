"""ai-service over HTTP, under real Daphne, against the sandbox LLM: shapes, body limits,
inter-service auth, the SSE stream and its cap, the docs."""

from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

import httpx
import pytest
from django.core import signing

from ai_service.contract.schemas import Summary
from ai_service.contract.tokens import SALT, service_token_issue
from tests.support import sandbox
from tests.support.ai import bearer, issues_payload, make_issue
from tests.support.ids import AI_SHARED_SECRET
from tests.support.servers import ServerFactory, ServerProcess
from tests.support.sse import read_events


@pytest.fixture(scope="module")
def capped_server(server_factory: ServerFactory) -> ServerProcess:
    """A second ai-service: one stream at most, keepalives every 0.2 s, two verifying keys."""
    return server_factory.ai_service(
        AI_MAX_STREAMS="1",
        AI_KEEPALIVE_SECONDS="0.2",
        AI_SHARED_SECRET=f"new-secret-2,{AI_SHARED_SECRET}",
        AI_MAX_BODY_BYTES="20000",
    )


def summarize_body(count: int = 5) -> dict[str, Any]:
    return {
        "jql": "project = PAY",
        "issues": issues_payload(make_issue(n) for n in range(1, count + 1)),
        "total": count + 2,
        "language": "en",
    }


def analyze_body() -> dict[str, Any]:
    return {
        "issue": make_issue(9).model_dump(mode="json"),
        "comments": [
            {"id": "10", "author": "Bob", "created": "2026-02-01T10:00:00Z", "body": "Blocked."}
        ],
        "comments_total": 1,
        "language": "fr",
    }


def test_summarize_answers_the_summary_json(
    ai_service_server: ServerProcess, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000)

    response = httpx.post(
        ai_service_server.url + "/ai/summarize-jql",
        json=summarize_body(),
        headers=bearer(),
        timeout=10,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["coverage"] == {"analyzed": 5, "total": 7, "truncated": True, "chunks": 1}
    assert sum(body["stats"]["by_status"].values()) == 5
    assert (body["language"], body["provider"], body["model"], body["cached"]) == (
        "en",
        "ollama",
        "llama3.1:8b",
        False,
    )
    cited = [i["issue_key"] for i in body["highlights"]]
    assert cited != []
    assert set(cited) <= {f"PAY-{n}" for n in range(1, 6)}


def test_analyze_answers_the_analysis_json(
    ai_service_server: ServerProcess, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000)

    response = httpx.post(
        ai_service_server.url + "/ai/analyze-issue",
        json=analyze_body(),
        headers=bearer(),
        timeout=10,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["issue_key"] == "PAY-9"
    assert body["coverage"] == {"comments_analyzed": 1, "comments_total": 1}
    assert set(body["acceptance_criteria"]) == {"present", "assessment", "gaps"}
    assert body["language"] == "fr"


def test_an_llm_fault_is_its_status_and_code(
    ai_service_server: ServerProcess, sandbox_url: str
) -> None:
    sandbox.add_fault(sandbox_url, "llm", mode="status", status=429, retry_after=11)

    response = httpx.post(
        ai_service_server.url + "/ai/analyze-issue",
        json=analyze_body(),
        headers=bearer(),
        timeout=10,
    )

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The language model is rate-limited; retry later.",
        "code": "llm_rate_limited",
    }
    assert response.headers["Retry-After"] == "11"


def test_invalid_body_is_422(ai_service_server: ServerProcess) -> None:
    response = httpx.post(
        ai_service_server.url + "/ai/summarize-jql",
        json={"jql": "", "issues": [{"key": "not a key"}], "total": -1},
        headers=bearer(),
        timeout=10,
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "jql: String should have at least 1 character; issues.0.key: String should "
        "match pattern '^[A-Z][A-Z0-9_]+-[1-9][0-9]*$'; total: Input should be greater than or "
        "equal to 0",
        "code": "invalid_input",
    }


def test_body_over_the_limit_is_413(capped_server: ServerProcess) -> None:
    body = summarize_body(60)
    assert len(json.dumps(body)) > 20000

    response = httpx.post(
        capped_server.url + "/ai/summarize-jql", json=body, headers=bearer(), timeout=10
    )

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer not-a-token"},
        bearer(secret="forged-secret"),
        {
            "Authorization": "Bearer "
            + signing.dumps(
                {"aud": "public-api", "sub": "acc-1", "jti": "x"}, key=AI_SHARED_SECRET, salt=SALT
            )
        },
    ],
    ids=["missing", "other-scheme", "garbage", "forged", "wrong-audience"],
)
def test_bad_service_tokens_are_401(
    ai_service_server: ServerProcess, headers: dict[str, str]
) -> None:
    response = httpx.post(
        ai_service_server.url + "/ai/analyze-issue",
        json=analyze_body(),
        headers=headers,
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Missing or invalid service token.",
        "code": "invalid_service_token",
    }


def test_an_expired_service_token_is_401(ai_service_server: ServerProcess) -> None:
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 3600):
        token = service_token_issue(account_id="acc-1", secrets=[AI_SHARED_SECRET])

    response = httpx.post(
        ai_service_server.url + "/ai/analyze-issue",
        json=analyze_body(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_service_token"


def test_rotated_keys_all_verify(capped_server: ServerProcess, sandbox_url: str) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000)

    codes = [
        httpx.post(
            capped_server.url + "/ai/analyze-issue",
            json=analyze_body(),
            headers=bearer(secret=secret),
            timeout=10,
        ).status_code
        for secret in ("new-secret-2", AI_SHARED_SECRET, "retired-secret-0")
    ]

    assert codes == [200, 200, 401]


async def test_the_stream_sends_events_with_sse_headers(
    ai_service_server: ServerProcess, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=5_000)

    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream(
            "POST",
            ai_service_server.url + "/ai/analyze-issue/stream",
            json=analyze_body(),
            headers=bearer(),
        ) as response,
    ):
        stream = await read_events(response)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in response.headers
    assert stream.lines[0] == ": ok"
    events = stream.events
    assert [e.event for e in events][:2] == ["log", "log"]
    assert events[-1].event == "done"
    assert stream.ids() == list(range(1, len(events) + 1))
    assert sorted(d["section"] for d in stream.data("result")) == [
        "acceptance_criteria",
        "next_actions",
        "risks_blockers",
        "synthesis",
    ]


async def test_the_summary_streams_with_progress_then_the_whole_summary(
    ai_service_server: ServerProcess, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=5_000)

    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream(
            "POST",
            ai_service_server.url + "/ai/summarize-jql/stream",
            json={**summarize_body(), "cloud_id": "cloud-1"},
            headers=bearer(),
        ) as response,
    ):
        stream = await read_events(response)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert stream.lines[0] == ": ok"
    names = [e.event for e in stream.events]
    assert names[-2:] == ["result", "done"]
    assert "delta" in names
    [result] = stream.data("result")
    summary = Summary.model_validate(result["content"])
    assert summary.coverage.analyzed == 5
    assert summary.coverage.total == 7
    assert stream.data("done")[0]["coverage"]["chunks_reused"] == 0


def test_the_summary_stream_needs_a_token(ai_service_server: ServerProcess) -> None:
    response = httpx.post(
        ai_service_server.url + "/ai/summarize-jql/stream", json=summarize_body(), timeout=10
    )

    assert response.status_code == 401


def test_the_stream_needs_a_token(ai_service_server: ServerProcess) -> None:
    response = httpx.post(
        ai_service_server.url + "/ai/analyze-issue/stream", json=analyze_body(), timeout=10
    )

    assert response.status_code == 401


def test_stream_cap_answers_503_and_frees_the_slot_on_disconnect(
    capped_server: ServerProcess, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=5, first_token_ms=600)
    url = capped_server.url + "/ai/analyze-issue/stream"
    with httpx.stream("POST", url, json=analyze_body(), headers=bearer(), timeout=10) as first:
        lines = first.iter_lines()
        seen = [next(lines), next(lines), next(lines)]
        assert seen[0] == ": ok"

        second = httpx.post(url, json=analyze_body(), headers=bearer(), timeout=10)

        assert second.status_code == 503
        assert second.json() == {
            "detail": "Too many analyses are streaming; retry shortly.",
            "code": "too_many_streams",
        }
        # Keepalives while the model has not written yet (AI_KEEPALIVE_SECONDS=0.2).
        for line in lines:
            seen.append(line)
            if line == ": keepalive":
                break
        assert ": keepalive" in seen

    # One LLM request per analysis: the disconnect cancels it.
    assert sandbox.wait_for(sandbox_url, "llm_cancelled>=1")["llm_cancelled"] == 1
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000)
    third = httpx.post(url, json=analyze_body(), headers=bearer(), timeout=10)
    assert third.status_code == 200


def test_docs_and_openapi_are_served(ai_service_server: ServerProcess) -> None:
    docs = httpx.get(ai_service_server.url + "/docs", timeout=10)
    schema = httpx.get(ai_service_server.url + "/openapi.json", timeout=10).json()

    assert docs.status_code == 200
    assert {"/ai/summarize-jql", "/ai/analyze-issue", "/ai/analyze-issue/stream"} <= set(
        schema["paths"]
    )
    assert "SummarizeRequest" in schema["components"]["schemas"]


def test_metrics_count_requests_and_tokens(
    ai_service_server: ServerProcess, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=50_000)
    httpx.post(
        ai_service_server.url + "/ai/summarize-jql",
        json=summarize_body(2),
        headers=bearer(),
        timeout=10,
    )

    text = httpx.get(ai_service_server.url + "/metrics", timeout=10).text

    assert 'ai_service_requests_total{code="ok",endpoint="summarize-jql"}' in text
    assert 'jira_ai_llm_tokens_total{direction="in",model="llama3.1:8b"}' in text


def test_a_body_that_is_not_json_is_422_with_a_code(ai_service_server: ServerProcess) -> None:
    answers = [
        httpx.post(
            ai_service_server.url + "/ai/analyze-issue",
            content=content,
            headers={**bearer(), "Content-Type": "application/json"},
            timeout=10,
        )
        for content in (b"{not json", b'{"issue": "\xff"}')
    ]

    assert [(a.status_code, a.json()) for a in answers] == [
        (422, {"detail": "The request body is not valid JSON.", "code": "invalid_input"})
    ] * 2


def test_a_wrong_method_is_a_json_405(ai_service_server: ServerProcess) -> None:
    response = httpx.get(ai_service_server.url + "/ai/analyze-issue", headers=bearer(), timeout=10)

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"detail": "Method not allowed.", "code": "method_not_allowed"}
