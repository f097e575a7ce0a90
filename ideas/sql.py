"""The SQL dialects, once: every place where PostgreSQL and SQLite need
different SQL asks this module, so the differences are read in one file.

Each helper returns the text (or the Piccolo clause) for the engine in use;
callers never branch on the engine themselves.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from ideas.db import is_postgres

__all__ = ["is_postgres"]

# -- sections below are grouped by the package that uses them -----------------


# -- shared (the blind projection, leadership) --


#: lists up to this long are written as `IN` with one parameter a value on
#: PostgreSQL; longer ones as one array
IN_LIST_PARAMETERS = 64


def in_list(column: str, values: Iterable) -> tuple[str, list]:
    """`column IN (values)` with its arguments: a list on SQLite. On
    PostgreSQL a short list is one parameter a value, padded (with its last
    value) to the next power of two, so a call site prepares a handful of
    statements: with `= ANY($1)` the planner cannot know the array's length,
    costs a reusable (generic) plan for ten values, and so plans the
    statement again on every call — 0.2–0.4 ms of the database's CPU for
    the viewer's facts of an idea page or of five suggestions, more than
    running it. A longer list (or none) is one array parameter."""
    values = list(values)
    if is_postgres():
        if not values or len(values) > IN_LIST_PARAMETERS:
            return f"{column} = ANY({{}})", [values]
        width = 1 << (len(values) - 1).bit_length()
        values += [values[-1]] * (width - len(values))
    return f"{column} IN ({', '.join('{}' for _ in values)})", values


# -- leadership --
#
# Every leadership figure is counted in the database with plain SQL
# (`Table.raw()`, "{}" placeholders), the same on both engines but for these.


def position_in(column: str, values: Iterable) -> tuple[str, list]:
    """An SQL expression: the position (from 0) of `column`'s value in
    `values`, with its arguments -- an ORDER BY that keeps a ranking made in
    Python (use it with `in_list` over the same values). On PostgreSQL a short
    list is padded to the same width as `in_list` pads it (a repeated value
    keeps its first position), so a call site prepares a handful of
    statements; a longer one is one array parameter."""
    values = list(values)
    if not values:
        return "0", []
    if is_postgres():
        if len(values) > IN_LIST_PARAMETERS:
            return f"array_position({{}}, {column})", [values]
        width = 1 << (len(values) - 1).bit_length()
        values += [values[-1]] * (width - len(values))
    whens = " ".join(f"WHEN {{}} THEN {n}" for n in range(len(values)))
    return f"(CASE {column} {whens} ELSE {len(values)} END)", values


def fence() -> str:
    """Ends a subquery that PostgreSQL must not flatten: it would otherwise
    inline a computed column (the first decision, with its event look-up)
    into every aggregate that reads it, and evaluate it again in each (40-70x
    the CPU of the query at 10,000 ideas). Nothing on SQLite."""
    return " OFFSET 0" if is_postgres() else ""


def _sqlite_microseconds(column: str) -> str:
    """Microseconds since the epoch of a SQLite timestamp, exactly. Piccolo
    stores them as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]+00:00'; strftime
    alone would round the fraction to milliseconds."""
    return (
        f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 + "
        f"CASE WHEN substr({column}, 20, 1) = '.' "
        f"THEN CAST(substr({column}, 21, 6) AS INTEGER) ELSE 0 END)"
    )


def duration(end: str, start: str) -> str:
    """`end - start` as SQL, exact: an interval on PostgreSQL, integer
    microseconds on SQLite (`duration_arg` makes a parameter to compare)."""
    if is_postgres():
        return f"({end} - {start})"
    return f"({_sqlite_microseconds(end)} - {_sqlite_microseconds(start)})"


def duration_arg(delta: dt.timedelta) -> dt.timedelta | int:
    """A timedelta as a parameter to compare with a `duration`."""
    return delta if is_postgres() else delta // dt.timedelta(microseconds=1)


#: percentile_disc(f) is the ceil(f * n)-th value: 0.5 gives the middle of an
#: odd n and the lower middle of an even n; 0.5 plus less than 1/(2n) gives
#: the middle of an odd n and the upper middle of an even n. Both from one sort.
_MIDDLES = "ARRAY[0.5, 0.5 + 1e-12]"


def middle_sql(duration: str) -> str:
    """A column to add to an aggregate query: on PostgreSQL the middle one or
    two of the `duration`s, in the same pass as the counts; nothing on
    SQLite (`middle_durations` reads them there)."""
    if not is_postgres():
        return ""
    return f", percentile_disc({_MIDDLES}) WITHIN GROUP (ORDER BY {duration}) AS middle"


async def middle_durations(
    row: dict, n: int, source: str, duration: str, args: list
) -> list[dt.timedelta | int]:
    """The middle one (odd `n`) or two (even `n`) of the `n` non-null
    `duration`s of `source` (SQL after SELECT … FROM, ending in a WHERE):
    from the aggregate `row` on PostgreSQL (`middle_sql`), with one query
    reading just those values on SQLite."""
    if is_postgres():
        return row["middle"][:1] if n % 2 else row["middle"]
    from ideas.tables import Idea

    rows = await Idea.raw(
        f"SELECT {duration} AS d FROM {source} AND {duration} IS NOT NULL "
        "ORDER BY d LIMIT {} OFFSET {}",
        *args,
        1 if n % 2 else 2,
        (n - 1) // 2,
    ).run()
    return [r["d"] for r in rows]


# -- delivery, people, audit --


def locked(query):
    """A Piccolo select that locks its rows for the transaction on
    PostgreSQL; as is on SQLite, whose write transaction already holds the
    database's write lock."""
    return query.lock_rows() if is_postgres() else query


