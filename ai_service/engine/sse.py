"""Server-sent events on the wire (WHATWG): ``id:``, ``event:``, one ``data:`` line of JSON, a
blank line; comment lines (``: keepalive``) keep proxies from closing an idle stream. Used by both
services, so the relay and the origin write the same bytes."""

from __future__ import annotations

import json
from typing import Any

from ai_service.engine.stream import StreamEvent

OPEN = b": ok\n\n"
KEEPALIVE = b": keepalive\n\n"
# json.dumps builds a new encoder on every call made with options; one is enough.
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def sse_encode(event: StreamEvent) -> bytes:
    return sse_frame(event.id, event.event, event.data)


def sse_frame(event_id: int, name: str, data: dict[str, Any]) -> bytes:
    # json.dumps escapes newlines inside strings, so data stays on one line.
    payload = _json(data)
    return f"id: {event_id}\nevent: {name}\ndata: {payload}\n\n".encode()


def sse_comment(text: str) -> bytes:
    return f": {text.replace(chr(10), ' ').replace(chr(13), ' ')}\n\n".encode()
