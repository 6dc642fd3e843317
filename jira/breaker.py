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

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import NoReturn

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from jira.errors import JiraCircuitOpen, JiraRateLimited, JiraUnavailable
from jira.metrics import BREAKER_REJECTED, BREAKER_STATE, BUDGET_EXHAUSTED

logger = logging.getLogger(__name__)

PROBE_POLL_SECONDS = 0.05

# KEYS[1] the window's hash; ARGV percent, floor, ttl. 1 when a retry is granted (and counted).
_RETRY_BUDGET_LUA = """
local requests = tonumber(redis.call('HGET', KEYS[1], 'requests') or '0')
local retries = tonumber(redis.call('HGET', KEYS[1], 'retries') or '0')
local allowed = math.max(tonumber(ARGV[2]), math.floor(requests * tonumber(ARGV[1]) / 100))
if retries >= allowed then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'retries', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


@dataclass(frozen=True)
class Ticket:
    """What :meth:`Breaker.before` let through: ``dirty`` when a success must clear recorded
    failures (or close a half-open breaker), ``probe`` when this call holds the half-open probe
    (and must give it back if it is cancelled before an outcome)."""

    dirty: bool = False
    probe: bool = False


NO_TICKET = Ticket()


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
    budget_percent: float = 10.0
    budget_window_seconds: float = 60.0
    budget_floor: int = 1

    def _keys(self, site: str) -> tuple[str, str]:
        return f"{self.prefix}:{site}", f"{self.prefix}:{site}:probe"

    async def before(self, site: str) -> Ticket:
        """Raise :class:`JiraCircuitOpen` when the site's breaker is open; else the call's
        :class:`Ticket`."""
        key, _probe = self._keys(site)
        try:
            # One round trip for the Retry-After window and the breaker's state.
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(self._hold_key(site))
                pipe.pttl(self._hold_key(site))
                pipe.hmget(key, ["failures", "opened_until"])
                kind, pttl, (failures, opened_until) = await pipe.execute()
            self._check_hold(kind, pttl)
            if opened_until is None:
                return Ticket(dirty=failures is not None)
            remaining = float(opened_until) - self.clock()
            if remaining > 0:
                self._reject(site, remaining)
            probe_ttl = max(1, math.ceil(self.reset_seconds))
            if await self._take_probe(site, probe_ttl):
                return Ticket(dirty=True, probe=True)
            return await self._await_probe(site, opened_until, probe_ttl)
        except RedisError:
            logger.warning("circuit breaker state unavailable (Redis); letting the request through")
            return NO_TICKET

    async def _take_probe(self, site: str, probe_ttl: int) -> bool:
        _key, probe = self._keys(site)
        if not await self.redis.set(probe, "1", nx=True, ex=probe_ttl):
            return False
        BREAKER_STATE.labels(site).set(BreakerState.HALF_OPEN)
        return True

    async def _await_probe(self, site: str, opened_until: bytes | str, probe_ttl: int) -> Ticket:
        """Half-open and another call holds the probe: wait for its outcome rather than refuse.

        A refused sibling of a concurrent read (``gather_first_error``) would cancel the probe
        before it reached Jira, and the breaker would never close. So a sibling waits (bounded by
        the probe's TTL, polling Redis every 50 ms, as every worker shares the state): closed, it
        goes on; opened again by the probe's failure, it is refused with the new window; the
        probe given back (its call was cancelled, :meth:`abandon`), it takes the probe itself."""
        key, probe = self._keys(site)
        deadline = time.monotonic() + probe_ttl
        while time.monotonic() < deadline:
            await asyncio.sleep(PROBE_POLL_SECONDS)
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hmget(key, ["failures", "opened_until"])
                pipe.exists(probe)
                (failures, now_until), probing = await pipe.execute()
            if now_until is None:
                return Ticket(dirty=failures is not None)
            if now_until != opened_until:
                self._reject(site, float(now_until) - self.clock())
            if not probing and await self._take_probe(site, probe_ttl):
                return Ticket(dirty=True, probe=True)
        self._reject(site, self.reset_seconds)
        return NO_TICKET  # unreachable: _reject raises

    async def abandon(self, ticket: Ticket, site: str) -> None:
        """A call cancelled before its outcome gives the half-open probe back at once (rather
        than holding it for its TTL while every sibling waits)."""
        if not ticket.probe:
            return
        try:
            await self.redis.delete(self._keys(site)[1])
        except RedisError:
            logger.warning("circuit breaker state unavailable (Redis)")

    def _reject(self, site: str, remaining: float) -> NoReturn:
        BREAKER_STATE.labels(site).set(BreakerState.OPEN)
        BREAKER_REJECTED.inc()
        raise JiraCircuitOpen(retry_after=max(1, math.ceil(remaining)))

    # -- Retry-After windows and the retry budget (per site, shared by every worker) --

    def _hold_key(self, site: str) -> str:
        return f"{self.prefix}:{site}:hold"

    def _budget_key(self, site: str) -> str:
        bucket = int(self.clock() // self.budget_window_seconds)
        return f"{self.prefix}:{site}:budget:{bucket}"

    @staticmethod
    def _check_hold(kind: bytes | str | None, pttl: int | None) -> None:
        """Inside a site's ``Retry-After`` window (its hold key's value and milliseconds left)
        nobody calls it: answered at once with the remaining seconds, as the 429 (or 503) that
        opened the window would have been."""
        if kind is None or pttl is None or int(pttl) <= 0:
            return
        remaining = int(pttl) / 1000
        if kind in (b"503", "503"):
            raise JiraUnavailable(status=503, retry_after=remaining)
        raise JiraRateLimited(retry_after=remaining)

    async def hold(self, site: str, status: int, seconds: float) -> None:
        """Open a ``Retry-After`` window for the site (a longer one already open is kept)."""
        millis = math.ceil(seconds * 1000)
        if millis <= 0:
            return
        try:
            current = await self.redis.pttl(self._hold_key(site))
            if current is not None and int(current) >= millis:
                return
            await self.redis.set(self._hold_key(site), str(status), px=millis)
        except RedisError:
            logger.warning("Jira Retry-After window unavailable (Redis)")

    async def count_request(self, site: str) -> None:
        """A call's first attempt: the base the retry budget is a share of."""
        key = self._budget_key(site)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(key, "requests", 1)
                pipe.expire(key, math.ceil(self.budget_window_seconds * 2))
                await pipe.execute()
        except RedisError:
            logger.warning("Jira retry budget unavailable (Redis)")

    async def allow_retry(self, site: str) -> bool:
        """Take one retry from the site's budget: at most ``budget_percent`` % of the window's
        requests (at least ``budget_floor``), counted atomically by a Lua script."""
        try:
            allowed = await self.redis.eval(
                _RETRY_BUDGET_LUA,
                1,
                self._budget_key(site),
                str(self.budget_percent),
                str(self.budget_floor),
                str(math.ceil(self.budget_window_seconds * 2)),
            )
        except RedisError:
            logger.warning("Jira retry budget unavailable (Redis); no retry")
            return False
        if not allowed:
            BUDGET_EXHAUSTED.inc()
        return bool(allowed)

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
