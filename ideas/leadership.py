"""Leadership figures: the shipped-ideas leaderboard, the funnel and its speed,
participation, and the CSV exports.

Two promises hold for every figure here:

- Never an uncredited submitter: a person is named only for the shipped ideas
  on which they opted in to credit; everything else about submitters is an
  aggregate.
- k-anonymity: any figure about people broken down by their department
  leaves out departments with fewer than `k_anonymity` active people (never
  under `K_FLOOR`, whatever an admin or the environment sets), and those
  whose figure would rest mostly on people who never took part or were just
  moved in (`department_groups`). Such small departments are pooled as
  "Other" only when the pool itself passes the same test; otherwise they are
  left out, unnamed.
- Participation (who submitted or voted) is published for closed quarters
  only, counted from the participation ledger under the department each
  person belonged to when they acted: nothing anyone does today changes a
  figure anyone can read, so two snapshots around one vote or one idea are
  identical (docs/threat-model.md, channel 1).
- The owning department is the team that delivers an idea, not an attribute
  of its submitter: it is shown by name everywhere (idea page, Shipped, API,
  ideas CSV, leaderboard), small or not, and counted in full in the owning
  department ranking.

Periods: "all", or a calendar quarter "YYYY-Qn" (UTC). The leaderboard and
the time to ship count ideas *shipped* in the period; the funnel, the time to
decision, the SLA share and participation count ideas *submitted* (and votes
cast) in the period.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from pydantic import BaseModel

from ideas import clock, figures
from ideas.config import get_settings
from ideas.db import is_postgres
from ideas.errors import Invalid
from ideas.lifecycle import (
    DECLINED,
    DUPLICATE,
    NEW,
    SHIPPED,
)
from ideas.org_settings import get_setting
from ideas.policy import ACCEPTED_OR_LATER as ACCEPTED_STATUSES
from ideas.policy import DECIDED as DECIDED_STATUSES
from ideas.policy import DECISION_OUTCOMES, overdue_sql
from ideas.tables import Department, Idea, Submission, User

T = TypeVar("T")

ANONYMOUS = "Anonymous"
#: the actor label of a council decision's status event
COUNCIL_LABEL = "CX council"
OTHER = "Other"
QUARTERS_SHOWN = 8
#: the lowest k-anonymity threshold ever applied, whatever is configured
K_FLOOR = 3
#: a person moved to another department counts towards its size for
#: k-anonymity only this many days after the move
SETTLED_DAYS = 30


_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")


# -- models ------------------------------------------------------------------


EntryKind = Literal["department", "person", "anonymous", "pooled"]


class BoardEntry(BaseModel):
    name: str
    shipped: int
    #: competition rank: equal counts share a rank (1, 1, 3)
    rank: int
    kind: EntryKind


class Leaderboard(BaseModel):
    period: str
    #: first and last day of the period (inclusive); null for "all"
    starts_on: dt.date | None
    ends_on: dt.date | None
    #: shipped ideas by the credited submitters' department; uncredited ones
    #: as "Anonymous"; small departments left out or pooled as "Other"
    by_department: list[BoardEntry]
    #: shipped ideas by person: only people who opted in to credit
    by_person: list[BoardEntry]
    #: every shipped idea, credited or not, under the department that shipped
    #: it, by name whatever its size (the team that delivered)
    by_owning_department: list[BoardEntry]
    shipped_total: int
    k_anonymity: int


class Funnel(BaseModel):
    """Ideas submitted in the period, and how far they have come."""

    submitted: int
    #: had a first council decision of any outcome
    triaged: int
    accepted: int
    shipped: int
    declined: int
    duplicate: int


class SlaFigure(BaseModel):
    days: int
    decided_within: int
    decided_late: int
    #: still undecided and already older than the SLA: counts against it
    undecided_overdue: int
    #: decided_within / (decided_within + decided_late + undecided_overdue)
    share: float | None


class ParticipationEntry(BaseModel):
    name: str
    #: active people in the department (or in the pooled departments)
    people: int
    #: of those, how many submitted an idea or voted in the period
    participants: int
    share: float
    kind: Literal["department", "pooled"]


class QuarterCount(BaseModel):
    quarter: str
    shipped: int


class Metrics(BaseModel):
    period: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    funnel: Funnel
    #: median days from submission to the first council decision
    median_days_to_decision: float | None
    #: median days from acceptance to ship, of ideas shipped in the period
    median_days_to_ship: float | None
    share_within_sla: float | None
    sla: SlaFigure
    #: closed quarters only (empty for the current quarter): see the module doc
    participation: list[ParticipationEntry]
    #: false when the period is not closed yet, so participation is withheld
    participation_published: bool = True
    #: last day the participation figures cover (None: nothing published)
    participation_through: dt.date | None = None
    #: departments under k active people not shown on their own
    small_departments_hidden: int
    shipped_per_quarter: list[QuarterCount]
    k_anonymity: int


@dataclass
class LeadersView:
    """Everything the /leaders page shows, in one call."""

    period: str
    periods: list[str]
    leaderboard: Leaderboard
    metrics: Metrics


# -- periods -----------------------------------------------------------------


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


async def available_periods() -> list[str]:
    """ "all", then every quarter from the first idea's to the current one, newest first."""
    current = quarter_of(clock.now())
    first_rows = await Idea.select(Idea.created_at).order_by(Idea.created_at).limit(1).run()
    first = quarter_of(first_rows[0]["created_at"]) if first_rows else current
    first = min(first, current)
    out = []
    q = current
    while q >= first and len(out) < 200:
        out.append(quarter_label(*q))
        q = shift_quarter(*q, -1)
    return ["all", *out]


