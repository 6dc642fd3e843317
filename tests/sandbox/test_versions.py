"""The sandbox's fix versions (``GET /rest/api/3/project/{key}/versions`` and the paginated
``/version``), checked against the dataset they are built from and against the official OpenAPI
document, and the release seeds (``Dataset.release_seeds``) as the JQL search sees them."""

from __future__ import annotations

from typing import Any

from openapi_core import OpenAPI

from sandbox.atlassian.data import ALICE, Dataset
from tests.sandbox.atlassian_helpers import JiraClient, jira_for
from tests.sandbox.test_openapi import alice, check, openapi  # noqa: F401 (fixtures)
from tests.support.servers import ServerProcess

DATA = Dataset(42)
SEEDS = DATA.release_seeds


def _version(name: str) -> Any:
    return next(v for v in DATA.versions["PAY"] if v.name == name)


def test_versions_of_a_project_in_the_projects_order_and_valid_against_the_openapi(
    openapi: OpenAPI,  # noqa: F811
    alice: JiraClient,  # noqa: F811
) -> None:
    response = alice.get("project/PAY/versions")

    versions = check(openapi, response, "/rest/api/3/project/{projectIdOrKey}/versions")
    assert [v["name"] for v in versions] == [v.name for v in DATA.versions["PAY"]]
    by_name = {v["name"]: v for v in versions}
    assert by_name["1.0"]["archived"] is True
    assert by_name[SEEDS.released]["released"] is True
    assert (
        by_name[SEEDS.released]["releaseDate"] == _version(SEEDS.released).release_date.isoformat()
    )
    upcoming = by_name[SEEDS.upcoming_version]
    assert upcoming["released"] is False
    assert upcoming["overdue"] is False
    assert upcoming["startDate"] == _version(SEEDS.upcoming_version).start_date.isoformat()
    empty = by_name[SEEDS.empty_version]
    assert "releaseDate" not in empty
    assert "startDate" not in empty
    assert {v["projectId"] for v in versions} == {10000}


def test_the_paginated_versions_filter_by_status_and_page(
    openapi: OpenAPI,  # noqa: F811
    alice: JiraClient,  # noqa: F811
) -> None:
    template = "/rest/api/3/project/{projectIdOrKey}/version"
    first = check(openapi, alice.get("project/PAY/version", maxResults=3), template)
    second = check(openapi, alice.get("project/PAY/version", startAt=3, maxResults=3), template)
    unreleased = check(openapi, alice.get("project/PAY/version", status="unreleased"), template)

    names = [v.name for v in DATA.versions["PAY"]]
    assert first["total"] == len(names)
    assert first["isLast"] is False
    assert [v["name"] for v in first["values"] + second["values"]] == names[:6]
    assert [v["name"] for v in unreleased["values"]] == [
        v.name for v in DATA.versions["PAY"] if not v.released and not v.archived
    ]
    bad = alice.get("project/PAY/version", status="shipped")
    assert bad.status_code == 400


def test_an_unknown_or_unbrowsable_project_is_jiras_404(alice: JiraClient) -> None:  # noqa: F811
    for key in ("NOPE", "pay", "OPS"):
        response = alice.get(f"project/{key}/versions")

        assert response.status_code == 404, key
        assert response.json() == {
            "errorMessages": [f"No project could be found with key '{key}'."],
            "errors": {},
        }


def _keys(client: JiraClient, jql: str) -> list[str]:
    return [i["key"] for i in client.search_all(jql, fields=["labels"])]


def test_fix_versions_in_jql_agree_with_the_issues(sandbox_server: ServerProcess) -> None:
    jira = jira_for(sandbox_server.url, ALICE.account_id)

    released = _keys(jira, f'project = PAY AND fixVersion = "{SEEDS.released}" ORDER BY key')
    by_id = _keys(
        jira, f"project = PAY AND fixVersion = {_version(SEEDS.released).id} ORDER BY key"
    )
    upcoming = _keys(jira, f'project = PAY AND fixVersion = "{SEEDS.upcoming_version}"')
    empty = _keys(jira, f'project = PAY AND fixVersion = "{SEEDS.empty_version}"')

    expected = [i.key for i in DATA.by_project["PAY"] if _version(SEEDS.released) in i.fix_versions]
    assert released == by_id == expected
    assert {SEEDS.internal, SEEDS.chore} <= set(released)
    assert sorted(upcoming) == sorted(SEEDS.upcoming)
    assert empty == []
    raw = jira.get(f"issue/{SEEDS.internal}", fields="labels,fixVersions").json()["fields"]
    assert "internal" in raw["labels"]
    assert [v["name"] for v in raw["fixVersions"]] == [SEEDS.released]
