"""``manage.py summarize_jql`` and ``analyze_issue`` against a live session (signed in through the
API under Daphne), run as operators run them: a subprocess with the API's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.support.ids import ALICE
from tests.support.servers import ROOT, ServerProcess
from tests.support.signin import SignIn


def live_sid(client: httpx.AsyncClient) -> str:
    """The session id of a signed-in client (its ``sid`` cookie is signed)."""
    from accounts.sessions import sid_unsign

    sid = sid_unsign(client.cookies["sid"])
    assert sid is not None
    return sid


def manage(api_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **api_env,
        "ATLASSIAN_CLIENT_ID": "jira-ai-tests",
        "ATLASSIAN_CLIENT_SECRET": "jira-ai-tests-secret",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.usefixtures("fast_llm")
async def test_summarize_jql_prints_the_api_json(
    api_server: ServerProcess, api_env: dict[str, str], signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)
    from_api = (
        await client.post("/ai/summarize-jql", json={"jql": "project = MOB", "max_issues": 10})
    ).json()

    run = manage(
        api_env,
        "summarize_jql",
        "project = MOB",
        "--session",  # the id is hex (accounts/sessions.py): never taken for an option
        live_sid(client),
        "--max-issues",
        "10",
        "--json",
    )

    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    assert printed == {**from_api, "cached": True}


@pytest.mark.usefixtures("fast_llm")
async def test_summarize_jql_stream_prints_the_progress_then_the_summary(
    api_server: ServerProcess, api_env: dict[str, str], signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)

    run = manage(
        api_env,
        "summarize_jql",
        "project = AB_C",
        "--session",
        live_sid(client),
        "--max-issues",
        "12",
        "--refresh",
        "--stream",
        "--json",
    )

    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert lines[0].startswith("[count] ")
    fetched = [line for line in lines if line.startswith("[fetch ")]
    assert fetched[-1].startswith("[fetch 12/12] ")
    printed = json.loads(run.stdout)
    assert printed["coverage"]["analyzed"] == 12
    assert printed["cached"] is False
    # The streamed summary went to the AI cache, as the API's own stream does.
    again = await client.post("/ai/summarize-jql", json={"jql": "project = AB_C", "max_issues": 12})
    assert again.json()["cached"] is True


@pytest.mark.usefixtures("fast_llm")
async def test_analyze_issue_streams_the_text_as_it_comes(
    api_server: ServerProcess, api_env: dict[str, str], signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)

    run = manage(
        api_env,
        "analyze_issue",
        "PAY-8",
        "--session",  # the id is hex (accounts/sessions.py): never taken for an option
        live_sid(client),
        "--stream",
        "--language",
        "en",
    )

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "# Reading PAY-8 and its comments from Jira"
    assert lines[1] == "# PAY-8: 49 of 49 comments read"
    assert {line.split("]")[0] + "]" for line in lines if line.startswith("[")} == {
        "[synthesis]",
        "[risks_blockers]",
        "[acceptance_criteria]",
        "[next_actions]",
    }
    assert lines[-1].startswith("# done in ")


@pytest.mark.usefixtures("fast_llm")
async def test_analyze_issue_prints_the_json_and_refuses_unknown_sessions(
    api_server: ServerProcess, api_env: dict[str, str], signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)

    ok = manage(api_env, "analyze_issue", "PAY-3", f"--session={live_sid(client)}")
    unknown = manage(api_env, "analyze_issue", "PAY-3", "--session", "no-such-session")
    missing = manage(api_env, "analyze_issue", "PAY-999999", f"--session={live_sid(client)}")

    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["issue_key"] == "PAY-3"
    assert unknown.returncode == 1
    assert "No live session 'no-such-session'." in unknown.stderr
    assert missing.returncode == 1
    assert "issue_not_found" in missing.stderr
