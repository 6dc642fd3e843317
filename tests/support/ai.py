"""Inputs of ai-service and its engine: synthetic normalized issues, signed service tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ai_service.contract.schemas import NormalizedIssue
from ai_service.contract.tokens import service_token_issue
from tests.support.ids import AI_SHARED_SECRET


def make_issue(n: int, *, project: str = "PAY", **fields: Any) -> NormalizedIssue:
    statuses = ("To Do", "In Progress", "Done")
    values: dict[str, Any] = {
        "key": f"{project}-{n}",
        "url": f"https://example.atlassian.net/browse/{project}-{n}",
        "summary": f"Synthetic issue number {n}",
        "status": statuses[n % 3],
        "status_category": ("new", "indeterminate", "done")[n % 3],
        "priority": ("High", "Medium", None)[n % 3],
        "issue_type": ("Story", "Bug")[n % 2],
        "assignee": ("Alice Martin", "Bob Leroy", None, "Chloé Dubois")[n % 4],
        "reporter": "Alice Martin",
        "labels": ["backend"] if n % 2 else [],
        "created": "2026-01-05T10:00:00+00:00",
        "updated": "2026-02-01T10:00:00+00:00",
        "description": f"Description of issue {n}.",
    }
    values.update(fields)
    return NormalizedIssue.model_validate(values)


def issues_payload(issues: Iterable[NormalizedIssue]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in issues]


def bearer(secret: str = AI_SHARED_SECRET, account_id: str = "acc-1") -> dict[str, str]:
    """The ``Authorization`` header of a call to ai-service, signed with ``secret``."""
    token = service_token_issue(account_id=account_id, secrets=[secret])
    return {"Authorization": f"Bearer {token}"}


# The fields of the summary and analysis JSON (DESIGN.md's shapes, plus ours), exactly.
SUMMARY_KEYS = frozenset(
    {
        "summary",
        "highlights",
        "risks",
        "blockers",
        "next_steps",
        "stats",
        "coverage",
        "citations_removed",
        "quality",
        "language",
        "provider",
        "model",
        "prompt_version",
        "cached",
        "generated_at",
    }
)
ANALYSIS_KEYS = frozenset(
    {
        "issue_key",
        "summary",
        "status_assessment",
        "risks",
        "blockers",
        "acceptance_criteria",
        "next_actions",
        "open_questions",
        "coverage",
        "citations_removed",
        "quality",
        "language",
        "provider",
        "model",
        "prompt_version",
        "cached",
        "generated_at",
    }
)
