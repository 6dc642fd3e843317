"""Observability of the public API: the shared implementation lives in ai_service.observability."""

from ai_service.observability import (
    ContextFilter,
    JsonFormatter,
    bind_request_id,
    configure_tracing,
    current_trace_id,
    request_id_var,
)

__all__ = [
    "ContextFilter",
    "JsonFormatter",
    "bind_request_id",
    "configure_tracing",
    "current_trace_id",
    "request_id_var",
]
