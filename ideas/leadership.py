"""Leadership figures: the shipped-ideas leaderboard, the funnel and its speed,
participation, and the CSV exports.

Two promises hold for every figure here:

- Never an uncredited submitter: a person is named only for the shipped ideas
  on which they opted in to credit; everything else about submitters is an
  aggregate.
- k-anonymity: any figure broken down by department leaves out departments
  with fewer than `k_anonymity` active people. Such small departments are
  pooled as "Other" only when the pool itself reaches k people; otherwise
  they are left out, unnamed. This holds for the owning department too
  (leaderboard and ideas CSV): an idea is often owned by its submitter's own
  department, so a small owner would single out its few people.

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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from piccolo.query.functions.aggregate import Count
from pydantic import BaseModel

from ideas.errors import Invalid
from ideas.lifecycle import (
    ACCEPTED,
    DECLINED,
    DUPLICATE,
    IN_PROGRESS,
    IN_REVIEW,
    NEEDS_INFO,
    NEW,
    SHIPPED,
)
from ideas.org_settings import get_setting
from ideas.services import utcnow
from ideas.tables import Department, Event, Idea, Submission, User, Vote

ANONYMOUS = "Anonymous"
#: the actor label of a council decision's status event
COUNCIL_LABEL = "CX council"
OTHER = "Other"
QUARTERS_SHOWN = 8

#: statuses an idea can only reach through a council decision
DECIDED_STATUSES = frozenset({NEEDS_INFO, ACCEPTED, IN_PROGRESS, SHIPPED, DECLINED, DUPLICATE})
#: statuses a first council decision moves an idea to (for the Event fallback)
DECISION_OUTCOMES = (NEEDS_INFO, ACCEPTED, DECLINED, DUPLICATE)
ACCEPTED_STATUSES = frozenset({ACCEPTED, IN_PROGRESS, SHIPPED})

_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")
_CHUNK = 500


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
    #: it; small owning departments too are left out or pooled as "Other"
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
    participation: list[ParticipationEntry]
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
    current = quarter_of(utcnow())
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


async def department_groups(k: int | None = None) -> DepartmentGroups:
    """Active people per department, split by the k-anonymity threshold."""
    k = await get_setting("k_anonymity") if k is None else k
    names = {
        r["id"]: r["name"] for r in await Department.select(Department.id, Department.name).run()
    }
    rows = (
        await User.select(User.department, Count(alias="people"))
        .where(User.active.eq(True))
        .group_by(User.department)
        .run()
    )
    sizes = {d: 0 for d in names}
    for r in rows:
        sizes[r["department"]] = r["people"]
    shown = frozenset(d for d, n in sizes.items() if n >= k)
    small = frozenset(d for d in sizes if d not in shown)
    pool = sum(sizes[d] for d in small)
    pooled = small if pool >= k else frozenset()
    return DepartmentGroups(names, sizes, shown, pooled, small, k)


# -- helpers -----------------------------------------------------------------


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _in_period(query, column, period: Period):
    if period.start is not None:
        query = query.where(column >= period.start, column < period.end)
    return query


def _days(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 86400


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


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


async def _shipped_in(period: Period) -> list[dict]:
    query = Idea.select(Idea.id, Idea.owning_department, Idea.accepted_at, Idea.shipped_at).where(
        Idea.status == SHIPPED, Idea.shipped_at.is_not_null()
    )
    return await _in_period(query, Idea.shipped_at, period).order_by(Idea.id).run()


async def _credited(idea_ids: list[int]) -> list[dict]:
    """Opted-in submitters of the given (shipped) ideas: the only identities
    leadership ever sees. Uncredited submitters are never selected."""
    rows: list[dict] = []
    for chunk in _chunks(idea_ids):
        rows += (
            await Submission.select(
                Submission.idea,
                Submission.user,
                Submission.user.name.as_alias("name"),
                Submission.user.department.as_alias("department"),
            )
            .where(Submission.idea.is_in(list(chunk)), Submission.credit.eq(True))
            .order_by(Submission.id)
            .run()
        )
    return rows


# -- leaderboard ---------------------------------------------------------------


async def leaderboard(period: str | None = "all") -> Leaderboard:
    """Shipped ideas in the period, ranked three ways (see the module doc)."""
    p = parse_period(period)
    groups = await department_groups()
    shipped = await _shipped_in(p)
    credits = await _credited([r["id"] for r in shipped])
    credited_by_idea: dict[int, list[dict]] = {}
    for c in credits:
        credited_by_idea.setdefault(c["idea"], []).append(c)

    by_department: dict[tuple[str, str], int] = {}
    person_counts: dict[object, int] = {}
    person_names: dict[object, str] = {}
    by_owner: dict[tuple[str, str], int] = {}
    for idea in shipped:
        owner = groups.group_of(idea["owning_department"])
        if owner is not None:
            by_owner[owner] = by_owner.get(owner, 0) + 1
        people = credited_by_idea.get(idea["id"], [])
        if not people:
            key = (ANONYMOUS, "anonymous")
            by_department[key] = by_department.get(key, 0) + 1
            continue
        # an idea counts once per group, however many of its submitters are in it
        for label in {groups.group_of(c["department"]) for c in people} - {None}:
            by_department[label] = by_department.get(label, 0) + 1
        for c in {c["user"]: c for c in people}.values():
            person_counts[c["user"]] = person_counts.get(c["user"], 0) + 1
            person_names[c["user"]] = c["name"]
    persons = ranked_people(person_counts, person_names)
    return Leaderboard(
        period=p.label,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        by_department=ranked(by_department),
        by_person=persons,
        by_owning_department=ranked(by_owner),
        shipped_total=len(shipped),
        k_anonymity=groups.k,
    )


def ranked_people(counts: dict[object, int], names: dict[object, str]) -> list[BoardEntry]:
    """Like `ranked`, but two people with one name stay two entries."""
    items = sorted(counts.items(), key=lambda t: (-t[1], names[t[0]].casefold(), str(t[0])))
    out: list[BoardEntry] = []
    for position, (user, count) in enumerate(items, start=1):
        rank = out[-1].rank if out and out[-1].shipped == count else position
        out.append(BoardEntry(name=names[user], shipped=count, rank=rank, kind="person"))
    return out


# -- metrics -------------------------------------------------------------------


async def _first_decisions(rows: list[dict]) -> dict[int, dt.datetime]:
    """When each idea had its first council decision: `first_decided_at`, or,
    where that is missing, the first council status event (a status change
    by the CX council to a decision outcome; reveals, action notices and the
    like carry the idea's status too but decide nothing)."""
    out = {r["id"]: r["first_decided_at"] for r in rows if r["first_decided_at"]}
    missing = [r["id"] for r in rows if not r["first_decided_at"] and r["status"] != NEW]
    for chunk in _chunks(missing):
        events = (
            await Event.select(Event.idea, Event.created_at)
            .where(
                Event.idea.is_in(list(chunk)),
                Event.kind == "status",
                Event.actor_label == COUNCIL_LABEL,
                Event.status.is_in(list(DECISION_OUTCOMES)),
            )
            .order_by(Event.created_at)
            .run()
        )
        for e in events:
            out.setdefault(e["idea"], e["created_at"])
    return out


async def _participants(period: Period) -> dict[int, set]:
    """Active people who submitted an idea or voted in the period, by their
    department. Only ever used for counts."""
    by_department: dict[int, set] = {}
    submitters = Submission.select(
        Submission.user, Submission.user.department.as_alias("department")
    ).where(Submission.role == "submitter", Submission.user.active.eq(True))
    submitters = _in_period(submitters, Submission.idea.created_at, period)
    voters = Vote.select(Vote.user, Vote.user.department.as_alias("department")).where(
        Vote.user.active.eq(True)
    )
    voters = _in_period(voters, Vote.created_at, period)
    for query in (submitters, voters):
        for r in await query.distinct().run():
            by_department.setdefault(r["department"], set()).add(r["user"])
    return by_department


def participation_figures(
    groups: DepartmentGroups, participants: dict[int, set]
) -> list[ParticipationEntry]:
    """Share of each shown department's active people who took part, plus the
    pooled "Other" when allowed; small departments never on their own."""
    out = []
    for d in groups.shown:
        people = groups.sizes[d]
        took_part = len(participants.get(d, ()))
        out.append(
            ParticipationEntry(
                name=groups.names[d],
                people=people,
                participants=took_part,
                share=took_part / people,
                kind="department",
            )
        )
    out.sort(key=lambda e: (-e.share, e.name.casefold()))
    if groups.pooled:
        people = groups.pool_people
        took_part = sum(len(participants.get(d, ())) for d in groups.pooled)
        out.append(
            ParticipationEntry(
                name=OTHER,
                people=people,
                participants=took_part,
                share=took_part / people,
                kind="pooled",
            )
        )
    return out


async def _shipped_per_quarter(end: tuple[int, int]) -> list[QuarterCount]:
    first = shift_quarter(*end, -(QUARTERS_SHOWN - 1))
    span = Period("span", quarter_start(*first), quarter_start(*shift_quarter(*end, 1)), None)
    rows = await _in_period(
        Idea.select(Idea.shipped_at).where(Idea.status == SHIPPED), Idea.shipped_at, span
    ).run()
    counts: dict[tuple[int, int], int] = {}
    for r in rows:
        q = quarter_of(r["shipped_at"])
        counts[q] = counts.get(q, 0) + 1
    return [
        QuarterCount(quarter=quarter_label(*q), shipped=counts.get(q, 0))
        for q in (shift_quarter(*first, i) for i in range(QUARTERS_SHOWN))
    ]


async def metrics(period: str | None = "all") -> Metrics:
    """The funnel and its speed, the SLA share, participation and shipped per
    quarter (see the module doc for what each counts)."""
    p = parse_period(period)
    now = utcnow()
    sla_days = await get_setting("triage_sla_days")
    sla = dt.timedelta(days=sla_days)
    groups = await department_groups()
    cohort = await _in_period(
        Idea.select(
            Idea.id,
            Idea.status,
            Idea.created_at,
            Idea.first_decided_at,
            Idea.accepted_at,
            Idea.shipped_at,
        ),
        Idea.created_at,
        p,
    ).run()
    decided_at = await _first_decisions(cohort)

    triaged = accepted = shipped = declined = duplicate = 0
    within = late = overdue = 0
    to_decision: list[float] = []
    for idea in cohort:
        status = idea["status"]
        first = decided_at.get(idea["id"])
        if first is not None or status in DECIDED_STATUSES:
            triaged += 1
        accepted += idea["accepted_at"] is not None or status in ACCEPTED_STATUSES
        shipped += status == SHIPPED
        declined += status == DECLINED
        duplicate += status == DUPLICATE
        if first is not None:
            to_decision.append(_days(idea["created_at"], first))
            if first - idea["created_at"] <= sla:
                within += 1
            else:
                late += 1
        elif status in (NEW, IN_REVIEW) and now - idea["created_at"] > sla:
            overdue += 1
    counted = within + late + overdue
    share = within / counted if counted else None

    to_ship = [
        _days(r["accepted_at"], r["shipped_at"])
        for r in await _shipped_in(p)
        if r["accepted_at"] is not None
    ]
    end_quarter = p.quarter or quarter_of(now)
    return Metrics(
        period=p.label,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        funnel=Funnel(
            submitted=len(cohort),
            triaged=triaged,
            accepted=int(accepted),
            shipped=int(shipped),
            declined=int(declined),
            duplicate=int(duplicate),
        ),
        median_days_to_decision=_median(to_decision),
        median_days_to_ship=_median(to_ship),
        share_within_sla=share,
        sla=SlaFigure(
            days=sla_days,
            decided_within=within,
            decided_late=late,
            undecided_overdue=overdue,
            share=share,
        ),
        participation=participation_figures(groups, await _participants(p)),
        small_departments_hidden=len([d for d in groups.small if groups.sizes[d] > 0]),
        shipped_per_quarter=await _shipped_per_quarter(end_quarter),
        k_anonymity=groups.k,
    )


async def leaders_view(period: str | None = "all") -> LeadersView:
    """The /leaders page: both figure sets and the periods to switch between."""
    board = await leaderboard(period)
    periods = await available_periods()
    if board.period not in periods:
        periods = ["all", *sorted([*periods[1:], board.period], reverse=True)]
    return LeadersView(
        period=board.period,
        periods=periods,
        leaderboard=board,
        metrics=await metrics(period),
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
    touchpoint and owning department (a small one as "Other" or blank, as in
    every breakdown); names only of credited submitters of shipped ideas,
    never anyone else's identity."""
    p = parse_period(period)
    groups = await department_groups()
    rows = (
        await _in_period(
            Idea.select(
                Idea.id,
                Idea.title,
                Idea.status,
                Idea.touchpoint,
                Idea.votes,
                Idea.submitted_on,
                Idea.created_at,
                Idea.first_decided_at,
                Idea.accepted_at,
                Idea.shipped_at,
                Idea.owning_department,
                Idea.duplicate_of,
            ),
            Idea.created_at,
            p,
        )
        .order_by(Idea.id)
        .run()
    )
    decided_at = await _first_decisions(rows)
    credited: dict[int, list[str]] = {}
    for c in await _credited([r["id"] for r in rows if r["status"] == SHIPPED]):
        credited.setdefault(c["idea"], []).append(c["name"])

    def line(r: dict) -> list[object]:
        decided = _day(decided_at.get(r["id"]))
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
            owner[0] if (owner := groups.group_of(r["owning_department"])) else "",
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
