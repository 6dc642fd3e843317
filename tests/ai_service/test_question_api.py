"""ai-service's ``POST /ai/jql-from-question`` over HTTP, under real Daphne, against the sandbox
LLM: the signed token, 422 on a blank question, the proposal, the repair turn, an LLM failure."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ai_service.contract.questions import JqlProposal
from tests.ai_service.questions import question
from tests.support import sandbox
from tests.support.ai import bearer
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.usefixtures("fast_llm")
PATH = "/ai/jql-from-question"


def body(text: str = "Quels sont les bugs encore ouverts du projet PAY ?", **fields: Any) -> Any:
    return {**question(text, "fr").model_dump(mode="json"), **fields}


def test_the_route_answers_the_proposal(ai_service_server: ServerProcess) -> None:
    response = httpx.post(ai_service_server.url + PATH, json=body(), headers=bearer(), timeout=10)

    assert response.status_code == 200, response.text
    proposal = JqlProposal.model_validate(response.json())
    assert proposal.jql == "project = PAY AND issuetype = Bug AND statusCategory != Done"
    assert proposal.language == "fr"
    assert proposal.prompt_version == "v3"


def test_the_repair_turn_carries_jiras_errors(
    ai_service_server: ServerProcess, sandbox_url: str
) -> None:
    previous = {"jql": "type = Bug", "errors": ["Field 'type' does not exist."]}

    response = httpx.post(
        ai_service_server.url + PATH,
        json=body("Les bugs", previous=previous),
        headers=bearer(),
        timeout=10,
    )

    assert response.status_code == 200, response.text
    assert response.json()["jql"] == "issuetype = Bug"
    prompt = sandbox.llm_received(sandbox_url)[-1]["messages"][-1]["content"]
    assert "error: Field 'type' does not exist." in prompt


def test_the_route_needs_a_service_token(ai_service_server: ServerProcess) -> None:
    unsigned = httpx.post(ai_service_server.url + PATH, json=body(), timeout=10)
    forged = httpx.post(
        ai_service_server.url + PATH, json=body(), headers=bearer("not-the-secret"), timeout=10
    )

    assert unsigned.status_code == 401
    assert forged.status_code == 401
    assert forged.json()["code"] == "invalid_service_token"


@pytest.mark.parametrize(
    "payload",
    [body(question=""), body(question="x" * 1_001), {**body(), "vocabulary": None}],
    ids=["blank", "too long", "no vocabulary"],
)
def test_a_bad_question_is_422(ai_service_server: ServerProcess, payload: Any) -> None:
    response = httpx.post(ai_service_server.url + PATH, json=payload, headers=bearer(), timeout=10)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_an_llm_failure_is_a_json_502(ai_service_server: ServerProcess, sandbox_url: str) -> None:
    sandbox.add_fault(sandbox_url, "llm", mode="status", status=500)

    response = httpx.post(ai_service_server.url + PATH, json=body(), headers=bearer(), timeout=10)

    assert response.status_code == 502
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == "llm_unavailable"
