"""The outbox: events written in the change's transaction, enqueued after commit.

A service calls `record_event(...)` inside its transaction. The event ids
are collected for the surrounding unit of work (a web request, a CLI call, a
job); `flush()` enqueues one job per event after the commit with a
deterministic job id. Whatever is not enqueued (a crash, Redis down) is
found by the workers' periodic sweep, so delivery is delayed, never lost.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from ideas.tables import Event

log = logging.getLogger("touchpoint.outbox")

_pending: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "touchpoint_pending_events", default=None
)

#: arq function name of the per-event delivery job
DELIVER_EVENT = "deliver_event"


def job_id_for(event_id: int) -> str:
    return f"event:{event_id}"


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
    await event.save().run()
    pending = _pending.get()
    if pending is not None:
        pending.append(event.id)
    return event.id


@contextmanager
def collecting() -> Iterator[list[int]]:
    """Collect the ids of events recorded inside the block."""
    events: list[int] = []
    token = _pending.set(events)
    try:
        yield events
    finally:
        _pending.reset(token)


async def flush(events: list[int], redis_pool: Any | None, raise_errors: bool = False) -> int:
    """Enqueue one delivery job per event; failures are logged, not raised
    (the sweep catches up) unless `raise_errors`. Returns how many were
    handed to Redis."""
    if not events or redis_pool is None:
        return 0
    sent = 0
    for event_id in events:
        try:
            await redis_pool.enqueue_job(DELIVER_EVENT, event_id, _job_id=job_id_for(event_id))
            sent += 1
        except Exception as exc:  # Redis down: the sweep will find the event
            if raise_errors:
                raise
            log.warning("enqueue of event %s failed (%s); the sweep will retry", event_id, exc)
            break
    return sent
