"""POST /ai/sprint-report, /ai/epic-report and their /stream twins under Daphne, with the local
engine and through ai-service: the report JSON with the facts computed from Jira (PAY Sprint 20's
scripted scope changes, PAY-10's children, both read from the sandbox's dataset), the cache shared
by the synchronous and the streamed endpoints, the stream's event order, one quota point per
request, and the errors (a kanban board, an unknown or future sprint, an issue that is not an
epic) as statuses or as the stream's one final ``error`` event."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.atlassian.data import Dataset
from tests.support import sandbox
from tests.support.ids import ALICE, GLOBEX
from tests.support.keys import forget_keys
from tests.support.servers import ServerFactory, ServerProcess
from tests.support.signin import SignIn
from tests.support.sse import read_events

DATA = Dataset(42)
SCENARIO = DATA.scenario
MODES = ["report_api", "report_remote_api"]
SPRINT = {"board_id": 10, "sprint_id": 1020, "language": "fr"}
EPIC = {"epic_key": "PAY-10", "language": "en"}
REPORT_ENV = {"AI_USER_REQUESTS_PER_MINUTE": "1000"}
AGILE_SCOPES = ["read:board-scope:jira-software", "read:sprint:jira-software"]


@pytest.fixture(scope="session")
def report_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(**REPORT_ENV)


@pytest.fixture(scope="session")
def report_remote_api(
    server_factory: ServerFactory, ai_service_server: ServerProcess
) -> ServerProcess:
    return server_factory.api(AI_SERVICE_URL=ai_service_server.url, **REPORT_ENV)


@pytest.fixture(scope="session")
def quota_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(AI_USER_REQUESTS_PER_MINUTE="2")


@pytest.fixture(autouse=True)
async def jira_cache_clean() -> None:
    """No Jira answer cached by an earlier test (the Jira cache lives in Redis)."""
    await forget_keys("jira:v1:*")


def points_of(keys: tuple[str, ...]) -> float:
    return sum(SCENARIO.points[key] for key in keys)


def assert_sprint_20(report: dict[str, Any]) -> None:
    """PAY Sprint 20's figures as the sandbox's changelog scripts them."""
    assert report["board"] == {"id": 10, "name": "PAY board", "type": "scrum", "project_key": "PAY"}
    assert report["sprint"]["id"] == 1020
    assert report["sprint"]["name"] == "PAY Sprint 20"
    assert report["sprint"]["state"] == "closed"
    facts = report["facts"]
    not_completed = tuple(k for k in SCENARIO.committed if k not in SCENARIO.completed) + tuple(
        k for k in SCENARIO.added if k not in SCENARIO.completed
    )
    not_completed = tuple(k for k in not_completed if k not in SCENARIO.removed)
    expected = {
        "committed": SCENARIO.committed,
        "added": SCENARIO.added,
        "removed": SCENARIO.removed,
        "completed": SCENARIO.completed,
        "not_completed": not_completed,
        "carried_over": SCENARIO.carried_over,
    }
    for name, keys in expected.items():
        assert set(facts[name]["keys"]) == set(keys), name
        assert facts[name]["issues"] == len(keys), name
        assert facts[name]["points"] == pytest.approx(points_of(keys)), name
    for name in ("committed", "added", "removed", "completed", "not_completed"):
        assert facts[name]["keys"] == sorted(facts[name]["keys"], key=lambda k: int(k[4:]))
    committed = facts["committed"]["points"]
    assert facts["scope_change_percent"] == pytest.approx(
        round(100 * (facts["added"]["points"] + facts["removed"]["points"]) / committed, 1)
    )
    assert [c["key"] for c in facts["estimate_changes"]] == list(SCENARIO.estimate_changes)
    assert facts["velocity"][-1]["sprint_id"] == 1020
    assert report["coverage"]["total"] >= len(set(SCENARIO.committed) | set(SCENARIO.added))


def epic_children(key: str) -> list[str]:
    return sorted(
        (i.key for issues in DATA.by_project.values() for i in issues if i.parent == key),
        key=lambda k: (k.split("-")[0], int(k.split("-")[1])),
    )


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_a_sprint_report_has_the_sprints_figures_and_a_second_call_is_cached(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)

    first = await client.post("/ai/sprint-report", json=SPRINT, timeout=120)
    calls = sandbox.llm_requests(fast_llm)
    second = await client.post("/ai/sprint-report", json=SPRINT, timeout=60)

    assert first.status_code == 200, first.text
    report = first.json()
    assert_sprint_20(report)
    assert report["cached"] is False
    assert report["language"] == "fr"
    assert report["audience"] == "team"
    assert report["summary"]
    assert second.status_code == 200
    again = second.json()
    assert again["cached"] is True
    assert again["facts"] == report["facts"]
    assert again["summary"] == report["summary"]
    assert sandbox.llm_requests(fast_llm) == calls


async def test_the_cache_follows_the_audience_and_refresh_regenerates(
    report_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(report_api, ALICE)

    team = await client.post("/ai/sprint-report", json=SPRINT, timeout=120)
    calls = sandbox.llm_requests(fast_llm)
    stakeholders = await client.post(
        "/ai/sprint-report", json={**SPRINT, "audience": "stakeholders"}, timeout=120
    )
    after_audience = sandbox.llm_requests(fast_llm)
    refreshed = await client.post(
        "/ai/sprint-report", json={**SPRINT, "refresh": True}, timeout=120
    )

    assert team.status_code == stakeholders.status_code == refreshed.status_code == 200
    assert stakeholders.json()["cached"] is False
    assert stakeholders.json()["audience"] == "stakeholders"
    assert stakeholders.json()["facts"] == team.json()["facts"]
    assert after_audience > calls
    assert refreshed.json()["cached"] is False
    assert sandbox.llm_requests(fast_llm) > after_audience


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_the_sprint_report_stream_reads_jira_then_writes_then_fills_the_cache(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)

    async with client.stream(
        "POST", "/ai/sprint-report/stream", json=SPRINT, timeout=120
    ) as answer:
        stream = await read_events(answer)
    synchronous = await client.post("/ai/sprint-report", json=SPRINT, timeout=60)
    async with client.stream("POST", "/ai/sprint-report/stream", json=SPRINT, timeout=60) as answer:
        cached = await read_events(answer)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/event-stream"
    assert stream.lines[0] == ": ok"
    events = stream.events
    names = [e.event for e in events]
    assert names[-2:] == ["result", "done"]
    assert names.count("result") == 1
    assert "error" not in names
    fetches = [e.json() for e in events if e.event == "log" and e.json()["step"] == "fetch"]
    assert fetches, names
    assert names[: len(fetches)] == ["log"] * len(fetches)
    assert all(f["done"] <= f["total"] for f in fetches)
    assert [f["done"] for f in fetches] == sorted(f["done"] for f in fetches)
    assert fetches[-1]["done"] == fetches[-1]["total"]
    assert fetches[0]["message"].startswith("Lecture de Jira : ")
    deltas = [i for i, e in enumerate(events) if e.event == "delta"]
    assert deltas
    assert max(deltas) < names.index("result")
    assert {e.json()["section"] for e in events if e.event == "delta"} == {"summary"}
    result = events[-2].json()
    assert result["section"] == "report"
    report = result["content"]
    assert_sprint_20(report)
    assert report["cached"] is False
    assert "".join(e.json()["text"] for e in events if e.event == "delta").strip()
    done = events[-1].json()
    assert done["coverage"] == report["coverage"]
    assert done["duration_ms"] >= 0
    assert synchronous.json()["cached"] is True
    assert synchronous.json()["facts"] == report["facts"]
    assert synchronous.json()["summary"] == report["summary"]
    again = [e.event for e in cached.events]
    assert again[-2:] == ["result", "done"]
    assert set(again[:-2]) == {"log"}
    assert cached.data("result")[0]["content"]["cached"] is True
    assert cached.data("result")[0]["content"]["facts"] == report["facts"]


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_an_epic_report_covers_its_children_and_is_streamed_the_same(
    server: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(server, ALICE)
    children = epic_children("PAY-10")

    answer = await client.post("/ai/epic-report", json=EPIC, timeout=120)
    async with client.stream("POST", "/ai/epic-report/stream", json=EPIC, timeout=60) as streamed:
        stream = await read_events(streamed)

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["epic"]["key"] == "PAY-10"
    assert report["language"] == "en"
    assert report["cached"] is False
    facts = report["facts"]
    assert facts["epic_key"] == "PAY-10"
    assert facts["children_total"] == len(children)
    assert sorted(k for g in facts["children"] for k in g["keys"]) == sorted(children)
    assert sum(g["issues"] for g in facts["children"]) == len(children)
    assert facts["done"]["issues"] == len(facts["done"]["keys"])
    assert [e.event for e in stream.events][-2:] == ["result", "done"]
    streamed_report = stream.data("result")[0]["content"]
    assert streamed_report["cached"] is True  # the synchronous call filled the cache
    assert streamed_report["facts"] == facts


@pytest.mark.parametrize(
    ("body", "cloud_id", "status", "code"),
    [
        ({"board_id": 12, "sprint_id": 1201}, GLOBEX, 422, "invalid_input"),  # OPS: kanban
        ({"board_id": 10, "sprint_id": 1022}, None, 422, "invalid_input"),  # a future sprint
        ({"board_id": 10, "sprint_id": 99_999}, None, 404, "sprint_not_found"),
        ({"board_id": 99, "sprint_id": 1020}, None, 404, "board_not_found"),
    ],
    ids=["kanban", "future", "unknown-sprint", "unknown-board"],
)
async def test_a_sprint_that_cannot_be_reported_is_its_status_and_code_or_one_error_event(
    report_api: ServerProcess,
    signed_in: SignIn,
    fast_llm: str,
    body: dict[str, int],
    cloud_id: str | None,
    status: int,
    code: str,
) -> None:
    client = await signed_in(report_api, ALICE, cloud_id)

    answer = await client.post("/ai/sprint-report", json=body, timeout=60)
    async with client.stream("POST", "/ai/sprint-report/stream", json=body, timeout=60) as streamed:
        stream = await read_events(streamed)

    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert streamed.status_code == 200
    assert stream.events[-1].event == "error"
    assert stream.events[-1].json()["code"] == code
    assert [e.event for e in stream.events].count("error") == 1
    assert "result" not in [e.event for e in stream.events]
    assert sandbox.llm_requests(fast_llm) == 0


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [("PAY-11", 422, "invalid_input"), ("PAY-999999", 404, "issue_not_found")],
    ids=["not-an-epic", "unknown"],
)
async def test_an_issue_that_is_not_an_epic_or_does_not_exist_is_refused(
    report_api: ServerProcess, signed_in: SignIn, fast_llm: str, key: str, status: int, code: str
) -> None:
    client = await signed_in(report_api, ALICE)

    answer = await client.post("/ai/epic-report", json={"epic_key": key}, timeout=60)
    async with client.stream(
        "POST", "/ai/epic-report/stream", json={"epic_key": key}, timeout=60
    ) as streamed:
        stream = await read_events(streamed)

    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert [e.event for e in stream.events][-1] == "error"
    assert stream.events[-1].json()["code"] == code
    assert sandbox.llm_requests(fast_llm) == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/ai/sprint-report", {"board_id": 10, "sprint_id": 1020, "audience": "board"}),
        ("/ai/sprint-report", {"board_id": 0, "sprint_id": 1020}),
        ("/ai/sprint-report/stream", {"board_id": 10}),
        ("/ai/epic-report", {"epic_key": "not a key"}),
        ("/ai/epic-report/stream", {"epic_key": "PAY-10", "language": "de"}),
    ],
)
async def test_a_bad_body_is_422_before_any_work(
    report_api: ServerProcess, signed_in: SignIn, sandbox_url: str, path: str, body: dict[str, Any]
) -> None:
    client = await signed_in(report_api, ALICE)
    before = sandbox.jira_requests(sandbox_url)

    answer = await client.post(path, json=body, timeout=30)

    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_input"
    assert sandbox.jira_requests(sandbox_url) == before


async def test_each_report_request_costs_one_quota_point_cached_or_not(
    quota_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(quota_api, ALICE)

    first = await client.post("/ai/epic-report", json=EPIC, timeout=120)
    async with client.stream("POST", "/ai/epic-report/stream", json=EPIC, timeout=60) as streamed:
        second = await read_events(streamed)
    third = await client.post("/ai/sprint-report", json=SPRINT, timeout=60)

    assert first.status_code == 200
    assert [e.event for e in second.events][-1] == "done"
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"
    assert int(third.headers["Retry-After"]) >= 1


async def test_the_reports_are_in_the_openapi_document_with_every_status(
    report_api: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(report_api, ALICE)

    document = (await client.get("/openapi.json")).json()

    for path in (
        "/ai/sprint-report",
        "/ai/sprint-report/stream",
        "/ai/epic-report",
        "/ai/epic-report/stream",
    ):
        responses = document["paths"][path]["post"]["responses"]
        assert set(responses) == {
            "200",
            "401",
            "403",
            "404",
            "413",
            "422",
            "429",
            "502",
            "503",
            "504",
        }, path
    stream = document["paths"]["/ai/sprint-report/stream"]["post"]["responses"]["200"]
    assert "text/event-stream" in stream["content"]


async def test_a_token_without_the_jira_software_scopes_asks_for_a_new_consent(
    report_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    # Given a grant from before the app asked for boards and sprints
    sandbox.withhold_scopes(fast_llm, AGILE_SCOPES)
    client = await signed_in(report_api, ALICE)

    answer = await client.post("/ai/sprint-report", json=SPRINT, timeout=60)
    async with client.stream(
        "POST", "/ai/sprint-report/stream", json=SPRINT, timeout=60
    ) as streamed:
        stream = await read_events(streamed)
    me = (await client.get("/me")).json()

    assert answer.status_code == 401
    assert answer.json()["code"] == "atlassian_reauth_required"
    assert streamed.status_code == 200
    assert [e.event for e in stream.events][-1] == "error"
    assert stream.events[-1].json()["code"] == "atlassian_reauth_required"
    assert [s["needs_reauth"] for s in me["sites"] if s["cloud_id"] == me["current_cloud_id"]] == [
        True
    ]
    assert sandbox.llm_requests(fast_llm) == 0


@pytest.fixture(scope="session")
def one_stream_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(AI_MAX_STREAMS="1", AI_USER_REQUESTS_PER_MINUTE="2")


async def test_a_report_stream_over_the_cap_is_503_and_costs_no_quota_point(
    one_stream_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(one_stream_api, ALICE)
    # Jira answers slowly: the first stream holds the process's only slot while it reads.
    sandbox.add_fault(fast_llm, "jira", path_regex="agile", mode="delay", delay_ms=3000)

    async with client.stream("POST", "/ai/sprint-report/stream", json=SPRINT, timeout=120) as first:
        lines = first.aiter_lines()
        opened = await anext(lines)
        refused = await client.post("/ai/epic-report/stream", json=EPIC, timeout=30)
        rest = [line async for line in lines]
    sandbox.clear_faults(fast_llm)
    after = await client.post("/ai/epic-report", json=EPIC, timeout=120)

    assert first.status_code == 200
    assert opened == ": ok"
    assert "event: done" in rest
    assert refused.status_code == 503
    assert refused.json()["code"] == "too_many_streams"
    # The refused stream took no quota point: this is the account's second of two.
    assert after.status_code == 200
