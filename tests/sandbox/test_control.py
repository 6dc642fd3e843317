"""The sandbox's own account of what it served, for tests that prove timing and waits by it: the
stats long poll, the per-route concurrency and gaps, the LLM requests it received."""

from __future__ import annotations

import asyncio

import httpx
import ollama
import pytest

from sandbox.atlassian.data import ALICE
from tests.support import sandbox
from tests.support.ids import ACME
from tests.support.signin import tokens_for

MYSELF = "GET /ex/jira/{cloudId}/rest/api/3/myself"
MESSAGES = [{"role": "user", "content": "Summarize:\n```data\nPROJ-1 [Done] Fix the login\n```"}]


async def test_a_stats_wait_answers_once_its_condition_holds(sandbox_url: str) -> None:
    async with httpx.AsyncClient(timeout=15) as http:
        waiting = asyncio.create_task(
            http.get(
                sandbox_url + "/_sandbox/stats",
                params={"wait_for": "tokens_issued>=1,refreshes==0", "timeout": "10"},
            )
        )
        await asyncio.to_thread(tokens_for, sandbox_url, ALICE.account_id)
        answer = await waiting

    assert answer.status_code == 200
    assert (answer.json()["tokens_issued"], answer.json()["refreshes"]) == (1, 0)


def test_a_stats_wait_that_times_out_is_408_with_the_stats(sandbox_url: str) -> None:
    answer = httpx.get(
        sandbox_url + "/_sandbox/stats",
        params={"wait_for": "llm_cancelled>=1", "timeout": "0"},
        timeout=5,
    )

    assert answer.status_code == 408
    assert answer.json()["llm_cancelled"] == 0
    with pytest.raises(AssertionError, match="did not see llm_cancelled>=1"):
        sandbox.wait_for(sandbox_url, "llm_cancelled>=1", timeout=0)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"wait_for": "llm_cancelled=>1"}, "bad condition 'llm_cancelled=>1'"),
        ({"wait_for": "llm_cancelled>=1", "timeout": "61"}, "timeout must be between 0 and 60"),
        ({"wait_for": "llm_cancelled>=1", "timeout": "soon"}, "could not convert"),
    ],
)
def test_a_bad_stats_wait_is_400(sandbox_url: str, params: dict[str, str], error: str) -> None:
    answer = httpx.get(sandbox_url + "/_sandbox/stats", params=params, timeout=5)

    assert answer.status_code == 400
    assert error in answer.json()["error"]


async def test_routes_report_their_most_requests_in_flight_and_their_last_gap(
    sandbox_url: str,
) -> None:
    token = (await asyncio.to_thread(tokens_for, sandbox_url, ALICE.account_id))["access_token"]
    url = f"{sandbox_url}/ex/jira/{ACME}/rest/api/3/myself"
    sandbox.add_fault(sandbox_url, "jira", path_regex="/myself", mode="delay", delay_ms=500)

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
        one_after_the_other = [(await http.get(url)).status_code for _ in range(2)]
        gap = sandbox.stats(sandbox_url)["last_gap_ms"][MYSELF]
        together = await asyncio.gather(http.get(url), http.get(url))

    stats = sandbox.stats(sandbox_url)
    assert one_after_the_other == [200, 200]
    assert gap >= 500  # the second was sent once the first, held 500 ms, had been answered
    assert [a.status_code for a in together] == [200, 200]
    assert stats["routes"][MYSELF] == 4
    assert stats["max_in_flight"][MYSELF] == 2
    assert stats["max_in_flight"]["POST /oauth/token"] == 1
    assert "POST /oauth/token" not in stats["last_gap_ms"]  # one token request: no gap yet


async def test_the_llm_keeps_the_requests_it_received_until_the_reset(llm_url: str) -> None:
    await ollama.AsyncClient(host=llm_url).chat(model="llama3.1:8b", messages=MESSAGES)

    received = sandbox.llm_received(llm_url)
    sandbox.reset(llm_url)

    assert received == [
        {"vendor": "ollama", "model": "llama3.1:8b", "stream": False, "messages": MESSAGES}
    ]
    assert sandbox.llm_received(llm_url) == []


@pytest.fixture
def llm_url(sandbox_url: str) -> str:
    sandbox.llm_pace(sandbox_url, tokens_per_second=5000)
    return sandbox_url
