# ruff: noqa: E501 (the query table reads best one query per line)
"""JQL over HTTP: a table of queries checked against predicates written independently of the
parser, Jira-worded errors, pagination over 1,600 issues and permission filtering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.atlassian.data import ALICE, BRUNO, CHLOE, SPECIAL_ISSUES, Dataset, IssueCore
from tests.sandbox.atlassian_helpers import JiraClient
from tests.support.ids import ACME, GLOBEX
from tests.support.servers import ServerProcess
from tests.support.signin import tokens_for

DATA = Dataset(42)
ACME_KEYS = ("PAY", "MOB", "AB_C")  # Alice's projects on acme


@pytest.fixture(scope="module")
def clients(sandbox_server: ServerProcess) -> dict[str, JiraClient]:
    url = sandbox_server.url
    httpx.post(f"{url}/_sandbox/reset").raise_for_status()
    return {
        "alice": JiraClient(url, tokens_for(url, ALICE.account_id)["access_token"]),
        "bruno": JiraClient(url, tokens_for(url, BRUNO.account_id)["access_token"]),
        "chloe": JiraClient(url, tokens_for(url, CHLOE.account_id)["access_token"], GLOBEX),
    }


def acme(pred: Callable[[IssueCore], bool]) -> Callable[[IssueCore], bool]:
    return lambda i: i.project.key in ACME_KEYS and pred(i)


def days_ago(n: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=n)


ACTIVE = {s.id for k in ACME_KEYS for s in DATA.sprints[k] if s.state == "active"}
CLOSED = {s.id for k in ACME_KEYS for s in DATA.sprints[k] if s.state == "closed"}


def sprint_ids(issue: IssueCore) -> set[int]:
    """The sprints of the issue's Sprint field: the current one and those it was carried from."""
    return {s.id for s in (*issue.sprint_trail, issue.sprint) if s is not None}


V_PAY_11 = next(v for v in DATA.versions["PAY"] if v.name == "1.1")
DAY = (DATA.now - dt.timedelta(days=90)).date()
DAY_DT = dt.datetime(DAY.year, DAY.month, DAY.day, tzinfo=dt.UTC)


def has_text(issue: IssueCore, word: str) -> bool:
    import re

    return word in re.findall(r"\w+", DATA.plain_text(issue))


