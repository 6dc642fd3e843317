"""``manage.py check_services``: can this process reach what it needs?

Redis, Atlassian's auth and API hosts, ai-service (when configured) and the LLM. One line per
service; exit code 1 when any is down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jira_ai.http import build_async_client
from jira_ai.redis import get_async_redis, redis_configured

TIMEOUT_SECONDS = 3.0


async def _get(
    url: str, *, ok: Callable[[int], bool], headers: dict[str, str] | None = None
) -> str:
    async with build_async_client(
        connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS
    ) as client:
        response = await client.get(url, headers=headers)
    if not ok(response.status_code):
        raise RuntimeError(f"HTTP {response.status_code} from {url}")
    return f"reachable ({url} answered {response.status_code})"


async def check_redis() -> str:
    if not redis_configured():
        return "skipped: in-memory store (development, no REDIS_URL)"
    await get_async_redis().ping()
    return "ok"


async def check_atlassian_auth() -> str:
    # The token endpoint refuses a GET (405) or an empty request (4xx): any answer below 500
    # proves the host is there.
    return await _get(f"{settings.ATLASSIAN_AUTH_URL}/oauth/token", ok=lambda s: s < 500)


async def check_atlassian_api() -> str:
    return await _get(
        f"{settings.ATLASSIAN_API_URL}/oauth/token/accessible-resources", ok=lambda s: s < 500
    )


async def check_ai_service() -> str:
    if not settings.AI_SERVICE_URL:
        return "skipped: local engine (AI_SERVICE_URL not set)"
    return await _get(f"{settings.AI_SERVICE_URL}/healthz", ok=lambda s: s == 200)


async def check_llm() -> str:
    if settings.LLM_PROVIDER == "ollama":
        return await _get(f"{settings.OLLAMA_BASE_URL}/api/tags", ok=lambda s: s == 200)
    base = settings.OPENAI_BASE_URL or "https://api.openai.com/v1"
    return await _get(
        f"{base}/models",
        ok=lambda s: s == 200,
        headers={"Authorization": f"Bearer {settings.OPENAI_API_KEY}"},
    )


CHECKS: dict[str, Callable[[], Awaitable[str]]] = {
    "redis": check_redis,
    "atlassian-auth": check_atlassian_auth,
    "atlassian-api": check_atlassian_api,
    "ai-service": check_ai_service,
    "llm": check_llm,
}


async def run_all() -> dict[str, tuple[bool, str]]:
    async def one(check: Callable[[], Awaitable[str]]) -> tuple[bool, str]:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS * 2):
                return True, await check()
        except TimeoutError:
            return False, "timed out"
        except Exception as exc:  # reported per service, never raised
            return False, f"{type(exc).__name__}: {exc}"

    results = await asyncio.gather(*(one(check) for check in CHECKS.values()))
    return dict(zip(CHECKS, results, strict=True))


class Command(BaseCommand):
    help = "Check that Redis, Atlassian, ai-service and the LLM are reachable (exit 1 if not)."

    def handle(self, *args: Any, **options: Any) -> None:
        results = asyncio.run(run_all())
        failures = 0
        for name, (ok, message) in results.items():
            if ok:
                self.stdout.write(f"OK    {name}: {message}")
            else:
                failures += 1
                self.stdout.write(f"FAIL  {name}: {message}")
        if failures:
            raise CommandError(f"{failures} service(s) unreachable.", returncode=1)
