"""What the AI commands share: the session argument, and errors as ``CommandError``."""

from __future__ import annotations

import asyncio
import json
from argparse import ArgumentParser
from collections.abc import Coroutine
from typing import Any, TypeVar

from django.core.management.base import CommandError
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel
from redis.exceptions import RedisError

from accounts.context import UserContext
from accounts.selectors import SessionNotUsable, session_context_get
from core.errors import ApiError

T = TypeVar("T")


def add_session_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--session",
        required=True,
        metavar="SID",
        help="A live session id (manage.py sessions list)",
    )
    parser.add_argument("--cloud-id", help="One of the session's sites (default: its current one)")
    parser.add_argument("--language", choices=["fr", "en"], help="Default: LANGUAGE_CODE")


def context_of(options: dict[str, Any]) -> UserContext:
    try:
        return session_context_get(sid=options["session"], cloud_id=options.get("cloud_id"))
    except SessionNotUsable as exc:
        raise CommandError(str(exc)) from exc
    except RedisError as exc:
        raise CommandError(f"Redis is unavailable: {type(exc).__name__}") from exc


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the service; its typed errors become ``CommandError`` with their code."""
    try:
        return asyncio.run(coroutine)
    except ApiError as exc:
        raise CommandError(f"{exc.code}: {exc.detail}") from exc
    except RedisError as exc:
        raise CommandError(f"Redis is unavailable: {type(exc).__name__}") from exc


def as_api_json(document: BaseModel) -> str:
    """The document exactly as the API answers it (ninja's encoder: datetimes in milliseconds)."""
    return json.dumps(document.model_dump(), cls=NinjaJSONEncoder, ensure_ascii=False)
