"""Leadership answers kept in this process for a while.

Kept by (what, period, k, SLA days, figures version): the figures read every
shipped idea, submission and vote of the period (~75 ms of app and ~70 ms of
database CPU for the leaderboard at 100,000 ideas), and leadership needs
them to the minute, not to the vote. The org settings they depend on are in
the key, so a stricter k-anonymity applies at once; so is
`ideas.figures.current()`, bumped with every decision, ship and credit
choice, so those show at once too. Votes and submissions show within
`Settings.leaders_cache_seconds` (0: always computed).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ideas import figures
from ideas.context import Context
from ideas.leadership.periods import Period
from ideas.org_settings import get_setting

T = TypeVar("T")

_KEPT: dict[tuple[str, str, int, int, int], tuple[float, object]] = {}


async def reused(ctx: Context, what: str, p: Period, compute: Callable[[], Awaitable[T]]) -> T:
    """`compute()`, or the answer kept for the same key within the TTL."""
    ttl = ctx.settings.leaders_cache_seconds
    if ttl <= 0:
        return await compute()
    key = (
        what,
        p.label,
        await get_setting("k_anonymity"),
        await get_setting("triage_sla_days"),
        await figures.current(),
    )
    now = time.monotonic()
    kept = _KEPT.get(key)
    if kept is not None and now - kept[0] < ttl:
        return kept[1]  # type: ignore[return-value]
    value = await compute()
    if len(_KEPT) > 256:  # periods are few and settings rarely change: bounded anyway
        _KEPT.clear()
    _KEPT[key] = (now, value)
    return value


def forget_kept_figures() -> None:
    """Drop the kept leadership answers (tests; a process that must not wait)."""
    _KEPT.clear()
