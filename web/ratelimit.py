"""Fixed-window rate limits shared through Redis, failing open while Redis
is down or slow (every call goes through the app's `RedisGuard`: a short
deadline, then Redis is skipped for a few seconds). The hot limits (`hit`)
count in the process and sync with Redis every few requests, not on each."""

from __future__ import annotations

import logging
import time
import weakref

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


#: pending counts are added to Redis at least this often (seconds) ...
SYNC_SECONDS = 0.25
#: ... or once this many requests were counted in this process since the last sync
SYNC_EVERY = 32


#: every limiter of this process (see `forget_local_counts`)
_limiters: weakref.WeakSet[RateLimiter] = weakref.WeakSet()


def forget_local_counts() -> None:
    """Every limiter of this process forgets its local counts: after Redis's
    rate-limit keys were deleted (the test suite empties Redis per test)."""
    for limiter in list(_limiters):
        limiter.forget_local_counts()


class RateLimiter:
    """`hit` counts in this process and adds its counts to the shared
    counter in Redis in one pipeline every SYNC_EVERY requests or
    SYNC_SECONDS, not on every request. A request is refused only once Redis
    confirms the limit is passed (its count added first), so a single
    process refuses exactly as a counter in Redis would; several processes
    together may let through, per person and window, what the others
    counted since their last sync (at most SYNC_EVERY requests or
    SYNC_SECONDS each) beyond the limit."""

    def __init__(self, redis, prefix: str = "tp:rl:", guard: RedisGuard | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.guard = guard if guard is not None else RedisGuard(redis)
        #: key -> this process's count not yet added to Redis
        self._pending: dict[str, int] = {}
        #: key -> the shared count Redis answered at the last sync
        self._shared: dict[str, int] = {}
        self._pending_total = 0
        self._synced_at = time.monotonic()
        _limiters.add(self)

    def forget_local_counts(self) -> None:
        """Drop what this process counted and learnt (Redis's counters were
        emptied: what is pending would be added to nothing it belongs to)."""
        self._pending, self._shared, self._pending_total = {}, {}, 0

    async def hit(self, name: str, who: str, limit: int | None = None) -> None:
        """Count one request of kind `name` by `who`; raise RateLimited (429)
        past the limit (requests per minute, from the settings; 0 = off)."""
        if limit is None:
            limit = get_settings().rate_limits.get(name, 0)
        if not limit or self.redis is None:
            return
        key = f"{self.prefix}{name}:{who}:{current_window()}"
        pending = self._pending[key] = self._pending.get(key, 0) + 1
        self._pending_total += 1
        over = self._shared.get(key, 0) + pending > limit
        if not (
            over
            or self._pending_total >= SYNC_EVERY
            or time.monotonic() - self._synced_at >= SYNC_SECONDS
        ):
            return
        try:
            await self.sync()
        except RedisUnavailable as exc:  # fail open: a Redis outage never locks people out
            log.warning("rate limit %s not checked: %s", name, exc)
            return
        if self._shared.get(key, 0) > limit:
            raise RateLimited(retry_after())

    async def sync(self) -> None:
        """Add this process's pending counts to Redis and learn the shared
        totals, in one round trip. On failure the pending counts are dropped
        (RedisUnavailable): while Redis is away nothing is refused."""
        pending, self._pending, self._pending_total = self._pending, {}, 0
        self._synced_at = time.monotonic()
        window = f":{current_window()}"
        # counts of past windows are over: forget them
        self._shared = {k: v for k, v in self._shared.items() if k.endswith(window)}
        pending = {k: n for k, n in pending.items() if k.endswith(window)}
        if not pending:
            return

        async def add(redis) -> list:
            pipe = redis.pipeline(transaction=False)
            for key, n in pending.items():
                pipe.incrby(key, n)
                pipe.expire(key, WINDOW_SECONDS + 5)
            return await pipe.execute()

        answers = await self.guard.run(add)
        for (key, _n), total in zip(pending.items(), answers[::2], strict=True):
            self._shared[key] = int(total)

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
        self._pending_total -= self._pending.pop(key, 0)
        self._shared.pop(key, None)
        try:
            await self.guard.run(lambda redis: redis.delete(key))
        except RedisUnavailable:
            pass
