"""``manage.py epic_report PAY-10 --session SID [--json] [--language] [--audience]``: the report of
an epic and its children, acting with the tokens of a live session (the same service, cache and
backend as ``POST /ai/epic-report``)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ai_proxy.management.commands._common import (
    add_session_arguments,
    as_api_json,
    context_of,
    run,
)
from ai_proxy.management.commands._reports import add_report_arguments, epic_render
from ai_proxy.reports import epic_report_get
from core.errors import ApiError
from jira.services import issue_key_validate


class Command(BaseCommand):
    help = "Report on an epic and its children with the LLM, as a live session's user."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("epic_key", metavar="EPIC")
        add_session_arguments(parser)
        add_report_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = issue_key_validate(options["epic_key"])
        except ApiError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        ctx = context_of(options)
        report = run(
            epic_report_get(
                ctx=ctx,
                epic_key=key,
                language=options["language"],
                audience=options["audience"],
                refresh=options["refresh"],
            )
        )
        self.stdout.write(as_api_json(report) if options["json"] else epic_render(report))
