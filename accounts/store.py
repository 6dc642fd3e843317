"""Where sessions and token vaults live: Redis (sync and asyncio redis-py), or process memory in
development when no ``REDIS_URL`` is set.

Keys: ``session:{sid}`` (the session, JSON), ``vault:{sid}`` (its encrypted token vault),
``account_sessions:{account_id}`` (the set of an account's sids, for revocation) and
``lock:vault:{sid}`` (the refresh lock). Every Redis error propagates as ``redis.RedisError``:
callers fail closed (503), never "no session".
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import threading
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, cast

from redis.asyncio.lock import Lock as AsyncLock
from redis.exceptions import LockError

from core.redis import get_async_redis, get_sync_redis, redis_configured

SESSION_PREFIX = "session:"
VAULT_PREFIX = "vault:"
ACCOUNT_PREFIX = "account_sessions:"
LOCK_PREFIX = "lock:vault:"


def session_key(sid: str) -> str:
    return SESSION_PREFIX + sid


def vault_key(sid: str) -> str:
    return VAULT_PREFIX + sid


def account_key(account_id: str) -> str:
    return ACCOUNT_PREFIX + account_id


class LockTimeout(Exception):
    """The refresh lock could not be taken in time."""


@dataclass(frozen=True)
class StoredSession:
    sid: str
    raw: bytes
    ttl: int  # seconds left, -1 / -2 as Redis reports


class Store(Protocol):
    # Request path (async)
    async def aload(self, sid: str, idle_seconds: int) -> bytes | None: ...
    async def asave(
        self, sid: str, raw: str, ttl: int, *, must_create: bool, account_id: str | None
    ) -> bool: ...
    async def adelete(self, sids: Iterable[tuple[str, str | None]]) -> None: ...
    async def aget_vault(self, sid: str) -> bytes | None: ...
    async def aset_vault(self, sid: str, blob: str) -> None: ...
    def alock(self, sid: str, hold: float, wait: float) -> AbstractAsyncContextManager[None]: ...

    # Sync (threads: sign-in views, admin, commands)
    def get(self, sid: str) -> StoredSession | None: ...
    def save(
        self, sid: str, raw: str, ttl: int, *, must_create: bool, account_id: str | None
    ) -> bool: ...
    def delete(self, sids: Iterable[tuple[str, str | None]]) -> None: ...
    def set_vault(self, sid: str, blob: str, ttl: int) -> None: ...
    def get_vault(self, sid: str) -> bytes | None: ...
    def sids(self) -> list[str]: ...
    def account_sids(self, account_id: str) -> list[str]: ...


class RedisStore:
    async def aload(self, sid: str, idle_seconds: int) -> bytes | None:
        # One round trip: read the session and slide both its keys' expiry (GETEX, Redis >= 6.2).
        async with get_async_redis().pipeline(transaction=False) as pipe:
            pipe.getex(session_key(sid), ex=idle_seconds)
            pipe.expire(vault_key(sid), idle_seconds)
            raw, _ = await pipe.execute()
        return cast("bytes | None", raw)

    async def asave(
        self, sid: str, raw: str, ttl: int, *, must_create: bool, account_id: str | None
    ) -> bool:
        async with get_async_redis().pipeline(transaction=False) as pipe:
            pipe.set(session_key(sid), raw, ex=ttl, nx=must_create)
            if account_id:
                pipe.sadd(account_key(account_id), sid)
                pipe.expire(account_key(account_id), ttl, gt=True)
                pipe.expire(account_key(account_id), ttl, nx=True)
            results = await pipe.execute()
        return bool(results[0])

    async def adelete(self, sids: Iterable[tuple[str, str | None]]) -> None:
        async with get_async_redis().pipeline(transaction=False) as pipe:
            for sid, account_id in sids:
                pipe.delete(session_key(sid), vault_key(sid))
                if account_id:
                    pipe.srem(account_key(account_id), sid)
            await pipe.execute()

    async def aget_vault(self, sid: str) -> bytes | None:
        return cast("bytes | None", await get_async_redis().get(vault_key(sid)))

    async def aset_vault(self, sid: str, blob: str) -> None:
        await get_async_redis().set(vault_key(sid), blob, keepttl=True, xx=True)

    @asynccontextmanager
    async def alock(self, sid: str, hold: float, wait: float) -> AsyncIterator[None]:
        lock = AsyncLock(get_async_redis(), LOCK_PREFIX + sid, timeout=hold, blocking_timeout=wait)
        if not await lock.acquire():
            raise LockTimeout(sid)
        try:
            yield
        finally:
            # LockError: it expired while held, and another worker may own it now.
            with contextlib.suppress(LockError):
                await lock.release()

    def get(self, sid: str) -> StoredSession | None:
        with get_sync_redis().pipeline(transaction=False) as pipe:
            pipe.get(session_key(sid))
            pipe.ttl(session_key(sid))
            raw, ttl = pipe.execute()
        return None if raw is None else StoredSession(sid, raw, int(ttl))

    def save(
        self, sid: str, raw: str, ttl: int, *, must_create: bool, account_id: str | None
    ) -> bool:
        with get_sync_redis().pipeline(transaction=False) as pipe:
            pipe.set(session_key(sid), raw, ex=ttl, nx=must_create)
            if account_id:
                pipe.sadd(account_key(account_id), sid)
                pipe.expire(account_key(account_id), ttl, gt=True)
                pipe.expire(account_key(account_id), ttl, nx=True)
            results = pipe.execute()
        return bool(results[0])

    def delete(self, sids: Iterable[tuple[str, str | None]]) -> None:
        with get_sync_redis().pipeline(transaction=False) as pipe:
            for sid, account_id in sids:
                pipe.delete(session_key(sid), vault_key(sid))
                if account_id:
                    pipe.srem(account_key(account_id), sid)
            pipe.execute()

    def set_vault(self, sid: str, blob: str, ttl: int) -> None:
        get_sync_redis().set(vault_key(sid), blob, ex=ttl)

    def get_vault(self, sid: str) -> bytes | None:
        return get_sync_redis().get(vault_key(sid))  # type: ignore[return-value]

    def sids(self) -> list[str]:
        return [
            key.decode()[len(SESSION_PREFIX) :]
            for key in get_sync_redis().scan_iter(match=SESSION_PREFIX + "*", count=500)
        ]

    def account_sids(self, account_id: str) -> list[str]:
        members = get_sync_redis().smembers(account_key(account_id))
        return sorted(m.decode() for m in members)  # type: ignore[union-attr]


class MemoryStore:
    """Development only (DEBUG without REDIS_URL): one process, nothing shared, lost on restart."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float]] = {}
        self._sets: dict[str, set[str]] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, asyncio.Lock] = {}

    def _get(self, key: str) -> tuple[bytes, float] | None:
        item = self._data.get(key)
        if item is not None and item[1] <= time.time():
            del self._data[key]
            return None
        return item

    async def aload(self, sid: str, idle_seconds: int) -> bytes | None:
        with self._guard:
            deadline = time.time() + idle_seconds
            for key in (vault_key(sid), session_key(sid)):
                item = self._get(key)
                if item is not None:
                    self._data[key] = (item[0], deadline)
            item = self._get(session_key(sid))
            return None if item is None else item[0]

    async def asave(
        self, sid: str, raw: str, ttl: int, *, must_create: bool, account_id: str | None
    ) -> bool:
        return self.save(sid, raw, ttl, must_create=must_create, account_id=account_id)

    async def adelete(self, sids: Iterable[tuple[str, str | None]]) -> None:
        self.delete(sids)

    async def aget_vault(self, sid: str) -> bytes | None:
        return self.get_vault(sid)

    async def aset_vault(self, sid: str, blob: str) -> None:
        with self._guard:
            item = self._get(vault_key(sid))
            if item is not None:
                self._data[vault_key(sid)] = (blob.encode(), item[1])

    @asynccontextmanager
    async def alock(self, sid: str, hold: float, wait: float) -> AsyncIterator[None]:
        lock = self._locks.setdefault(sid, asyncio.Lock())
        try:
            async with asyncio.timeout(wait):
                await lock.acquire()
        except TimeoutError:
            raise LockTimeout(sid) from None
        try:
            yield
        finally:
            lock.release()

    def get(self, sid: str) -> StoredSession | None:
        with self._guard:
            item = self._get(session_key(sid))
        if item is None:
            return None
        return StoredSession(sid, item[0], int(item[1] - time.time()))

    def save(
        self, sid: str, raw: str, ttl: int, *, must_create: bool, account_id: str | None
    ) -> bool:
        with self._guard:
            if must_create and self._get(session_key(sid)) is not None:
                return False
            self._data[session_key(sid)] = (raw.encode(), time.time() + ttl)
            if account_id:
                self._sets.setdefault(account_key(account_id), set()).add(sid)
        return True

    def delete(self, sids: Iterable[tuple[str, str | None]]) -> None:
        with self._guard:
            for sid, account_id in sids:
                self._data.pop(session_key(sid), None)
                self._data.pop(vault_key(sid), None)
                if account_id:
                    self._sets.get(account_key(account_id), set()).discard(sid)

    def set_vault(self, sid: str, blob: str, ttl: int) -> None:
        with self._guard:
            self._data[vault_key(sid)] = (blob.encode(), time.time() + ttl)

    def get_vault(self, sid: str) -> bytes | None:
        with self._guard:
            item = self._get(vault_key(sid))
        return None if item is None else item[0]

    def sids(self) -> list[str]:
        with self._guard:
            keys = [k for k in list(self._data) if fnmatch.fnmatch(k, SESSION_PREFIX + "*")]
            return [k[len(SESSION_PREFIX) :] for k in keys if self._get(k) is not None]

    def account_sids(self, account_id: str) -> list[str]:
        with self._guard:
            return sorted(self._sets.get(account_key(account_id), set()))


@lru_cache(maxsize=1)
def _memory_store() -> MemoryStore:
    return MemoryStore()


_redis_store = RedisStore()


def get_store() -> Store:
    return _redis_store if redis_configured() else _memory_store()
