"""One unit of work, the same from every door.

Every entry point — a web request, a CLI command, the demo, an arq job —
calls the domain through a `Context`:

- `actor`: who acts — a `Viewer` (a person) or a `System` (the command line,
  the demo, a worker job, the sign-in page before anyone signed in); never
  None, so every audit entry and every permission check has someone to name;
- `now`: the moment of this unit of work, the only clock the domain reads
  (`ideas.clock.now()` answers it while the context is current; tests freeze
  it through `clock.set_clock`, which every new context reads);
- `settings`: the configuration, parsed and validated once (`ideas.config`);
- `events`: what this unit of work put in the outbox, flushed after commit.

`unit_of_work(actor)` opens the context, collects the outbox events of the
work, and after the commit hands them to Redis (`outbox.flush`).
`run(actor, use_case, *args)` is the one-call form: `use_case(ctx, *args)`.

The rule, the same for every door:

- one use-case call = one transaction, opened by the use case: every service
  the doors call opens its own (`ideas.db.write_transaction`, joined when one
  is already open), so the doors open their unit of work with
  `transaction=False` (the default `True` is for a caller that wants several
  calls to commit together; the demo does so itself, one transaction for its
  whole history);
- one outbox flush after the commit, of the events the unit of work
  collected; whatever is not handed to Redis (Redis not set or down) is
  delivered by the workers' sweep after its grace period, never lost:
  - the web opens the context in its middleware (`web.app.UnitOfWorkMiddleware`),
    hands it to controllers as the `ctx` dependency, and flushes after the
    response (through its Redis guard);
  - an arq job flushes through `unit_of_work(redis=...)` (`workers.tasks`);
  - the command line flushes after the command's work when REDIS_URL is set
    (`touchpoint.cli._run_db`);
  - the demo does not flush: its history is delivered in-app and marked not
    to be mailed before its commit (`touchpoint.demo`), so a first run sends
    no mail.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ideas import clock, outbox

# at run time, not only for type checkers: the web reads Context's annotations
# to inject it into handlers (`ctx: NamedDependency[Context]`)
from ideas.config import Settings
from ideas.viewer import ROLES, Viewer

T = TypeVar("T")


@dataclass(frozen=True)
class System:
    """An actor that is not a person: the command line, the demo, a worker
    job. It carries the roles it acts with (the command line is trusted with
    every role; a visitor who has not signed in has none)."""

    name: str
    roles: frozenset[str] = frozenset(ROLES)
    id: None = None

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_council(self) -> bool:
        return "council" in self.roles

    @property
    def is_leader(self) -> bool:
        return "leader" in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def label(self) -> str:
        """How audit entries and timelines name it."""
        return self.name


#: the actors the doors use
COMMAND_LINE = System("command line")
DEMO = System("demo")
WORKER = System("worker")
VISITOR = System("visitor", roles=frozenset())

Actor = Viewer | System


@dataclass(frozen=True)
class Context:
    actor: Actor
    now: dt.datetime
    settings: Settings
    events: list = field(default_factory=list)

    @property
    def person(self) -> Viewer | None:
        """The acting person, or None when the system acts."""
        return self.actor if isinstance(self.actor, Viewer) else None

    @property
    def is_system(self) -> bool:
        return isinstance(self.actor, System)


_current: contextvars.ContextVar[Context | None] = contextvars.ContextVar(
    "touchpoint_context", default=None
)


def current() -> Context | None:
    """The context of the unit of work running in this task, if any."""
    return _current.get()


def make(actor: Actor, *, now: dt.datetime | None = None, settings: Settings | None = None):
    """A context for `actor` at `now` (the clock's, by default)."""
    if actor is None:
        raise ValueError("a context needs an actor (a person or a System), never None")
    if settings is None:
        from ideas.config import get_settings

        settings = get_settings()
    return Context(actor=actor, now=now or clock.source_now(), settings=settings)


@asynccontextmanager
async def unit_of_work(
    actor: Actor,
    *,
    redis: Any | None = None,
    now: dt.datetime | None = None,
    transaction: bool = True,
    flush: bool = True,
) -> AsyncIterator[Context]:
    """Open a context (and one write transaction unless `transaction=False`),
    collect the outbox events recorded inside, and after the commit enqueue
    them on `redis` (when given; otherwise the workers' sweep finds them)."""
    ctx = make(actor, now=now)
    token = _current.set(ctx)
    moment = clock._moment.set(ctx.now)
    try:
        with outbox.collecting(ctx.events):
            if transaction:
                from ideas.db import write_transaction

                async with write_transaction():
                    yield ctx
            else:
                yield ctx
    finally:
        clock._moment.reset(moment)
        _current.reset(token)
    if flush and redis is not None:
        await outbox.flush(ctx.events, redis)


async def run(
    actor: Actor,
    use_case: Callable[..., Awaitable[T]],
    *args: Any,
    redis: Any | None = None,
    transaction: bool = True,
    **kwargs: Any,
) -> T:
    """`use_case(ctx, *args, **kwargs)` in one unit of work."""
    async with unit_of_work(actor, redis=redis, transaction=transaction) as ctx:
        return await use_case(ctx, *args, **kwargs)


def actor_label(actor: Actor) -> str:
    """The actor as an audit entry names it."""
    return actor.label if isinstance(actor, System) else actor.email
