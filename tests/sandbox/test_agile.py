"""Jira Software in the sandbox: the Agile REST API (boards, sprints, a sprint's issues), its
scopes, the bulk changelog fetch, and PAY Sprint 20's scope changes as the changelog tells them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.atlassian.data import ALICE, CHLOE, SPRINT_FIELD, STORY_POINTS_FIELD, Dataset
from tests.sandbox.atlassian_helpers import JiraClient
from tests.support.ids import ACME, GLOBEX
from tests.support.signin import tokens_for

DATA = Dataset(42)
SCENARIO = DATA.scenario
CLASSIC = "read:jira-work read:jira-user offline_access"
AGILE = f"{CLASSIC} read:board-scope:jira-software read:sprint:jira-software"


class Agile(JiraClient):
    @property
    def agile(self) -> str:
        return f"{self.url}/ex/jira/{self.cloud_id}/rest/agile/1.0"

    def ag(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.agile}/{path}", params=params, headers=self.headers, timeout=30)


def client(url: str, account_id: str, scope: str, cloud_id: str = ACME) -> Agile:
    return Agile(url, tokens_for(url, account_id, scope=scope)["access_token"], cloud_id)


@pytest.fixture
def alice(sandbox_url: str) -> Agile:
    return client(sandbox_url, ALICE.account_id, AGILE)


def test_boards_envelope_filters_and_paging(alice: Agile) -> None:
    data = alice.ag("board").json()
    assert data["startAt"] == 0
    assert data["isLast"] is True
    assert data["total"] == 2
    assert [(b["id"], b["type"], b["location"]["projectKey"]) for b in data["values"]] == [
        (10, "scrum", "PAY"),
        (11, "scrum", "MOB"),
    ]
    pay = data["values"][0]
    assert pay["self"].endswith("/rest/agile/1.0/board/10")
    assert pay["name"] == "PAY board"
    assert pay["location"]["projectId"] == 10000
    assert pay["location"]["projectName"] == "Paiements"
    first = alice.ag("board", maxResults=1).json()
    assert (first["maxResults"], first["total"], first["isLast"]) == (1, 2, False)
    second = alice.ag("board", maxResults=1, startAt=1).json()
    assert second["isLast"] is True
    assert second["values"][0]["id"] == 11
    only = alice.ag("board", projectKeyOrId="MOB").json()
    assert [b["id"] for b in only["values"]] == [11]
    assert alice.ag("board", projectKeyOrId="10000").json()["values"][0]["id"] == 10
    assert alice.ag("board", type="kanban").json()["values"] == []
    globex = alice.site(GLOBEX)
    globex_agile = Agile(globex.url, globex.token, GLOBEX)
    kanban = globex_agile.ag("board", type="kanban").json()
    assert [(b["id"], b["location"]["projectKey"]) for b in kanban["values"]] == [(12, "OPS")]
    assert alice.ag("board", type="nope").status_code == 400


def test_board_sprints_states_paging_and_kanban(sandbox_url: str, alice: Agile) -> None:
    data = alice.ag("board/10/sprint").json()
    assert set(data) == {"maxResults", "startAt", "isLast", "values"}
    assert data["maxResults"] == 50
    assert len(data["values"]) == 23
    assert data["isLast"] is True
    states = [s["state"] for s in data["values"]]
    assert states == ["closed"] * 20 + ["active"] + ["future"] * 2
    closed = data["values"][19]
    assert closed["id"] == SCENARIO.sprint.id
    assert closed["name"] == "PAY Sprint 20"
    assert closed["originBoardId"] == 10
    assert closed["goal"]
    assert closed["completeDate"]
    assert closed["startDate"] < closed["endDate"]
    assert "completeDate" not in data["values"][20]
    assert "startDate" not in data["values"][21]
    active = alice.ag("board/10/sprint", state="active,future").json()["values"]
    assert [s["state"] for s in active] == ["active", "future", "future"]
    page = alice.ag("board/10/sprint", state="closed", startAt=18, maxResults=5).json()
    assert [s["name"] for s in page["values"]] == ["PAY Sprint 19", "PAY Sprint 20"]
    assert page["isLast"] is True
    assert alice.ag("board/10/sprint", maxResults=2).json()["isLast"] is False
    assert alice.ag("board/10/sprint", state="open").status_code == 400
    chloe = client(sandbox_url, CHLOE.account_id, AGILE, GLOBEX)
    kanban = chloe.ag("board/12/sprint")
    assert kanban.status_code == 400
    assert kanban.json() == {"errorMessages": ["The board does not support sprints"], "errors": {}}
    assert [s["name"] for s in chloe.ag("board/13/sprint", state="active").json()["values"]] == [
        "DATA Sprint 21"
    ]


def test_unknown_ids_are_404(alice: Agile) -> None:
    for path in ("board/999", "board/999/sprint", "board/12/sprint", "sprint/9", "sprint/1320"):
        response = alice.ag(path)  # 12 and 13xx live on Globex: not on this site
        assert response.status_code == 404, path
        body = response.json()
        assert set(body) == {"errorMessages", "errors"}
        assert body["errors"] == {}
    assert alice.ag("sprint/9/issue").status_code == 404


def test_sprint_and_its_current_members(alice: Agile) -> None:
    sprint = alice.ag(f"sprint/{SCENARIO.sprint.id}").json()
    assert sprint["name"] == "PAY Sprint 20"
    assert sprint["state"] == "closed"
    data = alice.ag(f"sprint/{SCENARIO.sprint.id}/issue", fields="summary,status").json()
    assert set(data) == {"expand", "startAt", "maxResults", "total", "issues"}
    current = set(SCENARIO.committed + SCENARIO.added) - set(SCENARIO.removed)
    current -= set(SCENARIO.carried_over)
    assert {i["key"] for i in data["issues"]} == current
    assert data["total"] == len(current)
    assert set(data["issues"][0]["fields"]) == {"summary", "status"}
    page = alice.ag(f"sprint/{SCENARIO.sprint.id}/issue", maxResults=3, startAt=3).json()
    assert page["total"] == len(current)
    assert len(page["issues"]) == 3
    carried = alice.ag(
        f"sprint/{SCENARIO.next_sprint.id}/issue", jql=f"key = {SCENARIO.carried_over[0]}"
    ).json()
    assert carried["total"] == 1
    names = [s["name"] for s in carried["issues"][0]["fields"][SPRINT_FIELD]]
    assert names == ["PAY Sprint 20", "PAY Sprint 21"]
    active = alice.ag(
        f"sprint/{SCENARIO.next_sprint.id}/issue", maxResults=500, fields="key"
    ).json()
    assert active["maxResults"] == 50
    assert active["total"] > 50


def test_classic_scopes_do_not_cover_agile(sandbox_url: str) -> None:
    classic = client(sandbox_url, ALICE.account_id, f"{CLASSIC} read:issue-details:jira")
    for path in ("board", "board/10/sprint", f"sprint/{SCENARIO.sprint.id}", "sprint/1020/issue"):
        response = classic.ag(path)
        assert response.status_code == 401, path
        assert "scope does not match" in response.text
    boards_only = client(sandbox_url, ALICE.account_id, f"{CLASSIC} read:board-scope:jira-software")
    assert boards_only.ag("board").status_code == 200
    assert boards_only.ag("board/10/sprint").status_code == 401
    assert classic.get("issue/PAY-1").status_code == 200


def _bulk(alice: Agile, body: dict[str, Any]) -> httpx.Response:
    return alice.post("changelog/bulkfetch", body)


def test_bulkfetch_limits(alice: Agile) -> None:
    assert _bulk(alice, {"issueIdsOrKeys": []}).status_code == 400
    assert _bulk(alice, {"issueIdsOrKeys": [f"PAY-{n}" for n in range(1, 1002)]}).status_code == 400
    eleven = {"issueIdsOrKeys": ["PAY-1"], "fieldIds": [f"f{n}" for n in range(11)]}
    assert _bulk(alice, eleven).status_code == 400
    assert _bulk(alice, {"issueIdsOrKeys": ["PAY-1"], "maxResults": 0}).status_code == 400
    assert _bulk(alice, {"issueIdsOrKeys": ["PAY-1"], "bogus": 1}).status_code == 400
    bad = _bulk(alice, {"issueIdsOrKeys": ["PAY-1"], "nextPageToken": "zzz"})
    assert bad.status_code == 400
    ok = _bulk(alice, {"issueIdsOrKeys": [f"PAY-{n}" for n in range(1, 1001)]})
    assert ok.status_code == 200
    assert "nextPageToken" in ok.json()


def test_bulkfetch_filters_and_pages(alice: Agile) -> None:
    keys = list(SCENARIO.committed + SCENARIO.added)
    fields = [SPRINT_FIELD, STORY_POINTS_FIELD, "status"]
    whole = _bulk(alice, {"issueIdsOrKeys": keys, "fieldIds": fields}).json()
    assert "nextPageToken" not in whole
    flat = [(log["issueId"], h) for log in whole["issueChangeLogs"] for h in log["changeHistories"]]
    assert all(i["fieldId"] in fields for _, h in flat for i in h["items"])
    for log in whole["issueChangeLogs"]:
        stamps = [h["created"] for h in log["changeHistories"]]
        assert stamps == sorted(stamps)
    paged: list[tuple[str, dict[str, Any]]] = []
    body: dict[str, Any] = {"issueIdsOrKeys": keys, "fieldIds": fields, "maxResults": 4}
    while True:
        data = _bulk(alice, body).json()
        paged.extend(
            (log["issueId"], h) for log in data["issueChangeLogs"] for h in log["changeHistories"]
        )
        if "nextPageToken" not in data:
            break
        body["nextPageToken"] = data["nextPageToken"]
    assert len(paged) > 4
    assert [h["created"] for _, h in paged] == sorted(h["created"] for _, h in paged)
    assert sorted((i, h["id"]) for i, h in paged) == sorted((i, h["id"]) for i, h in flat)
    one = alice.get(f"issue/{SCENARIO.removed[0]}/changelog").json()["values"]
    assert any(i["fieldId"] == SPRINT_FIELD for h in one for i in h["items"])


def test_sprint_membership_reconstructed_from_changelog(alice: Agile) -> None:
    """Committed / added / removed / completed from the raw changelog, as a report computes them."""
    sprint = alice.ag(f"sprint/{SCENARIO.sprint.id}").json()
    start, complete = sprint["startDate"], sprint["completeDate"]
    sid = str(SCENARIO.sprint.id)
    # candidates: current members plus project issues updated during the sprint
    members = alice.ag(f"sprint/{sid}/issue", fields="key").json()["issues"]
    jql = f'project = PAY AND updated >= "{start[:10]}" ORDER BY key'
    updated = alice.search_all(jql, fields=["key"])
    keys = sorted({i["key"] for i in members + updated})
    issues = {
        i["key"]: i
        for i in alice.search_all(
            f"key in ({','.join(keys)})",
            fields=[SPRINT_FIELD, STORY_POINTS_FIELD, "status", "created"],
        )
    }
    by_id = {i["id"]: k for k, i in issues.items()}
    histories: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for chunk in range(0, len(keys), 1000):
        body: dict[str, Any] = {
            "issueIdsOrKeys": keys[chunk : chunk + 1000],
            "fieldIds": [SPRINT_FIELD, STORY_POINTS_FIELD, "status"],
        }
        while True:
            data = _bulk(alice, body).json()
            for log in data["issueChangeLogs"]:
                histories[by_id[log["issueId"]]].extend(log["changeHistories"])
            if "nextPageToken" not in data:
                break
            body["nextPageToken"] = data["nextPageToken"]

    def ts(value: str) -> str:  # Jira's "+0000" stamps and the Agile "Z" ones, comparable
        return value[:23]

    def value_at(key: str, field: str, when: str) -> str | None:
        """The field's value at ``when``: the ``from`` of the first later change, else current."""
        issue = issues[key]
        if ts(issue["fields"]["created"]) > ts(when):
            return None
        for history in sorted(histories[key], key=lambda h: h["created"]):
            if ts(history["created"]) <= ts(when):
                continue
            for item in history["items"]:
                if item["fieldId"] == field:
                    return item.get("from") if field != STORY_POINTS_FIELD else item["fromString"]
        current = issue["fields"].get(field)
        if field == SPRINT_FIELD:
            return ", ".join(str(s["id"]) for s in current or [])
        if field == "status":
            return str(current["id"])
        return None if current is None else f"{current:g}"

    def in_sprint(key: str, when: str) -> bool:
        return sid in (value_at(key, SPRINT_FIELD, when) or "").replace(" ", "").split(",")

    def entered(key: str) -> str | None:
        for history in sorted(histories[key], key=lambda h: h["created"]):
            for item in history["items"]:
                was = sid in (item.get("from") or "").replace(" ", "").split(",")
                now = sid in (item.get("to") or "").replace(" ", "").split(",")
                if item["fieldId"] == SPRINT_FIELD and now and not was:
                    return str(history["created"])
        return None

    committed = sorted(k for k in keys if in_sprint(k, start))
    ever = [k for k in keys if entered(k) is not None and ts(entered(k) or "") <= ts(complete)]
    added = sorted(k for k in ever if k not in committed)
    removed = sorted(k for k in set(committed) | set(added) if not in_sprint(k, complete))
    done_ids = {s.id for s in DATA.issues["PAY-1"].project.statuses if s.category == "done"}
    at_end = [k for k in set(committed) | set(added) if k not in removed]
    completed = sorted(k for k in at_end if value_at(k, "status", complete) in done_ids)
    not_completed = sorted(set(at_end) - set(completed))

    assert committed == sorted(SCENARIO.committed)
    assert added == sorted(SCENARIO.added)
    assert removed == sorted(SCENARIO.removed)
    assert completed == sorted(SCENARIO.completed)
    assert not_completed == sorted(SCENARIO.carried_over)
    points = {k: float(value_at(k, STORY_POINTS_FIELD, entered(k) or start) or 0) for k in ever}
    assert points == SCENARIO.points
    for key, (before, after) in SCENARIO.estimate_changes.items():
        assert float(value_at(key, STORY_POINTS_FIELD, start) or 0) == before
        assert float(value_at(key, STORY_POINTS_FIELD, complete) or 0) == after
    total = sum(points[k] for k in committed) + sum(points[k] for k in added)
    total -= sum(points[k] for k in removed)
    assert total == sum(points[k] for k in completed) + sum(points[k] for k in not_completed)
