"""The board's list: filters, text search, sorts and opaque cursors."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

from ideas import policy
from ideas.blind import IDEA_SQL_COLUMNS, blind_rows, facts_columns
from ideas.board.view import published_sql
from ideas.context import Context
from ideas.db import read_rows
from ideas.errors import Invalid
from ideas.lifecycle import STATUSES, TOUCHPOINTS
from ideas.policy import ACCEPTED_OR_LATER, CLOSED, OPEN_FOR_VOTES
from ideas.schemas import LIMIT_DEFAULT, LIMIT_MAX, TRENDING_DAYS, IdeaOut, Page
from ideas.sql import like_any_case, timestamp_literal
from ideas.tables import Idea

SORTS = ("top", "new", "trending", "discussed")
#: board scopes: ideas open for votes (the board's default), closed ones, all;
#: and, for the leaders' drill-down, those the council decided on ("triaged")
#: and those accepted, in progress or shipped ("accepted_on")
SCOPES = ("open", "closed", "all", "triaged", "accepted_on")
#: "mine" filters: ideas the viewer submitted, ideas the viewer voted for
MINE = ("ideas", "votes")


#: comments counted on a card and for the "most discussed" sort (deleted ones
#: not); a "Submitter" comment counts from its batch on (ideas.publish). The
#: one parameter is the viewer's `now` (a parameter, so the statement's text,
#: and the driver's prepared statement, stay the same from request to request)
COMMENT_COUNT_SQL = (
    "(SELECT COUNT(*) FROM comment c WHERE c.idea = idea.id AND c.deleted_at IS NULL "
    "AND (c.published_at IS NULL OR c.published_at <= {}))"
)


# -- listing -----------------------------------------------------------------


def encode_cursor(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_cursor(raw: str | None) -> dict:
    if not raw:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=="))
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (ValueError, UnicodeDecodeError, json.JSONDecodeError):
        raise Invalid("cursor", "not a cursor this server issued") from None


#: cursor numbers (ids, vote counts, offsets) are int4 in the database
CURSOR_INT_LIMIT = 2**31


def cursor_int(
    position: dict, key: str, default: int | None = None, reason: str = "not a cursor"
) -> int:
    """A number from a decoded cursor, 0 <= value < 2**31; anything else (a
    forged cursor with a huge, negative or non-integer value) is
    Invalid("cursor"), never an overflow in the database driver."""
    raw = position.get(key, default)
    try:
        if raw is None or isinstance(raw, bool):
            raise ValueError
        value = int(raw)
        if not 0 <= value < CURSOR_INT_LIMIT:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise Invalid("cursor", reason) from None
    return value


def offset_from_cursor(raw: str | None, reason: str) -> int:
    """The row offset of an offset cursor ({"o": n}); 0 without a cursor."""
    return cursor_int(decode_cursor(raw), "o", 0, reason)


def next_offset_cursor(offset: int, limit: int, more: bool) -> str | None:
    return encode_cursor({"o": offset + limit}) if more else None


def _search_sql(q: str) -> tuple[str | None, list[str]]:
    """Every word (up to 8) in the title, problem or proposal, any case."""
    words = [w for w in re.split(r"\s+", re.sub(r"[%_\\]", " ", q.strip())) if w][:8]
    like = like_any_case()
    parts, args = [], []
    for word in words:
        parts.append(f"(title {like} {{}} OR problem {like} {{}} OR proposal {like} {{}})")
        args += [f"%{word}%"] * 3
    return (" AND ".join(parts) if parts else None), args


#: votes of the last TRENDING_DAYS; the parameter is the cutoff
TRENDING_SQL = "(SELECT COUNT(*) FROM vote WHERE vote.idea = idea.id AND vote.created_at > {})"


def check_limit(limit: int | None) -> int:
    if limit is None:
        return LIMIT_DEFAULT
    if not 1 <= limit <= LIMIT_MAX:
        raise Invalid("limit", f"must be between 1 and {LIMIT_MAX}")
    return limit


async def list_ideas(
    ctx: Context,
    *,
    status: str | None = None,
    touchpoint: str | None = None,
    q: str | None = None,
    sort: str = "top",
    limit: int | None = None,
    cursor: str | None = None,
    mine_only: bool = False,
    scope: str = "all",
    mine: str | None = None,
    owner: str | None = None,
    submitted_between: tuple[dt.date, dt.date] | None = None,
    shipped_between: tuple[dt.datetime, dt.datetime] | None = None,
) -> Page[IdeaOut]:
    """The board: filters, text search, sort and an opaque keyset cursor.

    `scope` keeps ideas open for votes ("open"), closed ones ("closed") or
    all; `mine` keeps the viewer's own ideas ("ideas") or the ones they voted
    for ("votes"). Nothing filters or sorts on who submitted an idea other
    than the viewer themself. One round trip: the viewer's facts about each
    idea (voted, theirs, followed...) come in the page's own query."""
    policy.authorize(ctx.actor, "idea.view")
    viewer, now = ctx.actor, ctx.now
    limit = check_limit(limit)
    if status and status not in STATUSES:
        raise Invalid("status", f"must be one of {', '.join(STATUSES)}")
    if scope not in SCOPES:
        raise Invalid("scope", f"must be one of {', '.join(SCOPES)}")
    if mine and mine not in MINE:
        raise Invalid("mine", f"must be one of {', '.join(MINE)}")
    if touchpoint and touchpoint not in TOUCHPOINTS:
        raise Invalid("touchpoint", f"must be one of {', '.join(TOUCHPOINTS)}")
    if sort not in SORTS:
        raise Invalid("sort", f"must be one of {', '.join(SORTS)}")
    position = decode_cursor(cursor)
    order_args: list = []
    # Plain SQL rather than the query builder: this is the board, the busiest
    # query there is, and building it cost more CPU than running it.
    where: list[str] = []
    args: list = []
    if status:
        where.append("status = {}")
        args.append(status)
    elif scope == "triaged":
        where.append("first_decided_at IS NOT NULL")
    elif scope != "all":
        chosen = {"open": sorted(OPEN_FOR_VOTES), "closed": list(CLOSED)}.get(
            scope, sorted(ACCEPTED_OR_LATER)
        )
        where.append(f"status IN ({', '.join('{}' for _ in chosen)})")
        args += list(chosen)
    if owner:
        # the owning department (public on every idea), by name
        where.append("owning_department IN (SELECT id FROM department WHERE name = {})")
        args.append(owner)
    if submitted_between:
        where.append("submitted_on >= {} AND submitted_on < {}")
        args += list(submitted_between)
    if shipped_between:
        where.append(f"shipped_at >= {timestamp_literal(shipped_between[0])} "
                     f"AND shipped_at < {timestamp_literal(shipped_between[1])}")  # fmt: skip
    if touchpoint:
        where.append("touchpoint = {}")
        args.append(touchpoint)
    if q and q.strip():
        clause, more = _search_sql(q)
        if clause is not None:
            where.append(clause)
            args += more
    if mine_only or mine == "ideas":
        where.append('id IN (SELECT idea FROM submission WHERE "user" = {})')
        args.append(str(viewer.id))
    if mine == "votes":
        where.append('id IN (SELECT idea FROM vote WHERE "user" = {})')
        args.append(str(viewer.id))
    # a new idea shows to others from its batch on (ideas.publish)
    clause, more = published_sql(viewer, now)
    where.append(clause)
    args += more
    try:
        if sort == "top":
            if position:
                reason = "not a cursor for this sort"
                v = cursor_int(position, "v", None, reason)
                i = cursor_int(position, "i", None, reason)
                where.append("(votes < {} OR (votes = {} AND id < {}))")
                args += [v, v, i]
            order, offset = "votes DESC, id DESC", 0
        elif sort == "new":
            # newest first by when others could first see it: within one
            # batch the order says nothing of who came first
            offset = cursor_int(
                position, "o", None if position else 0, "not a cursor for this sort"
            )
            order = "COALESCE(published_at, created_at) DESC, id DESC"
        elif sort == "discussed":
            offset = cursor_int(position, "o", 0, "not a cursor for this sort")
            order = f"{COMMENT_COUNT_SQL} DESC, id DESC"
            order_args = [now]
        else:
            offset = cursor_int(position, "o", 0, "not a cursor for this sort")
            order = f"{TRENDING_SQL} DESC, id DESC"
            order_args = [now - dt.timedelta(days=TRENDING_DAYS)]
    except (KeyError, ValueError, TypeError):
        raise Invalid("cursor", "not a cursor for this sort") from None
    facts, args_before = facts_columns(viewer, now)
    args = args_before + args
    sql = f"SELECT {IDEA_SQL_COLUMNS}{facts} FROM idea"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # LIMIT and OFFSET written in, not bound: a bound LIMIT makes
    # PostgreSQL cost a generic plan as if it read a tenth of the table, so
    # it plans this statement afresh on every call (0.3 ms of the ~0.7 ms
    # the page's query took at S); with them written in, it keeps the plan
    sql += f" ORDER BY {order} LIMIT {int(limit) + 1:d}"
    args += order_args
    if offset:
        sql += f" OFFSET {int(offset):d}"
    rows = await read_rows(Idea, sql, *args)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        if sort == "top":
            next_cursor = encode_cursor({"v": last["votes"], "i": last["id"]})
        else:
            next_cursor = encode_cursor({"o": offset + limit})
    return Page[IdeaOut].model_construct(
        items=blind_rows(rows, viewer, now), next_cursor=next_cursor
    )
