"""``manage.py sprint_report`` and ``epic_report`` against a live session (signed in through the
API under Daphne), run as operators run them: a subprocess with the API's environment."""

from __future__ import annotations

import json

import pytest

from tests.ai_proxy.test_commands import live_sid, manage
from tests.support.ids import ALICE
from tests.support.servers import ServerProcess
from tests.support.signin import SignIn


@pytest.mark.usefixtures("fast_llm")
async def test_sprint_report_prints_the_api_json_then_the_table(
    api_server: ServerProcess, api_env: dict[str, str], signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)
    body = {"board_id": 10, "sprint_id": 1020, "language": "en", "audience": "stakeholders"}
    from_api = (await client.post("/ai/sprint-report", json=body, timeout=120)).json()

    as_json = manage(
        api_env,
        "sprint_report",
        "10",
        "1020",
        "--session",
        live_sid(client),
        "--language",
        "en",
        "--audience",
        "stakeholders",
        "--json",
    )
    as_text = manage(
        api_env,
        "sprint_report",
        "10",
        "1020",
        f"--session={live_sid(client)}",
        "--language=en",
        "--audience=stakeholders",
    )

    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {**from_api, "cached": True}
    assert as_text.returncode == 0, as_text.stderr
    lines = as_text.stdout.splitlines()
    assert lines[0] == "# PAY Sprint 20 (PAY board)"
    committed = from_api["facts"]["committed"]
    assert f"| Committed | {committed['issues']} | {committed['points']:g} |" in lines
    assert from_api["summary"] in as_text.stdout
    assert lines[-1].endswith("; cached")


@pytest.mark.usefixtures("fast_llm")
async def test_epic_report_prints_the_report_and_refuses_what_is_not_an_epic(
    api_server: ServerProcess, api_env: dict[str, str], signed_in: SignIn
) -> None:
    client = await signed_in(api_server, ALICE)
    sid = live_sid(client)

    ok = manage(api_env, "epic_report", "pay-10", f"--session={sid}", "--json")
    text = manage(api_env, "epic_report", "PAY-10", f"--session={sid}")
    not_epic = manage(api_env, "epic_report", "PAY-11", f"--session={sid}")
    bad_key = manage(api_env, "epic_report", "nope", f"--session={sid}")
    kanban = manage(api_env, "sprint_report", "12", "1201", f"--session={sid}")

    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["epic"]["key"] == "PAY-10"
    assert report["cached"] is False
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == f"# PAY-10 {report['epic']['summary']}"
    assert f"Children: {report['facts']['children_total']}" in text.stdout
    assert not_epic.returncode == 1
    assert "invalid_input" in not_epic.stderr
    assert bad_key.returncode == 1
    assert "invalid_input" in bad_key.stderr
    assert kanban.returncode == 1
    assert "board_not_found" in kanban.stderr  # OPS is on Alice's other site
