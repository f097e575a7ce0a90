"""Batched publication of what a submitter does (PUBLISH_DELAY_MINUTES).

A new idea, a comment shown as "Submitter" and a submitter's answer to the
council become visible to anyone but their author at the next multiple of
`PUBLISH_DELAY_MINUTES` (UTC, counted from the Unix epoch, so from midnight
whenever the delay divides a day) after they were made, together with
everything else made in that window. Until then the author sees them marked
"visible to colleagues from HH:MM". So polling the board, the comments or
the triage queue tells an observer only the window, never the minute, of
what a submitter did; and mail and notices caused by an answer are made at
the window's end (`publish_due`), so their time and `Date:` say no more.

Reads compare with `ideas.clock.now()` (tests set that clock); a
delay of 0 publishes at once.
"""

from __future__ import annotations

import datetime as dt

from ideas.config import get_settings

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def delay_minutes() -> int:
    return get_settings().publish_delay_minutes


def visible_from(made_at: dt.datetime, minutes: int | None = None) -> dt.datetime:
    """When something made at `made_at` becomes visible to others: the next
    multiple of `minutes` after it (strictly), or `made_at` itself for 0."""
    minutes = delay_minutes() if minutes is None else minutes
    if made_at.tzinfo is None:
        made_at = made_at.replace(tzinfo=dt.UTC)
    if minutes <= 0:
        return made_at
    step = minutes * 60
    seconds = int((made_at - _EPOCH).total_seconds() // step) * step + step
    return _EPOCH + dt.timedelta(seconds=seconds)


def since_batch(now: dt.datetime, minutes: int | None = None) -> dt.timedelta | None:
    """How long ago the latest batch came out (``None`` for a delay of 0:
    there are no batches)."""
    minutes = delay_minutes() if minutes is None else minutes
    if minutes <= 0:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return dt.timedelta(seconds=(now - _EPOCH).total_seconds() % (minutes * 60))


def is_pending(visible_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Not yet visible to others (None: visible, as everything made before
    batching existed)."""
    if visible_at is None:
        return False
    if visible_at.tzinfo is None:
        visible_at = visible_at.replace(tzinfo=dt.UTC)
    return visible_at > now


__all__ = ["delay_minutes", "is_pending", "since_batch", "visible_from"]
