"""The public API's report backend calls (what its report routes build on), against a real
ai-service under Daphne and the sandbox LLM: the signed call, the typed answer, the stream
relayed event by event, ai-service's errors as ours."""

from __future__ import annotations

import json

import pytest
from pytest_django.fixtures import Settings

from ai_proxy.backends import RemoteBackend
from ai_service.contract.reports import EpicReport
from core.errors import ApiError
from tests.ai_service.questions import question
from tests.ai_service.report_requests import epic_request, sprint_request
from tests.support import sandbox
from tests.support.ids import AI_SHARED_SECRET
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.usefixtures("fast_llm")


@pytest.fixture
def remote(ai_service_server: ServerProcess, settings: Settings) -> RemoteBackend:
    settings.AI_SHARED_SECRET = [AI_SHARED_SECRET]
    return RemoteBackend(ai_service_server.url)


async def test_the_remote_sprint_report_is_the_typed_report(remote: RemoteBackend) -> None:
    request = sprint_request(language="en")

    report = await remote.sprint_report(account_id="acc-1", request=request)

    assert report.facts == request.facts
    assert report.sprint == request.sprint
    assert [i.issue_key for i in report.went_well] == ["PAY-1", "PAY-2", "PAY-6"]


async def test_the_remote_epic_report_stream_is_relayed(remote: RemoteBackend) -> None:
    request = epic_request(language="fr")

    events = [
        event
        async for event in remote.epic_report_stream(
            account_id="acc-1", request=request, request_id="req-reports-1"
        )
    ]

    assert [e.name for e in events][-2:] == ["result", "done"]
    result = json.loads(events[-2].data)
    assert result["section"] == "report"
    assert EpicReport.model_validate(result["content"]).facts == request.facts


async def test_an_llm_failure_comes_back_as_its_code(
    remote: RemoteBackend, sandbox_url: str
) -> None:
    sandbox.add_fault(sandbox_url, "llm", mode="status", status=500)

    with pytest.raises(ApiError) as caught:
        await remote.epic_report(account_id="acc-1", request=epic_request())

    assert caught.value.status == 502
    assert caught.value.code == "llm_unavailable"


async def test_the_remote_jql_proposal_is_the_typed_proposal(remote: RemoteBackend) -> None:
    request = question("Open bugs in project PAY assigned to me", "en")

    proposal = await remote.jql_propose(account_id="acc-1", request=request)

    assert proposal.jql == (
        "project = PAY AND issuetype = Bug AND statusCategory != Done AND assignee = currentUser()"
    )
    assert proposal.language == "en"
