"""Engine requests built from the sandbox's seeded dataset, as the public API would send them
(ADF converted to text): the prompts the engine really builds for PAY-7 or a 1,000-issue query,
without a Jira round trip."""

from __future__ import annotations

from functools import cache

from ai_service.contract.schemas import (
    LONG_TEXT_MAX,
    AnalyzeRequest,
    Comment,
    IssueRef,
    NormalizedIssue,
    SummarizeRequest,
)
from sandbox.atlassian.data import Dataset, IssueCore, adf_to_text


@cache
def dataset() -> Dataset:
    return Dataset()


def normalized(issue: IssueCore) -> NormalizedIssue:
    data = dataset()
    parent = data.issues.get(issue.parent) if issue.parent else None
    return NormalizedIssue(
        key=issue.key,
        summary=issue.summary,
        status=issue.status.name,
        status_category=issue.status.category,
        priority=issue.priority[1],
        issue_type=issue.issuetype,
        assignee=issue.assignee.display_name if issue.assignee else None,
        reporter=issue.reporter.display_name,
        labels=list(issue.labels),
        created=issue.created,
        updated=issue.updated,
        due=issue.duedate,
        story_points=issue.story_points,
        sprint=issue.sprint.name if issue.sprint else None,
        parent=IssueRef(key=parent.key, summary=parent.summary) if parent else None,
        fix_versions=[v.name for v in issue.fix_versions],
        description=adf_to_text(data.description(issue))[:LONG_TEXT_MAX],
    )


def analyze_request(key: str, *, language: str = "fr") -> AnalyzeRequest:
    data = dataset()
    issue = data.issues[key]
    comments = sorted(data.comments(issue), key=lambda c: c["created"], reverse=True)
    return AnalyzeRequest(
        issue=normalized(issue),
        comments=[
            Comment(
                id=str(c["id"]),
                author=c["author"].display_name,
                created=c["created"],
                body=adf_to_text(c["body"])[:LONG_TEXT_MAX],
            )
            for c in comments
        ],
        comments_total=len(comments),
        language=language,  # type: ignore[arg-type]
    )


def summarize_request(
    count: int, *, projects: tuple[str, ...] = ("PAY", "OPS", "DATA")
) -> SummarizeRequest:
    data = dataset()
    issues = [i for p in projects for i in data.by_project[p]][:count]
    return SummarizeRequest(
        jql="project in (" + ", ".join(projects) + ") ORDER BY created DESC",
        issues=[normalized(i) for i in issues],
        total=len(issues),
        language="fr",
    )
