"""Readiness of the public API: Redis and ai-service (when configured)."""

from __future__ import annotations

from django.conf import settings

from core.health import Check, health_router, probe_http, probe_redis


async def _check_ai_service() -> str:
    if not settings.AI_SERVICE_URL:
        return "skipped: local engine"
    return await probe_http(
        settings.AI_SERVICE_URL + "/healthz", seconds=settings.HEALTH_CHECK_TIMEOUT_SECONDS
    )


def readiness_checks() -> dict[str, Check]:
    return {"redis": probe_redis, "ai_service": _check_ai_service}


router = health_router(readiness=readiness_checks, summary="Readiness: Redis and ai-service answer")