# (jql, predicate over Alice's acme issues) - order-insensitive unless ORDER BY is checked below
MATCHES: list[tuple[str, Callable[[IssueCore], bool]]] = [
    ("project = PAY", lambda i: i.project.key == "PAY"),
    ("project = pay", lambda i: i.project.key == "PAY"),
    ('project = "Paiements"', lambda i: i.project.key == "PAY"),
    ("project = 10001", lambda i: i.project.key == "MOB"),
    ("project in (PAY, MOB)", lambda i: i.project.key in ("PAY", "MOB")),
    ("project not in (PAY)", lambda i: i.project.key in ("MOB", "AB_C")),
    ("project != MOB", lambda i: i.project.key in ("PAY", "AB_C")),
    # Jira allows "_" in project keys; keys are matched in any case.
    ("project = AB_C", lambda i: i.project.key == "AB_C"),
    ("project = ab_c", lambda i: i.project.key == "AB_C"),
    ('project = "Analytics Core"', lambda i: i.project.key == "AB_C"),
    ("project in (AB_C, MOB)", lambda i: i.project.key in ("AB_C", "MOB")),
    (
        "project = PAY AND status = 'En cours'",
        lambda i: i.key.startswith("PAY-") and i.status.name == "En cours",
    ),
    ('status = "In Progress"', acme(lambda i: i.status.name == "In Progress")),
    ("status in ('À faire', 'To Do')", acme(lambda i: i.status.category == "new")),
    (
        "status != Terminé AND project = PAY",
        lambda i: i.project.key == "PAY" and i.status.name != "Terminé",
    ),
    ("statusCategory = Done", acme(lambda i: i.status.category == "done")),
    ('statusCategory = "In Progress"', acme(lambda i: i.status.category == "indeterminate")),
    ("statusCategory in (new, done)", acme(lambda i: i.status.category in ("new", "done"))),
    (
        "statusCategory != Done and project = MOB",
        lambda i: i.project.key == "MOB" and i.status.category != "done",
    ),
    ("assignee = currentUser()", acme(lambda i: i.assignee is ALICE)),
    ("assignee = '712020:bruno-0002'", acme(lambda i: i.assignee is BRUNO)),
    (
        'assignee = "Chloé Dubois"',
        acme(lambda i: i.assignee is not None and i.assignee.display_name == "Chloé Dubois"),
    ),
    ("assignee is EMPTY", acme(lambda i: i.assignee is None)),
    (
        "assignee is not EMPTY and project = MOB",
        lambda i: i.project.key == "MOB" and i.assignee is not None,
    ),
    ("assignee = null", acme(lambda i: i.assignee is None)),
    (
        "assignee != currentUser()",
        acme(lambda i: i.assignee is not None and i.assignee is not ALICE),
    ),
    (
        "assignee in (currentUser(), EMPTY)",
        acme(lambda i: i.assignee is None or i.assignee is ALICE),
    ),
    ("reporter = currentUser()", acme(lambda i: i.reporter is ALICE)),
    (
        "reporter in ('Diego Ramos', 'emma.schmidt@example.com')",
        acme(lambda i: i.reporter.display_name in ("Diego Ramos", "Emma Schmidt")),
    ),
    ("priority = High", acme(lambda i: i.priority[1] == "High")),
    ("priority > Medium", acme(lambda i: i.priority[2] > 3)),
    ("priority <= Low", acme(lambda i: i.priority[2] <= 2)),
    ("priority in (Highest, Lowest)", acme(lambda i: i.priority[1] in ("Highest", "Lowest"))),
    ("issuetype = Bug", acme(lambda i: i.issuetype == "Bug")),
    ("type = Epic", acme(lambda i: i.issuetype == "Epic")),
    ("issuetype not in (Bug, Epic)", acme(lambda i: i.issuetype in ("Story", "Task"))),
    ("labels = urgent", acme(lambda i: "urgent" in i.labels)),
    ("labels in (ios, android)", acme(lambda i: bool({"ios", "android"} & set(i.labels)))),
    ("labels is EMPTY", acme(lambda i: not i.labels)),
    ("labels != crash", acme(lambda i: bool(i.labels) and "crash" not in i.labels)),
    ("labels = nosuchlabel", lambda i: False),
    ("sprint in openSprints()", acme(lambda i: i.sprint is not None and i.sprint.id in ACTIVE)),
    (
        "sprint in closedSprints()",
        acme(lambda i: i.sprint is not None and bool(CLOSED & sprint_ids(i))),
    ),
    (
        'sprint = "PAY Sprint 20"',
        lambda i: i.project.key == "PAY" and DATA.scenario.sprint.id in sprint_ids(i),
    ),
    (
        'sprint = "PAY Sprint 21"',
        lambda i: i.sprint is not None and i.sprint.name == "PAY Sprint 21",
    ),
    ("sprint is EMPTY AND project = MOB", lambda i: i.project.key == "MOB" and i.sprint is None),
    (
        "fixVersion = '1.1' AND project = PAY",
        lambda i: i.project.key == "PAY" and V_PAY_11 in i.fix_versions,
    ),
    ("fixVersion is not EMPTY", acme(lambda i: bool(i.fix_versions))),
    ("updated >= -7d", acme(lambda i: i.updated >= days_ago(7))),
    (
        "updated >= -1w AND project = MOB",
        lambda i: i.project.key == "MOB" and i.updated >= days_ago(7),
    ),
    ("created < -300d", acme(lambda i: i.created < days_ago(300))),
    (
        "created > '-2d' OR updated > -24h",
        acme(lambda i: i.created > days_ago(2) or i.updated > days_ago(1)),
    ),
    (f"created >= {DAY.isoformat()}", acme(lambda i: i.created >= DAY_DT)),
    (
        f'created < "{DAY.strftime("%Y/%m/%d")} 12:00"',
        acme(lambda i: i.created < DAY_DT + dt.timedelta(hours=12)),
    ),
    ("updated <= now()", acme(lambda i: True)),
    (
        "duedate < now() AND statusCategory != Done",
        acme(
            lambda i: (
                i.duedate is not None
                and i.duedate < dt.datetime.now(dt.UTC).date()
                and i.status.category != "done"
            )
        ),
    ),
    ("due is EMPTY", acme(lambda i: i.duedate is None)),
    ("summary ~ webhook", acme(lambda i: "webhook" in i.summary.casefold().split())),
    (
        'summary ~ "crash*"',
        acme(lambda i: any(w.startswith("crash") for w in i.summary.casefold().split())),
    ),
    (
        "summary !~ webhook AND project = PAY",
        lambda i: i.project.key == "PAY" and "webhook" not in i.summary.casefold().split(),
    ),
    ("text ~ timeout", acme(lambda i: has_text(i, "timeout"))),
    (
        'text ~ "\\"mise en production\\""',
        acme(lambda i: "mise en production" in DATA.plain_text(i)),
    ),
    ("key = PAY-1", lambda i: i.key == "PAY-1"),
    ("issuekey in (PAY-1, MOB-2, pay-3)", lambda i: i.key in ("PAY-1", "MOB-2", "PAY-3")),
    ("key > MOB-495", lambda i: i.project.key == "MOB" and i.number > 495),
    ("parent = PAY-10", lambda i: i.parent == "PAY-10"),
    ("key = AB_C-1", lambda i: i.key == "AB_C-1"),
    ("issuekey in (AB_C-1, ab_c-3, PAY-1)", lambda i: i.key in ("AB_C-1", "AB_C-3", "PAY-1")),
    ("key > AB_C-10", lambda i: i.project.key == "AB_C" and i.number > 10),
    ("parent = AB_C-10", lambda i: i.parent == "AB_C-10"),
    # the epic seeds: PAY-60's direct children are in PAY and MOB
    ("parent = PAY-60", lambda i: i.parent == "PAY-60"),
    (
        'parent = "PAY-60" AND project = MOB',
        lambda i: i.parent == "PAY-60" and i.project.key == "MOB",
    ),
    ("parent in (PAY-60, ab_c-10)", lambda i: i.parent in ("PAY-60", "AB_C-10")),
    ("parent = 100060", lambda i: i.parent == "PAY-60"),
    (
        "parent is not EMPTY AND project = MOB",
        lambda i: i.project.key == "MOB" and i.parent is not None,
    ),
    ('"Story point estimate" >= 8', acme(lambda i: (i.story_points or 0) >= 8)),
    ("cf[10016] = 5", acme(lambda i: i.story_points == 5)),
    ("NOT project = PAY", lambda i: i.project.key in ("MOB", "AB_C")),
    (
        "project = PAY AND NOT (status = Terminé OR priority = Low)",
        lambda i: i.project.key == "PAY" and i.status.name != "Terminé" and i.priority[1] != "Low",
    ),
    (
        "(project = MOB OR labels = sepa) and assignee is empty",
        acme(lambda i: (i.project.key == "MOB" or "sepa" in i.labels) and i.assignee is None),
    ),
    (
        "project = PAY and (priority = Highest or (labels = urgent and status = 'En revue'))",
        lambda i: (
            i.project.key == "PAY"
            and (
                i.priority[1] == "Highest" or ("urgent" in i.labels and i.status.name == "En revue")
            )
        ),
    ),
    (
        "PROJECT = MOB And Status = Done oR Key = PAY-1",
        lambda i: (i.project.key == "MOB" and i.status.name == "Done") or i.key == "PAY-1",
    ),
]

