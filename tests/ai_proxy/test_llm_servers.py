"""Through the API under Daphne (the local engine and ai-service), on the sandbox at its defaults
(one request at a time, a 4,096-token context unless a request sets ``num_ctx``): PAY-7 streamed
in one uncut request, a 1,000-issue summary never cut, a second analysis that waits its turn and
says so, and ``check_services`` naming a model that is not pulled."""

from __future__ import annotations

import pytest

from tests.ai_proxy.test_commands import manage
from tests.support import sandbox
from tests.support.ids import ALICE, BRUNO
from tests.support.servers import ServerProcess
from tests.support.signin import SignIn
from tests.support.sse import SSEReader, read_events

MODES = ["api_server", "remote_api"]
URL = "/ai/analyze-issue/stream"


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_pay7_streams_in_one_uncut_request(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)

    async with client.stream("POST", URL, json={"issue_key": "PAY-7"}) as answer:
        stream = await read_events(answer)

    stats = sandbox.stats(fast_llm)
    named = stream.events
    assert named[-1].event == "done", named[-1].data
    assert stats["routes"]["POST /api/chat"] == 1  # the issue's data evaluated once
    assert stats["llm_truncated"] == 0
    assert 8_000 < stats["llm_prompt_tokens"] < 16_384
    done = named[-1].json()
    assert done["coverage"]["comments_total"] == 2150
    assert done["coverage"]["comments_analyzed"] > 157  # what the old 6,000-"token" budget held


async def test_a_1000_issue_summary_is_never_cut(
    api_server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(api_server, ALICE)

    response = await client.post(
        "/ai/summarize-jql", json={"jql": "project = PAY", "max_issues": 1000}
    )

    assert response.status_code == 200, response.text
    coverage = response.json()["coverage"]
    assert (coverage["analyzed"], coverage["truncated"]) == (1000, True)
    stats = sandbox.stats(fast_llm)
    assert stats["llm_truncated"] == 0
    assert stats["routes"]["POST /api/chat"] > coverage["chunks"] > 1


async def test_a_second_analysis_waits_its_turn_and_says_so(
    api_server: ServerProcess, remote_api: ServerProcess, signed_in: SignIn, sandbox_url: str
) -> None:
    """Two processes (the API's local engine and ai-service) share one slot through Redis: the
    second stream says it waits, then runs once the first is done; nothing times out."""
    alice = await signed_in(api_server, ALICE)
    bruno = await signed_in(remote_api, BRUNO)
    sandbox.llm_pace(sandbox_url, tokens_per_second=100, first_token_ms=0)

    async with alice.stream("POST", URL, json={"issue_key": "PAY-3"}) as first:
        first_stream = SSEReader(first)
        async for event in first_stream:
            if event.event == "delta":
                break
        async with bruno.stream("POST", URL, json={"issue_key": "MOB-3"}) as second:
            waited = SSEReader(second)
            async for event in waited:
                if event.event == "log" and event.json()["step"] == "queue":
                    break
            rest_of_first = [event.event async for event in first_stream]
            await waited.read()

    assert "done" in rest_of_first
    logs = waited.data("log")
    assert {"step": "queue", "message": "en attente du modèle, position 1"} in logs
    assert waited.events[-1].event == "done"
    assert sandbox.stats(sandbox_url)["llm_queue_max"] == 0  # never two at once at the server


def test_check_services_names_a_model_that_is_not_pulled(
    api_env: dict[str, str], fast_llm: str
) -> None:
    run = manage({**api_env, "OLLAMA_MODEL": "mistral:7b"}, "check_services")

    assert run.returncode == 1
    assert "FAIL  llm: model mistral:7b is not pulled: run `ollama pull mistral:7b`" in (
        run.stdout.splitlines()
    )
