"""The /jira/* endpoints under Daphne, signed in through the real OAuth dance on the sandbox."""

from __future__ import annotations

import httpx
import pytest

from tests.support.ids import ALICE, BRUNO
from tests.support.servers import ServerProcess
from tests.support.signin import SignIn

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def alice(sign_in_as: SignIn) -> httpx.AsyncClient:
    return await sign_in_as(ALICE)


@pytest.mark.parametrize("key", ["ABC-0", "A-1", "_AB-1", "AB_C-01", "..%2Fx", "PAY-1%20OR%201"])
async def test_malformed_issue_keys_are_422(alice: httpx.AsyncClient, key: str) -> None:
    response = await alice.get(f"/jira/issues/{key}")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


@pytest.mark.parametrize("key", ["PAY-99999", "abc-1", "AB_C-13"])
async def test_unknown_issue_is_404(alice: httpx.AsyncClient, key: str) -> None:
    response = await alice.get(f"/jira/issues/{key}")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "Issue does not exist or you do not have permission to see it.",
        "code": "issue_not_found",
    }


async def test_an_underscore_key_in_lower_case_is_upper_cased(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/issues/ab_c-1")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issue"]["key"] == "AB_C-1"
    assert body["issue"]["url"] == "https://acme.atlassian.net/browse/AB_C-1"
    assert body["issue"]["parent"]["key"] == "AB_C-10"
    assert body["comments_total"] == len(body["comments"]) == 1


async def test_bad_jql_is_422_with_jiras_message(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/search", params={"jql": "project = PAY AND ("})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_jql"
    assert body["detail"].startswith("Invalid JQL: ")


async def test_limit_out_of_range_is_422(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/search", params={"jql": "project = PAY", "limit": 1001})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


async def test_search_answers_the_design_shape(alice: httpx.AsyncClient) -> None:
    response = await alice.get(
        "/jira/search",
        params={"jql": "project = MOB ORDER BY key ASC", "limit": 5, "refresh": "true"},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["truncated"], len(body["issues"])) == (500, True, 5)
    assert body["issues"][0]["key"] == "MOB-1"
    assert isinstance(body["issues"][0]["description"], str)


async def test_issue_with_comments_newest_first(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/jira/issues/PAY-7", params={"comments_limit": 3})

    assert response.status_code == 200
    body = response.json()
    assert body["issue"]["key"] == "PAY-7"
    assert body["comments_total"] == 2150
    created = [c["created"] for c in body["comments"]]
    assert len(created) == 3
    assert created == sorted(created, reverse=True)
    assert set(body["comments"][0]) == {"id", "author", "created", "updated", "body"}


async def test_projects_and_overview(alice: httpx.AsyncClient) -> None:
    projects = await alice.get("/jira/projects")
    overview = await alice.get("/jira/projects/MOB/overview")

    assert projects.status_code == 200
    assert sorted(p["key"] for p in projects.json()["projects"]) == ["AB_C", "MOB", "PAY"]
    assert overview.status_code == 200
    assert set(overview.json()) == {"key", "name", "by_status", "recent", "open_total"}


async def test_a_project_with_an_underscore_searched_and_overviewed(
    alice: httpx.AsyncClient,
) -> None:
    search = await alice.get("/jira/search", params={"jql": "project = AB_C ORDER BY key ASC"})
    overview = await alice.get("/jira/projects/ab_c/overview")

    assert search.status_code == 200, search.text
    assert [i["key"] for i in search.json()["issues"]] == [f"AB_C-{n}" for n in range(1, 13)]
    assert (search.json()["total"], search.json()["truncated"]) == (12, False)
    assert overview.status_code == 200, overview.text
    assert (overview.json()["key"], overview.json()["open_total"]) == ("AB_C", 3)


async def test_another_account_does_not_see_the_project(
    alice: httpx.AsyncClient, sign_in_as: SignIn
) -> None:
    assert (await alice.get("/jira/issues/PAY-1")).status_code == 200
    bruno = await sign_in_as(BRUNO)
    issue = await bruno.get("/jira/issues/PAY-1")
    underscored = await bruno.get("/jira/issues/AB_C-1")
    projects = await bruno.get("/jira/projects")

    assert issue.status_code == underscored.status_code == 404
    assert [p["key"] for p in projects.json()["projects"]] == ["MOB"]


async def test_not_signed_in_is_401(api_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=api_server.url) as anonymous:
        response = await anonymous.get("/jira/projects")

    assert response.status_code == 401


async def test_metrics_count_jira_requests_and_cache_lookups(
    alice: httpx.AsyncClient, api_server: ServerProcess
) -> None:
    search = await alice.get("/jira/search", params={"jql": "project = MOB", "limit": 5})
    repeat = await alice.get("/jira/search", params={"jql": "project = MOB", "limit": 5})
    metrics = httpx.get(api_server.url + "/metrics", timeout=5).text

    assert search.status_code == repeat.status_code == 200
    assert 'jira_ai_jira_requests_total{operation="search",status="200"}' in metrics
    assert 'jira_ai_jira_request_seconds_count{operation="search"}' in metrics
    assert 'jira_ai_jira_cache_total{kind="search",result="hit"}' in metrics
