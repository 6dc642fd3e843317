"""Jira REST v3 stand-in behaviour: fields, expands, comments, changelog, special issues,
removed search, rate limits and faults."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from sandbox.atlassian.data import ALICE, BRUNO, MANY_COMMENTS, SPECIAL_ISSUES, Dataset
from tests.sandbox.atlassian_helpers import JiraClient, jira_for
from tests.support.ids import ACME, GLOBEX

DATA = Dataset(42)
REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


@pytest.fixture
def alice(sandbox_url: str) -> JiraClient:
    return jira_for(sandbox_url, ALICE.account_id)


def test_removed_search_is_410(alice: JiraClient) -> None:
    for response in (
        alice.get("search", jql="project = PAY"),
        alice.post("search", {"jql": "project = PAY"}),
        httpx.get(alice.base.replace("/3", "/2") + "/search", headers=alice.headers),
    ):
        assert response.status_code == 410
        assert response.json() == {"errorMessages": [REMOVED], "errors": {}}


def test_search_default_is_ids_only_and_fields_selection(alice: JiraClient) -> None:
    data = alice.get("search/jql", jql="key = PAY-1").json()
    assert data == {"issues": [{"id": "100001"}], "isLast": True}
    one = alice.get("search/jql", jql="key = PAY-1", fields="summary,status").json()["issues"][0]
    assert set(one) == {"expand", "id", "self", "key", "fields"}
    assert set(one["fields"]) == {"summary", "status"}
    repeated = httpx.get(
        f"{alice.base}/search/jql",
        params=[("jql", "key = PAY-1"), ("fields", "summary"), ("fields", "labels,priority")],
        headers=alice.headers,
    ).json()["issues"][0]
    assert set(repeated["fields"]) == {"summary", "labels", "priority"}
    navigable = alice.post("search/jql", {"jql": "key = PAY-1", "fields": ["*navigable"]}).json()
    assert "comment" not in navigable["issues"][0]["fields"]
    assert "description" in navigable["issues"][0]["fields"]
    everything = alice.post(
        "search/jql", {"jql": "key = PAY-1", "fields": ["*all", "-comment", "-description"]}
    ).json()
    fields = everything["issues"][0]["fields"]
    assert "comment" not in fields
    assert "description" not in fields
    assert {"customfield_10016", "customfield_10020", "fixVersions", "duedate"} <= set(fields)
    unknown = alice.post("search/jql", {"jql": "key = PAY-1", "bogus": 1})
    assert unknown.status_code == 400
    bad_type = alice.post("search/jql", {"jql": "key = PAY-1", "fields": "summary"})
    assert bad_type.status_code == 400


def test_issue_fields_and_404(alice: JiraClient) -> None:
    issue = DATA.issues["PAY-12"]
    body = alice.get("issue/PAY-12").json()
    assert body["id"] == "100012"
    fields = body["fields"]
    assert fields["summary"] == issue.summary
    assert fields["status"]["name"] == issue.status.name
    assert fields["status"]["statusCategory"]["key"] == issue.status.category
    assert (
        fields["created"]
        == issue.created.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{issue.created.microsecond // 1000:03d}+0000"
    )
    assert fields["comment"]["total"] == issue.n_comments
    assert fields["description"]["type"] == "doc"
    assert alice.get("issue/pay-12").json()["key"] == "PAY-12"
    assert alice.get("issue/100012").json()["key"] == "PAY-12"
    for missing in ("PAY-99999", "NOPE-1", "999999999"):
        response = alice.get(f"issue/{missing}")
        assert response.status_code == 404
        assert response.json() == {
            "errorMessages": ["Issue does not exist or you do not have permission to see it."],
            "errors": {},
        }
    only = alice.get("issue/PAY-12", fields="summary").json()
    assert list(only["fields"]) == ["summary"]


def test_a_project_key_with_an_underscore_is_served_like_any_other(alice: JiraClient) -> None:
    issue = DATA.issues["AB_C-9"]
    body = alice.get("issue/AB_C-9").json()
    assert (body["id"], body["key"]) == ("90009", "AB_C-9")
    assert body["fields"]["project"]["key"] == "AB_C"
    assert body["fields"]["parent"]["key"] == "AB_C-10"
    assert body["fields"]["comment"]["total"] == issue.n_comments == 32
    assert alice.get("issue/ab_c-9").json()["key"] == "AB_C-9"
    assert alice.get("issue/90009").json()["key"] == "AB_C-9"
    page = alice.get("issue/AB_C-9/comment", orderBy="-created", maxResults=5).json()
    assert page["total"] == 32
    created = [c["created"] for c in page["comments"]]
    assert len(created) == 5
    assert created == sorted(created, reverse=True)
    assert alice.get("issue/AB_C-13").status_code == 404
    assert alice.get("issue/AB_C-13/comment").status_code == 404


def test_rendered_fields_escape_html(alice: JiraClient) -> None:
    key = SPECIAL_ISSUES["html_script"]
    body = alice.get(f"issue/{key}", expand="renderedFields").json()
    assert "<script>" in body["fields"]["summary"]  # raw text is served as-is, like Jira
    rendered = body["renderedFields"]["description"]
    assert "<script>" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    comments = alice.get(f"issue/{key}/comment", expand="renderedBody").json()["comments"]
    assert "<script>" not in comments[0]["renderedBody"]
    assert "<script>" in json.dumps(comments[0]["body"])


def test_changelog_expand_and_endpoint(alice: JiraClient) -> None:
    body = alice.get("issue/MOB-3", expand="changelog").json()
    histories = body["changelog"]["histories"]
    page = alice.get("issue/MOB-3/changelog").json()
    assert page["total"] == len(page["values"]) == body["changelog"]["total"]
    assert [h["id"] for h in histories] == [v["id"] for v in reversed(page["values"])]
    if page["total"] > 1:
        first = alice.get("issue/MOB-3/changelog", maxResults=1).json()
        assert first["isLast"] is False
        assert "nextPage" in first


def test_comments_pagination_and_order(alice: JiraClient) -> None:
    key = SPECIAL_ISSUES["many_comments"]
    seen: list[str] = []
    start = 0
    while True:
        page = alice.get(f"issue/{key}/comment", startAt=start, maxResults=1000).json()
        assert page["maxResults"] == 100
        assert page["total"] == MANY_COMMENTS
        seen.extend(c["id"] for c in page["comments"])
        start += len(page["comments"])
        if start >= page["total"]:
            break
    assert len(seen) == len(set(seen)) == MANY_COMMENTS
    newest = alice.get(f"issue/{key}/comment", orderBy="-created", maxResults=5).json()
    assert [c["id"] for c in newest["comments"]] == seen[::-1][:5]
    created = [c["created"] for c in alice.get(f"issue/{key}/comment").json()["comments"]]
    assert created == sorted(created)
    assert alice.get(f"issue/{key}/comment", orderBy="author").status_code == 400
    assert alice.get(f"issue/{key}/comment", startAt="x").status_code == 400


def test_comment_counts_are_realistic() -> None:
    counts = [i.n_comments for i in DATA.issues.values() if i.key != "PAY-7"]
    assert max(counts) <= 300
    assert sum(1 for c in counts if c <= 5) > 0.7 * len(counts)
    assert DATA.issues["PAY-7"].n_comments > 2000


def test_pathological_issues(alice: JiraClient) -> None:
    huge = alice.get(f"issue/{SPECIAL_ISSUES['huge_description']}", fields="description")
    assert len(huge.content) > 1_000_000
    deep = alice.get(f"issue/{SPECIAL_ISSUES['deep_adf_200']}").json()
    node, depth = deep["fields"]["description"], 0
    while node.get("content"):
        node, depth = node["content"][0], depth + 1
    assert depth >= 200
    too_deep = alice.get(f"issue/{SPECIAL_ISSUES['too_deep_adf']}")
    assert too_deep.status_code == 200
    with pytest.raises(RecursionError):
        json.loads(too_deep.content)
    text = too_deep.content.decode()
    assert text.count("[") == text.count("]")
    assert text.count("{") == text.count("}")
    assert text.count('"bulletList"') == 600
    unicode = alice.get(f"issue/{SPECIAL_ISSUES['unicode']}").text
    for needle in ("\u200b", "\u202e", "مرحبا", "שלום", "👩🏽‍💻"):
        assert needle in unicode
    injection = alice.get(f"issue/{SPECIAL_ISSUES['injection']}/comment").json()
    assert "Ignore previous instructions" in json.dumps(injection)


def test_adf_uses_every_common_node_type() -> None:
    kinds: set[str] = set()
    marks: set[str] = set()
    for issue in list(DATA.issues.values())[:200]:
        stack = [DATA.description(issue)]
        while stack:
            node = stack.pop()
            if not isinstance(node, dict):
                continue
            kinds.add(node["type"])
            marks.update(m["type"] for m in node.get("marks", []))
            stack.extend(node.get("content", []))
    assert {
        "paragraph",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "codeBlock",
        "mention",
        "emoji",
        "table",
        "tableRow",
        "tableHeader",
        "tableCell",
        "panel",
        "inlineCard",
        "status",
        "date",
        "hardBreak",
        "blockquote",
        "rule",
        "text",
    } <= kinds
    assert {"strong", "em", "code", "link"} <= marks


def test_project_search_and_fields(alice: JiraClient) -> None:
    page = alice.get("project/search").json()
    assert [p["key"] for p in page["values"]] == ["AB_C", "MOB", "PAY"]
    assert page["total"] == 3
    assert page["isLast"] is True
    first = alice.get("project/search", maxResults=1, orderBy="-key").json()
    assert [p["key"] for p in first["values"]] == ["PAY"]
    assert first["isLast"] is False
    assert first["nextPage"].endswith("startAt=1&maxResults=1")
    assert [p["key"] for p in alice.get("project/search", query="paie").json()["values"]] == ["PAY"]
    assert [p["key"] for p in alice.get("project/search", query="ab_").json()["values"]] == ["AB_C"]
    fields = {f["id"]: f for f in alice.get("field").json()}
    assert fields["customfield_10016"]["name"] == "Story point estimate"
    assert fields["customfield_10020"]["name"] == "Sprint"
    assert fields["parent"]["schema"]["system"] == "parent"


def test_bruno_projects(sandbox_url: str) -> None:
    bruno = jira_for(sandbox_url, BRUNO.account_id)
    assert [p["key"] for p in bruno.get("project/search").json()["values"]] == ["MOB"]


def test_ratelimit_headers_and_budget(sandbox_url: str, alice: JiraClient) -> None:
    normal = alice.get("myself")
    assert normal.headers["x-ratelimit-limit"] == "350"
    assert "x-ratelimit-remaining" in normal.headers
    set_budget = httpx.post(
        f"{sandbox_url}/_sandbox/ratelimit", json={"points": 3, "window_seconds": 60}
    )
    assert set_budget.status_code == 200
    remaining = [alice.get("myself").headers["x-ratelimit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    limited = alice.get("issue/PAY-1")
    assert limited.status_code == 429
    assert limited.headers["ratelimit-reason"] == "jira-quota-tenant-based"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["x-ratelimit-nearlimit"] == "true"
    assert time.strptime(limited.headers["x-ratelimit-reset"], "%Y-%m-%dT%H:%MZ")
    # the budget is per site: globex still answers
    assert alice.site(GLOBEX).get("myself").status_code == 200
    httpx.post(f"{sandbox_url}/_sandbox/ratelimit", json={"points": None}).raise_for_status()
    assert alice.get("issue/PAY-1").status_code == 200
    assert httpx.post(f"{sandbox_url}/_sandbox/ratelimit", json={"points": -1}).status_code == 400


def test_reset_clears_budget(sandbox_url: str) -> None:
    httpx.post(f"{sandbox_url}/_sandbox/ratelimit", json={"points": 0}).raise_for_status()
    alice = jira_for(sandbox_url, ALICE.account_id)
    assert alice.get("myself").status_code == 429
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    alice = jira_for(sandbox_url, ALICE.account_id)
    assert alice.get("myself").status_code == 200


def test_jira_faults(sandbox_url: str, alice: JiraClient) -> None:
    fault = {
        "target": "jira",
        "mode": "status",
        "status": 429,
        "retry_after": 3,
        "count": 1,
        "path_regex": "/search/jql$",
    }
    httpx.post(f"{sandbox_url}/_sandbox/faults", json=fault).raise_for_status()
    assert alice.get("myself").status_code == 200
    hit = alice.post("search/jql", {"jql": "project = PAY"})
    assert hit.status_code == 429
    assert hit.headers["retry-after"] == "3"
    assert hit.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    assert alice.post("search/jql", {"jql": "project = PAY"}).status_code == 200
    malformed = {"target": "jira", "mode": "malformed", "count": 1}
    httpx.post(f"{sandbox_url}/_sandbox/faults", json=malformed).raise_for_status()
    with pytest.raises(json.JSONDecodeError):
        alice.get("issue/PAY-1").json()
    stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()["routes"]
    assert stats["POST /ex/jira/{cloudId}/rest/api/3/search/jql"] == 2
    assert stats["GET /ex/jira/{cloudId}/rest/api/3/issue/{issueIdOrKey}"] == 1


def test_unknown_jira_path(alice: JiraClient) -> None:
    response = alice.get("nothing/here")
    assert response.status_code == 404
    assert "errorMessages" in response.json()


@pytest.mark.usefixtures("sandbox_url")
def test_concurrent_fetches_are_fast(alice: JiraClient) -> None:
    import asyncio

    async def run() -> list[int]:
        async with httpx.AsyncClient(headers=alice.headers, timeout=30) as client:
            keys = [f"MOB-{n}" for n in range(1, 201)]
            responses = await asyncio.gather(
                *(client.get(f"{alice.base}/issue/{k}/comment") for k in keys)
            )
            return [r.status_code for r in responses]

    assert asyncio.run(run()) == [200] * 200


def test_acme_id_is_stable() -> None:
    assert ACME == "facd8c60-5256-59f1-b6fe-9d1eb3694ae6"