ERRORS: list[tuple[str, str]] = [
    ("project = FOO", "The value 'FOO' does not exist for the field 'project'."),
    ("foo = bar", "Field 'foo' does not exist or you do not have permission to view it."),
    ("project = OPS", "The value 'OPS' does not exist for the field 'project'."),
    ("status = Nope", "The value 'Nope' does not exist for the field 'status'."),
    (
        "assignee = 'Nobody Here'",
        "The value 'Nobody Here' does not exist for the field 'assignee'.",
    ),
    (
        "priority = Urgentissime",
        "The value 'Urgentissime' does not exist for the field 'priority'.",
    ),
    ("sprint = 'Sprint 999'", "The value 'Sprint 999' does not exist for the field 'sprint'."),
    ("fixVersion = 9.9", "The value '9.9' does not exist for the field 'fixVersion'."),
    (
        "project = PAY AND summary ~ 50%",
        "Error in the JQL Query: The character '%' is a reserved JQL character. You must enclose "
        "it in a string or use the escape '\\u0025' instead. (line 1, character 31)",
    ),
    (
        "project = PAY AND (status = Done",
        "Error in the JQL Query: Expecting ')' before the end of the query.",
    ),
    (
        "project = 'PAY",
        "Error in the JQL Query: The quoted string 'PAY' has not been completed. (line 1, character 11)",
    ),
    (
        "project PAY",
        "Error in the JQL Query: Expecting operator but got 'PAY'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)",
    ),
    (
        "project =",
        "Error in the JQL Query: Expecting either a value, list or function before the end of the query.",
    ),
    (
        "project = PAY status = Done",
        "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'status'. (line 1, character 15)",
    ),
    (
        "project = PAY AND",
        "Error in the JQL Query: Expecting a field name before the end of the query.",
    ),
    ("assignee = whoever()", "Unable to find JQL function 'whoever()'."),
    ("project ~ PAY", "The operator '~' is not supported by the 'project' field."),
    ("labels > a", "The operator '>' is not supported by the 'labels' field."),
    ("text = hello", "The operator '=' is not supported by the 'text' field."),
    (
        "created > yesterday",
        "Date value 'yesterday' for field 'created' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.",
    ),
    ("key = PAY-99999", "An issue with key 'PAY-99999' does not exist for field 'key'."),
    ("key = AB_C-13", "An issue with key 'AB_C-13' does not exist for field 'key'."),
    (
        "status was Done",
        "The operator 'WAS' is not supported by this Jira sandbox (history searches are not implemented). (line 1, character 8)",
    ),
    (
        "project in PAY",
        "Error in the JQL Query: Expecting '(' after 'IN' or 'NOT IN'. (line 1, character 12)",
    ),
    (
        "assignee is currentUser()",
        "Error in the JQL Query: The operator 'IS' and 'IS NOT' can only be used with EMPTY or NULL. (line 1, character 13)",
    ),
    (
        "project = PAY ORDER BY foo",
        "Field 'foo' does not exist or you do not have permission to view it.",
    ),
    ("project = PAY ORDER BY text", "Field 'text' does not support sorting."),
    (
        "ORDER BY created DESC",
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
    ),
    (
        "",
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
    ),
    (
        "   ",
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
    ),
]


