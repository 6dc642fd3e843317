"""Outbound HTTP of both services: the one client factory, the one per-event-loop cache of clients
and the one ``Retry-After`` parser.

Explicit connect/read/pool timeouts, no redirects, a User-Agent, pools sized for the streams we
allow (httpx's default of 100 connections with a 5 s pool timeout would make a burst of streams wait
and fail), and an injectable transport for tests.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import httpx

USER_AGENT = "jira-ai/0.1 (+https://github.com/jira-ai)"
# A Retry-After beyond this is not a wait anyone means (or a broken clock): it is ignored.
RETRY_AFTER_MAX_SECONDS = 24 * 3600

T = TypeVar("T")


def build_async_client(
    *,
    base_url: str = "",
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    pool_timeout: float = 10.0,
    max_connections: int = 100,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=pool_timeout
        ),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        transport=transport,
    )


class PerLoop(Generic[T]):
    """One object per running event loop (and per ``key``), built on first use by ``factory``.

    A connection pool (httpx, redis-py asyncio) belongs to the loop that opened it, so it must not
    be shared across loops (tests and operator commands run several); the cache forgets a loop when
    the loop is collected. An object with ``is_closed`` true is rebuilt.
    """

    def __init__(self, factory: Callable[..., T]) -> None:
        self._factory = factory
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, T]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, *key: Hashable) -> T:
        loop = asyncio.get_running_loop()
        objects = self._by_loop.setdefault(loop, {})
        found = objects.get(key)
        if found is None or getattr(found, "is_closed", False):
            found = objects[key] = self._factory(*key)
        return found


def per_loop(factory: Callable[..., T]) -> PerLoop[T]:
    return PerLoop(factory)


def retry_after_parse(value: str | None, *, now: float | None = None) -> int | None:
    """``Retry-After`` (RFC 9110: delay-seconds or an HTTP-date) as whole seconds, rounded up.

    None when absent or unreadable, or absurd (negative, NaN, infinite, beyond a day). Callers
    bound their own waits; the value itself is passed on as received.
    """
    if not value or not value.strip():
        return None
    raw = value.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
    if math.isnan(seconds) or seconds < 0 or seconds > RETRY_AFTER_MAX_SECONDS:
        return None
    return math.ceil(seconds)
