"""The per-account quota of AI requests (``AI_USER_REQUESTS_PER_MINUTE``), in Redis so that every
worker shares it.

``limits``' moving window (a Lua script over one Redis list per account: no burst of twice the
limit at a window boundary, as a fixed INCR+EXPIRE window would allow) on its redis-py asyncio
implementation, on the app's own connection pool (``core.redis``, one per event loop).
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from ai_proxy.errors import RateLimited, RequestStoreUnavailable
from core.http import per_loop
from core.redis import get_async_redis


def _limiter_build() -> MovingWindowRateLimiter:
    # The app's pool of this loop (core.redis), not a second one per process.
    storage = RedisStorage(
        "async+" + str(settings.REDIS_URL),
        implementation="redispy",
        key_prefix="quota:ai",
        # limits types its options narrowly, but its redis-py bridge takes a pool.
        connection_pool=get_async_redis().connection_pool,  # type: ignore[arg-type]
    )
    return MovingWindowRateLimiter(storage)


_limiters = per_loop(_limiter_build)


def _limiter() -> MovingWindowRateLimiter:
    return _limiters.get()


async def quota_hit(*, account_id: str) -> None:
    """Count one AI request of ``account_id``; 429 ``rate_limited`` with ``retry_after`` (the
    seconds until the oldest request of the window leaves it) when over the quota."""
    item = RateLimitItemPerMinute(int(settings.AI_USER_REQUESTS_PER_MINUTE))
    limiter = _limiter()
    try:
        if await limiter.hit(item, account_id):
            return
        stats = await limiter.get_window_stats(item, account_id)
    except RedisError as exc:
        raise RequestStoreUnavailable() from exc
    raise RateLimited(retry_after=max(1, math.ceil(stats.reset_time - time.time())))
