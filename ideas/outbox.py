"""The outbox: events written in the change's transaction, enqueued after commit.

A service calls `record_event(...)` inside its transaction. The event ids
are collected for the surrounding unit of work (a web request, a CLI call, a
job); `flush()` enqueues one job per event after the commit with a
deterministic job id. Whatever is not enqueued (a crash, Redis down) is
found by the workers' periodic sweep, so delivery is delayed, never lost.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from ideas import clock, figures
from ideas.tables import Event

log = logging.getLogger("touchpoint.outbox")

_pending: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "touchpoint_pending_events", default=None
)

#: arq function name of the per-event delivery job
DELIVER_EVENT = "deliver_event"


def job_id_for(event_id: int) -> str:
    return f"event:{event_id}"


#: arq queue of the indexing jobs (similar-search terms, embeddings): their own
#: queue and worker slots, so a backlog of them (a burst of submits, a model
#: change) never delays the delivery of notices on the default queue
INDEX_QUEUE = "arq:queue:index"


#: Redis hash where workers count job outcomes, "<job>:<outcome>" → n (/health)
JOB_STATS_KEY = "touchpoint:job_stats"


async def record_event(
    *,
    idea_id: int | None,
    kind: str,
    status: str = "",
    note: str = "",
    actor_label: str = "System",
    actor_id: UUID | None = None,
    session_id: int | None = None,
    public: bool = True,
    data: dict[str, Any] | None = None,
    created_at: dt.datetime | None = None,
) -> int:
    """Insert an Event (call inside the change's transaction) and remember it
    for `flush()` after the commit."""
    event = Event(
        idea=idea_id,
        kind=kind,
        status=status,
        note=note,
        actor_label=actor_label,
        actor=actor_id,
        session=session_id,
        public=public,
        data=data or {},
    )
    # the services' clock, or the moment of its batch (ideas.publish)
    event.created_at = created_at or clock.now()
    await event.save().run()
    if kind == "status":
        # every status change is counted by the leadership figures: their
        # kept copies are stale from this transaction on
        await figures.bump()
    pending = _pending.get()
    if pending is not None:
        pending.append(event.id)
    return event.id


def record_job(function: str, *args: Any, job_id: str, queue: str | None = None) -> None:
    """Ask for an arq job to be enqueued after the commit, with the events (a
    job that only reads committed state and that a periodic sweep re-creates
    when it is lost, e.g. embedding a submitted idea), on `queue` (arq's
    default queue when None)."""
    pending = _pending.get()
    if pending is not None:
        pending.append((function, args, job_id, queue))


@contextmanager
def collecting(events: list | None = None) -> Iterator[list]:
    """Collect the ids of events recorded inside the block (into `events`)."""
    events = [] if events is None else events
    token = _pending.set(events)
    try:
        yield events
    finally:
        _pending.reset(token)


#: arq's enqueue (`ArqRedis.enqueue_job`: skip a job whose id is queued or
#: has a result, else store it and add it to its queue) for every job of a
#: unit of work in one atomic script, one round trip: enqueue_job makes
#: three (WATCH, EXISTS, MULTI/EXEC) a job — a third of a create's CPU.
#: KEYS: job key, result key, queue, per job; ARGV: id, payload, score, ttl.
_ENQUEUE_LUA = """
local queued = 0
for i = 0, #KEYS / 3 - 1 do
  if redis.call('EXISTS', KEYS[3 * i + 1], KEYS[3 * i + 2]) == 0 then
    redis.call('PSETEX', KEYS[3 * i + 1], ARGV[4 * i + 4], ARGV[4 * i + 2])
    redis.call('ZADD', KEYS[3 * i + 3], ARGV[4 * i + 3], ARGV[4 * i + 1])
    queued = queued + 1
  end
end
return queued
"""
_enqueue_script: Any = None


def _jobs_of(events: list) -> list[tuple[str, tuple, str, str | None]]:
    jobs = []
    for event_id in events:
        if isinstance(event_id, tuple):
            function, args, job_id, queue = event_id
            jobs.append((function, tuple(args), job_id, queue))
        else:
            jobs.append((DELIVER_EVENT, (event_id,), job_id_for(event_id), None))
    return jobs


async def flush(events: list[int], redis_pool: Any | None, raise_errors: bool = False) -> int:
    """Enqueue one job per event (and each job recorded), as arq's
    `enqueue_job` would, all in one round trip; a failure is logged, not
    raised (the sweep catches up) unless `raise_errors`. Returns how many
    were handed to Redis (a job already queued under its id counts, as
    before: arq skips it)."""
    global _enqueue_script
    if not events or redis_pool is None:
        return 0
    keys: list[str] = []
    argv: list[Any] = []
    at = timestamp_ms()
    for function, args, job_id, queue in _jobs_of(events):
        payload = serialize_job(function, args, {}, None, at, serializer=redis_pool.job_serializer)
        keys += [job_key_prefix + job_id, result_key_prefix + job_id]
        keys.append(queue or redis_pool.default_queue_name)
        argv += [job_id, payload, at, redis_pool.expires_extra_ms]
    try:
        if _enqueue_script is None:
            _enqueue_script = redis_pool.register_script(_ENQUEUE_LUA)
        await _enqueue_script(keys=keys, args=argv, client=redis_pool)
    except Exception as exc:  # Redis down: the sweep will find the events
        if raise_errors:
            raise
        log.warning("enqueue of events %s failed (%s); the sweep will retry", events, exc)
        return 0
    return len(events)


class Enqueuer:
    """A web process's enqueues after commits, sent together: one script call
    (`flush`) at a time per Redis client, carrying the jobs of every unit of
    work that finished while the previous call was on its way. Each caller
    still returns only once its own jobs are in Redis (or with the error of
    its batch), as with `flush`; under load a process makes one Redis call
    for several requests instead of one each (a sixth of a create's CPU in
    process was its own call)."""

    def __init__(self) -> None:
        #: Redis client -> (jobs waiting, what their callers wait on)
        self._waiting: dict[Any, tuple[list, asyncio.Future]] = {}
        self._sender: asyncio.Task | None = None

    async def flush(self, events: list, redis_pool: Any | None) -> int:
        """Like `flush(events, redis_pool, raise_errors=True)`."""
        if not events or redis_pool is None:
            return 0
        loop = asyncio.get_running_loop()
        batch = self._waiting.get(redis_pool)
        if batch is None:
            batch = self._waiting[redis_pool] = ([], loop.create_future())
            # an error nobody waits for any more (callers past their
            # deadline) is not "never retrieved"
            batch[1].add_done_callback(_retrieve)
        batch[0].extend(events)
        if self._sender is None or self._sender.done():
            self._sender = loop.create_task(self._send())
        # a caller leaving (its deadline) does not cancel the others' call
        await asyncio.shield(batch[1])
        return len(events)

    async def _send(self) -> None:
        while self._waiting:
            redis_pool, (events, done) = self._waiting.popitem()
            try:
                await flush(events, redis_pool, raise_errors=True)
            except Exception as exc:  # each caller logs it (and its guard trips)
                done.set_exception(exc)
            except BaseException:  # cancelled at shutdown: the sweep will enqueue them
                done.set_exception(RuntimeError("enqueue interrupted by shutdown"))
                raise
            else:
                done.set_result(None)

    async def close(self) -> None:
        """Wait for the call on its way (at shutdown)."""
        if self._sender is not None and not self._sender.done():
            await asyncio.wait([self._sender], timeout=5)


def _retrieve(done: asyncio.Future) -> None:
    if not done.cancelled():
        done.exception()
