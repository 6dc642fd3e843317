"""Forgetting what earlier tests left in the shared Redis (the tests' own database index)."""

from __future__ import annotations


async def forget_keys(*patterns: str) -> None:
    """Delete every key matching one of ``patterns`` (``SCAN`` + ``DEL``, as Redis globs)."""
    from core.redis import get_async_redis

    redis = get_async_redis()
    for pattern in patterns:
        keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
        if keys:
            await redis.delete(*keys)
