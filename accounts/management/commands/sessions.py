"""``manage.py sessions list [--json]`` and ``sessions revoke SID | --account ID | --all``."""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from accounts.selectors import sessions_list
from accounts.services import account_sessions_revoke, session_revoke, sessions_revoke_all


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat(timespec="seconds")


class Command(BaseCommand):
    help = "List or revoke the live sessions stored in Redis."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="List live signed-in sessions")
        listing.add_argument("--json", action="store_true", help="One JSON document")
        revoke = sub.add_parser("revoke", help="Revoke sessions")
        target = revoke.add_mutually_exclusive_group(required=True)
        target.add_argument("sid", nargs="?", help="A session id, as listed")
        target.add_argument("--account", help="Every session of this Atlassian account id")
        target.add_argument("--all", action="store_true", help="Every session")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "list":
                self._list(as_json=options["json"])
            else:
                self._revoke(options)
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable: {type(exc).__name__}") from exc

    def _list(self, *, as_json: bool) -> None:
        infos = sessions_list()
        if as_json:
            rows = [
                {**asdict(info), "created": _iso(info.created), "last_seen": _iso(info.last_seen)}
                for info in infos
            ]
            self.stdout.write(json.dumps({"sessions": rows}, ensure_ascii=False, indent=2))
            return
        if not infos:
            self.stdout.write("No live session.")
            return
        for info in infos:
            self.stdout.write(
                f"{info.sid}  {info.account_id}  {info.display_name}  "
                f"sites={','.join(info.sites)}  created={_iso(info.created)}  "
                f"last_seen={_iso(info.last_seen)}  expires_in={info.expires_in}s"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        if options["all"]:
            count = sessions_revoke_all()
        elif options["account"]:
            count = account_sessions_revoke(account_id=options["account"])
        else:
            if not session_revoke(sid=options["sid"]):
                raise CommandError(f"No live session {options['sid']}.")
            count = 1
        self.stdout.write(f"Revoked {count} session(s).")
