"""The SQL the leadership figures share.

Every figure is counted in the database (GROUP BY, COUNT … FILTER, the
medians' middle values): only counts and the board's entries come back,
never the period's rows, and nothing is looked up idea by idea. (At 100,000
ideas, loading them cost a second and a half of CPU and 80 MiB per page.)
Plain SQL through `Table.raw()` ("{}" placeholders), the same on both
engines but for what `ideas.sql` answers (`in_list`, `duration`, the
medians' middle values, `fence`).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Sequence

from ideas import sql
from ideas.leadership.periods import Period
from ideas.lifecycle import NEW, SHIPPED
from ideas.policy import DECISION_OUTCOMES

#: the actor label of a council decision's status event
COUNCIL_LABEL = "CX council"


def _literal(value: str) -> str:
    """One of this module's constants as an SQL string literal."""
    if not re.fullmatch(r"[A-Za-z_ ]+", value):
        raise ValueError(value)
    return f"'{value}'"


# Shipped ideas, credited submitters and council decisions are read through
# partial indexes (idea_shipped_ix, submission_credited_ix,
# event_council_decision_ix; see the migration that adds them): their
# conditions are written as literals, not parameters, so that PostgreSQL can
# match them in a generic plan too, and exactly as the indexes spell them.
IS_SHIPPED = f"status = {_literal(SHIPPED)}"
IS_CREDITED = "credit = TRUE"
#: policy.DECISION_OUTCOMES in the order event_council_decision_ix spells them
_INDEXED_OUTCOMES = sorted(
    DECISION_OUTCOMES, key=("needs_info", "accepted", "declined", "duplicate").index
)
COUNCIL_DECISION = (
    f"e.kind = 'status' AND e.actor_label = {_literal(COUNCIL_LABEL)} "
    f"AND e.status IN ({', '.join(_literal(s) for s in _INDEXED_OUTCOMES)})"
)


def placeholders(values: Sequence) -> str:
    return ", ".join("{}" for _ in values)


def period_sql(column: str, period: Period) -> tuple[list[str], list]:
    """Conditions (to AND) keeping `column` inside the period."""
    if period.start is None:
        return [], []
    return [f"{column} >= {{}}", f"{column} < {{}}"], [period.start, period.end]


def where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def published_sql(idea: str, now: dt.datetime) -> tuple[list[str], list]:
    """Conditions (to AND) keeping only ideas of alias `idea` that others may
    see at `now` (ideas.publish): a figure or row built from ideas by their
    creation must not show a new one before its batch is published."""
    return [f"({idea}.published_at IS NULL OR {idea}.published_at <= {{}})"], [now]


def days_of(duration: dt.timedelta | int) -> float:
    """Days in a `sql.duration` value, to the same float on both engines, and
    the same as `(end - start).total_seconds() / 86400` in Python would give
    (`timedelta.total_seconds()` is its microseconds divided by 10**6)."""
    if isinstance(duration, dt.timedelta):
        return duration.total_seconds() / 86400
    return duration / 10**6 / 86400


async def median_days(row: dict, n: int, source: str, duration: str, args: list) -> float | None:
    """Median days of the `n` non-null `duration`s of `source` (SQL after
    SELECT … FROM), as `statistics.median` over all of them would give: only
    the middle one or two values are read, never the whole set."""
    if n == 0:
        return None
    middle = await sql.middle_durations(row, n, source, duration, args)
    return round(statistics.median([days_of(d) for d in middle]), 1)


def timestamp(value: dt.datetime | str | None) -> dt.datetime | None:
    """A timestamp from a computed SQL column: SQLite returns those as its
    stored text (a plain column is converted by Piccolo; an expression is not)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value


def first_decision_sql(idea: str) -> str:
    """When an idea had its first council decision: `first_decided_at`, or,
    where that is missing, the first council status event (a status change
    by the CX council to a decision outcome; reveals, action notices and the
    like carry the idea's status too but decide nothing). A new idea has
    had none, whatever its events say."""
    return (
        f"COALESCE({idea}.first_decided_at, CASE WHEN {idea}.status <> {_literal(NEW)} THEN ("
        f"SELECT MIN(e.created_at) FROM event e WHERE e.idea = {idea}.id AND {COUNCIL_DECISION}"
        ") END)"
    )
