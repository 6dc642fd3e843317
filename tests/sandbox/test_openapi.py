"""Every Jira response body the sandbox serves validates against the official OpenAPI document
(``tests/sandbox/jira-platform-openapi-v3.json``, loaded once per session with openapi-core; the
document itself fails openapi-spec-validator on an enum default, so spec validation is skipped).

One deliberate deviation: the document types timestamps as RFC 3339 ``date-time``, but real Jira
sends ``2025-01-10T09:15:22.123+0000`` (no colon in the offset, docs/wire-facts.md 2.12) as does the
sandbox; the ``date-time`` format check accepts exactly that shape besides RFC 3339."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from sandbox.atlassian.data import ALICE, BRUNO, SPECIAL_ISSUES
from tests.sandbox.atlassian_helpers import JiraClient
from tests.support.ids import GLOBEX
from tests.support.servers import ServerProcess
from tests.support.signin import tokens_for

SPEC_PATH = Path(__file__).with_name("jira-platform-openapi-v3.json")
HOST = "https://your-domain.atlassian.net"


JIRA_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:?\d{2})$")


def _date_time(value: object) -> bool:
    return not isinstance(value, str) or JIRA_TS.match(value) is not None


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    config = Config(spec_validator_cls=None, extra_format_validators={"date-time": _date_time})
    return OpenAPI.from_file_path(str(SPEC_PATH), config=config)


@pytest.fixture(scope="module")
def alice(sandbox_server: ServerProcess) -> JiraClient:
    httpx.post(f"{sandbox_server.url}/_sandbox/reset").raise_for_status()
    return JiraClient(
        sandbox_server.url, tokens_for(sandbox_server.url, ALICE.account_id)["access_token"]
    )


def check(openapi: OpenAPI, response: httpx.Response, template: str) -> Any:
    """Validate ``response`` (a real sandbox answer) against the operation at ``template``."""
    assert response.status_code == 200, response.text
    path = urlsplit(str(response.request.url)).path
    api_path = path[path.index("/rest/api/") :]
    request = MockRequest(
        HOST,
        response.request.method,
        api_path,
        path_pattern=template,
        args=dict(response.request.url.params),
        data=response.request.content or None,
    )
    mock = MockResponse(response.content, status_code=200, content_type="application/json")
    try:
        openapi.validate_response(request, mock)
    except Exception as exc:  # keep the report short: the body can be megabytes
        errors = getattr(exc.__cause__, "schema_errors", None) or [exc]
        pytest.fail(f"{template} {api_path}: {[str(e)[:300] for e in errors]}")
    return response.json()


ISSUE_CASES: list[dict[str, Any]] = [
    {},
    {"expand": "renderedFields,changelog,names,schema"},
    {"fields": "summary,status,comment", "expand": "renderedFields"},
    {"fields": "*navigable,-description"},
    {"fields": "id"},
]


@pytest.mark.parametrize(
    "key", ["PAY-1", "PAY-11", "MOB-10", "PAY-3", "PAY-5", "PAY-6", "PAY-8", "100012"]
)
@pytest.mark.parametrize("params", ISSUE_CASES, ids=lambda p: ",".join(p.values()) or "default")
def test_issue(openapi: OpenAPI, alice: JiraClient, key: str, params: dict[str, Any]) -> None:
    body = check(openapi, alice.get(f"issue/{key}", **params), "/rest/api/3/issue/{issueIdOrKey}")
    assert body["key"] in (key, "PAY-12")


def test_huge_and_many_comments_issues(openapi: OpenAPI, alice: JiraClient) -> None:
    huge = alice.get(f"issue/{SPECIAL_ISSUES['huge_description']}", expand="renderedFields")
    assert len(huge.content) > 1_000_000
    check(openapi, huge, "/rest/api/3/issue/{issueIdOrKey}")
    many = check(
        openapi,
        alice.get(f"issue/{SPECIAL_ISSUES['many_comments']}"),
        "/rest/api/3/issue/{issueIdOrKey}",
    )
    assert many["fields"]["comment"]["total"] == 2150


SEARCHES: list[dict[str, Any]] = [
    {"jql": "project = PAY"},
    {
        "jql": "project = PAY",
        "fields": ["*all"],
        "maxResults": 30,
        "expand": "renderedFields,names,schema,changelog",
    },
    {
        "jql": "project = MOB ORDER BY updated DESC",
        "fields": [
            "summary",
            "status",
            "assignee",
            "priority",
            "issuetype",
            "created",
            "updated",
            "labels",
            "customfield_10016",
            "customfield_10020",
            "parent",
            "fixVersions",
            "duedate",
        ],
    },
    {"jql": "key in (PAY-5, PAY-6, PAY-8, PAY-7)", "fields": ["*navigable", "comment"]},
    {"jql": "project = PAY", "fields": ["key"], "maxResults": 5000},
]


@pytest.mark.parametrize("body", SEARCHES, ids=lambda b: b["jql"] + str(b.get("fields", "")))
def test_search_post_and_get(openapi: OpenAPI, alice: JiraClient, body: dict[str, Any]) -> None:
    data = check(openapi, alice.post("search/jql", body), "/rest/api/3/search/jql")
    if "nextPageToken" in data:
        follow = {**body, "nextPageToken": data["nextPageToken"]}
        check(openapi, alice.post("search/jql", follow), "/rest/api/3/search/jql")
    params: dict[str, Any] = {"jql": body["jql"]}
    if "fields" in body:
        params["fields"] = ",".join(body["fields"])
    if "expand" in body:
        params["expand"] = body["expand"]
    check(openapi, alice.get("search/jql", **params), "/rest/api/3/search/jql")


def test_count_myself_fields_projects(openapi: OpenAPI, alice: JiraClient) -> None:
    count = alice.post("search/approximate-count", {"jql": "project = PAY"})
    assert check(openapi, count, "/rest/api/3/search/approximate-count") == {"count": 1100}
    me = check(openapi, alice.get("myself"), "/rest/api/3/myself")
    assert me["accountId"] == ALICE.account_id
    fields = check(openapi, alice.get("field"), "/rest/api/3/field")
    assert {"customfield_10016", "customfield_10020", "parent"} <= {f["id"] for f in fields}
    for params in (
        {},
        {"expand": "description,lead,insight,url"},
        {"maxResults": 1},
        {"startAt": 1, "maxResults": 1, "orderBy": "-name"},
    ):
        check(openapi, alice.get("project/search", **params), "/rest/api/3/project/search")
    check(openapi, alice.site(GLOBEX).get("project/search"), "/rest/api/3/project/search")


@pytest.mark.parametrize("key", ["PAY-1", "PAY-7", "MOB-3", "PAY-6"])
def test_comments_and_changelog(openapi: OpenAPI, alice: JiraClient, key: str) -> None:
    for params in (
        {},
        {"startAt": 2, "maxResults": 3, "orderBy": "-created"},
        {"expand": "renderedBody"},
    ):
        check(
            openapi,
            alice.get(f"issue/{key}/comment", **params),
            "/rest/api/3/issue/{issueIdOrKey}/comment",
        )
    changelog_params: tuple[dict[str, object], ...] = ({}, {"startAt": 1, "maxResults": 1})
    for params in changelog_params:
        check(
            openapi,
            alice.get(f"issue/{key}/changelog", **params),
            "/rest/api/3/issue/{issueIdOrKey}/changelog",
        )


def test_v2_myself_for_social_auth(openapi: OpenAPI, sandbox_url: str) -> None:
    token = tokens_for(sandbox_url, BRUNO.account_id)["access_token"]
    client = JiraClient(sandbox_url, token)
    response = httpx.get(
        client.base.replace("/api/3", "/api/2") + "/myself", headers=client.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["accountId"] == BRUNO.account_id
    assert body["emailAddress"] == "bruno.keller@example.com"


def test_validation_is_not_vacuous(openapi: OpenAPI, alice: JiraClient) -> None:
    good = alice.get("myself")
    request = MockRequest(HOST, "get", "/rest/api/3/myself", path_pattern="/rest/api/3/myself")
    body = {**good.json(), "unexpected": 1}
    bad = MockResponse(json.dumps(body).encode(), status_code=200, content_type="application/json")
    with pytest.raises(Exception, match="unexpected"):
        openapi.validate_response(request, bad)
    wrong_type = {**good.json(), "active": "yes"}
    bad = MockResponse(json.dumps(wrong_type).encode(), content_type="application/json")
    with pytest.raises(Exception):  # noqa: B017, PT011
        openapi.validate_response(request, bad)


def test_bulk_changelogs(openapi: OpenAPI, sandbox_url: str) -> None:
    alice = JiraClient(sandbox_url, tokens_for(sandbox_url, ALICE.account_id)["access_token"])
    keys = ["PAY-9", "PAY-28", "PAY-31", "PAY-53", "MOB-3"]
    for body in (
        {"issueIdsOrKeys": keys},
        {"issueIdsOrKeys": keys, "fieldIds": ["customfield_10020", "status"], "maxResults": 2},
    ):
        data = check(
            openapi, alice.post("changelog/bulkfetch", body), "/rest/api/3/changelog/bulkfetch"
        )
        assert data["issueChangeLogs"]
