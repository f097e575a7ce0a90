"""The leadership CSV exports: every idea submitted in a period, and the
leaderboards. The ideas file is built from the blind projection
(`ideas.blind`), like every other output that carries an idea: titles,
owning departments and the names of credited submitters come from it, for a
reader with no rights beyond staff's (a file travels; it must not depend on
who downloaded it)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from uuid import UUID

from ideas import blind, policy
from ideas.context import Context
from ideas.leadership.board import leaderboard
from ideas.leadership.counting import (
    first_decision_sql,
    period_sql,
    published_sql,
    timestamp,
    where,
)
from ideas.leadership.periods import parse_period
from ideas.tables import Idea
from ideas.viewer import Viewer

#: whom the ideas file is projected for: staff, and nobody in particular
READER = Viewer(id=UUID(int=0), name="export", email="", department_id=0)
#: ideas projected per round trip
CHUNK = 500


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def _csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


IDEAS_CSV_COLUMNS = (
    "id",
    "title",
    "status",
    "touchpoint",
    "votes",
    "submitted_on",
    "first_decision_on",
    "accepted_on",
    "shipped_on",
    "days_to_first_decision",
    "days_accepted_to_shipped",
    "owning_department",
    "duplicate_of",
    "credited_to",
)


def _day(at: dt.datetime | None) -> dt.date | None:
    return at.astimezone(dt.UTC).date() if at else None


async def ideas_csv(ctx: Context, period: str | None = "all") -> str:
    """Every idea submitted in the period with its dates (to the day), votes,
    touchpoint and owning department (by name, whatever its size); names
    only of credited submitters of shipped ideas, never anyone else's
    identity. Leaders and admins only."""
    policy.authorize(ctx.actor, "leaders.view")
    p = parse_period(period)
    in_period, period_args = period_sql("i.created_at", p)
    published, published_args = published_sql("i", ctx.now)
    columns = ", ".join(f"i.{c}" for c in blind.IDEA_SQL_COLUMNS.split(", "))
    rows = await Idea.raw(
        f"SELECT {columns}, i.accepted_at AS accepted_at, i.shipped_at AS shipped_at, "
        f"{first_decision_sql('i')} AS decided_at FROM idea i"
        f"{where([*in_period, *published])} ORDER BY i.id",
        *period_args,
        *published_args,
    ).run()
    lines = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        ideas = await blind.blind_ideas(chunk, READER)
        for r, idea in zip(chunk, ideas, strict=True):
            decided = _day(timestamp(r["decided_at"]))
            accepted = _day(r["accepted_at"])
            shipped = _day(r["shipped_at"])
            lines.append(
                [
                    idea.id,
                    idea.title,
                    idea.status,
                    idea.touchpoint,
                    idea.votes,
                    idea.submitted_on,
                    decided,
                    accepted,
                    shipped,
                    (decided - idea.submitted_on).days if decided else None,
                    (shipped - accepted).days if shipped and accepted else None,
                    idea.owning_department.name if idea.owning_department else "",
                    idea.duplicate_of,
                    "; ".join(c.name for c in idea.credited_to),
                ]
            )
    return _csv(IDEAS_CSV_COLUMNS, lines)


async def leaderboard_csv(ctx: Context, period: str | None = "all") -> str:
    """The three leaderboards of the period, one row per entry."""
    board = await leaderboard(ctx, period)
    rows = []
    for name, entries in (
        ("by_department", board.by_department),
        ("by_person", board.by_person),
        ("by_owning_department", board.by_owning_department),
    ):
        rows += [[name, e.rank, e.name, e.shipped] for e in entries]
    return _csv(("board", "rank", "name", "shipped"), rows)


def csv_filename(kind: str, period: str | None) -> str:
    """e.g. touchpoint-ideas-2026-Q3.csv (the period is validated first)."""
    return f"touchpoint-{kind}-{parse_period(period).label}.csv"
