"""``manage.py summarize_jql "project = PAY" --session SID [--json] [--stream]``: the summary,
acting with the tokens of a live session (the same service, cache and backend as ``POST
/ai/summarize-jql``); ``--stream`` prints the progress lines (Jira's pages, the chunks, the
waits for the model) on stderr as they come, then the summary, as ``/ai/summarize-jql/stream``."""

from __future__ import annotations

import json
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.context import UserContext
from ai_proxy.management.commands._common import (
    add_session_arguments,
    as_api_json,
    context_of,
    run,
)
from ai_proxy.services import jql_summary_get, jql_summary_progress
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
        parser.add_argument(
            "--stream", action="store_true", help="Print the progress lines, then the summary"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = context_of(options)
        if options["stream"]:
            summary = run(self._streamed(ctx, options))
        else:
            summary = self._summary(ctx, options)
        if options["json"]:
            self.stdout.write(as_api_json(summary))
            return
        self.stdout.write(render(summary))

    async def _streamed(self, ctx: UserContext, options: dict[str, Any]) -> Summary:
        result: Summary | None = None
        async for event in jql_summary_progress(
            ctx=ctx,
            jql=options["jql"],
            max_issues=options["max_issues"],
            language=options["language"],
            refresh=options["refresh"],
        ):
            data = json.loads(event.data)
            if event.name == "log":
                self.stderr.write(progress_line(data))
            elif event.name == "result":
                result = Summary.model_validate(data["content"])
            elif event.name == "error":
                retry = f" (retry after {data['retry_after']} s)" if "retry_after" in data else ""
                raise CommandError(f"{data.get('code')}: {data.get('detail')}{retry}")
        if result is None:
            raise CommandError("internal_error: the stream ended without a summary")
        return result

    def _summary(self, ctx: UserContext, options: dict[str, Any]) -> Summary:
        return run(
            jql_summary_get(
                ctx=ctx,
                jql=options["jql"],
                max_issues=options["max_issues"],
                language=options["language"],
                refresh=options["refresh"],
            )
        )


def progress_line(data: dict[str, Any]) -> str:
    """A ``log`` event as one line: ``[fetch 300/1649] Lecture de Jira : 300 tickets sur 1 649``."""
    counted = f" {data['done']}/{data['total']}" if "done" in data and "total" in data else ""
    return f"[{data.get('step', 'log')}{counted}] {data.get('message', '')}"


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
