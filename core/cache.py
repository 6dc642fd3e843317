"""The one Redis cache of pydantic models, stored as JSON.

A cache must never cost the answer: a Redis error (down, timeout, refused command) is a miss on
read and a no-op on write, and an entry that no longer reads as the model (written by an older
shape, or damaged) is a miss; each is logged and the caller recomputes. Keys are the caller's:
they carry whatever scopes an entry (account, site, version).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class RedisJsonCache:
    def __init__(self, redis: aioredis.Redis, *, name: str) -> None:
        self.redis = redis
        self.name = name  # says in the logs which cache missed

    async def get(self, key: str, model: type[M]) -> M | None:
        return (await self.get_many([key], model))[0]

    async def get_many(self, keys: Sequence[str], model: type[M]) -> list[M | None]:
        """One round trip (MGET) for all ``keys``; None for each miss."""
        if not keys:
            return []
        try:
            raws = await self.redis.mget(list(keys))
        except RedisError as exc:
            logger.warning("%s cache unavailable on read (%s)", self.name, type(exc).__name__)
            return [None] * len(keys)
        return [self._read(key, raw, model) for key, raw in zip(keys, raws, strict=True)]

    def _read(self, key: str, raw: bytes | str | None, model: type[M]) -> M | None:
        if raw is None:
            return None
        try:
            return model.model_validate_json(raw)
        except ValidationError:
            logger.warning("%s cache entry %s unreadable: a miss", self.name, key)
            return None

    async def set(self, key: str, value: BaseModel, ttl: int) -> None:
        await self.set_many({key: value}, ttl)

    async def set_many(self, values: Mapping[str, BaseModel], ttl: int) -> None:
        """All ``values`` in one round trip, each expiring after ``ttl`` seconds (at least 1)."""
        if not values:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, value in values.items():
                    pipe.set(key, value.model_dump_json(), ex=max(1, ttl))
                await pipe.execute()
        except RedisError as exc:
            logger.warning("%s cache unavailable on write (%s)", self.name, type(exc).__name__)
