"""``manage.py analyze_issue PAY-42 --session SID [--stream]``: the analysis of one issue as JSON
(as ``POST /ai/analyze-issue`` answers it), or with ``--stream`` its text as the model writes it
(the events of ``POST /ai/analyze-issue/stream``), acting with the tokens of a live session."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.context import UserContext
from ai_proxy.management.commands._common import (
    add_session_arguments,
    as_api_json,
    context_of,
    run,
)
from ai_proxy.services import issue_analysis_events, issue_analysis_get
from ai_service.contract.schemas import Language
from core.errors import ApiError
from jira.services import issue_key_validate


class Command(BaseCommand):
    help = "Analyze one Jira issue and its comments with the LLM, as a live session's user."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("issue_key")
        add_session_arguments(parser)
        parser.add_argument("--stream", action="store_true", help="Print the text as it comes")
        parser.add_argument("--refresh", action="store_true", help="Skip the cache")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = issue_key_validate(options["issue_key"])
        except ApiError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        ctx = context_of(options)
        if options["stream"]:
            run(self._stream(ctx, key, options["language"]))
            return
        analysis = run(
            issue_analysis_get(
                ctx=ctx, issue_key=key, language=options["language"], refresh=options["refresh"]
            )
        )
        self.stdout.write(as_api_json(analysis))

    async def _stream(self, ctx: UserContext, key: str, language: Language | None) -> None:
        """Sections run concurrently: a line starts with ``[section]`` whenever the text comes
        from another section than the previous piece."""
        section = None
        events = issue_analysis_events(ctx=ctx, issue_key=key, language=language)
        try:
            async for event in events:
                data = json.loads(event.data)
                if event.name == "log":
                    self._write(f"{'' if section is None else chr(10)}# {data['message']}\n")
                    section = None
                elif event.name == "delta":
                    if data["section"] != section:
                        section = data["section"]
                        self._write(f"\n[{section}] ")
                    self._write(str(data["text"]))
                elif event.name == "done":
                    self._write(f"\n# done in {data['duration_ms']} ms\n")
                elif event.name == "error":
                    self._write("\n")
                    raise CommandError(f"{data['code']}: {data['detail']}")
        finally:
            await events.aclose()

    def _write(self, text: str) -> None:
        self.stdout.write(text, ending="")
        self.stdout.flush()
