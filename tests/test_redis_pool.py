"""The web app's Redis client: its pool checks connections outside its lock.

redis-py 5.3's default asyncio pool holds one lock while it checks each
connection before a command, and with hiredis the check waits a turn of the
event loop: under load every Redis call of a process queued behind the
others', the enqueue after a commit passed the guard's deadline and the guard
then skipped Redis for seconds at a time (issue 18's create run, p99 ~420 ms).
These tests pin the property without a clock: two calls are let into the
connection check together, and a burst of calls is all answered by a real
Redis without tripping the guard.
"""

from __future__ import annotations

import asyncio
import os

from web.app import REDIS_MAX_CONNECTIONS, make_redis
from web.redisguard import RedisGuard


async def test_two_calls_check_their_connections_at_the_same_time():
    redis = make_redis(os.environ["REDIS_URL"])
    pool = redis.connection_pool
    entered: list[int] = []
    release = asyncio.Event()
    real_check = pool.ensure_connection

    async def held_check(connection):
        entered.append(id(connection))
        await release.wait()
        await real_check(connection)

    pool.ensure_connection = held_check
    try:
        first = asyncio.ensure_future(pool.get_connection())
        second = asyncio.ensure_future(pool.get_connection())
        for _ in range(20):  # let both run as far as they can
            await asyncio.sleep(0)
        # with the lock held across the check, the second would still wait
        # for the first's check to end
        assert len(entered) == 2, "the second call waited for the first one's connection check"
        assert entered[0] != entered[1]
        release.set()
        connections = await asyncio.gather(first, second)
        for connection in connections:
            await pool.release(connection)
    finally:
        release.set()
        pool.ensure_connection = real_check
        await redis.aclose()


async def test_a_burst_of_calls_is_answered_without_tripping_the_guard():
    redis = make_redis(os.environ["REDIS_URL"])
    guard = RedisGuard(redis)
    try:
        answers = await asyncio.gather(
            *[guard.run(lambda r: r.ping()) for _ in range(2 * REDIS_MAX_CONNECTIONS)]
        )
        assert answers == [True] * (2 * REDIS_MAX_CONNECTIONS)
        assert guard.trips == 0
        # never more connections than the bound, however many calls wait
        pool = redis.connection_pool
        assert len(pool._in_use_connections) + len(pool._available_connections) <= (
            REDIS_MAX_CONNECTIONS
        )
    finally:
        await redis.aclose()
