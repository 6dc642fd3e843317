"""Redis clients: one asyncio client per event loop (a pool is bound to its loop), one sync client.

Timeouts are short and explicit: a Redis that does not answer must fail a request fast (503), never
hang it.

A command that fails with a ``ConnectionError`` is retried once, at once, on a new connection
(redis-py's ``Retry(NoBackoff(), 1)``): after a Redis restart every pooled connection is stale, and
without the retry the first request of each one answered 503. Timeouts are not retried (a Redis
that does not answer would cost two socket timeouts), and neither is anything else: a refused
connection fails again within milliseconds, so a Redis that is down still answers 503 at once.
"""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio as aioredis
import redis.asyncio.retry
import redis.retry
from django.conf import settings
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from core.http import per_loop

SOCKET_TIMEOUT_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 1.0
RETRIES = 1


def redis_configured() -> bool:
    return bool(settings.REDIS_URL)


def _async_client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=30,
        max_connections=1000,
        retry=redis.asyncio.retry.Retry(
            NoBackoff(), RETRIES, supported_errors=(RedisConnectionError,)
        ),
        retry_on_error=[RedisConnectionError],
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
        retry=redis.retry.Retry(NoBackoff(), RETRIES, supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
    )