def _keys(client: JiraClient, jql: str) -> list[str]:
    response = client.post("search/jql", {"jql": jql, "maxResults": 5000, "fields": ["key"]})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["isLast"] is True
    return [issue["key"] for issue in data["issues"]]


def _expected(
    pred: Callable[[IssueCore], bool], account: Any = ALICE, site: str = ACME
) -> set[str]:
    return {
        i.key
        for p in DATA.visible_projects(account, site)
        for i in DATA.by_project[p.key]
        if pred(i)
    }


@pytest.mark.parametrize(("jql", "pred"), MATCHES, ids=[m[0] for m in MATCHES])
def test_query_matches(
    clients: dict[str, JiraClient], jql: str, pred: Callable[[IssueCore], bool]
) -> None:
    got = _keys(clients["alice"], jql)
    assert len(got) == len(set(got))
    assert set(got) == _expected(pred)


@pytest.mark.parametrize(("jql", "message"), ERRORS, ids=[e[0] or "<empty>" for e in ERRORS])
def test_query_errors(clients: dict[str, JiraClient], jql: str, message: str) -> None:
    for response in (
        clients["alice"].post("search/jql", {"jql": jql}),
        clients["alice"].get("search/jql", jql=jql),
        clients["alice"].post("search/approximate-count", {"jql": jql}),
    ):
        assert response.status_code == 400
        assert response.json() == {"errorMessages": [message], "errors": {}}


