"""core.cache.RedisJsonCache on the tests' real Redis: round trips, and every failure a logged miss
(a Redis that refuses connections, an entry that no longer reads as the model)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from pydantic import BaseModel

from core.cache import RedisJsonCache
from core.redis import get_async_redis


class Entry(BaseModel):
    name: str
    count: int


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    prefix = f"test:cache:{uuid.uuid4().hex}"
    yield prefix
    redis = get_async_redis()
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)


def _down() -> aioredis.Redis:
    # Port 1 refuses connections on loopback: a real ConnectionError, at once.
    return aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)


async def test_values_round_trip_with_their_ttl(prefix: str) -> None:
    cache = RedisJsonCache(get_async_redis(), name="Test")

    await cache.set(f"{prefix}:a", Entry(name="a", count=1), ttl=60)
    await cache.set_many({f"{prefix}:b": Entry(name="b", count=2)}, ttl=60)

    assert await cache.get(f"{prefix}:a", Entry) == Entry(name="a", count=1)
    assert await cache.get_many([f"{prefix}:b", f"{prefix}:none"], Entry) == [
        Entry(name="b", count=2),
        None,
    ]
    assert 0 < await get_async_redis().ttl(f"{prefix}:a") <= 60
    assert await cache.get_many([], Entry) == []


async def test_a_ttl_below_one_second_is_one_second(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RedisJsonCache(get_async_redis(), name="Test")

    with caplog.at_level(logging.WARNING, logger="core.cache"):
        await cache.set(f"{prefix}:short", Entry(name="s", count=0), ttl=0)

    # Redis refuses EX 0 (that would be a logged write failure): the entry was written with 1 s,
    # so it is still there with at most 1000 ms left, or already gone (-2), never kept (-1).
    assert caplog.records == []
    assert await get_async_redis().pttl(f"{prefix}:short") in (-2, *range(1001))


async def test_an_unreadable_entry_is_a_logged_miss(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RedisJsonCache(get_async_redis(), name="Test")
    await get_async_redis().set(f"{prefix}:old", '{"name": "old shape"}')
    await get_async_redis().set(f"{prefix}:junk", b"\x00not json")

    with caplog.at_level(logging.WARNING, logger="core.cache"):
        values = await cache.get_many([f"{prefix}:old", f"{prefix}:junk"], Entry)

    assert values == [None, None]
    assert [r.getMessage() for r in caplog.records] == [
        f"Test cache entry {prefix}:old unreadable: a miss",
        f"Test cache entry {prefix}:junk unreadable: a miss",
    ]


async def test_a_redis_that_is_down_is_a_logged_miss_and_a_write_that_does_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis = _down()
    cache = RedisJsonCache(redis, name="Test")

    with caplog.at_level(logging.WARNING, logger="core.cache"):
        got = await cache.get_many(["k1", "k2"], Entry)
        await cache.set("k1", Entry(name="a", count=1), ttl=60)
    await redis.aclose()

    assert got == [None, None]
    assert [r.getMessage() for r in caplog.records] == [
        "Test cache unavailable on read (ConnectionError)",
        "Test cache unavailable on write (ConnectionError)",
    ]
