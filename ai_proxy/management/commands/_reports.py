"""What the report commands share: the ``--audience``, ``--refresh`` and ``--json`` options, and
the report as text (Markdown, as the UI's *Copier en Markdown* writes it)."""

from __future__ import annotations

from argparse import ArgumentParser

from ai_service.contract.reports import EpicReport, SprintReport
from ai_service.contract.schemas import Item


def add_report_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--audience",
        choices=["team", "stakeholders"],
        default="team",
        help="team (the details, default) or stakeholders (outcomes)",
    )
    parser.add_argument("--refresh", action="store_true", help="Re-read Jira, skip the cache")
    parser.add_argument("--json", action="store_true", help="The API's JSON")


def _points(value: float) -> str:
    return f"{value:g}"


def _items(title: str, items: list[Item]) -> list[str]:
    if not items:
        return []
    return [
        f"\n## {title}\n",
        *[f"- {f'[{i.issue_key}] ' if i.issue_key else ''}{i.text}" for i in items],
    ]


def _text(report: SprintReport | EpicReport) -> list[str]:
    return [
        f"\n{report.summary}",
        *_items("Went well", report.went_well),
        *_items("Slipped", report.slipped),
        *_items("Risks", report.risks),
        *_items("Next steps", report.next_steps),
        f"\n{report.coverage.analyzed} of {report.coverage.total} issues analyzed; "
        f"{report.provider}/{report.model}{'; cached' if report.cached else ''}",
    ]


def sprint_render(report: SprintReport) -> str:
    facts = report.facts
    rows = [
        ("Committed", facts.committed),
        ("Added", facts.added),
        ("Removed", facts.removed),
        ("Completed", facts.completed),
        ("Not completed", facts.not_completed),
        ("Carried over", facts.carried_over),
    ]
    lines = [
        f"# {report.sprint.name} ({report.board.name})",
        *([f"\nGoal: {report.sprint.goal}"] if report.sprint.goal else []),
        "\n| | Issues | Points |",
        "|---|---:|---:|",
        *[f"| {name} | {s.issues} | {_points(s.points)} |" for name, s in rows],
        f"\nScope change: {facts.scope_change_percent:g} %",
        *(
            [
                "\nVelocity (committed / completed points): "
                + ", ".join(
                    f"{v.name} {_points(v.committed_points)}/{_points(v.completed_points)}"
                    for v in facts.velocity
                )
            ]
            if facts.velocity
            else []
        ),
        *_text(report),
    ]
    return "\n".join(lines)


def epic_render(report: EpicReport) -> str:
    facts = report.facts
    done = facts.done_percent_points
    lines = [
        f"# {report.epic.key} {report.epic.summary}",
        f"\nChildren: {facts.children_total}; done: {facts.done.issues}"
        f"{f' ({done:g} % of the estimated points)' if done is not None else ''}",
        "\n| Status | Issues | Points |",
        "|---|---:|---:|",
        *[f"| {g.status} | {g.issues} | {_points(g.points)} |" for g in facts.children],
        f"\nDue: {facts.due.isoformat() if facts.due else '-'} ({facts.due_status})",
        *_text(report),
    ]
    return "\n".join(lines)