def test_the_table_is_big_enough_and_not_trivial() -> None:
    assert len(MATCHES) + len(ERRORS) >= 60
    sizes = [len(_expected(pred)) for _, pred in MATCHES]
    assert sum(1 for s in sizes if 0 < s < 1600) >= 50  # most queries really filter


def test_default_order_is_id_descending(clients: dict[str, JiraClient]) -> None:
    got = _keys(clients["alice"], "project = MOB")
    assert got == [f"MOB-{n}" for n in range(500, 0, -1)]


@pytest.mark.parametrize(
    ("jql", "sort_key", "reverse"),
    [
        ("project = PAY ORDER BY created ASC", lambda i: i.created, False),
        ("project = PAY ORDER BY updated DESC", lambda i: i.updated, True),
        ("project in (PAY, MOB) order by key", lambda i: (i.project.key, i.number), False),
        (
            "project = MOB ORDER BY priority DESC, key ASC",
            lambda i: (-i.priority[2], i.number),
            False,
        ),
    ],
)
def test_order_by(clients: dict[str, JiraClient], jql: str, sort_key: Any, reverse: bool) -> None:
    got = _keys(clients["alice"], jql)
    issues = [DATA.issues[k] for k in got]
    assert issues == sorted(issues, key=sort_key, reverse=reverse)
    assert len(got) == len(_expected(lambda i: i.project.key in jql))


def test_order_by_duedate_puts_empty_last_ascending(clients: dict[str, JiraClient]) -> None:
    got = [DATA.issues[k] for k in _keys(clients["alice"], "project = MOB ORDER BY duedate ASC")]
    dated = [i for i in got if i.duedate is not None]
    assert got[: len(dated)] == dated
    dates = [i.duedate for i in dated if i.duedate is not None]
    assert dates == sorted(dates)
    assert all(i.duedate is None for i in got[len(dated) :])


def test_pagination_returns_each_issue_once_and_matches_count(
    clients: dict[str, JiraClient],
) -> None:
    alice = clients["alice"]
    jql = "project in (PAY, MOB) ORDER BY updated DESC"
    count = alice.post("search/approximate-count", {"jql": jql}).json()
    assert count == {"count": 1600}
    pages = []
    body: dict[str, Any] = {"jql": jql, "maxResults": 100, "fields": ["summary", "status"]}
    while True:
        data = alice.post("search/jql", body).json()
        pages.append(len(data["issues"]))
        if data["isLast"]:
            break
        body["nextPageToken"] = data["nextPageToken"]
        assert set(data) == {"issues", "nextPageToken", "isLast"}
    assert pages == [100] * 16
    # GET with ids only: the 5,000 cap applies
    response = alice.get("search/jql", jql=jql, maxResults=5000)
    ids = [i["id"] for i in response.json()["issues"]]
    assert len(ids) == len(set(ids)) == 1600
    assert all(set(i) == {"id"} for i in response.json()["issues"])
    keys = [i["key"] for i in alice.search_all(jql, page=250, fields=["key"])]
    assert len(keys) == len(set(keys)) == 1600
    assert [str(DATA.issues[k].id) for k in keys] == ids


def test_page_size_caps(clients: dict[str, JiraClient]) -> None:
    alice = clients["alice"]
    full = alice.post(
        "search/jql", {"jql": "project = PAY", "maxResults": 1000, "fields": ["summary"]}
    )
    assert len(full.json()["issues"]) == 100
    small = alice.post(
        "search/jql", {"jql": "project = PAY", "maxResults": 10000, "fields": ["id"]}
    )
    assert len(small.json()["issues"]) == 1100
    default = alice.post("search/jql", {"jql": "project = PAY"})
    assert len(default.json()["issues"]) == 50
    zero = alice.post("search/jql", {"jql": "project = PAY", "maxResults": 0})
    assert zero.status_code == 400


