"""The product's one clock: every "now" and "today" the code reads comes from
here, in UTC. Tests that need a fixed time call `clock.set_clock` (or pass `now`
explicitly where a function takes it)."""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Callable


def _system() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_clock: Callable[[], dt.datetime] = _system
#: the `now` of the unit of work running in this task (set by ideas.context)
_moment: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "touchpoint_now", default=None
)


def now() -> dt.datetime:
    """The current time, timezone-aware UTC: the moment of the unit of work
    running (`ideas.context`), else the clock's (the system's, unless a test
    set it)."""
    moment = _moment.get()
    return moment if moment is not None else _clock()


def source_now() -> dt.datetime:
    """The clock itself (what a new unit of work takes as its `now`)."""
    return _clock()


def today() -> dt.date:
    """Today's date in UTC."""
    return now().date()


def set_clock(clock: Callable[[], dt.datetime] | None) -> None:
    """Replace the clock for every caller (None: the system clock again); tests."""
    global _clock
    _clock = clock or _system
