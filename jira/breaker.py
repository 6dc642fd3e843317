"""A per-site circuit breaker whose state lives in Redis, so that every worker of the API sees the
same state: after ``threshold`` consecutive failures (5xx after retries, network errors, timeouts,
unreadable bodies) the site's breaker opens and requests are answered 503 at once for
``reset_seconds``; then one request (whoever wins a ``SET NX``) probes the site: success closes the
breaker, failure opens it again.

Written here rather than taken from ``purgatory`` / ``aiobreaker``: both keep the state in process
memory (purgatory's Redis backend is sync and per-process-cached), and several API workers must
agree on a failing site. A Redis outage never blocks Jira calls: the breaker then lets requests
through (it protects Jira and our latency, it is not a security control).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from jira.errors import JiraCircuitOpen
from jira.metrics import BREAKER_REJECTED, BREAKER_STATE

logger = logging.getLogger(__name__)


class BreakerState(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass
class Breaker:
    redis: aioredis.Redis
    threshold: int
    reset_seconds: float
    clock: Callable[[], float] = time.time  # wall clock: shared by every worker through Redis
    prefix: str = "jira:breaker"

    def _keys(self, site: str) -> tuple[str, str]:
        return f"{self.prefix}:{site}", f"{self.prefix}:{site}:probe"

    async def before(self, site: str) -> bool:
        """Raise :class:`JiraCircuitOpen` when the site's breaker is open. True when a success
        must clear recorded failures (or close a half-open breaker)."""
        key, probe = self._keys(site)
        try:
            failures, opened_until = await self.redis.hmget(key, ["failures", "opened_until"])
            if opened_until is None:
                return failures is not None
            remaining = float(opened_until) - self.clock()
            if remaining > 0:
                self._reject(site, remaining)
            probe_ttl = max(1, math.ceil(self.reset_seconds))
            if not await self.redis.set(probe, "1", nx=True, ex=probe_ttl):
                self._reject(site, self.reset_seconds)
            BREAKER_STATE.labels(site).set(BreakerState.HALF_OPEN)
            return True
        except RedisError:
            logger.warning("circuit breaker state unavailable (Redis); letting the request through")
            return False

    def _reject(self, site: str, remaining: float) -> None:
        BREAKER_STATE.labels(site).set(BreakerState.OPEN)
        BREAKER_REJECTED.inc()
        raise JiraCircuitOpen(retry_after=max(1, math.ceil(remaining)))

    async def success(self, site: str, dirty: bool) -> None:
        if not dirty:
            return
        try:
            await self.redis.delete(*self._keys(site))
        except RedisError:
            logger.warning("circuit breaker state unavailable (Redis)")
        BREAKER_STATE.labels(site).set(BreakerState.CLOSED)

    async def failure(self, site: str) -> None:
        key, probe = self._keys(site)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(key, "failures", 1)
                pipe.hget(key, "opened_until")
                pipe.expire(key, max(60, math.ceil(self.reset_seconds * 10)))
                failures, opened_until, _ = await pipe.execute()
            if int(failures) >= self.threshold or opened_until is not None:
                await self.redis.hset(key, "opened_until", str(self.clock() + self.reset_seconds))
                await self.redis.delete(probe)
                BREAKER_STATE.labels(site).set(BreakerState.OPEN)
                logger.warning("Jira circuit breaker open for site %s", site)
        except RedisError:
            logger.warning("circuit breaker state unavailable (Redis)")
