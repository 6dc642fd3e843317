"""Logs with a request id and the trace id; OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Shared by both services (core is the one package both may import).
OpenTelemetry's Django instrumentation skips ASGI requests unless the ASGI instrumentation is
installed (``opentelemetry-instrumentation-django[asgi]``, pinned): without it Daphne requests
would produce no span.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@contextmanager
def bind_request_id(incoming: str) -> Iterator[str]:
    """Use the caller's ``X-Request-ID`` when well-formed, else a new one, for this context."""
    request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


_configured_tracing = False


def current_trace_id() -> str:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - pinned dependency
        return "-"
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else "-"


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``trace_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.trace_id = current_trace_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (production)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "trace_id": getattr(record, "trace_id", "-"),
        }
        if record.exc_info:
            payload["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_tracing(*, service_name: str, endpoint: str, exporter: Any = None) -> bool:
    """Install the tracer provider and instrument Django (ASGI) and httpx, once per process.

    ``exporter`` replaces the OTLP exporter (tests pass an in-memory one). Returns whether tracing
    is on. Nothing happens without an endpoint or an exporter: an integration switches on only
    when configured.
    """
    global _configured_tracing
    if _configured_tracing:
        return True
    if not endpoint and exporter is None:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = endpoint.rstrip("/")
        traces_url = base if base.endswith("/v1/traces") else base + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url)))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(is_sql_commentor_enabled=False)
    HTTPXClientInstrumentor().instrument()
    _configured_tracing = True
    return True


def logging_config(*, json_logs: bool, levels: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``LOGGING`` of both services: one console handler, request and trace ids on every
    line, JSON in production; ``levels`` sets loggers' levels (noisy libraries to WARNING)."""
    loggers = {"httpx": "WARNING", "daphne": "WARNING", **(levels or {})}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "core.observability.ContextFilter"}},
        "formatters": {
            "text": {
                "format": "%(asctime)s %(levelname)s %(name)s [rid=%(request_id)s "
                "trace=%(trace_id)s] %(message)s"
            },
            "json": {"()": "core.observability.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["context"],
                "formatter": "json" if json_logs else "text",
            }
        },
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {name: {"level": level} for name, level in loggers.items()},
    }
