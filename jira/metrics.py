"""Prometheus metrics of the Jira client, on the default registry that django-prometheus exports
at ``/metrics``. Labels are bounded: operations are a fixed set, statuses are HTTP codes or a
failure kind, and sites are the few cloud ids the app serves."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "jira_ai_jira_requests_total",
    "Requests sent to Jira, by operation and outcome (HTTP status, or timeout/connect_error).",
    ["operation", "status"],
)
LATENCY = Histogram(
    "jira_ai_jira_request_seconds",
    "Latency of one request to Jira (one attempt), by operation.",
    ["operation"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RATE_LIMITED = Counter(
    "jira_ai_jira_rate_limited_total", "429 answers from Jira, by operation.", ["operation"]
)
RETRY_WAIT = Histogram(
    "jira_ai_jira_retry_wait_seconds",
    "Time waited before retrying a Jira request, by reason (rate_limited, error).",
    ["reason"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
BREAKER_STATE = Gauge(
    "jira_ai_jira_breaker_state",
    "Circuit breaker state of a site as last seen by this process: 0 closed, 1 half-open, 2 open.",
    ["site"],
)
BREAKER_REJECTED = Counter(
    "jira_ai_jira_breaker_rejected_total", "Requests answered 503 at once by an open breaker."
)
CACHE = Counter(
    "jira_ai_jira_cache_total",
    "Jira cache lookups, by kind and result (hit, miss).",
    ["kind", "result"],
)
BUDGET_EXHAUSTED = Counter(
    "jira_ai_jira_retry_budget_exhausted_total",
    "Jira retries not made because the site's retry budget was spent.",
)
