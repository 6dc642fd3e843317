"""POST /ai/release-notes and /ai/release-notes/stream under Daphne, with the local engine and
through ai-service: every issue of PAY's released version accounted for (compared with the
sandbox's raw data through its HTTP API), the Markdown (a level-1 heading, only keys of the
version, a valid structure), the empty version, the 404s as statuses or as the stream's one final
``error`` event, the cache shared by the two endpoints, one quota point, and the OpenAPI entry."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from sandbox.atlassian.data import Dataset
from tests.sandbox.atlassian_helpers import jira_for
from tests.support import sandbox
from tests.support.ids import ALICE
from tests.support.keys import forget_keys
from tests.support.servers import ServerFactory, ServerProcess
from tests.support.signin import SignIn
from tests.support.sse import read_events

SEEDS = Dataset(42).release_seeds
MODES = ["notes_api", "notes_remote_api"]
NOTES = {"project_key": "PAY", "version": SEEDS.released, "language": "fr"}
NOTES_ENV = {"AI_USER_REQUESTS_PER_MINUTE": "1000"}
KEY_IN_TEXT = re.compile(r"\b[A-Z][A-Z0-9_]+-\d+\b")


@pytest.fixture(scope="session")
def notes_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(**NOTES_ENV)


@pytest.fixture(scope="session")
def notes_remote_api(
    server_factory: ServerFactory, ai_service_server: ServerProcess
) -> ServerProcess:
    return server_factory.api(AI_SERVICE_URL=ai_service_server.url, **NOTES_ENV)


@pytest.fixture(scope="session")
def notes_quota_api(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.api(AI_USER_REQUESTS_PER_MINUTE="2")


@pytest.fixture(autouse=True)
async def jira_cache_clean() -> None:
    """No Jira answer cached by an earlier test (the Jira cache lives in Redis)."""
    await forget_keys("jira:v1:*")


def raw_keys(sandbox_url: str, version: str) -> list[str]:
    """The keys of the version's issues, as Jira's search answers ``fixVersion = "name"``."""
    jira = jira_for(sandbox_url, ALICE)
    issues = jira.search_all(f'project = PAY AND fixVersion = "{version}"', fields=["summary"])
    return [i["key"] for i in issues]


def assert_markdown(markdown: str, keys: set[str]) -> None:
    """Parsed with markdown-it (CommonMark): one level-1 heading, first; then level-2 headings,
    each section a bullet list; no raw HTML; only keys of the version cited."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    headings = [t.tag for t in tokens if t.type == "heading_open"]
    assert tokens[0].type == "heading_open"
    assert tokens[0].tag == "h1"
    assert tokens[1].content.strip()
    assert headings.count("h1") == 1
    assert set(headings[1:]) <= {"h2", "h3"}
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]
    inline = [child for t in tokens if t.children for child in t.children]
    assert not [t for t in inline if t.type == "html_inline"]
    lists = sum(1 for t in tokens if t.type == "bullet_list_open")
    assert lists == headings.count("h2")
    assert set(KEY_IN_TEXT.findall(markdown)) <= keys


def assert_accounted(notes: dict[str, Any], keys: list[str]) -> None:
    in_sections = [item["issue_key"] for s in notes["sections"] for item in s["items"]]
    omitted = [o["issue_key"] for o in notes["omitted"]]
    assert sorted(in_sections + omitted) == sorted(keys)
    assert len(set(in_sections)) == len(in_sections)
    assert notes["coverage"] == {
        "total": len(keys),
        "in_notes": len(in_sections),
        "omitted": len(omitted),
    }
    assert {o["issue_key"]: o["reason"] for o in notes["omitted"]}[SEEDS.internal] == "internal"
    assert {s["kind"] for s in notes["sections"]} <= {
        "features",
        "improvements",
        "fixes",
        "known_issues",
    }
    for section in notes["sections"]:
        assert section["title"]
        assert all(item["text"].strip() for item in section["items"])


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_release_notes_of_a_released_version_account_for_every_issue_and_are_cached(
    server: ServerProcess, signed_in: SignIn, fast_llm: str, sandbox_url: str
) -> None:
    client = await signed_in(server, ALICE)
    keys = raw_keys(sandbox_url, SEEDS.released)

    first = await client.post("/ai/release-notes", json=NOTES, timeout=120)
    calls = sandbox.llm_requests(fast_llm)
    second = await client.post("/ai/release-notes", json=NOTES, timeout=60)

    assert first.status_code == 200, first.text
    notes = first.json()
    assert notes["project_key"] == "PAY"
    assert notes["version"]["name"] == SEEDS.released
    assert notes["version"]["released"] is True
    assert notes["language"] == "fr"
    assert notes["audience"] == "users"
    assert notes["cached"] is False
    assert_accounted(notes, keys)
    assert_markdown(notes["markdown"], set(keys))
    assert second.status_code == 200
    again = second.json()
    assert again["cached"] is True
    assert again["markdown"] == notes["markdown"]
    assert sandbox.llm_requests(fast_llm) == calls


