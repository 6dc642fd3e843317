"""Prometheus metrics of the /ai/* endpoints of the public API."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BACKEND_CALLS = Counter(
    "jira_ai_ai_backend_calls_total",
    "AI calls by endpoint and the backend the account was routed to (the canary split).",
    ["endpoint", "backend"],
)
AI_REQUESTS = Counter(
    "jira_ai_ai_requests_total",
    "/ai/* requests by endpoint and outcome (ok, cached, or an error code).",
    ["endpoint", "outcome"],
)
STREAMS_IN_FLIGHT = Gauge("jira_ai_ai_streams_in_flight", "Streamed analyses being relayed.")
SERVICE_FALLBACK = Counter(
    "jira_ai_ai_service_fallback_total",
    "Calls that could not reach ai-service and ran on the local engine instead "
    "(AI_SERVICE_FALLBACK=local).",
    ["endpoint"],
)
