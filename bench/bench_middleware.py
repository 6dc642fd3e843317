"""What the middleware stack costs per request under Daphne: no middleware (the floor), our stack
(hooks inline on the event loop) and the same stack built from Django's stock classes (a thread hop
per hook). Load: GET /healthz, 20 keep-alive connections, a fixed number of requests."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

import httpx

from tests.support.servers import start_daphne

REQUESTS = 3000
CONCURRENCY = 20
VARIANTS = {
    "no middleware": "bench.settings_bare",
    "jira-ai stack (inline hooks)": "jira_ai.settings.test",
    "same stack, Django's stock classes": "bench.settings_classic",
}


async def _load(url: str) -> dict[str, float]:
    latencies: list[float] = []
    remaining = REQUESTS

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            response = await client.get("/healthz")
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        for _ in range(100):  # warm-up
            await client.get("/healthz")
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def run() -> dict[str, Any]:
    env = {
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "DJANGO_DEBUG": "true",
    }
    rows = []
    for name, module in VARIANTS.items():
        server = start_daphne("jira_ai.asgi:application", {**env, "DJANGO_SETTINGS_MODULE": module})
        try:
            rows.append({"variant": name, **asyncio.run(_load(server.url))})
        finally:
            server.stop()
    return {
        "title": "Middleware cost under Daphne (GET /healthz)",
        "columns": ["variant", "requests", "req_per_s", "p50_ms", "p99_ms"],
        "rows": rows,
        "notes": (
            "2 cores shared by Daphne and the load generator (httpx, same machine): absolute "
            "req/s are bounded by the client's CPU too; compare the rows."
        ),
    }
