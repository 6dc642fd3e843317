"""The Jira cache: :class:`core.cache.RedisJsonCache` under keys scoped to one account **and** one
site, so that one user's results are never served to another (Jira filters by permission; so
must we), with a hit/miss metric per kind of entry.

A Redis error is a cache miss (logged by the helper): the data is still fetched from Jira.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import BaseModel

from core.cache import RedisJsonCache
from jira.metrics import CACHE

M = TypeVar("M", bound=BaseModel)
VERSION = "v1"  # bump when a cached model changes shape


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class JiraCache:
    def __init__(self, redis: aioredis.Redis, *, account_id: str, cloud_id: str) -> None:
        self.store = RedisJsonCache(redis, name="Jira")
        self.prefix = f"jira:{VERSION}:{account_id}:{cloud_id}"

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    async def get(self, kind: str, name: str, model: type[M]) -> M | None:
        return (await self.get_many(kind, [name], model))[0]

    async def get_many(self, kind: str, names: Sequence[str], model: type[M]) -> list[M | None]:
        values = await self.store.get_many([self.key(kind, n) for n in names], model)
        for value in values:
            CACHE.labels(kind, "miss" if value is None else "hit").inc()
        return values

    async def set(self, kind: str, name: str, value: BaseModel, ttl: int) -> None:
        await self.set_many(kind, {name: value}, ttl)

    async def set_many(self, kind: str, values: Mapping[str, BaseModel], ttl: int) -> None:
        await self.store.set_many({self.key(kind, n): v for n, v in values.items()}, ttl)
