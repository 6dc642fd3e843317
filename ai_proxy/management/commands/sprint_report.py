"""``manage.py sprint_report BOARD SPRINT --session SID [--json] [--language] [--audience]``: the
report of a sprint, acting with the tokens of a live session (the same service, cache and backend
as ``POST /ai/sprint-report``): the facts as a table, then the narrative, or the API's JSON."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from ai_proxy.management.commands._common import (
    add_session_arguments,
    as_api_json,
    context_of,
    run,
)
from ai_proxy.management.commands._reports import add_report_arguments, sprint_render
from ai_proxy.reports import sprint_report_get


class Command(BaseCommand):
    help = "Report on a sprint of a scrum board with the LLM, as a live session's user."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("board_id", type=int, metavar="BOARD")
        parser.add_argument("sprint_id", type=int, metavar="SPRINT")
        add_session_arguments(parser)
        add_report_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = context_of(options)
        report = run(
            sprint_report_get(
                ctx=ctx,
                board_id=options["board_id"],
                sprint_id=options["sprint_id"],
                language=options["language"],
                audience=options["audience"],
                refresh=options["refresh"],
            )
        )
        self.stdout.write(as_api_json(report) if options["json"] else sprint_render(report))
