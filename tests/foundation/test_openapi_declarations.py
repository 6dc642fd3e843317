"""The OpenAPI documents of both services declare what their operations really answer, so that
``make fuzz`` (schemathesis' status, content-type and schema conformance) can hold them to it:
every error status with the JSON error body, and every stream as ``text/event-stream`` with the
schema of its events. Generic over the operations: one added later is held to the same rules.

The documents are built in-process (no server, no fuzzing): this is the guard that fails when a
declaration is removed; ``make fuzz`` is what finds a status the code answers undeclared.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from ai_service.contract.events import DeltaData, ErrorData, LogData
from ai_service.contract.openapi import PAYLOADS, SSE_MEDIA_TYPE

Operation = tuple[str, str, dict[str, Any]]


def _document(api: Any) -> dict[str, Any]:
    # The JSON the service serves (int status keys become strings, as on the wire); both APIs
    # are mounted at their root, and ai-service's URLs are not this process's to reverse.
    return dict(json.loads(json.dumps(api.get_openapi_schema(path_prefix=""))))


@pytest.fixture(scope="module")
def api_document() -> dict[str, Any]:
    import jira_ai.urls  # noqa: F401  (mounts the routers on the one NinjaAPI)
    from jira_ai.api import api

    return _document(api)


@pytest.fixture(scope="module")
def ai_service_document() -> dict[str, Any]:
    from ai_service.api import api

    return _document(api)


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def statuses(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"]}


def is_probe(path: str) -> bool:
    return path in {"/healthz", "/readyz"}


def is_stream(path: str, operation: dict[str, Any]) -> bool:
    return path.endswith("/stream") or SSE_MEDIA_TYPE in operation["responses"]["200"].get(
        "content", {}
    )


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def _assert_error_bodies(document: dict[str, Any], method: str, path: str, op: dict[str, Any]):
    for status, response in op["responses"].items():
        if int(status) < 400 or is_probe(path):
            continue
        schema = resolve(document, response["content"]["application/json"]["schema"])
        assert set(schema["required"]) == {"detail", "code"}, (method, path, status)


def test_every_operation_of_the_api_declares_its_errors(api_document: dict[str, Any]) -> None:
    """Signed in or not (401), a foreign site or CSRF (403), the session store down (503) on
    every operation behind the session; Jira's failures on every /jira/* and /ai/* one; the
    quota and the body limit on every /ai/* one; bad input wherever there is any."""
    checked = 0
    for method, path, op in operations(api_document):
        if is_probe(path):
            continue
        declared = statuses(op)
        expected = {200, 401, 403, 503}
        if op.get("parameters") or "requestBody" in op:
            expected |= {422}
        if path.startswith(("/jira/", "/ai/")):
            expected |= {502, 503, 504}
        if path.startswith("/ai/"):
            expected |= {404, 413, 429}
        assert expected <= declared, (method, path, sorted(expected - declared))
        _assert_error_bodies(api_document, method, path, op)
        checked += 1
    assert checked >= 20  # the document lists the routers (guards against an empty one)


def test_every_operation_of_ai_service_declares_its_errors(
    ai_service_document: dict[str, Any],
) -> None:
    """A bad or missing token (401), too large a body (413), bad input (422), the LLM failing
    (502/503/504) on every operation behind the service token."""
    checked = 0
    for method, path, op in operations(ai_service_document):
        if is_probe(path):
            continue
        missing = {200, 401, 413, 422, 502, 503, 504} - statuses(op)
        assert not missing, (method, path, sorted(missing))
        _assert_error_bodies(ai_service_document, method, path, op)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("which", ["api_document", "ai_service_document"])
def test_every_stream_declares_its_events(which: str, request: pytest.FixtureRequest) -> None:
    """Each stream's 200 is only ``text/event-stream``, whose schema is one event: one branch
    per event name of the contract, its ``data`` JSON with that payload's schema."""
    document: dict[str, Any] = request.getfixturevalue(which)
    streams = [(m, p, op) for m, p, op in operations(document) if is_stream(p, op)]
    assert len(streams) >= 5
    names = {payload.name for payload in PAYLOADS}
    for method, path, op in streams:
        content = op["responses"]["200"]["content"]
        assert list(content) == [SSE_MEDIA_TYPE], (method, path)
        branches = content[SSE_MEDIA_TYPE]["schema"]["oneOf"]
        assert {b["properties"]["event"]["const"] for b in branches} == names, (method, path)
        for branch in branches:
            data = branch["properties"]["data"]
            assert data["contentMediaType"] == "application/json", (method, path)
            assert data["contentSchema"]["properties"], (method, path)


def _event_errors(schema: dict[str, Any], event: dict[str, str]) -> list[str]:
    """What is wrong with one parsed event (schemathesis' reading: the event, then its data
    parsed as JSON against the matching branch's ``contentSchema``)."""
    try:
        jsonschema.validate(event, schema)
    except jsonschema.ValidationError as exc:
        return [exc.message]
    [branch] = [b for b in schema["oneOf"] if b["properties"]["event"]["const"] == event["event"]]
    content = branch["properties"]["data"]["contentSchema"]
    validator = jsonschema.Draft202012Validator(content)
    return [error.message for error in validator.iter_errors(json.loads(event["data"]))]


def test_the_event_schema_accepts_our_events_and_refuses_others(
    api_document: dict[str, Any],
) -> None:
    op = api_document["paths"]["/ai/analyze-issue/stream"]["post"]
    schema = op["responses"]["200"]["content"][SSE_MEDIA_TYPE]["schema"]
    ours = [
        LogData(step="fetch", message="Reading", done=1, total=2).event(),
        DeltaData(section="summary", text="The issue").event(),
        ErrorData(code="jira_unavailable", detail="Jira is unavailable.", retry_after=3).event(),
    ]
    for n, event in enumerate(ours, start=1):
        assert _event_errors(schema, {"event": event.name, "id": str(n), "data": event.data}) == []

    assert _event_errors(schema, {"event": "progress", "id": "1", "data": "{}"})
    assert _event_errors(schema, {"event": "delta", "id": "1", "data": '{"section": "s"}'})
    assert _event_errors(
        schema, {"event": "log", "id": "1", "data": '{"step": "x", "message": ""}'}
    )