def name_contains(column, pattern: str):
    """`column` matches the LIKE `pattern`, ignoring case: ILIKE on
    PostgreSQL; SQLite's LIKE already ignores ASCII case (and has no ILIKE)."""
    return column.ilike(pattern) if is_postgres() else column.like(pattern)


# -- notify --

#: advisory-lock keys of batched notices: this base plus the idea's id (ids < 2**31)
NOTICE_BATCH_LOCK_BASE = 0x7470_0000_0000


def notice_batch_lock(idea_id: int | None) -> tuple[str, list] | None:
    """The statement (and its arguments) that makes one batched fan-out on an
    idea wait for another in progress, inside the insert's transaction: two
    comment events delivered at once must not both find "no unread notice"
    and both insert. PostgreSQL takes a transaction-scoped advisory lock;
    SQLite serialises writes already, so None."""
    if not is_postgres():
        return None
    return "SELECT pg_advisory_xact_lock({})", [NOTICE_BATCH_LOCK_BASE + int(idea_id or 0)]


# -- board (ideas/board/, ideas/blind.py) ---------------------------------------


def like_any_case() -> str:
    """The operator of a LIKE that ignores case: ILIKE on PostgreSQL;
    SQLite's LIKE already ignores ASCII case (and has no ILIKE)."""
    return "ILIKE" if is_postgres() else "LIKE"


def timestamp_literal(at: dt.datetime) -> str:
    """A UTC moment as an SQL literal, as the engine stores it (the value is
    ours, never request text)."""
    at = at.astimezone(dt.UTC)
    if is_postgres():
        return f"TIMESTAMPTZ '{at.isoformat()}'"
    return f"'{at.isoformat(sep=' ')}'"


def vote_statement(open_statuses: str, published: str) -> str | None:
    """Adding a vote as one statement on PostgreSQL: the vote, the idea's
    counter and the participation ledger together, only on an open
    (`open_statuses`, quoted and comma-separated), published (`published`,
    a condition on `idea`) idea the voter did not submit; it answers the new
    count, or no row when nothing changed. Its parameters: voter, now, idea
    id, `published`'s, voter, voter, voter's department, quarter label, now.
    None on SQLite, where ideas.board.vote does it in a write transaction."""
    if not is_postgres():
        return None
    return f"""WITH ins AS (
                   INSERT INTO vote (idea, "user", created_at)
                   SELECT id, {{}}, {{}} FROM idea WHERE id = {{}} AND status IN ({open_statuses})
                   AND {published}
                   AND NOT EXISTS (SELECT 1 FROM submission s
                                   WHERE s.idea = idea.id AND s."user" = {{}})
                   ON CONFLICT DO NOTHING RETURNING idea),
                 -- the participation ledger, in the same statement (ideas.participation)
                 took_part AS (
                   INSERT INTO participation ("user", department, quarter, created_at)
                   SELECT {{}}, {{}}, {{}}, {{}} FROM ins ON CONFLICT DO NOTHING)
                UPDATE idea SET votes = votes + 1 WHERE id IN (SELECT idea FROM ins)
                RETURNING votes"""