async def test_the_audience_is_a_new_answer_and_refresh_regenerates(
    notes_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(notes_api, ALICE)

    users = await client.post("/ai/release-notes", json=NOTES, timeout=120)
    calls = sandbox.llm_requests(fast_llm)
    team = await client.post("/ai/release-notes", json={**NOTES, "audience": "team"}, timeout=120)
    after_audience = sandbox.llm_requests(fast_llm)
    refreshed = await client.post("/ai/release-notes", json={**NOTES, "refresh": True}, timeout=120)

    assert users.status_code == team.status_code == refreshed.status_code == 200
    assert team.json()["audience"] == "team"
    assert team.json()["cached"] is False
    assert team.json()["omitted"] == users.json()["omitted"]
    assert after_audience > calls
    assert refreshed.json()["cached"] is False
    assert sandbox.llm_requests(fast_llm) > after_audience


async def test_the_empty_version_has_no_section_and_asks_no_model(
    notes_api: ServerProcess, signed_in: SignIn, fast_llm: str, sandbox_url: str
) -> None:
    client = await signed_in(notes_api, ALICE)
    assert raw_keys(sandbox_url, SEEDS.empty_version) == []
    calls = sandbox.llm_requests(fast_llm)

    answer = await client.post(
        "/ai/release-notes", json={**NOTES, "version": SEEDS.empty_version}, timeout=60
    )

    assert answer.status_code == 200, answer.text
    notes = answer.json()
    assert notes["coverage"] == {"total": 0, "in_notes": 0, "omitted": 0}
    assert all(not s["items"] for s in notes["sections"])
    assert notes["omitted"] == []
    assert_markdown(notes["markdown"], set())
    assert sandbox.llm_requests(fast_llm) == calls


@pytest.mark.parametrize("server", MODES, indirect=True)
async def test_the_stream_reads_jira_then_writes_then_fills_the_cache(
    server: ServerProcess, signed_in: SignIn, fast_llm: str, sandbox_url: str
) -> None:
    client = await signed_in(server, ALICE)
    keys = raw_keys(sandbox_url, SEEDS.released)
    body = {**NOTES, "language": "en"}

    async with client.stream("POST", "/ai/release-notes/stream", json=body, timeout=120) as answer:
        stream = await read_events(answer)
    synchronous = await client.post("/ai/release-notes", json=body, timeout=60)
    async with client.stream("POST", "/ai/release-notes/stream", json=body, timeout=60) as again:
        cached = await read_events(again)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/event-stream"
    names = [e.event for e in stream.events]
    assert names[-2:] == ["result", "done"]
    assert names.count("result") == 1
    assert "error" not in names
    fetches = [e.json() for e in stream.events if e.event == "log" and e.json()["step"] == "fetch"]
    assert fetches
    assert names[: len(fetches)] == ["log"] * len(fetches)
    assert fetches[-1]["done"] == fetches[-1]["total"] == len(keys)
    result = stream.events[-2].json()
    assert result["section"] == "notes"
    notes = result["content"]
    assert notes["language"] == "en"
    assert_accounted(notes, keys)
    assert_markdown(notes["markdown"], set(keys))
    assert synchronous.json()["cached"] is True
    assert synchronous.json()["markdown"] == notes["markdown"]
    replay = [e.event for e in cached.events]
    assert replay[-2:] == ["result", "done"]
    assert set(replay[:-2]) == {"log"}
    assert cached.data("result")[0]["content"]["cached"] is True
    assert cached.data("done")[0]["coverage"] == notes["coverage"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"project_key": "PAY", "version": "9.9"}, 404, "version_not_found"),
        ({"project_key": "NOPE", "version": SEEDS.released}, 404, "project_not_found"),
        ({"project_key": "OPS", "version": SEEDS.released}, 404, "project_not_found"),
    ],
    ids=["unknown-version", "unknown-project", "other-site"],
)
async def test_an_unknown_version_or_project_is_404_or_one_error_event(
    notes_api: ServerProcess,
    signed_in: SignIn,
    fast_llm: str,
    body: dict[str, str],
    status: int,
    code: str,
) -> None:
    client = await signed_in(notes_api, ALICE)

    answer = await client.post("/ai/release-notes", json=body, timeout=60)
    async with client.stream("POST", "/ai/release-notes/stream", json=body, timeout=60) as streamed:
        stream = await read_events(streamed)

    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert streamed.status_code == 200
    assert stream.events[-1].event == "error"
    assert stream.events[-1].json()["code"] == code
    assert "done" not in [e.event for e in stream.events]


@pytest.mark.parametrize(
    "body",
    [
        {"project_key": "pay!", "version": "2.3"},
        {"project_key": "PAY", "version": ""},
        {"project_key": "PAY", "version": "2.3", "audience": "stakeholders"},
    ],
    ids=["bad-key", "no-version", "bad-audience"],
)
async def test_a_bad_body_is_422(
    notes_api: ServerProcess, signed_in: SignIn, body: dict[str, str]
) -> None:
    client = await signed_in(notes_api, ALICE)

    answer = await client.post("/ai/release-notes", json=body, timeout=30)

    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_input"


async def test_each_request_costs_one_quota_point_cached_or_not(
    notes_quota_api: ServerProcess, signed_in: SignIn, fast_llm: str
) -> None:
    client = await signed_in(notes_quota_api, ALICE)

    first = await client.post("/ai/release-notes", json=NOTES, timeout=120)
    async with client.stream("POST", "/ai/release-notes/stream", json=NOTES, timeout=60) as s:
        second = await read_events(s)
    third = await client.post("/ai/release-notes", json=NOTES, timeout=60)

    assert first.status_code == 200
    assert [e.event for e in second.events][-1] == "done"
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"


async def test_the_release_notes_are_in_the_openapi_document_with_every_status(
    notes_api: ServerProcess, signed_in: SignIn
) -> None:
    client = await signed_in(notes_api, ALICE)

    document = (await client.get("/openapi.json")).json()

    for path in ("/ai/release-notes", "/ai/release-notes/stream"):
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
    stream = document["paths"]["/ai/release-notes/stream"]["post"]["responses"]["200"]
    assert "text/event-stream" in stream["content"]
    versions = document["paths"]["/jira/projects/{key}/versions"]["get"]["responses"]
    assert {"200", "404", "422"} <= set(versions)
