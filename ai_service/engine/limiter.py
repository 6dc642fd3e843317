"""The cap on in-flight LLM calls, shared by every process through Redis, with a bounded FIFO
queue whose waiters know their position.

Why not a library: ``limits`` counts requests per window, redis-py's ``Lock`` and semaphores
recipes hold no queue, and neither tells a waiter its place, which the streamed analysis shows
("en attente du modèle, position 2") instead of letting a request time out in Ollama's silent
queue. The state is three sorted sets per LLM server: the slots held (scored by lease expiry,
renewed while the call runs, so a killed process frees its slots), the queue (scored by ticket)
and the waiters' liveness (a waiter that stopped polling leaves the queue). Every step is one Lua
script, so the FIFO order holds across processes. Without Redis (the engine used alone, or Redis
failing) the same rules apply within this process.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import math
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis

from ai_service.engine.errors import LLMBusy
from core.http import per_loop
from core.redis import async_redis_for

logger = logging.getLogger(__name__)

# A killed process's slot is free again after this (renewed every third of it while held).
LEASE_SECONDS = 10.0
WAITER_TTL_SECONDS = 10.0
POLL_SECONDS = 0.05
# A guess for Retry-After when our queue is full: one call's time per waiting round.
BUSY_SECONDS_PER_ROUND = 10

OnWait = Callable[[int], Awaitable[None]]

_ACQUIRE = """
local held, queue, alive, ticket = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, max, queue_max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lease, alive_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
local dead = redis.call('ZRANGEBYSCORE', alive, '-inf', now)
for _, member in ipairs(dead) do
  redis.call('ZREM', queue, member)
  redis.call('ZREM', alive, member)
end
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, 86400000) end
if redis.call('ZSCORE', held, token) then return {0, 0} end
local rank = redis.call('ZRANK', queue, token)
if not rank then
  local queued = redis.call('ZCARD', queue)
  if queued == 0 and redis.call('ZCARD', held) < max then
    redis.call('ZADD', held, now + lease, token)
    return {0, 0}
  end
  if queued >= queue_max then return {-1, queued} end
  redis.call('ZADD', queue, redis.call('INCR', ticket), token)
  rank = redis.call('ZRANK', queue, token)
end
redis.call('ZADD', alive, now + alive_ms, token)
local free = max - redis.call('ZCARD', held)
if rank < free then
  redis.call('ZREM', queue, token)
  redis.call('ZREM', alive, token)
  redis.call('ZADD', held, now + lease, token)
  return {0, 0}
end
return {1, rank - math.max(free, 0) + 1}
"""

_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
"""

_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""


def busy_retry_after(queued: int, concurrency: int) -> int:
    return min(BUSY_SECONDS_PER_ROUND * math.ceil((queued + 1) / max(concurrency, 1)), 300)


@dataclass(frozen=True)
class LimiterSpec:
    scope: str
    concurrency: int
    queue_max: int
    redis_url: str


class _LocalLimiter:
    """The same FIFO in this process (no Redis configured, or Redis failing)."""

    def __init__(self, concurrency: int, queue_max: int) -> None:
        self.concurrency = concurrency
        self.queue_max = queue_max
        self.held = 0
        self.queue: collections.deque[asyncio.Future[None]] = collections.deque()

    def _wake(self) -> None:
        while self.queue and self.held < self.concurrency:
            waiter = self.queue.popleft()
            if not waiter.done():
                self.held += 1
                waiter.set_result(None)

    @contextlib.asynccontextmanager
    async def slot(self, on_wait: OnWait | None) -> AsyncIterator[None]:
        if self.queue or self.held >= self.concurrency:
            await self._wait(on_wait)
        else:
            self.held += 1
        try:
            yield
        finally:
            self.held -= 1
            self._wake()

    async def _wait(self, on_wait: OnWait | None) -> None:
        if len(self.queue) >= self.queue_max:
            raise LLMBusy(retry_after=busy_retry_after(len(self.queue), self.concurrency))
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.append(waiter)
        position = 0
        try:
            while not waiter.done():
                if waiter in self.queue and self.queue.index(waiter) + 1 != position:
                    position = self.queue.index(waiter) + 1
                    if on_wait is not None:
                        await on_wait(position)
                await asyncio.wait({waiter}, timeout=POLL_SECONDS * 4)
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.held -= 1  # granted as we were cancelled: hand the slot on
                self._wake()
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self.queue.remove(waiter)
            raise


