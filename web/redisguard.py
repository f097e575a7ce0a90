"""Redis on a request path: a short overall deadline on every call and a
circuit breaker, so a hung Redis (stopped, not refused) costs a request at
most one deadline and, for the next few seconds, nothing at all.

Everything the web app asks of Redis is optional (rate limits fail open,
enqueues are caught up by the workers' sweep, /health reports the state),
so skipping Redis is always safe; queueing behind it is not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ideas.config import get_settings

log = logging.getLogger("touchpoint.redis")

T = TypeVar("T")


class RedisUnavailable(Exception):
    """Redis failed, took longer than the deadline, or is being skipped."""


class RedisGuard:
    """Runs work against one Redis client within `deadline_s`; after a
    failure, refuses at once for `cooldown_s` (then lets one call try)."""

    def __init__(
        self, redis: Any, deadline_s: float | None = None, cooldown_s: float | None = None
    ) -> None:
        settings = get_settings()
        self.redis = redis
        self.deadline_s = settings.redis_deadline_ms / 1000 if deadline_s is None else deadline_s
        self.cooldown_s = settings.redis_cooldown_s if cooldown_s is None else cooldown_s
        self.open_until = 0.0
        self.trips = 0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    async def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`await work(redis)` within the deadline; RedisUnavailable otherwise."""
        if self.redis is None:
            raise RedisUnavailable("Redis is not configured")
        if self.is_open:
            raise RedisUnavailable("Redis skipped after a recent failure")
        try:
            async with asyncio.timeout(self.deadline_s):
                return await work(self.redis)
        except Exception as exc:
            self.open_until = time.monotonic() + self.cooldown_s
            self.trips += 1
            log.warning(
                "Redis failed (%s: %s); skipping it for %.0f s",
                type(exc).__name__,
                exc,
                self.cooldown_s,
            )
            raise RedisUnavailable(f"{type(exc).__name__}: {exc}") from exc


def guard_of(state: Any) -> RedisGuard | None:
    """The app's guard around `state.redis` (made anew if Redis was replaced)."""
    redis = state.get("redis")
    if redis is None:
        return None
    guard = state.get("redis_guard")
    if guard is None or guard.redis is not redis:
        guard = RedisGuard(redis)
        state.redis_guard = guard
    return guard
