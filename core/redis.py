"""Redis clients: one asyncio client per event loop (a pool is bound to its loop), one sync client.

Timeouts are short and explicit: a Redis that does not answer must fail a request fast (503), never
hang it.
"""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio as aioredis
from django.conf import settings

from core.http import per_loop

SOCKET_TIMEOUT_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 1.0


def redis_configured() -> bool:
    return bool(settings.REDIS_URL)


def _async_client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=30,
        max_connections=1000,
    )


_async_clients = per_loop(_async_client)


def get_async_redis() -> aioredis.Redis:
    return _async_clients.get(settings.REDIS_URL)


def async_redis_for(url: str) -> aioredis.Redis:
    """The asyncio client of the running loop for ``url``: for code that must not read Django
    settings (the LLM engine is handed its URL)."""
    return _async_clients.get(url)


@lru_cache(maxsize=1)
def get_sync_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )
