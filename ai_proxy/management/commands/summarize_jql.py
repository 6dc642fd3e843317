"""``manage.py summarize_jql "project = PAY" --session SID [--json]``: the summary, acting with
the tokens of a live session (the same service, cache and backend as ``POST /ai/summarize-jql``)."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand

from ai_proxy.management.commands._common import (
    add_session_arguments,
    as_api_json,
    context_of,
    run,
)
from ai_proxy.services import jql_summary_get
from ai_service.contract.schemas import Item, Summary


def _max_issues(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 1000:
        raise ArgumentTypeError("must be between 1 and 1000")
    return number


class Command(BaseCommand):
    help = "Summarize the issues of a JQL query with the LLM, as a live session's user."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("jql")
        add_session_arguments(parser)
        parser.add_argument(
            "--max-issues",
            type=_max_issues,
            default=100,
            metavar="N",
            help="Issues read from Jira (1..1000, default 100)",
        )
        parser.add_argument("--refresh", action="store_true", help="Skip the cache")
        parser.add_argument("--json", action="store_true", help="The API's JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = context_of(options)
        summary = run(
            jql_summary_get(
                ctx=ctx,
                jql=options["jql"],
                max_issues=options["max_issues"],
                language=options["language"],
                refresh=options["refresh"],
            )
        )
        if options["json"]:
            self.stdout.write(as_api_json(summary))
            return
        self.stdout.write(render(summary))


def _items(title: str, items: list[Item]) -> list[str]:
    if not items:
        return []
    lines = [f"\n{title}:"]
    lines += [f"  - {f'[{i.issue_key}] ' if i.issue_key else ''}{i.text}" for i in items]
    return lines


def render(summary: Summary) -> str:
    coverage = summary.coverage
    lines = [
        summary.summary,
        *_items("Highlights", summary.highlights),
        *_items("Risks", summary.risks),
        *_items("Blockers", summary.blockers),
        *_items("Next steps", summary.next_steps),
        f"\n{coverage.analyzed} of {coverage.total} issues analyzed"
        f"{' (truncated)' if coverage.truncated else ''}; {summary.provider}/{summary.model}"
        f"{'; cached' if summary.cached else ''}",
    ]
    return "\n".join(lines)
