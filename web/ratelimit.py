"""Fixed-window rate limits on Redis, failing open while Redis is down or
slow (every call goes through the app's `RedisGuard`: a short deadline, then
Redis is skipped for a few seconds)."""

from __future__ import annotations

import logging
import time

from ideas.config import get_settings
from ideas.errors import RateLimited
from web.redisguard import RedisGuard, RedisUnavailable

log = logging.getLogger("touchpoint.ratelimit")

WINDOW_SECONDS = 60


def current_window() -> int:
    return int(time.time() // WINDOW_SECONDS)


def retry_after() -> int:
    """Seconds until the current window ends (when every count starts again)."""
    return max(WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS, 1)


class RateLimiter:
    def __init__(self, redis, prefix: str = "tp:rl:", guard: RedisGuard | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.guard = guard if guard is not None else RedisGuard(redis)

    async def hit(self, name: str, who: str, limit: int | None = None) -> None:
        """Count one request of kind `name` by `who`; raise RateLimited (429)
        past the limit (requests per minute, from the settings; 0 = off)."""
        if limit is None:
            limit = get_settings().rate_limits.get(name, 0)
        if not limit or self.redis is None:
            return
        key = f"{self.prefix}{name}:{who}:{current_window()}"

        async def count(redis) -> int:
            pipe = redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS + 5)
            value, _ = await pipe.execute()
            return value

        try:
            value = await self.guard.run(count)
        except RedisUnavailable as exc:  # fail open: a Redis outage never locks people out
            log.warning("rate limit %s not checked: %s", name, exc)
            return
        if value > limit:
            raise RateLimited(retry_after())

    @staticmethod
    def limit_of(name: str) -> int:
        return get_settings().rate_limits.get(name, 0)

    async def refuse_past(self, name: str, who: str) -> None:
        """RateLimited (429) when `who` already reached the limit of `name`
        in this window; counts nothing (see `count`)."""
        limit = self.limit_of(name)
        if limit and self.redis is not None and await self.peek(name, who) >= limit:
            raise RateLimited(retry_after())

    async def count(self, name: str, who: str) -> None:
        """Count one event of `name` by `who` (a failed password check) without
        refusing this request: `refuse_past` refuses the next ones."""
        if not self.limit_of(name) or self.redis is None:
            return
        key = f"{self.prefix}{name}:{who}:{current_window()}"
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS + 5)
            await pipe.execute()
        except Exception as exc:  # fail open
            log.warning("rate limit %s not counted: %s", name, exc)

    async def peek(self, name: str, who: str) -> int:
        if self.redis is None:
            return 0
        key = f"{self.prefix}{name}:{who}:{current_window()}"
        try:
            value = await self.guard.run(lambda redis: redis.get(key))
        except RedisUnavailable:
            return 0
        return int(value or 0)

    async def reset(self, name: str, who: str) -> None:
        if self.redis is None:
            return
        key = f"{self.prefix}{name}:{who}:{current_window()}"
        try:
            await self.guard.run(lambda redis: redis.delete(key))
        except RedisUnavailable:
            pass
