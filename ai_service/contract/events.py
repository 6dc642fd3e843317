"""The typed payloads of the stream events (``event:`` name, ``data:`` one JSON object), and the
one builder of the ``error`` event.

``log`` {step, message, done?, total?} progress; ``delta`` {section, text} text as the model
writes it; ``result`` {section, content} a finished section; ``done`` {coverage, duration_ms,
quality} the last event of a success; ``error`` {code, detail, retry_after?} the last event of
a failure. Producers build a payload and call ``.event()``; the writer (``core.sse``) numbers
the events.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from core.errors import ApiError, ErrorCode
from core.sse import Event

logger = logging.getLogger(__name__)

LogStep = Literal["count", "fetch", "queue", "load", "think", "map", "combine", "section"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]

    def event(self) -> Event:
        return Event(self.name, self.model_dump_json(exclude_none=True))


class LogData(Payload):
    name: ClassVar[str] = "log"
    step: LogStep
    message: str
    done: int | None = None
    total: int | None = None


class DeltaData(Payload):
    name: ClassVar[str] = "delta"
    section: str
    text: str


class ResultData(Payload):
    name: ClassVar[str] = "result"
    section: str
    content: Any


class DoneData(Payload):
    name: ClassVar[str] = "done"
    coverage: dict[str, int]
    duration_ms: int
    quality: dict[str, int | bool] | None = None  # ``schemas.Quality`` of the whole answer


class ErrorData(Payload):
    name: ClassVar[str] = "error"
    code: str
    detail: str
    retry_after: int | None = None


def error_event(exc: BaseException) -> Event:
    """The final ``error`` event of a failure: our typed errors as they are (``retry_after``
    included when the cause has one); anything else logged, and a generic ``internal_error``."""
    if isinstance(exc, ApiError):
        return ErrorData(code=str(exc.code), detail=exc.detail, retry_after=exc.retry_after).event()
    logger.error("stream failed", exc_info=exc)
    return ErrorData(code=ErrorCode.INTERNAL_ERROR, detail="Internal error.").event()