class Limiter:
    def __init__(self, spec: LimiterSpec) -> None:
        self.spec = spec
        digest = hashlib.sha256(spec.scope.encode()).hexdigest()[:16]
        prefix = f"llm:limit:{digest}"
        self.keys = [f"{prefix}:held", f"{prefix}:queue", f"{prefix}:alive", f"{prefix}:ticket"]
        self.local = _LocalLimiter(spec.concurrency, spec.queue_max)

    @contextlib.asynccontextmanager
    async def slot(self, on_wait: OnWait | None = None) -> AsyncIterator[None]:
        """Hold one of the LLM server's slots for the block; waits in FIFO order (``on_wait``
        hears each new position, 1 = next), or ``LLMBusy`` when the queue is full."""
        if not self.spec.redis_url:
            async with self.local.slot(on_wait):
                yield
            return
        client = async_redis_for(self.spec.redis_url)
        token = secrets.token_hex(8)
        fallback = False
        try:
            await self._acquire(client, token, on_wait)
        except LLMBusy:
            raise
        except (redis.RedisError, OSError) as exc:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(client, token))
            logger.warning(
                "LLM limiter: Redis failed (%s), limiting in this process only",
                type(exc).__name__,
            )
            fallback = True
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(client, token))
            raise
        if fallback:
            async with self.local.slot(on_wait):
                yield
            return
        stop = asyncio.Event()
        renewer = asyncio.create_task(self._renew(client, token, stop))
        try:
            yield
        finally:
            stop.set()
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(client, token))

    async def _acquire(self, client: aioredis.Redis, token: str, on_wait: OnWait | None) -> None:
        spec = self.spec
        position = 0
        while True:
            status, value = await client.eval(
                _ACQUIRE,
                len(self.keys),
                *self.keys,
                token,
                spec.concurrency,
                spec.queue_max,
                int(LEASE_SECONDS * 1000),
                int(WAITER_TTL_SECONDS * 1000),
            )
            if status == 0:
                return
            if status == -1:
                raise LLMBusy(retry_after=busy_retry_after(int(value), spec.concurrency))
            if int(value) != position:
                position = int(value)
                if on_wait is not None:
                    await on_wait(position)
            await asyncio.sleep(POLL_SECONDS)

    async def _renew(self, client: aioredis.Redis, token: str, stop: asyncio.Event) -> None:
        """Extends the lease every third of it until ``stop`` is set. The cancel alone cannot
        stop it: a cancel that lands while redis-py reads the reply (under its socket-timeout
        context) can come out as redis-py's ``TimeoutError``, an ``Exception`` this loop ignores,
        and the renewer would go on for ever holding the slot: the analysis never reached
        ``done`` (the 500-stream burst's hung streams, each ``run()`` awaiting a renewer in state
        "cancelling" back in its sleep)."""
        while not stop.is_set():
            await asyncio.sleep(LEASE_SECONDS / 3)
            with contextlib.suppress(Exception):
                await client.eval(_RENEW, 1, self.keys[0], token, int(LEASE_SECONDS * 1000))

    async def _release(self, client: aioredis.Redis, token: str) -> None:
        await client.eval(_RELEASE, 3, *self.keys[:3], token)


_limiters = per_loop(Limiter)


def limiter_for(spec: LimiterSpec) -> Limiter:
    """The limiter of ``spec`` in the running loop (the local fallback is per loop too)."""
    return _limiters.get(spec)
