"""Server-sent events out of the public API: the events relayed from ai-service, the error event
of a failure, the per-process stream cap and the body writer (``ai_service.streaming``'s, with this
service's metrics).

Failures inside the events (``ApiError``: Jira, ai-service; ``EngineError``: the LLM) become one
final ``error`` event: after the first bytes, the HTTP status is already 200.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ai_proxy.errors import TooManyStreams
from ai_proxy.metrics import AI_REQUESTS, STREAMS_IN_FLIGHT
from ai_service.engine import EngineError, StreamEvent, sse_frame
from ai_service.streaming import StreamSlot, StreamSlots
from ai_service.streaming import sse_body as _sse_body
from jira_ai.errors import ApiError, ErrorCode

logger = logging.getLogger(__name__)

ENDPOINT = "analyze-issue/stream"
# At most AI_MAX_STREAMS relayed streams per process.
STREAM_SLOTS = StreamSlots(
    limit=lambda: int(settings.AI_MAX_STREAMS), on_change=STREAMS_IN_FLIGHT.inc
)


def stream_slot_acquire() -> StreamSlot:
    slot = STREAM_SLOTS.acquire()
    if slot is None:
        AI_REQUESTS.labels(ENDPOINT, ErrorCode.TOO_MANY_STREAMS).inc()
        raise TooManyStreams()
    return slot


@dataclass(frozen=True)
class RelayedEvent:
    """An event relayed from ai-service: its ``data`` line is passed on as received (already
    one line of JSON), only the ``id`` is ours; parsed only when someone reads ``data``."""

    id: int
    event: str
    raw_data: str

    @property
    def data(self) -> dict[str, Any]:
        payload = json.loads(self.raw_data)
        return payload if isinstance(payload, dict) else {"value": payload}

    def frame(self) -> bytes:
        return f"id: {self.id}\nevent: {self.event}\ndata: {self.raw_data}\n\n".encode()


Event = StreamEvent | RelayedEvent


def encode(event: Event) -> bytes:
    if isinstance(event, RelayedEvent):
        return event.frame()
    return sse_frame(event.id, event.event, event.data)


def error_frame(event_id: int, exc: BaseException) -> tuple[str, bytes]:
    if isinstance(exc, ApiError):
        code, detail, retry_after = str(exc.code), exc.detail, exc.retry_after
    elif isinstance(exc, EngineError):
        code, detail, retry_after = exc.code, exc.detail, exc.retry_after
    else:
        logger.error("streamed analysis failed", exc_info=exc)
        code, detail, retry_after = ErrorCode.INTERNAL_ERROR.value, "Internal error.", None
    data: dict[str, object] = {"code": code, "detail": detail}
    if retry_after is not None:
        data["retry_after"] = retry_after
    return code, sse_frame(event_id, "error", data)


def sse_body(
    events: AsyncGenerator[Event, None],
    *,
    on_close: Callable[[], None],
    keepalive: float | None = None,
) -> AsyncIterator[bytes]:
    def closed(outcome: str) -> None:
        on_close()
        AI_REQUESTS.labels(ENDPOINT, outcome).inc()

    return _sse_body(
        events,
        encode=encode,
        on_error=error_frame,
        on_close=closed,
        keepalive=float(keepalive if keepalive is not None else settings.AI_KEEPALIVE_SECONDS),
    )
