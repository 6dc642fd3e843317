"""Resumable runs: long work whose events are kept in a Redis Stream, so that any process can
replay them and follow the run while it goes on.

A run has a key (what it computes, e.g. one user's summary of one query): at most one run per key
at a time, held by a redis-py ``Lock`` whose token is the run id (a lease renewed by the run's
heartbeat, so a killed process frees the key after one lease). A second request for the same key
attaches to the running run instead of starting another. The run executes in the process that
started it, as a task writing each event to ``<prefix>:events:<run>`` under the Redis id ``0-<n>``
(n from 1), which is also its SSE id ``<run>:<n>``: a ``Last-Event-ID`` names a place in the
stream, and ``XREAD`` from ``0-<n>`` replays what came after it, then blocks for what follows.
The stream lives ``ttl`` seconds (the cache lifetime of what the run computes).

Readers are counted in a sorted set (``<prefix>:readers:<run>``, member: a reader id, score: when
its heartbeat expires), so a reader of a killed process stops counting after one expiry, not never.
When no reader is left, the run's task is cancelled (which closes its generator and, through it,
every upstream call). A reader leaving in the run's own process wakes the run's watcher at once
(a process-local hint, never the truth: the count in Redis decides); in another process the
watcher notices within one heartbeat.

Two internal entries end a stream besides its last event: ``_end`` (the run finished) and
``_cancelled`` (it was cancelled, or its process died: the lock expired without an end); readers
never send them on. After ``_cancelled`` the caller starts (or attaches to) a new run of the same
key, whose ids start again at ``<new run>:1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from core.sse import Event

logger = logging.getLogger(__name__)

END = "_end"
CANCELLED = "_cancelled"
TERMINAL = frozenset({"done", "error"})
# XREAD BLOCK stays below the client's socket timeout (core.redis: 2 s), or the read would fail.
BLOCK_MAX_SECONDS = 1.0
READ_BATCH = 200
LEASE_MIN_SECONDS = 15.0
READER_TTL_MIN_SECONDS = 3.0
# A run restarted after a cancellation is followed at most this many times in one response.
MAX_RESTARTS = 3
_LAST_EVENT_ID = re.compile(r"^([0-9a-f]{32}):([0-9]{1,9})$")

# The watchers of the runs of this process, by run id: a reader leaving wakes its run's watcher.
_watchers: dict[str, asyncio.Event] = {}
# Strong references to the run tasks (the event loop keeps only weak ones).
_tasks: set[asyncio.Task[None]] = set()


class RunsUnavailable(Exception):
    """The key's run could be neither started nor found (it kept changing hands)."""


def last_event_id_parse(value: str | None) -> tuple[str, int] | None:
    """``(run, n)`` of a ``Last-Event-ID`` of ours (``<run>:<n>``), else None."""
    match = _LAST_EVENT_ID.match((value or "").strip())
    return (match.group(1), int(match.group(2))) if match else None


def _entries(reply: Any) -> list[tuple[bytes, int, str, str]]:
    """``(entry id, n, name, data)`` of the entries of one stream's ``XREAD`` reply."""
    out = []
    for entry_id, fields in reply[0][1]:
        n = int(entry_id.split(b"-")[1])
        out.append((entry_id, n, fields[b"n"].decode(), fields[b"d"].decode()))
    return out


