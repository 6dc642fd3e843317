"""The sandbox's blocker seeds on PAY Sprint 20/21: "is blocked by" links in Jira's
``issuelinks`` shape on both ends, a Flagged issue whose changelog says when, and
``GET /rest/api/3/status`` with every status's category."""

from __future__ import annotations

from sandbox.atlassian.data import ALICE, FLAGGED_FIELD, Dataset
from tests.sandbox.atlassian_helpers import JiraClient
from tests.support.ids import ACME
from tests.support.signin import tokens_for

DATA = Dataset(42)
SEEDS = DATA.blockers


def _alice(sandbox_url: str) -> JiraClient:
    return JiraClient(sandbox_url, tokens_for(sandbox_url, ALICE.account_id)["access_token"], ACME)


def test_blocked_issues_carry_inward_links_and_blockers_outward(sandbox_url: str) -> None:
    alice = _alice(sandbox_url)

    blocked = alice.get(f"issue/{SEEDS.blocked_open}", fields="issuelinks").json()
    blocker = alice.get(f"issue/{SEEDS.open_blocker}", fields="issuelinks").json()
    done = alice.get(f"issue/{SEEDS.blocked_done}", fields="issuelinks").json()

    [link] = blocked["fields"]["issuelinks"]
    assert link["type"] == {
        "id": "10000",
        "name": "Blocks",
        "inward": "is blocked by",
        "outward": "blocks",
        "self": link["type"]["self"],
    }
    assert link["inwardIssue"]["key"] == SEEDS.open_blocker
    assert link["inwardIssue"]["fields"]["status"]["statusCategory"]["key"] != "done"
    [back] = blocker["fields"]["issuelinks"]
    assert back["id"] == link["id"]
    assert back["outwardIssue"]["key"] == SEEDS.blocked_open
    assert "inwardIssue" not in back
    [done_link] = done["fields"]["issuelinks"]
    assert done_link["inwardIssue"]["key"] == SEEDS.done_blocker
    assert done_link["inwardIssue"]["fields"]["status"]["statusCategory"]["key"] == "done"
    plain = alice.get("issue/PAY-2", fields="issuelinks").json()
    assert plain["fields"]["issuelinks"] == []


def test_the_flagged_issue_and_its_changelog(sandbox_url: str) -> None:
    alice = _alice(sandbox_url)

    issue = alice.get(f"issue/{SEEDS.flagged}", fields=FLAGGED_FIELD).json()
    changelog = alice.get(f"issue/{SEEDS.flagged}/changelog").json()["values"]

    assert [o["value"] for o in issue["fields"][FLAGGED_FIELD]] == ["Impediment"]
    flags = [
        (h["created"], i) for h in changelog for i in h["items"] if i["fieldId"] == FLAGGED_FIELD
    ]
    assert len(flags) == 1
    assert flags[0][1]["toString"] == "Impediment"
    assert flags[0][0].startswith(SEEDS.flagged_at.strftime("%Y-%m-%dT%H:%M:%S"))
    others = set(DATA.scenario.committed + DATA.scenario.added) - {SEEDS.flagged}
    for key in others:
        assert (
            alice.get(f"issue/{key}", fields=FLAGGED_FIELD).json()["fields"][FLAGGED_FIELD] is None
        )


def test_statuses_with_their_categories(sandbox_url: str) -> None:
    alice = _alice(sandbox_url)

    response = alice.get("status")

    assert response.status_code == 200
    got = {s["id"]: (s["name"], s["statusCategory"]["key"]) for s in response.json()}
    want = {
        s.id: (s.name, s.category)
        for key in ("PAY", "MOB", "AB_C")
        for s in DATA.issues[f"{key}-1"].project.statuses
    }
    assert got == want