def submit_statement() -> str | None:
    """Creating an idea as one statement on PostgreSQL: the idea (`new`, no
    votes), its submitter's submission and follow, its pending vector row
    and the participation ledger together; it answers the idea's id, or no
    row when the (random) id is taken — try another. Its parameters: id,
    title, problem, proposal, touchpoint, now (created), now (updated), the
    day, published_at, submitter, now, submitter, now, submitter, their
    department, quarter label, now. None on SQLite, where
    ideas.board.submit writes them one by one in a write transaction."""
    if not is_postgres():
        return None
    return """WITH new AS (
                   INSERT INTO idea (id, title, problem, proposal, touchpoint, status, votes,
                                     created_at, updated_at, submitted_on, published_at)
                   VALUES ({}, {}, {}, {}, {}, 'new', 0, {}, {}, {}, {})
                   ON CONFLICT (id) DO NOTHING RETURNING id),
                 sub AS (
                   INSERT INTO submission (idea, "user", role, created_at)
                   SELECT id, {}, 'submitter', {} FROM new),
                 -- the submitter follows their own idea (new comments)
                 fol AS (INSERT INTO idea_follow (idea, "user") SELECT id, {} FROM new),
                 -- embedded by the worker (ideas.vector_index)
                 vec AS (
                   INSERT INTO idea_vector (idea, pending, updated_at) SELECT id, TRUE, {} FROM new
                   ON CONFLICT (idea) DO UPDATE
                   SET pending = EXCLUDED.pending, updated_at = EXCLUDED.updated_at),
                 took_part AS (
                   INSERT INTO participation ("user", department, quarter, created_at)
                   SELECT {}, {}, {}, {} FROM new ON CONFLICT DO NOTHING)
                SELECT id FROM new"""


def unvote_statement(open_statuses: str) -> str | None:
    """Retracting a vote as one statement on PostgreSQL: the vote and the
    idea's counter together, only on an open idea; it answers the new count,
    or no row when nothing changed. Its parameters: idea id, voter, idea id.
    None on SQLite, where ideas.board.vote does it in a write transaction."""
    if not is_postgres():
        return None
    return f"""WITH del AS (
                   DELETE FROM vote WHERE idea = {{}} AND "user" = {{}}
                   AND idea IN (SELECT id FROM idea WHERE id = {{}} AND status IN ({open_statuses}))
                   RETURNING idea)
                UPDATE idea SET votes = votes - 1 WHERE id IN (SELECT idea FROM del)
                RETURNING votes"""


def credits_json(shipped: str) -> str:
    """A correlated subquery on `idea`: the credited submitters of a shipped
    idea as a JSON array of [name, department] pairs in the order they were
    linked (NULL for any other idea, or none credited)."""
    people = (
        'FROM submission s JOIN tp_user u ON u.id = s."user" '
        "JOIN department d ON d.id = u.department "
        f"WHERE s.idea = idea.id AND s.credit AND idea.status = '{shipped}'"
    )
    if is_postgres():
        return f"(SELECT json_agg(json_build_array(u.name, d.name) ORDER BY s.id) {people})"
    return (
        "(SELECT json_group_array(json_array(n, dn)) FROM "
        f"(SELECT u.name AS n, d.name AS dn {people} ORDER BY s.id))"
    )


def json_rows(value) -> list:
    """A JSON array from the database: text on either engine (a list when a
    codec already decoded it); None is an empty list."""
    if value is None:
        return []
    if isinstance(value, str):
        return json.loads(value)
    return value
