"""The events channels subscribe to, and the release windows: a channel
learns of new ideas and comments in batches at multiples of
PUBLISH_DELAY_MINUTES (UTC), the same rule as `ideas.publish`."""

from __future__ import annotations

import datetime as dt

from ideas.config import get_settings
from ideas.publish import visible_from

#: event names a webhook may subscribe to (docs/api.md, "Added in v1.1")
EVENTS = (
    "idea.submitted",
    "idea.status_changed",
    "idea.shipped",
    "idea.merged",
    "comment.created",
)
#: arq function name of one attempt of a delivery (workers.tasks.deliver_webhook)
DELIVER_WEBHOOK = "deliver_webhook"


def job_id(delivery_id: int, attempts: int) -> str:
    """One job per attempt of a delivery: a retry gets a new job, a repeated
    enqueue of the same attempt (sweep, crash) does not."""
    return f"webhook:{delivery_id}:{attempts}"


#: what a chat channel (Slack, Teams) receives
CHAT_EVENTS = ("idea.shipped", "summary.weekly")
KINDS = ("webhook", "slack", "teams")

#: how far back the release job looks for ideas and comments not yet delivered
LOOKBACK = dt.timedelta(days=7)


# -- release windows ------------------------------------------------------------------------


def period() -> dt.timedelta:
    return dt.timedelta(minutes=get_settings().publish_delay_minutes)


def last_boundary(now: dt.datetime, step: dt.timedelta | None = None) -> dt.datetime:
    """The latest release boundary at or before `now`: a multiple of `step`
    counted from the Unix epoch (UTC), the same rule as `ideas.publish`."""
    step = period() if step is None else step
    if step <= dt.timedelta(0):
        return now
    return visible_from(now, _minutes(step)) - step


def release_at(made: dt.datetime, step: dt.timedelta | None = None) -> dt.datetime:
    """When something made at `made` may be seen by others: exactly
    `ideas.publish.visible_from` (one rule for the product and channels)."""
    step = period() if step is None else step
    return visible_from(made, _minutes(step))


def _minutes(step: dt.timedelta) -> int:
    return max(0, int(step.total_seconds() // 60))


def released(published_at: dt.datetime | None, made: dt.datetime, step: dt.timedelta):
    """When a row is released: its own `published_at` where it has one (the
    moment the product shows it to others), else the next boundary."""
    if published_at is not None:
        return published_at if published_at.tzinfo else published_at.replace(tzinfo=dt.UTC)
    return release_at(made, step)