def test_bad_page_token(clients: dict[str, JiraClient]) -> None:
    alice = clients["alice"]
    first = alice.post("search/jql", {"jql": "project = PAY", "maxResults": 10}).json()
    other = alice.post(
        "search/jql", {"jql": "project = MOB", "nextPageToken": first["nextPageToken"]}
    )
    assert other.status_code == 400
    garbage = alice.get("search/jql", jql="project = PAY", nextPageToken="!!!")
    assert garbage.status_code == 400
    assert garbage.json()["errors"] == {}


def test_bruno_never_sees_pay(clients: dict[str, JiraClient]) -> None:
    bruno = clients["bruno"]
    keys = _keys(bruno, "project = MOB OR labels = sepa OR text ~ paiement")
    assert keys
    assert all(k.startswith("MOB-") for k in keys)
    assert set(_keys(bruno, "updated >= -3650d")) == {f"MOB-{n}" for n in range(1, 501)}
    assert bruno.post("search/approximate-count", {"jql": "statusCategory = Done"}).json() == {
        "count": len(_expected(lambda i: i.status.category == "done", BRUNO))
    }
    denied = bruno.post("search/jql", {"jql": "project = PAY"})
    assert denied.json() == {
        "errorMessages": ["The value 'PAY' does not exist for the field 'project'."],
        "errors": {},
    }
    assert bruno.get("issue/PAY-1").status_code == 404
    assert bruno.get("issue/100001").status_code == 404
    assert bruno.get("issue/PAY-1/comment").status_code == 404
    assert bruno.get("issue/MOB-1").status_code == 200
    assert bruno.post("search/jql", {"jql": "project = AB_C"}).json() == {
        "errorMessages": ["The value 'AB_C' does not exist for the field 'project'."],
        "errors": {},
    }
    assert bruno.get("issue/AB_C-1").status_code == 404


def test_sites_are_separate(clients: dict[str, JiraClient]) -> None:
    chloe = clients["chloe"]
    keys = _keys(chloe, "updated >= -3650d")
    assert len(keys) == 500
    assert {k.split("-")[0] for k in keys} == {"OPS", "DATA"}
    alice_globex = clients["alice"].site(GLOBEX)
    assert set(_keys(alice_globex, "project in (OPS, DATA)")) == set(keys)
    assert clients["alice"].get("issue/OPS-1").status_code == 404  # wrong site
    assert alice_globex.get("issue/OPS-1").status_code == 200
    assert chloe.get("issue/PAY-1").status_code == 404
    assert chloe.post("search/jql", {"jql": "project = PAY"}).status_code == 400


def test_current_user_depends_on_token(clients: dict[str, JiraClient]) -> None:
    jql = "assignee = currentUser()"
    assert set(_keys(clients["bruno"], jql)) == _expected(lambda i: i.assignee is BRUNO, BRUNO)
    assert set(_keys(clients["chloe"], jql)) == _expected(
        lambda i: i.assignee is CHLOE, CHLOE, GLOBEX
    )


def test_parent_returns_the_direct_children_of_any_project(clients: dict[str, JiraClient]) -> None:
    seeds = DATA.epic_seeds

    children = _keys(clients["alice"], f"parent = {seeds.cross_project}")

    assert {k.split("-")[0] for k in children} == {"PAY", "MOB"}
    assert sorted(k for k in children if k.startswith("MOB-")) == sorted(seeds.foreign)


def test_special_issues_are_searchable(clients: dict[str, JiraClient]) -> None:
    alice = clients["alice"]
    assert "PAY-8" in _keys(alice, 'text ~ "ignore previous instructions"')
    assert SPECIAL_ISSUES["too_deep_adf"] in _keys(alice, "description ~ profond")
    assert _keys(alice, "key = PAY-7 AND comment ~ reproduit") == ["PAY-7"]
