"""The one clock the services read (`utcnow`). Tests that depend on the
time set it (`ideas.clock.set_clock`) instead of depending on when they run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable


def _system() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_clock: Callable[[], dt.datetime] = _system


def utcnow() -> dt.datetime:
    return _clock()


def set_clock(clock: Callable[[], dt.datetime] | None) -> None:
    """Replace the clock (None: the system clock again)."""
    global _clock
    _clock = clock or _system


__all__ = ["set_clock", "utcnow"]
