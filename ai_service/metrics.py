"""Prometheus metrics of ai-service's /ai/* endpoints (beside django-prometheus' generic ones and
the engine's LLM call and token counters)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "ai_service_requests_total",
    "/ai/* requests by endpoint and outcome code.",
    ["endpoint", "code"],
)
LATENCY = Histogram(
    "ai_service_request_seconds",
    "Time to the full answer (streams: to the last event) by endpoint.",
    ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
STREAMS_IN_FLIGHT = Gauge("ai_service_streams_in_flight", "Streamed analyses being written.")
