"""What the OpenAPI documents of both services say about streams and errors, written once.

Streams (``text/event-stream``): ninja's documents are OpenAPI 3.1, which has no ``itemSchema``
(3.2's per-event schema; a 3.1 Media Type Object allows no other field). In 3.1 the media
type's ``schema`` describes each event, as the OpenAPI registry's SSE entry models it (an object
of ``event``, ``data``, ``id``, ``retry``) and as schemathesis reads it (it validates every
parsed event against ``schema`` when there is no ``itemSchema``). :data:`EVENT_SCHEMA` is one
branch per event name of :mod:`ai_service.contract.events`, whose ``data`` is a JSON string
(``contentMediaType``) whose ``contentSchema`` is that payload's model: an event name or a
payload field that changes changes the document.

Errors: :func:`error_responses` declares statuses with the one JSON error body (``ErrorOut``);
each router lists the statuses its operations really answer.
"""

from __future__ import annotations

from typing import Any

from ai_service.contract.events import DeltaData, DoneData, ErrorData, LogData, Payload, ResultData
from ai_service.contract.schemas import ErrorOut

SSE_MEDIA_TYPE = "text/event-stream"
PAYLOADS: tuple[type[Payload], ...] = (LogData, DeltaData, ResultData, DoneData, ErrorData)


def _event_branch(payload: type[Payload], id_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": f"{payload.name} event",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": payload.name},
            "id": id_schema,
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": payload.model_json_schema(),
            },
        },
        "additionalProperties": False,
    }


def event_schema(id_pattern: str = "^[0-9]+$") -> dict[str, Any]:
    """The schema of one event of our streams (ids ``1, 2, ...`` unless ``id_pattern`` says
    otherwise, e.g. the resumable summary's ``<run>:<n>``)."""
    id_schema = {"type": "string", "pattern": id_pattern}
    return {"oneOf": [_event_branch(payload, id_schema) for payload in PAYLOADS]}


def sse_doc(description: str, *, id_pattern: str = "^[0-9]+$") -> dict[str, Any]:
    """``openapi_extra`` of a stream operation declared ``response={200: None, ...}``: its 200
    is ``text/event-stream`` with :func:`event_schema` (an int key, so ninja merges it into its
    own 200 rather than adding a second one)."""
    return {
        "responses": {
            200: {
                "description": description,
                "content": {SSE_MEDIA_TYPE: {"schema": event_schema(id_pattern)}},
            }
        }
    }


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """``{status: ErrorOut}`` for a ninja ``response=`` mapping."""
    return dict.fromkeys(statuses, ErrorOut)