# -- k-anonymity --------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentGroups:
    """Which departments a breakdown by department may show."""

    names: dict[int, str]
    sizes: dict[int, int]
    #: departments with at least k active people: shown on their own
    shown: frozenset[int]
    #: small departments pooled as "Other" (empty unless the pool reaches k)
    pooled: frozenset[int]
    #: small departments (any size under k, even 0): never shown on their own
    small: frozenset[int]
    k: int

    @property
    def pool_people(self) -> int:
        return sum(self.sizes.get(d, 0) for d in self.pooled)

    def group_of(self, department_id: int | None) -> tuple[str, str] | None:
        """(label, kind) a department's figure is shown under, or None (left out)."""
        if department_id in self.shown:
            return self.names[department_id], "department"
        if department_id in self.pooled:
            return OTHER, "pooled"
        return None


def effective_k(k: int) -> int:
    """The threshold applied: the configured one, never under `K_FLOOR`."""
    return max(K_FLOOR, k)


async def department_groups(
    k: int | None = None, now: dt.datetime | None = None
) -> DepartmentGroups:
    """Active people per department, split by the k-anonymity threshold.

    A department is shown on its own only when it has at least k active
    people AND most of them (more than half) are settled: they took part
    (submitted or voted) before the current quarter and were not moved into
    it by an admin within the last `SETTLED_DAYS` days. A department padded
    with accounts that never act, or filled by moving people in, therefore
    shows no figure of its own. Whether a person is settled depends only on
    closed quarters and on moves, never on anything done today."""
    k = effective_k(await get_setting("k_anonymity") if k is None else k)
    now = clock.now() if now is None else now
    names = {
        r["id"]: r["name"] for r in await Department.select(Department.id, Department.name).run()
    }
    current = quarter_label(*quarter_of(now))
    rows = await User.raw(
        "SELECT u.department AS department, COUNT(*) AS people, "
        "COUNT(*) FILTER (WHERE (u.department_since IS NULL OR u.department_since <= {}) "
        'AND EXISTS (SELECT 1 FROM participation p WHERE p."user" = u.id AND p.quarter < {})) '
        "AS settled FROM tp_user u WHERE u.active = {} GROUP BY u.department",
        now - dt.timedelta(days=SETTLED_DAYS),
        current,
        True,
    ).run()
    sizes = {d: 0 for d in names}
    settled = {d: 0 for d in names}
    for r in rows:
        sizes[r["department"]] = r["people"]
        settled[r["department"]] = r["settled"]

    def passes(people: int, settled_people: int) -> bool:
        return people >= k and 2 * settled_people > people

    shown = frozenset(d for d in sizes if passes(sizes[d], settled[d]))
    small = frozenset(d for d in sizes if d not in shown)
    pool_ok = passes(sum(sizes[d] for d in small), sum(settled[d] for d in small))
    pooled = small if pool_ok else frozenset()
    return DepartmentGroups(names, sizes, shown, pooled, small, k)


