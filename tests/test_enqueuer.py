"""outbox.Enqueuer: concurrent units of work's jobs sent to Redis together.

Against the test Redis: every caller's jobs are queued by the time it
returns, concurrent callers share script calls, an error reaches every
caller of its batch, and a caller that leaves early (its deadline) does not
take the others' jobs with it.
"""

from __future__ import annotations

import asyncio
import os
import warnings

import pytest
from arq.constants import job_key_prefix

from ideas import outbox
from web.app import make_redis


@pytest.fixture
async def redis():
    client = make_redis(os.environ["REDIS_URL"])
    yield client
    await client.aclose()


@pytest.fixture
def counted(monkeypatch):
    """The script calls the Enqueuer makes (each a list of the jobs it carried)."""
    calls: list[list] = []
    real = outbox.flush

    async def counting(events, redis_pool, raise_errors=False):
        calls.append(list(events))
        return await real(events, redis_pool, raise_errors=raise_errors)

    monkeypatch.setattr(outbox, "flush", counting)
    return calls


async def _queued(redis, event_id: int) -> bool:
    return bool(await redis.exists(job_key_prefix + outbox.job_id_for(event_id)))


async def test_each_caller_returns_with_its_jobs_queued_and_callers_share_calls(redis, counted):
    enqueuer = outbox.Enqueuer()

    async def unit_of_work(n: int) -> bool:
        await enqueuer.flush([10_000 + n, 20_000 + n], redis)
        # this caller's own jobs are in Redis when it returns
        return await _queued(redis, 10_000 + n) and await _queued(redis, 20_000 + n)

    answers = await asyncio.gather(*[unit_of_work(n) for n in range(40)])
    assert answers == [True] * 40
    # every job went out exactly once, in fewer calls than callers
    sent = sorted(job for call in counted for job in call)
    assert sent == sorted([10_000 + n for n in range(40)] + [20_000 + n for n in range(40)])
    assert 1 <= len(counted) < 40
    await enqueuer.close()


async def test_a_lone_caller_is_sent_at_once(redis, counted):
    enqueuer = outbox.Enqueuer()
    assert await enqueuer.flush([31], redis) == 1
    assert await _queued(redis, 31)
    assert counted == [[31]]
    assert await enqueuer.flush([], redis) == 0
    assert await enqueuer.flush([32], None) == 0
    assert counted == [[31]]


async def test_an_error_reaches_every_caller_of_its_batch():
    unreachable = make_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    enqueuer = outbox.Enqueuer()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "exception was never retrieved"
            results = await asyncio.gather(
                *[enqueuer.flush([40 + n], unreachable) for n in range(5)],
                return_exceptions=True,
            )
        assert len(results) == 5
        assert all(isinstance(r, Exception) for r in results), results
    finally:
        await unreachable.aclose()


async def test_a_caller_leaving_early_does_not_cancel_the_others(redis, counted):
    enqueuer = outbox.Enqueuer()
    leaving = asyncio.ensure_future(enqueuer.flush([51], redis))
    staying = asyncio.ensure_future(enqueuer.flush([52], redis))
    await asyncio.sleep(0)
    leaving.cancel()  # as the guard's deadline would
    assert await staying == 1
    assert await _queued(redis, 51) and await _queued(redis, 52)
    with pytest.raises(asyncio.CancelledError):
        await leaving
