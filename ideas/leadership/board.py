"""The leaderboard: shipped ideas in the period, ranked by the credited
submitters' department (k-anonymous), by opted-in person, and by owning
department (by name, whatever its size)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from ideas import policy, sql
from ideas.context import Context
from ideas.leadership.counting import IS_CREDITED, IS_SHIPPED, period_sql, where
from ideas.leadership.groups import OTHER, DepartmentGroups, department_groups
from ideas.leadership.kept import reused
from ideas.leadership.periods import Period, parse_period
from ideas.tables import Idea

ANONYMOUS = "Anonymous"

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


def ranked_people(counts: dict[object, int], names: dict[object, str]) -> list[BoardEntry]:
    """Like `ranked`, but two people with one name stay two entries."""
    items = sorted(counts.items(), key=lambda t: (-t[1], names[t[0]].casefold(), str(t[0])))
    out: list[BoardEntry] = []
    for position, (user, count) in enumerate(items, start=1):
        rank = out[-1].rank if out and out[-1].shipped == count else position
        out.append(BoardEntry(name=names[user], shipped=count, rank=rank, kind="person"))
    return out


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
    in_period, args = period_sql("shipped_at", p)
    if groups.pooled:
        pooled_sql, pooled_args = sql.in_list("department", sorted(groups.pooled))
        group = f"CASE WHEN {pooled_sql} THEN -1 ELSE department END"
    else:
        group, pooled_args = "department", []
    text = (
        "WITH shipped AS (SELECT id, owning_department FROM idea"
        f"{where([IS_SHIPPED, 'shipped_at IS NOT NULL', *in_period])}), "
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
    return await Idea.raw(text, *args, *pooled_args).run()


async def compute_leaderboard(p: Period, groups: DepartmentGroups) -> Leaderboard:
    """The leaderboard of the period, counted now (no permission check: for
    the use cases of this package)."""
    by_department: dict[tuple[str, str], int] = {}
    person_counts: dict[object, int] = {}
    person_names: dict[object, str] = {}
    by_owner: dict[tuple[str, str], int] = {}
    shipped_total = credited = 0
    for r in await _board_counts(p, groups):
        kind, key, n = r["k"], r["key"], r["n"]
        if kind == "o":
            shipped_total += n
            # the team that delivered, by name, whatever its size
            name = policy.owning_department_shown(None if key is None else int(key), groups.names)
            if name is not None:
                owner = (name, "department")
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


async def leaderboard(ctx: Context, period: str | None = "all") -> Leaderboard:
    """Shipped ideas in the period, ranked three ways (see the package doc);
    reused for a while (`ideas.leadership.kept`). Leaders and admins only."""
    policy.authorize(ctx.actor, "leaders.view")
    p = parse_period(period)

    async def fresh() -> Leaderboard:
        return await compute_leaderboard(p, await department_groups(ctx.now))

    return await reused(ctx, "leaderboard", p, fresh)