# -- SQL -----------------------------------------------------------------------
#
# Every figure is counted in the database (GROUP BY, COUNT … FILTER, the
# medians' middle values): only counts and the board's entries come back,
# never the period's rows, and nothing is looked up idea by idea. (At 100,000
# ideas, loading them cost a second and a half of CPU and 80 MiB per page.)
# Plain SQL through `Table.raw()` ("{}" placeholders), the same on both
# engines but for `_in` (one array parameter on PostgreSQL), `_duration`
# (exact to the microsecond on both), the medians and `_fence`.


#: PostgreSQL would otherwise inline a subquery's computed column (the first
#: decision, with its event look-up) into every aggregate that reads it, and
#: evaluate it again in each: 40-70x the CPU of the query at 10,000 ideas.
_FENCE_SQL = " OFFSET 0"


def _fence() -> str:
    """Keeps PostgreSQL from flattening the subquery it ends (see above)."""
    return _FENCE_SQL if is_postgres() else ""


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


def _in(column: str, values: Iterable) -> tuple[str, list]:
    """`column IN (values)`: one array parameter on PostgreSQL, a list on SQLite."""
    values = list(values)
    if is_postgres():
        return f"{column} = ANY({{}})", [values]
    return f"{column} IN ({', '.join('{}' for _ in values)})", values


def _placeholders(values: Sequence) -> str:
    return ", ".join("{}" for _ in values)


def _period_sql(column: str, period: Period) -> tuple[list[str], list]:
    """Conditions (to AND) keeping `column` inside the period."""
    if period.start is None:
        return [], []
    return [f"{column} >= {{}}", f"{column} < {{}}"], [period.start, period.end]


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def _published_sql(idea: str, now: dt.datetime) -> tuple[list[str], list]:
    """Conditions (to AND) keeping only ideas of alias `idea` that others may
    see at `now` (ideas.publish): a figure or row built from ideas by their
    creation must not show a new one before its batch is published."""
    return [f"({idea}.published_at IS NULL OR {idea}.published_at <= {{}})"], [now]


def _sqlite_microseconds(column: str) -> str:
    """Microseconds since the epoch of a SQLite timestamp, exactly. Piccolo
    stores them as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]+00:00'; strftime
    alone would round the fraction to milliseconds."""
    return (
        f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 + "
        f"CASE WHEN substr({column}, 20, 1) = '.' "
        f"THEN CAST(substr({column}, 21, 6) AS INTEGER) ELSE 0 END)"
    )


def _duration(end: str, start: str) -> str:
    """`end - start` as SQL, exact: an interval on PostgreSQL, integer
    microseconds on SQLite (see `_days_of` and `_duration_arg`)."""
    if is_postgres():
        return f"({end} - {start})"
    return f"({_sqlite_microseconds(end)} - {_sqlite_microseconds(start)})"


def _duration_arg(delta: dt.timedelta) -> dt.timedelta | int:
    """A timedelta as a parameter to compare with a `_duration`."""
    return delta if is_postgres() else delta // dt.timedelta(microseconds=1)


def _days_of(duration: dt.timedelta | int) -> float:
    """Days in a `_duration` value, to the same float on both engines, and
    the same as `(end - start).total_seconds() / 86400` in Python would give
    (`timedelta.total_seconds()` is its microseconds divided by 10**6)."""
    if isinstance(duration, dt.timedelta):
        return duration.total_seconds() / 86400
    return duration / 10**6 / 86400


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


#: percentile_disc(f) is the ceil(f * n)-th value: 0.5 gives the middle of an
#: odd n and the lower middle of an even n; 0.5 plus less than 1/(2n) gives
#: the middle of an odd n and the upper middle of an even n. Both from one sort.
_MIDDLES = "ARRAY[0.5, 0.5 + 1e-12]"


def _middle_sql(duration: str) -> str:
    """PostgreSQL: the middle one or two of a set of durations, in the same
    pass as the counts (the median is their mean)."""
    if not is_postgres():
        return ""
    return f", percentile_disc({_MIDDLES}) WITHIN GROUP (ORDER BY {duration}) AS middle"


async def _median_days(row: dict, n: int, source: str, duration: str, args: list) -> float | None:
    """Median days of the `n` non-null `duration`s of `source` (SQL after
    SELECT … FROM), as `statistics.median` over all of them would give: only
    the middle one or two values are read, never the whole set."""
    if n == 0:
        return None
    if is_postgres():
        middle = row["middle"][:1] if n % 2 else row["middle"]
    else:
        rows = await Idea.raw(
            f"SELECT {duration} AS d FROM {source} AND {duration} IS NOT NULL "
            "ORDER BY d LIMIT {} OFFSET {}",
            *args,
            1 if n % 2 else 2,
            (n - 1) // 2,
        ).run()
        middle = [r["d"] for r in rows]
    return _median([_days_of(d) for d in middle])


