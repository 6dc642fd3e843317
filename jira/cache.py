"""The Jira cache in Redis: JSON values (pydantic models), keyed by account **and** site so that
one user's results are never served to another (Jira filters by permission; so must we).

A Redis error is a cache miss (logged): the data is still fetched from Jira.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from jira.metrics import CACHE

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
VERSION = "v1"  # bump when a cached model changes shape


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class JiraCache:
    def __init__(self, redis: aioredis.Redis, *, account_id: str, cloud_id: str) -> None:
        self.redis = redis
        self.prefix = f"jira:{VERSION}:{account_id}:{cloud_id}"

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    async def get(self, kind: str, name: str, model: type[M]) -> M | None:
        return (await self.get_many(kind, [name], model))[0]

    async def get_many(self, kind: str, names: Sequence[str], model: type[M]) -> list[M | None]:
        if not names:
            return []
        try:
            raws = await self.redis.mget([self.key(kind, n) for n in names])
        except RedisError:
            logger.warning("Jira cache unavailable (Redis): reading from Jira")
            raws = [None] * len(names)
        out: list[M | None] = []
        for raw in raws:
            value = None
            if raw is not None:
                try:
                    value = model.model_validate_json(raw)
                except ValidationError:
                    value = None
            CACHE.labels(kind, "miss" if value is None else "hit").inc()
            out.append(value)
        return out

    async def set(self, kind: str, name: str, value: BaseModel, ttl: int) -> None:
        await self.set_many(kind, {name: value}, ttl)

    async def set_many(self, kind: str, values: dict[str, BaseModel], ttl: int) -> None:
        if not values:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name, value in values.items():
                    pipe.set(self.key(kind, name), value.model_dump_json(), ex=max(1, ttl))
                await pipe.execute()
        except RedisError:
            logger.warning("Jira cache unavailable (Redis): not cached")
