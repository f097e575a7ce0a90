"""The leadership metrics: the funnel of ideas submitted in the period and
its speed (median days to the first decision, and from acceptance to ship),
the share decided within the triage SLA, participation by department
(k-anonymous, closed quarters only) and shipped ideas per quarter."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from ideas import policy, sql
from ideas.context import Context
from ideas.leadership.counting import (
    IS_SHIPPED,
    first_decision_sql,
    median_days,
    period_sql,
    placeholders,
    published_sql,
    where,
)
from ideas.leadership.groups import OTHER, DepartmentGroups, department_groups
from ideas.leadership.kept import reused
from ideas.leadership.periods import (
    Period,
    parse_period,
    published_quarters,
    quarter_label,
    quarter_of,
    quarter_start,
    shift_quarter,
)
from ideas.lifecycle import DECLINED, DUPLICATE, SHIPPED
from ideas.org_settings import get_setting
from ideas.policy import ACCEPTED_OR_LATER as ACCEPTED_STATUSES
from ideas.policy import DECIDED as DECIDED_STATUSES
from ideas.policy import overdue_sql
from ideas.tables import Idea, User

QUARTERS_SHOWN = 8


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
    #: closed quarters only (empty for the current quarter): see the package doc
    participation: list[ParticipationEntry]
    #: false when the period is not closed yet, so participation is withheld
    participation_published: bool = True
    #: last day the participation figures cover (None: nothing published)
    participation_through: dt.date | None = None
    #: departments under k active people not shown on their own
    small_departments_hidden: int
    shipped_per_quarter: list[QuarterCount]
    k_anonymity: int


async def _funnel(
    p: Period, now: dt.datetime, sla: dt.timedelta
) -> tuple[Funnel, dict, float | None]:
    """The funnel of ideas submitted in the period, the SLA counts and the
    median days to the first decision: one pass over the period's ideas."""
    first = first_decision_sql("i")
    in_period, period_args = period_sql("i.created_at", p)
    published, published_args = published_sql("i", now)
    in_period, period_args = [*in_period, *published], [*period_args, *published_args]
    source = (
        f"(SELECT i.status AS status, i.created_at AS created_at, i.accepted_at AS accepted_at, "
        f"{first} AS decided_at FROM idea i{where(in_period)}{sql.fence()}) c WHERE TRUE"
    )
    to_decision = sql.duration("decided_at", "created_at")
    overdue, overdue_args = overdue_sql(
        now, sla / dt.timedelta(days=1), first_decided_at="decided_at"
    )
    decided = placeholders(sorted(DECIDED_STATUSES))
    accepted = placeholders(sorted(ACCEPTED_STATUSES))
    text = (
        "SELECT COUNT(*) AS submitted, "
        f"COUNT(*) FILTER (WHERE decided_at IS NOT NULL OR status IN ({decided})) AS triaged, "
        f"COUNT(*) FILTER (WHERE accepted_at IS NOT NULL OR status IN ({accepted})) AS accepted, "
        "COUNT(*) FILTER (WHERE status = {}) AS shipped, "
        "COUNT(*) FILTER (WHERE status = {}) AS declined, "
        "COUNT(*) FILTER (WHERE status = {}) AS duplicate, "
        "COUNT(decided_at) AS decided, "
        f"COUNT(*) FILTER (WHERE {to_decision} <= {{}}) AS within, "
        f"COUNT(*) FILTER (WHERE {overdue}) AS overdue"
        f"{sql.middle_sql(to_decision)} FROM {source}"
    )
    row = (
        await Idea.raw(
            text,
            *sorted(DECIDED_STATUSES),
            *sorted(ACCEPTED_STATUSES),
            SHIPPED,
            DECLINED,
            DUPLICATE,
            sql.duration_arg(sla),
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
    median = await median_days(row, row["decided"], source, to_decision, period_args)
    return funnel, sla_counts, median


async def _median_days_to_ship(p: Period) -> float | None:
    """Median days from acceptance to ship, of ideas shipped in the period."""
    in_period, period_args = period_sql("shipped_at", p)
    conditions = [IS_SHIPPED, "shipped_at IS NOT NULL", "accepted_at IS NOT NULL", *in_period]
    source = f"idea{where(conditions)}"
    to_ship = sql.duration("shipped_at", "accepted_at")
    text = f"SELECT COUNT(*) AS n{sql.middle_sql(to_ship)} FROM {source}"
    row = (await Idea.raw(text, *period_args).run())[0]
    return await median_days(row, row["n"], source, to_ship, period_args)


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


async def compute_metrics(p: Period, groups: DepartmentGroups, now: dt.datetime) -> Metrics:
    """The metrics of the period at `now`, counted now (no permission check:
    for the use cases of this package)."""
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


async def metrics(ctx: Context, period: str | None = "all") -> Metrics:
    """The funnel and its speed, the SLA share, participation and shipped per
    quarter (see the package doc for what each counts); reused for a while
    (`ideas.leadership.kept`). Leaders and admins only."""
    policy.authorize(ctx.actor, "leaders.view")
    p = parse_period(period)

    async def fresh() -> Metrics:
        return await compute_metrics(p, await department_groups(ctx.now), ctx.now)

    return await reused(ctx, "metrics", p, fresh)