def _timestamp(value: dt.datetime | str | None) -> dt.datetime | None:
    """A timestamp from a computed SQL column: SQLite returns those as its
    stored text (a plain column is converted by Piccolo; an expression is not)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value


def _first_decision_sql(idea: str) -> str:
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


def ranked(counts: dict[tuple[str, str], int]) -> list[BoardEntry]:
    """Entries by count (desc) then name, with competition ranks."""
    items = sorted(
        ((n, kind, c) for (n, kind), c in counts.items() if c > 0),
        key=lambda t: (-t[2], t[0].casefold()),
    )
    out: list[BoardEntry] = []
    for position, (name, kind, count) in enumerate(items, start=1):
        rank = out[-1].rank if out and out[-1].shipped == count else position
        out.append(BoardEntry(name=name, shipped=count, rank=rank, kind=kind))
    return out


# -- leaderboard ---------------------------------------------------------------


async def _board_counts(p: Period, groups: DepartmentGroups) -> list[dict]:
    """The leaderboard's counts in one round trip, one row per figure:

    - k "o": shipped ideas per owning department (key: its id);
    - k "c": shipped ideas with at least one credited submitter;
    - k "g": shipped ideas per group of their credited submitters'
      departments (key: the department's id, or -1 for the pooled ones),
      each idea once per group however many of its submitters are in it;
    - k "p": shipped ideas per credited person (key: user id, with the name).

    Only opted-in submitters of shipped ideas are ever read: leadership never
    sees anyone else's identity."""
    in_period, args = _period_sql("shipped_at", p)
    if groups.pooled:
        pooled_sql, pooled_args = _in("department", sorted(groups.pooled))
        group = f"CASE WHEN {pooled_sql} THEN -1 ELSE department END"
    else:
        group, pooled_args = "department", []
    sql = (
        "WITH shipped AS (SELECT id, owning_department FROM idea"
        f"{_where([IS_SHIPPED, 'shipped_at IS NOT NULL', *in_period])}), "
        'credit AS (SELECT s.idea AS idea, s."user" AS person, u.name AS name, '
        "u.department AS department FROM submission s "
        "JOIN shipped h ON h.id = s.idea "
        f'JOIN tp_user u ON u.id = s."user" WHERE s.{IS_CREDITED}) '
        "SELECT 'o' AS k, CAST(owning_department AS TEXT) AS key, "
        "CAST(NULL AS TEXT) AS name, COUNT(*) AS n FROM shipped GROUP BY owning_department "
        "UNION ALL SELECT 'c', NULL, NULL, COUNT(DISTINCT idea) FROM credit "
        "UNION ALL SELECT 'g', CAST(g AS TEXT), NULL, COUNT(DISTINCT idea) "
        f"FROM (SELECT idea, {group} AS g FROM credit) grouped GROUP BY g "
        "UNION ALL SELECT 'p', CAST(person AS TEXT), MIN(name), COUNT(*) "
        "FROM credit GROUP BY person"
    )
    return await Idea.raw(sql, *args, *pooled_args).run()


async def _leaderboard(p: Period, groups: DepartmentGroups) -> Leaderboard:
    by_department: dict[tuple[str, str], int] = {}
    person_counts: dict[object, int] = {}
    person_names: dict[object, str] = {}
    by_owner: dict[tuple[str, str], int] = {}
    shipped_total = credited = 0
    for r in await _board_counts(p, groups):
        kind, key, n = r["k"], r["key"], r["n"]
        if kind == "o":
            shipped_total += n
            if key is not None:  # the team that delivered, by name, whatever its size
                owner = (groups.names[int(key)], "department")
                by_owner[owner] = by_owner.get(owner, 0) + n
        elif kind == "c":
            credited = n
        elif kind == "g":
            label = (OTHER, "pooled") if int(key) == -1 else groups.group_of(int(key))
            if label is not None:
                by_department[label] = by_department.get(label, 0) + n
        else:
            person_counts[key] = n
            person_names[key] = r["name"]
    if shipped_total > credited:
        by_department[(ANONYMOUS, "anonymous")] = shipped_total - credited
    return Leaderboard(
        period=p.label,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        by_department=ranked(by_department),
        by_person=ranked_people(person_counts, person_names),
        by_owning_department=ranked(by_owner),
        shipped_total=shipped_total,
        k_anonymity=groups.k,
    )


async def leaderboard(period: str | None = "all") -> Leaderboard:
    """Shipped ideas in the period, ranked three ways (see the module doc);
    reused for a while (see `_reused`)."""
    p = parse_period(period)
    return await _reused("leaderboard", p, lambda: _fresh_leaderboard(p))


async def _fresh_leaderboard(p: Period) -> Leaderboard:
    return await _leaderboard(p, await department_groups())


def ranked_people(counts: dict[object, int], names: dict[object, str]) -> list[BoardEntry]:
    """Like `ranked`, but two people with one name stay two entries."""
    items = sorted(counts.items(), key=lambda t: (-t[1], names[t[0]].casefold(), str(t[0])))
    out: list[BoardEntry] = []
    for position, (user, count) in enumerate(items, start=1):
        rank = out[-1].rank if out and out[-1].shipped == count else position
        out.append(BoardEntry(name=names[user], shipped=count, rank=rank, kind="person"))
    return out


# -- metrics -------------------------------------------------------------------


async def _funnel(
    p: Period, now: dt.datetime, sla: dt.timedelta
) -> tuple[Funnel, dict, float | None]:
    """The funnel of ideas submitted in the period, the SLA counts and the
    median days to the first decision: one pass over the period's ideas."""
    first = _first_decision_sql("i")
    in_period, period_args = _period_sql("i.created_at", p)
    published, published_args = _published_sql("i", now)
    in_period, period_args = [*in_period, *published], [*period_args, *published_args]
    source = (
        f"(SELECT i.status AS status, i.created_at AS created_at, i.accepted_at AS accepted_at, "
        f"{first} AS decided_at FROM idea i{_where(in_period)}{_fence()}) c WHERE TRUE"
    )
    to_decision = _duration("decided_at", "created_at")
    overdue, overdue_args = overdue_sql(
        now, sla / dt.timedelta(days=1), first_decided_at="decided_at"
    )
    decided = _placeholders(sorted(DECIDED_STATUSES))
    accepted = _placeholders(sorted(ACCEPTED_STATUSES))
    sql = (
        "SELECT COUNT(*) AS submitted, "
        f"COUNT(*) FILTER (WHERE decided_at IS NOT NULL OR status IN ({decided})) AS triaged, "
        f"COUNT(*) FILTER (WHERE accepted_at IS NOT NULL OR status IN ({accepted})) AS accepted, "
        "COUNT(*) FILTER (WHERE status = {}) AS shipped, "
        "COUNT(*) FILTER (WHERE status = {}) AS declined, "
        "COUNT(*) FILTER (WHERE status = {}) AS duplicate, "
        "COUNT(decided_at) AS decided, "
        f"COUNT(*) FILTER (WHERE {to_decision} <= {{}}) AS within, "
        f"COUNT(*) FILTER (WHERE {overdue}) AS overdue"
        f"{_middle_sql(to_decision)} FROM {source}"
    )
    row = (
        await Idea.raw(
            sql,
            *sorted(DECIDED_STATUSES),
            *sorted(ACCEPTED_STATUSES),
            SHIPPED,
            DECLINED,
            DUPLICATE,
            _duration_arg(sla),
            *overdue_args,
            *period_args,
        ).run()
    )[0]
    funnel = Funnel(
        submitted=row["submitted"],
        triaged=row["triaged"],
        accepted=row["accepted"],
        shipped=row["shipped"],
        declined=row["declined"],
        duplicate=row["duplicate"],
    )
    sla_counts = {
        "decided_within": row["within"],
        "decided_late": row["decided"] - row["within"],
        "undecided_overdue": row["overdue"],
    }
    median = await _median_days(row, row["decided"], source, to_decision, period_args)
    return funnel, sla_counts, median


async def _median_days_to_ship(p: Period) -> float | None:
    """Median days from acceptance to ship, of ideas shipped in the period."""
    in_period, period_args = _period_sql("shipped_at", p)
    conditions = [IS_SHIPPED, "shipped_at IS NOT NULL", "accepted_at IS NOT NULL", *in_period]
    source = f"idea{_where(conditions)}"
    to_ship = _duration("shipped_at", "accepted_at")
    sql = f"SELECT COUNT(*) AS n{_middle_sql(to_ship)} FROM {source}"
    row = (await Idea.raw(sql, *period_args).run())[0]
    return await _median_days(row, row["n"], source, to_ship, period_args)


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


async def _participants(quarters: tuple[str, str]) -> dict[int, int]:
    """How many people took part (submitted an idea or voted) in the
    quarters, by the department they belonged to when they did; from the
    append-only ledger, so a retracted vote, a later move or a deactivation
    changes nothing. Only ever counts."""
    rows = await User.raw(
        'SELECT department, COUNT(DISTINCT "user") AS n FROM participation '
        "WHERE quarter >= {} AND quarter < {} GROUP BY department",
        *quarters,
    ).run()
    return {r["department"]: r["n"] for r in rows}


def participation_figures(
    groups: DepartmentGroups, participants: dict[int, int]
) -> list[ParticipationEntry]:
    """Share of each shown department's active people who took part, plus the
    pooled "Other" when allowed; small departments never on their own."""
    out = []
    for d in groups.shown:
        people = groups.sizes[d]
        took_part = participants.get(d, 0)
        out.append(
            ParticipationEntry(
                name=groups.names[d],
                people=people,
                participants=took_part,
                # people who took part and left since can make it pass 1
                share=min(1.0, took_part / people),
                kind="department",
            )
        )
    out.sort(key=lambda e: (-e.share, e.name.casefold()))
    if groups.pooled:
        people = groups.pool_people
        took_part = sum(participants.get(d, 0) for d in groups.pooled)
        out.append(
            ParticipationEntry(
                name=OTHER,
                people=people,
                participants=took_part,
                share=min(1.0, took_part / people),
                kind="pooled",
            )
        )
    return out


async def _shipped_per_quarter(end: tuple[int, int]) -> list[QuarterCount]:
    quarters = [shift_quarter(*end, i - (QUARTERS_SHOWN - 1)) for i in range(QUARTERS_SHOWN)]
    bounds = [quarter_start(*q) for q in quarters] + [quarter_start(*shift_quarter(*end, 1))]
    counts = ", ".join(
        f"COUNT(*) FILTER (WHERE shipped_at >= {{}} AND shipped_at < {{}}) AS q{i}"
        for i in range(QUARTERS_SHOWN)
    )
    row = (
        await Idea.raw(
            f"SELECT {counts} FROM idea "
            f"WHERE {IS_SHIPPED} AND shipped_at >= {{}} AND shipped_at < {{}}",
            *[b for i in range(QUARTERS_SHOWN) for b in (bounds[i], bounds[i + 1])],
            bounds[0],
            bounds[-1],
        ).run()
    )[0]
    return [
        QuarterCount(quarter=quarter_label(*q), shipped=row[f"q{i}"])
        for i, q in enumerate(quarters)
    ]


async def _metrics(p: Period, groups: DepartmentGroups) -> Metrics:
    now = clock.now()
    sla_days = await get_setting("triage_sla_days")
    funnel, sla_counts, to_decision = await _funnel(p, now, dt.timedelta(days=sla_days))
    counted = sum(sla_counts.values())
    share = sla_counts["decided_within"] / counted if counted else None
    end_quarter = p.quarter or quarter_of(now)
    quarters = published_quarters(p, now)
    if quarters is None:
        participation, through = [], None
    else:
        participation = participation_figures(groups, await _participants(quarters))
        through = quarter_start(*quarter_of(now)).date() - dt.timedelta(days=1)
        if p.end is not None:
            through = min(through, p.ends_on)
    return Metrics(
        period=p.label,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        funnel=funnel,
        median_days_to_decision=to_decision,
        median_days_to_ship=await _median_days_to_ship(p),
        share_within_sla=share,
        sla=SlaFigure(days=sla_days, share=share, **sla_counts),
        participation=participation,
        participation_published=quarters is not None,
        participation_through=through,
        small_departments_hidden=len([d for d in groups.small if groups.sizes[d] > 0]),
        shipped_per_quarter=await _shipped_per_quarter(end_quarter),
        k_anonymity=groups.k,
    )


async def metrics(period: str | None = "all") -> Metrics:
    """The funnel and its speed, the SLA share, participation and shipped per
    quarter (see the module doc for what each counts); reused for a while
    (see `_reused`)."""
    p = parse_period(period)
    return await _reused("metrics", p, lambda: _fresh_metrics(p))


async def _fresh_metrics(p: Period) -> Metrics:
    return await _metrics(p, await department_groups())


#: Leadership answers kept in this process, by (what, period, k, SLA days):
#: the figures read every shipped idea, submission and vote of the period
#: (~75 ms of app and ~70 ms of database CPU for the leaderboard at 100,000
#: ideas), and leadership needs them to the minute, not to the vote. The org
#: settings they depend on are in the key, so a stricter k-anonymity applies
#: at once; so is `ideas.figures.current()`, bumped with every decision,
#: ship and credit choice, so those show at once too. Votes and submissions
#: show within `Settings.leaders_cache_seconds` (0: always computed).
_KEPT: dict[tuple[str, str, int, int, int], tuple[float, object]] = {}


async def _reused(what: str, p: Period, compute: Callable[[], Awaitable[T]]) -> T:
    ttl = get_settings().leaders_cache_seconds
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


async def leaders_view(period: str | None = "all") -> LeadersView:
    """The /leaders page: both figure sets and the periods to switch between
    (reused for a while: see `_reused`)."""
    p = parse_period(period)
    return await _reused("view", p, lambda: _leaders_view(p))


async def _leaders_view(p: Period) -> LeadersView:
    groups = await department_groups()
    board = await _leaderboard(p, groups)
    periods = await available_periods()
    if board.period not in periods:
        periods = ["all", *sorted([*periods[1:], board.period], reverse=True)]
    return LeadersView(
        period=board.period,
        periods=periods,
        leaderboard=board,
        metrics=await _metrics(p, groups),
    )


# -- CSV -------------------------------------------------------------------------


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


async def ideas_csv(period: str | None = "all") -> str:
    """Every idea submitted in the period with its dates (to the day), votes,
    touchpoint and owning department (by name, whatever its size); names
    only of credited submitters of shipped ideas, never anyone else's
    identity."""
    p = parse_period(period)
    names = {
        r["id"]: r["name"] for r in await Department.select(Department.id, Department.name).run()
    }
    first = _first_decision_sql("i")
    in_period, period_args = _period_sql("i.created_at", p)
    published, published_args = _published_sql("i", clock.now())
    in_period, period_args = [*in_period, *published], [*period_args, *published_args]
    rows = await Idea.raw(
        "SELECT i.id AS id, i.title AS title, i.status AS status, i.touchpoint AS touchpoint, "
        "i.votes AS votes, i.submitted_on AS submitted_on, i.accepted_at AS accepted_at, "
        "i.shipped_at AS shipped_at, i.owning_department AS owning_department, "
        f"i.duplicate_of AS duplicate_of, {first} AS decided_at FROM idea i"
        f"{_where(in_period)} ORDER BY i.id",
        *period_args,
    ).run()
    # the opted-in submitters of the shipped ones, in the order they joined
    credits = await Submission.raw(
        'SELECT s.idea AS idea, u.name AS name FROM submission s JOIN tp_user u ON u.id = s."user" '
        "JOIN idea i ON i.id = s.idea"
        f"{_where(['i.' + IS_SHIPPED, 's.' + IS_CREDITED, *in_period])} ORDER BY s.id",
        *period_args,
    ).run()
    credited: dict[int, list[str]] = {}
    for c in credits:
        credited.setdefault(c["idea"], []).append(c["name"])

    def line(r: dict) -> list[object]:
        decided = _day(_timestamp(r["decided_at"]))
        accepted = _day(r["accepted_at"])
        shipped = _day(r["shipped_at"])
        return [
            r["id"],
            r["title"],
            r["status"],
            r["touchpoint"],
            r["votes"],
            r["submitted_on"],
            decided,
            accepted,
            shipped,
            (decided - r["submitted_on"]).days if decided else None,
            (shipped - accepted).days if shipped and accepted else None,
            names.get(r["owning_department"], ""),
            r["duplicate_of"],
            "; ".join(credited.get(r["id"], [])),
        ]

    return _csv(IDEAS_CSV_COLUMNS, (line(r) for r in rows))


async def leaderboard_csv(period: str | None = "all") -> str:
    """The three leaderboards of the period, one row per entry."""
    board = await leaderboard(period)
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
