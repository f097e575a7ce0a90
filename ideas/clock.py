"""The product's one clock: every "now" and "today" the code reads comes from
here, in UTC. Tests that need a fixed time patch `clock.now` (or pass `now`
explicitly where a function takes it)."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date in UTC."""
    return now().date()