@dataclass(frozen=True, slots=True)
class RunStore:
    """The runs under ``prefix`` in ``redis``: events kept ``ttl`` seconds, heartbeats every
    ``heartbeat`` seconds (a reader not renewed for three heartbeats, at least 3 s, is gone; a
    run's lease lasts three heartbeats, at least 15 s), failures
    of a run's events turned into its last event by ``on_error``."""

    redis: aioredis.Redis
    prefix: str
    ttl: int
    heartbeat: float
    on_error: Callable[[BaseException], Event]

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    @property
    def _lease(self) -> float:
        # Long beside the heartbeat: a busy event loop (a large map step on two cores) must not
        # lose the key to a second run; only a dead process waits this long to be replaced.
        return max(self.heartbeat * 3, LEASE_MIN_SECONDS)

    @property
    def _reader_ttl(self) -> float:
        return max(self.heartbeat * 3, READER_TTL_MIN_SECONDS)

    async def owner(self, run: str) -> str | None:
        """Who started ``run`` (the ``owner`` given to :meth:`acquire`), None once forgotten."""
        value = await self.redis.hget(self._key("meta", run), "owner")
        return value.decode() if isinstance(value, bytes) else None

    async def acquire(
        self, *, key: str, owner: str, start: Callable[[], AsyncGenerator[Event, None]]
    ) -> str:
        """The id of the run of ``key``: the one going on, or a new one running ``start()`` in a
        task of this process."""
        lock_name = self._key("lock", key)
        for _ in range(3):
            run = uuid.uuid4().hex
            lock = self.redis.lock(
                lock_name, timeout=self._lease, blocking=False, thread_local=False
            )
            if await lock.acquire(token=run):
                meta = self._key("meta", run)
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.hset(meta, mapping={"owner": owner, "lock": lock_name})
                    pipe.expire(meta, self.ttl)
                    await pipe.execute()
                task = asyncio.create_task(self._run(run, start, lock), name=f"run {run}")
                _tasks.add(task)
                task.add_done_callback(_tasks.discard)
                return run
            current = await self.redis.get(lock_name)
            if isinstance(current, bytes):
                return current.decode()
        raise RunsUnavailable(key)

    async def _add(self, run: str, n: int, event: Event) -> None:
        stream = self._key("events", run)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, {"n": event.name, "d": event.data}, id=f"0-{n}")
            pipe.expire(stream, self.ttl)
            await pipe.execute()

    async def _run(
        self,
        run: str,
        start: Callable[[], AsyncGenerator[Event, None]],
        lock: aioredis.lock.Lock,
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.create_task(self._watch(run, task, lock))
        n = 0
        cancelled = False
        try:
            events = start()
            try:
                async for event in events:
                    n += 1
                    await self._add(run, n, event)
                    if event.name in TERMINAL:
                        break
            finally:
                await events.aclose()
        except asyncio.CancelledError:
            cancelled = True
            logger.info("run %s cancelled after %d events", run, n)
            with contextlib.suppress(RedisError):
                await self._add(run, n + 1, Event(CANCELLED, "{}"))
            raise
        except Exception as exc:
            n += 1
            with contextlib.suppress(RedisError):
                await self._add(run, n, self.on_error(exc))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            with contextlib.suppress(RedisError):
                if not cancelled:
                    await self._add(run, n + 1, Event(END, "{}"))
            with contextlib.suppress(LockError, RedisError):
                await lock.release()

    async def _watch(self, run: str, task: asyncio.Task[None], lock: aioredis.lock.Lock) -> None:
        """Renews the run's lease every heartbeat and cancels the run when no reader is left."""
        wake = _watchers[run] = asyncio.Event()
        readers = self._key("readers", run)
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.heartbeat):
                        await wake.wait()
                wake.clear()
                try:
                    await lock.reacquire()
                except (LockError, RedisError) as exc:
                    # Another run may take the key now; this one goes on for its readers.
                    logger.warning("run %s: lease not renewed: %s", run, type(exc).__name__)
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        pipe.zremrangebyscore(readers, "-inf", time.time())
                        pipe.zcard(readers)
                        _, left = await pipe.execute()
                except RedisError as exc:
                    logger.warning("run %s: readers not counted: %s", run, type(exc).__name__)
                    continue
                if left == 0:
                    logger.info("run %s: no reader left", run)
                    task.cancel()
                    return
        finally:
            if _watchers.get(run) is wake:
                del _watchers[run]

    async def _beat(self, run: str, reader: str) -> None:
        readers = self._key("readers", run)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(readers, {reader: time.time() + self._reader_ttl})
            pipe.expire(readers, self.ttl)
            await pipe.execute()

    async def _alive(self, run: str) -> bool:
        lock_name = await self.redis.hget(self._key("meta", run), "lock")
        if not isinstance(lock_name, bytes):
            return False
        return bool(await self.redis.get(lock_name.decode()) == run.encode())

    async def follow(self, run: str, *, after: int = 0) -> AsyncGenerator[Event, None]:
        """The events of ``run`` after the ``after``-th, stored ones at once, then as they come,
        each with its id ``<run>:<n>``; ends after the run's last event, or with one
        ``_cancelled`` event when the run stopped short (cancelled, or its process died)."""
        reader = uuid.uuid4().hex
        stream = self._key("events", run)
        last: bytes | str = f"0-{after}"
        await self._beat(run, reader)
        beaten = time.monotonic()
        block_ms = int(min(self.heartbeat, BLOCK_MAX_SECONDS) * 1000)
        try:
            while True:
                reply = await self.redis.xread({stream: last}, count=READ_BATCH, block=block_ms)
                if time.monotonic() - beaten >= self.heartbeat / 2:
                    await self._beat(run, reader)
                    beaten = time.monotonic()
                if not reply:
                    if await self._alive(run):
                        continue
                    # The run may have ended between the read and the check: read once more.
                    reply = await self.redis.xread({stream: last}, count=READ_BATCH)
                    if not reply:
                        yield Event(CANCELLED, "{}")
                        return
                for entry_id, n, name, data in _entries(reply):
                    last = entry_id
                    if name == END:
                        return
                    if name == CANCELLED:
                        yield Event(CANCELLED, "{}")
                        return
                    yield Event(name, data, id=f"{run}:{n}")
                    if name in TERMINAL:
                        return
        finally:
            with contextlib.suppress(RedisError):
                await self.redis.zrem(self._key("readers", run), reader)
            if (wake := _watchers.get(run)) is not None:
                wake.set()

    async def stream(
        self,
        *,
        key: str,
        owner: str,
        start: Callable[[], AsyncGenerator[Event, None]],
        resume: tuple[str, int] | None = None,
    ) -> AsyncGenerator[Event, None]:
        """The events of the run of ``key`` for one reader: after ``resume`` (``(run, n)`` of a
        ``Last-Event-ID``, whose owner the caller checked) if given, else from the start of the
        running run or of a new one. A run that stopped short is followed by a new run of the
        same key (started here, or the one another reader started meanwhile)."""
        if resume is not None:
            run, after = resume
        else:
            run, after = await self.acquire(key=key, owner=owner, start=start), 0
        for _ in range(MAX_RESTARTS):
            events = self.follow(run, after=after)
            try:
                async for event in events:
                    if event.name == CANCELLED:
                        break
                    yield event
                else:
                    return
            finally:
                await events.aclose()
            run, after = await self.acquire(key=key, owner=owner, start=start), 0
        raise RunsUnavailable(key)
