"""``manage.py check_services``: can this process reach what it needs?

Redis, Atlassian's auth and API hosts, ai-service (when configured) and the LLM, through the same
probe runner as ``/readyz`` (``core.health``). One line per service; exit code 1 when any is down.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ai_service.engine import EngineConfig
from ai_service.engine.readiness import llm_check
from core.health import Check, check_results, probe_http, probe_redis

TIMEOUT_SECONDS = 3.0


def _below_500(status: int) -> bool:
    return status < 500


async def check_atlassian_auth() -> str:
    # The token endpoint refuses a GET (405) or an empty request (4xx): any answer below 500
    # proves the host is there.
    return await probe_http(
        f"{settings.ATLASSIAN_AUTH_URL}/oauth/token", seconds=TIMEOUT_SECONDS, ok=_below_500
    )


async def check_atlassian_api() -> str:
    return await probe_http(
        f"{settings.ATLASSIAN_API_URL}/oauth/token/accessible-resources",
        seconds=TIMEOUT_SECONDS,
        ok=_below_500,
    )


async def check_ai_service() -> str:
    if not settings.AI_SERVICE_URL:
        return "skipped: local engine (AI_SERVICE_URL not set)"
    return await probe_http(f"{settings.AI_SERVICE_URL}/healthz", seconds=TIMEOUT_SECONDS)


async def check_llm() -> str:
    return await llm_check(EngineConfig.from_settings(settings))


CHECKS: dict[str, Check] = {
    "redis": probe_redis,
    "atlassian-auth": check_atlassian_auth,
    "atlassian-api": check_atlassian_api,
    "ai-service": check_ai_service,
    "llm": check_llm,
}


class Command(BaseCommand):
    help = "Check that Redis, Atlassian, ai-service and the LLM are reachable (exit 1 if not)."

    def handle(self, *args: Any, **options: Any) -> None:
        results = asyncio.run(check_results(CHECKS, TIMEOUT_SECONDS * 2, detail=True))
        failures = 0
        for name, (ok, message) in results.items():
            self.stdout.write(f"{'OK  ' if ok else 'FAIL'}  {name}: {message}")
            failures += not ok
        if failures:
            raise CommandError(f"{failures} service(s) unreachable.", returncode=1)
