"""ai-service's report routes over HTTP, under real Daphne, against the sandbox LLM: the report
JSON, the signed token, 422 on a bad body, the streams."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ai_service.contract.reports import EpicReport, SprintReport
from tests.ai_service.report_requests import epic_request, sprint_request
from tests.support import sandbox
from tests.support.ai import bearer
from tests.support.servers import ServerProcess
from tests.support.sse import read_events

pytestmark = pytest.mark.usefixtures("fast_llm")


def sprint_body(**fields: Any) -> dict[str, Any]:
    return {**sprint_request(language="en").model_dump(mode="json"), **fields}


def epic_body() -> dict[str, Any]:
    return epic_request(language="fr", audience="stakeholders").model_dump(mode="json")


def test_the_sprint_report_answers_the_report_json(ai_service_server: ServerProcess) -> None:
    body = sprint_body()

    response = httpx.post(
        ai_service_server.url + "/ai/sprint-report", json=body, headers=bearer(), timeout=10
    )

    assert response.status_code == 200, response.text
    report = SprintReport.model_validate(response.json())
    assert response.json()["facts"] == body["facts"]
    assert report.language == "en"
    assert report.coverage.model_dump() == {"analyzed": 6, "total": 6}
    assert report.quality.repaired is False
    assert [i.issue_key for i in report.went_well] == ["PAY-1", "PAY-2", "PAY-6"]


def test_the_epic_report_answers_the_report_json(ai_service_server: ServerProcess) -> None:
    body = epic_body()

    response = httpx.post(
        ai_service_server.url + "/ai/epic-report", json=body, headers=bearer(), timeout=10
    )

    assert response.status_code == 200, response.text
    report = EpicReport.model_validate(response.json())
    assert response.json()["facts"] == body["facts"]
    assert report.audience == "stakeholders"
    assert report.language == "fr"


@pytest.mark.parametrize(
    "path", ["/ai/sprint-report", "/ai/sprint-report/stream", "/ai/epic-report/stream"]
)
def test_the_report_routes_need_a_service_token(
    ai_service_server: ServerProcess, path: str
) -> None:
    body = epic_body() if "epic" in path else sprint_body()

    unsigned = httpx.post(ai_service_server.url + path, json=body, timeout=10)
    forged = httpx.post(
        ai_service_server.url + path, json=body, headers=bearer("not-the-secret"), timeout=10
    )

    assert unsigned.status_code == 401
    assert forged.status_code == 401
    assert forged.json()["code"] == "invalid_service_token"


@pytest.mark.parametrize(
    "body",
    [
        sprint_body(audience="board"),
        sprint_body(facts=None),
        {**sprint_body(), "issues": [{"key": "not a key"}]},
    ],
    ids=["audience", "facts", "issue key"],
)
def test_a_bad_body_is_422(ai_service_server: ServerProcess, body: dict[str, Any]) -> None:
    response = httpx.post(
        ai_service_server.url + "/ai/sprint-report", json=body, headers=bearer(), timeout=10
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_an_llm_failure_is_a_json_502(ai_service_server: ServerProcess, sandbox_url: str) -> None:
    sandbox.add_fault(sandbox_url, "llm", mode="status", status=500)

    response = httpx.post(
        ai_service_server.url + "/ai/epic-report", json=epic_body(), headers=bearer(), timeout=10
    )

    assert response.status_code == 502
    assert response.json()["code"] == "llm_unavailable"


async def test_the_sprint_report_streams_its_narrative_then_the_report(
    ai_service_server: ServerProcess, sandbox_url: str
) -> None:
    sandbox.llm_pace(sandbox_url, tokens_per_second=5_000)
    body = sprint_body()

    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream(
            "POST",
            ai_service_server.url + "/ai/sprint-report/stream",
            json=body,
            headers=bearer(),
        ) as response,
    ):
        stream = await read_events(response)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert stream.lines[0] == ": ok"
    names = [e.event for e in stream.events]
    assert names[-2:] == ["result", "done"]
    assert "delta" in names
    assert stream.ids() == list(range(1, len(names) + 1))
    [result] = stream.data("result")
    assert result["section"] == "report"
    assert result["content"]["facts"] == body["facts"]
    narrative = "".join(d["text"] for d in stream.data("delta"))
    assert narrative.strip() == result["content"]["summary"]
    assert stream.data("done")[0]["coverage"] == {"analyzed": 6, "total": 6}


async def test_the_epic_report_streams(ai_service_server: ServerProcess) -> None:
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream(
            "POST",
            ai_service_server.url + "/ai/epic-report/stream",
            json=epic_body(),
            headers=bearer(),
        ) as response,
    ):
        stream = await read_events(response)

    assert response.status_code == 200
    assert [e.event for e in stream.events][-2:] == ["result", "done"]
    report = EpicReport.model_validate(stream.data("result")[0]["content"])
    assert report.facts.epic_key == "PAY-100"
