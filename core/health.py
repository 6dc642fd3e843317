"""Health of both services: the probe runner shared by ``/readyz`` and ``check_services``, the
probes every service needs (Redis, an HTTP endpoint), and the ``/healthz`` + ``/readyz`` router.

Each check is bounded, so a dead dependency answers 503 quickly instead of hanging the probe;
a probe reports any failure as "not ready" by its exception's type, never its text, unless the
caller is an operator's command (``detail=True``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from core.errors import ProbeFailure
from core.http import build_async_client
from core.redis import get_async_redis, redis_configured

__all__ = [
    "Check",
    "ProbeFailure",
    "check_results",
    "health_router",
    "probe_http",
    "probe_redis",
    "run_checks",
]

Check = Callable[[], Awaitable[str]]


class HealthOut(Schema):
    status: str
    checks: dict[str, str]


async def check_results(
    checks: Mapping[str, Check], limit_seconds: float, *, detail: bool = False
) -> dict[str, tuple[bool, str]]:
    """Run every check at once, each within ``limit_seconds``: (ok, message) by name."""

    async def bounded(check: Check) -> tuple[bool, str]:
        try:
            async with asyncio.timeout(limit_seconds):
                return True, await check()
        except TimeoutError:
            return False, f"timeout after {limit_seconds:g}s"
        except ProbeFailure as exc:
            return False, str(exc)
        except Exception as exc:  # a probe reports any failure as "not ready"
            message = f"error: {type(exc).__name__}"
            return False, f"{message}: {exc}" if detail and str(exc) else message

    results = await asyncio.gather(*(bounded(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


async def run_checks(
    checks: Mapping[str, Check], limit_seconds: float
) -> tuple[bool, dict[str, str]]:
    """(all ok, message by name): what ``/readyz`` answers."""
    results = await check_results(checks, limit_seconds)
    return all(ok for ok, _ in results.values()), {
        name: message for name, (_, message) in results.items()
    }


async def probe_redis() -> str:
    if not redis_configured():
        return "skipped: in-memory (development)"
    await get_async_redis().ping()
    return "ok"


async def probe_http(
    url: str,
    *,
    seconds: float,
    ok: Callable[[int], bool] = lambda status: status == 200,
    headers: dict[str, str] | None = None,
) -> str:
    """``GET url`` answers a status that ``ok`` accepts."""
    async with build_async_client(connect_timeout=seconds, read_timeout=seconds) as client:
        response = await client.get(url, headers=headers)
    if not ok(response.status_code):
        raise RuntimeError(f"HTTP {response.status_code}")
    return "ok"


def health_router(*, readiness: Callable[[], Mapping[str, Check]], summary: str) -> Router:
    """``/healthz`` (the process answers; nothing checked, no session read) and ``/readyz`` (the
    checks ``readiness()`` names, 503 when any fails), without auth."""
    from django.conf import settings

    router = Router(tags=["health"], auth=None)

    @router.get(
        "/healthz",
        summary="Liveness: the process answers (no dependency checked)",
        response=HealthOut,
    )
    async def healthz(request: HttpRequest) -> dict[str, object]:
        return {"status": "ok", "checks": {}}

    @router.get("/readyz", summary=summary, response={200: HealthOut, 503: HealthOut})
    async def readyz(request: HttpRequest) -> Status[dict[str, object]]:
        ready, checks = await run_checks(readiness(), settings.HEALTH_CHECK_TIMEOUT_SECONDS)
        return Status(
            200 if ready else 503, {"status": "ok" if ready else "unavailable", "checks": checks}
        )

    return router
