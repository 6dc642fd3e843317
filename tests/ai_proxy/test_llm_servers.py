"""Through the API under Daphne (the local engine and ai-service), on the sandbox at its defaults
(one request at a time, a 4,096-token context unless a request sets ``num_ctx``): PAY-7 streamed
in one uncut request, a 1,000-issue summary never cut, a second analysis that waits its turn and
says so, and ``check_services`` naming a model that is not pulled."""

from __future__ import annotations

import json

import pytest

from tests.ai_proxy.conftest import ALICE, BRUNO, SignIn, event_data, stream_events
from tests.ai_proxy.test_commands import manage
from tests.ai_service.conftest import llm_pace, sandbox_stats, sse_read
from tests.servers import ServerProcess

MODES = ["api_server", "remote_api"]
URL = "/ai/analyze-issue/stream"


@pytest.mark.parametrize("mode", MODES)
async def test_pay7_streams_in_one_uncut_request(
    mode: str, request: pytest.FixtureRequest, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(request.getfixturevalue(mode), ALICE)

    async with client.stream("POST", URL, json={"issue_key": "PAY-7"}) as answer:
        events = await stream_events(answer)

    stats = sandbox_stats(fast_llm)
    named = [e for e in events if e.comment is None]
    assert named[-1].event == "done", named[-1].data
    assert stats["routes"]["POST /api/chat"] == 1  # the issue's data evaluated once
    assert stats["llm_truncated"] == 0
    assert 8_000 < stats["llm_prompt_tokens"] < 16_384
    done = json.loads(named[-1].data)
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
    stats = sandbox_stats(fast_llm)
    assert stats["llm_truncated"] == 0
    assert stats["routes"]["POST /api/chat"] > coverage["chunks"] > 1


async def test_a_second_analysis_waits_its_turn_and_says_so(
    api_server: ServerProcess, remote_api: ServerProcess, signed_in: SignIn, sandbox_url: str
) -> None:
    """Two processes (the API's local engine and ai-service) share one slot through Redis: the
    second stream says it waits, then runs once the first is done; nothing times out."""
    alice = await signed_in(api_server, ALICE)
    bruno = await signed_in(remote_api, BRUNO)
    llm_pace(sandbox_url, tokens_per_second=100, first_token_ms=0)

    async with alice.stream("POST", URL, json={"issue_key": "PAY-3"}) as first:
        first_lines = first.aiter_lines()
        async for line in first_lines:
            if line == "event: delta":
                break
        async with bruno.stream("POST", URL, json={"issue_key": "MOB-3"}) as second:
            second_lines = second.aiter_lines()
            seen: list[str] = []
            async for line in second_lines:
                seen.append(line)
                if line.startswith("data: ") and '"step":"queue"' in line:
                    break
            rest_of_first = [line async for line in first_lines]
            seen.extend([line async for line in second_lines])

    assert "event: done" in rest_of_first
    waited = [e for e in sse_read(seen) if e.comment is None]
    logs = event_data(waited, "log")
    assert {"step": "queue", "message": "en attente du modèle, position 1"} in logs
    assert waited[-1].event == "done"
    assert sandbox_stats(sandbox_url)["llm_queue_max"] == 0  # never two at once at the server


def test_check_services_names_a_model_that_is_not_pulled(
    api_env: dict[str, str], fast_llm: str
) -> None:
    run = manage({**api_env, "OLLAMA_MODEL": "mistral:7b"}, "check_services")

    assert run.returncode == 1
    assert "FAIL  llm: model mistral:7b is not pulled: run `ollama pull mistral:7b`" in (
        run.stdout.splitlines()
    )
