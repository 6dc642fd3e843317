"""Small hand-made report requests whose facts hold together (what the public API would send).

The sprint: PAY-1..PAY-5 committed (3 + 5 + 2 + 8 + 3 = 21 points), PAY-6 added (2), PAY-5
removed (3); PAY-1, PAY-2 and PAY-6 completed (10), PAY-3 and PAY-4 not completed (10), PAY-4
carried over; so committed + added - removed = completed + not completed (5 issues, 20 points).
PAY-3 is blocked by PAY-40, an issue outside the sprint. The epic PAY-100 has five children:
two Done, one stale, one unestimated.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ai_service.contract.reports import (
    Blocker,
    BoardInfo,
    EpicFacts,
    EpicReportRequest,
    EstimateChange,
    GroupCompletion,
    IssueSet,
    SprintFacts,
    SprintInfo,
    SprintReportRequest,
    StatusGroup,
    VelocityEntry,
)
from ai_service.contract.schemas import IssueRef, NormalizedIssue
from tests.support.ai import make_issue

DONE = {"status": "Done", "status_category": "done"}
TODO = {"status": "To Do", "status_category": "new"}
DOING = {"status": "In Progress", "status_category": "indeterminate"}

SPRINT_ISSUES: dict[int, dict[str, Any]] = {
    1: {**DONE, "story_points": 3, "summary": "Paiement par carte en un clic"},
    2: {**DONE, "story_points": 5, "summary": "Relevé mensuel au format PDF"},
    # Estimated 2 when the sprint started, 3 now (``estimate_changes``).
    3: {**TODO, "story_points": 3, "summary": "Remboursement partiel des commandes"},
    4: {**DOING, "story_points": 8, "summary": "Nouveau tableau de bord des ventes"},
    5: {**TODO, "story_points": 3, "summary": "Export comptable trimestriel"},
    6: {**DONE, "story_points": 2, "summary": "Correction du total arrondi"},
}


def _set(keys: list[str], points: float) -> IssueSet:
    return IssueSet(issues=len(keys), points=points, keys=keys)


def sprint_issues(**overrides: dict[str, Any]) -> list[NormalizedIssue]:
    """The sprint's issues; ``overrides``: fields by key (``PAY_3={...}``)."""
    out = []
    for n, fields in SPRINT_ISSUES.items():
        extra = overrides.get(f"PAY_{n}", {})
        out.append(make_issue(n, **{**fields, **extra}))
    return out


def sprint_facts() -> SprintFacts:
    return SprintFacts(
        committed=_set(["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"], 21),
        added=_set(["PAY-6"], 2),
        removed=_set(["PAY-5"], 3),
        completed=_set(["PAY-1", "PAY-2", "PAY-6"], 10),
        not_completed=_set(["PAY-3", "PAY-4"], 10),
        carried_over=_set(["PAY-4"], 8),
        estimate_changes=[EstimateChange(key="PAY-3", before=2, after=3)],
        scope_change_percent=23.8,
        velocity=[
            VelocityEntry(
                sprint_id=19, name="PAY Sprint 19", committed_points=18, completed_points=15
            ),
            VelocityEntry(
                sprint_id=20, name="PAY Sprint 20", committed_points=21, completed_points=10
            ),
        ],
        by_assignee=[
            GroupCompletion(
                name="(none)", issues=2, completed_issues=2, points=7, completed_points=7
            ),
            GroupCompletion(
                name="Alice Martin", issues=1, completed_issues=0, points=8, completed_points=0
            ),
            GroupCompletion(
                name="Bob Leroy", issues=1, completed_issues=1, points=3, completed_points=3
            ),
            GroupCompletion(
                name="Chloé Dubois", issues=1, completed_issues=0, points=2, completed_points=0
            ),
        ],
        by_type=[
            GroupCompletion(name="Bug", issues=2, completed_issues=1, points=5, completed_points=3),
            GroupCompletion(
                name="Story", issues=3, completed_issues=2, points=15, completed_points=7
            ),
        ],
        blockers=[Blocker(key="PAY-3", reasons=["blocked_by", "flagged"], blocked_by=["PAY-40"])],
    )


def sprint_request(
    *, language: str = "fr", audience: str = "team", issues: list[NormalizedIssue] | None = None
) -> SprintReportRequest:
    return SprintReportRequest(
        board=BoardInfo(id=1, name="PAY board", type="scrum", project_key="PAY"),
        sprint=SprintInfo(
            id=20,
            name="PAY Sprint 20",
            state="closed",
            start_date=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
            end_date=dt.datetime(2026, 1, 19, 17, tzinfo=dt.UTC),
            complete_date=dt.datetime(2026, 1, 19, 18, tzinfo=dt.UTC),
            goal="Livrer le paiement en un clic",
        ),
        facts=sprint_facts(),
        issues=issues if issues is not None else sprint_issues(),
        language=language,  # type: ignore[arg-type]
        audience=audience,  # type: ignore[arg-type]
    )


def epic_request(*, language: str = "fr", audience: str = "team") -> EpicReportRequest:
    epic = make_issue(100, summary="Paiement en un clic", issue_type="Epic", **DOING)
    parent = IssueRef(key="PAY-100", summary=epic.summary)
    updated = dt.datetime(2026, 2, 1, 10, tzinfo=dt.UTC)
    stale = dt.datetime(2025, 12, 1, 10, tzinfo=dt.UTC)
    children = [
        make_issue(101, summary="Formulaire de carte", story_points=5, parent=parent, **DONE),
        make_issue(102, summary="Jeton de paiement", story_points=3, parent=parent, **DONE),
        make_issue(103, summary="Page de confirmation", story_points=3, parent=parent, **DOING),
        make_issue(
            104,
            summary="Relance des paiements échoués",
            story_points=5,
            parent=parent,
            updated=stale,
            **TODO,
        ),
        make_issue(105, summary="Traduction des écrans", parent=parent, updated=updated, **TODO),
    ]
    facts = EpicFacts(
        epic_key="PAY-100",
        children_total=5,
        children=[
            StatusGroup(
                status="Done",
                status_category="done",
                issues=2,
                points=8,
                keys=["PAY-101", "PAY-102"],
            ),
            StatusGroup(
                status="In Progress",
                status_category="indeterminate",
                issues=1,
                points=3,
                keys=["PAY-103"],
            ),
            StatusGroup(
                status="To Do",
                status_category="new",
                issues=2,
                points=5,
                keys=["PAY-104", "PAY-105"],
            ),
        ],
        done=_set(["PAY-101", "PAY-102"], 8),
        estimated_points=16,
        done_percent_points=50.0,
        done_percent_issues=40.0,
        unestimated=["PAY-105"],
        stale=["PAY-104"],
        stale_days=30,
        projects=["PAY"],
        due=dt.date(2026, 3, 1),
        due_status="at_risk",
        expected_percent=70.5,
    )
    return EpicReportRequest(
        epic=epic,
        facts=facts,
        children=children,
        language=language,  # type: ignore[arg-type]
        audience=audience,  # type: ignore[arg-type]
    )
