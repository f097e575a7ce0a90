"""Periods of the leadership figures: "all", or a calendar quarter "YYYY-Qn"
(UTC); and which quarters are closed, so participation may be published."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ideas.errors import Invalid
from ideas.tables import Idea

_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Period:
    label: str
    #: inclusive start, exclusive end (UTC); both None for "all"
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    quarter: tuple[int, int] | None = None

    def contains(self, at: dt.datetime | None) -> bool:
        if at is None:
            return False
        if self.start is None or self.end is None:
            return True
        return self.start <= at < self.end

    @property
    def starts_on(self) -> dt.date | None:
        return self.start.date() if self.start else None

    @property
    def ends_on(self) -> dt.date | None:
        return (self.end - dt.timedelta(days=1)).date() if self.end else None


def quarter_of(at: dt.datetime | dt.date) -> tuple[int, int]:
    return at.year, (at.month - 1) // 3 + 1


def quarter_start(year: int, quarter: int) -> dt.datetime:
    return dt.datetime(year, 3 * (quarter - 1) + 1, 1, tzinfo=dt.UTC)


def shift_quarter(year: int, quarter: int, by: int) -> tuple[int, int]:
    index = year * 4 + (quarter - 1) + by
    return index // 4, index % 4 + 1


def quarter_label(year: int, quarter: int) -> str:
    return f"{year:04d}-Q{quarter}"


def parse_period(raw: str | None) -> Period:
    """`all` (the default) or `YYYY-Qn`; anything else is a 422 naming `period`."""
    value = "all" if raw is None else raw
    if value == "all":
        return Period("all")
    match = _PERIOD.match(value)
    year = int(match.group(1)) if match else 0
    if not match or not 1970 <= year <= 9998:
        raise Invalid("period", "must be 'all' or a quarter like '2026-Q3'")
    quarter = int(match.group(2))
    start = quarter_start(year, quarter)
    end = quarter_start(*shift_quarter(year, quarter, 1))
    return Period(quarter_label(year, quarter), start, end, (year, quarter))


async def available_periods(now: dt.datetime) -> list[str]:
    """ "all", then every quarter from the first idea's to `now`'s, newest first."""
    current = quarter_of(now)
    first_rows = await Idea.select(Idea.created_at).order_by(Idea.created_at).limit(1).run()
    first = quarter_of(first_rows[0]["created_at"]) if first_rows else current
    first = min(first, current)
    out = []
    q = current
    while q >= first and len(out) < 200:
        out.append(quarter_label(*q))
        q = shift_quarter(*q, -1)
    return ["all", *out]


def published_quarters(period: Period, now: dt.datetime) -> tuple[str, str] | None:
    """The quarters (labels, from inclusive, to exclusive) whose participation
    may be shown for `period`: closed ones only. None: nothing yet."""
    current = quarter_label(*quarter_of(now))
    if period.quarter is None:
        return "0000-Q1", current
    label = quarter_label(*period.quarter)
    if label >= current:
        return None
    return label, quarter_label(*shift_quarter(*period.quarter, 1))
