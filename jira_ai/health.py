"""Liveness and readiness. Each readiness check is bounded by HEALTH_CHECK_TIMEOUT_SECONDS, so a
dead dependency answers 503 quickly instead of hanging the probe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from jira_ai.http import build_async_client
from jira_ai.redis import get_async_redis, redis_configured

router = Router(tags=["health"], auth=None)


class HealthOut(Schema):
    status: str
    checks: dict[str, str]


@router.get(
    "/healthz", summary="Liveness: the process answers (no dependency checked)", response=HealthOut
)
async def healthz(request: HttpRequest) -> dict[str, object]:
    return {"status": "ok", "checks": {}}


async def _check_redis() -> str:
    if not redis_configured():
        return "skipped: in-memory (development)"
    await get_async_redis().ping()
    return "ok"


async def _check_ai_service() -> str:
    if not settings.AI_SERVICE_URL:
        return "skipped: local engine"
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    async with build_async_client(connect_timeout=timeout, read_timeout=timeout) as client:
        response = await client.get(settings.AI_SERVICE_URL + "/healthz")
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}")
    return "ok"


async def run_checks(
    checks: dict[str, Callable[[], Awaitable[str]]], limit_seconds: float
) -> tuple[bool, dict[str, str]]:
    async def bounded(check: Callable[[], Awaitable[str]]) -> tuple[bool, str]:
        try:
            async with asyncio.timeout(limit_seconds):
                return True, await check()
        except TimeoutError:
            return False, f"timeout after {limit_seconds:g}s"
        except Exception as exc:  # a probe reports any failure as "not ready"
            return False, f"error: {type(exc).__name__}"

    results = await asyncio.gather(*(bounded(check) for check in checks.values()))
    ready = all(ok for ok, _ in results)
    return ready, {name: message for name, (_, message) in zip(checks, results, strict=True)}


@router.get(
    "/readyz",
    summary="Readiness: Redis and ai-service answer",
    response={200: HealthOut, 503: HealthOut},
)
async def readyz(request: HttpRequest) -> Status[dict[str, object]]:
    ready, checks = await run_checks(
        {"redis": _check_redis, "ai_service": _check_ai_service},
        settings.HEALTH_CHECK_TIMEOUT_SECONDS,
    )
    return Status(
        200 if ready else 503, {"status": "ok" if ready else "unavailable", "checks": checks}
    )
