"""k-anonymity: which departments a figure about people, broken down by
department, may show on their own, pool as "Other", or leave out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ideas.leadership.periods import quarter_label, quarter_of
from ideas.org_settings import get_setting
from ideas.tables import Department, User

OTHER = "Other"
#: the lowest k-anonymity threshold ever applied, whatever is configured
K_FLOOR = 3
#: a person moved to another department counts towards its size for
#: k-anonymity only this many days after the move
SETTLED_DAYS = 30


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


async def department_groups(now: dt.datetime, k: int | None = None) -> DepartmentGroups:
    """Active people per department, split by the k-anonymity threshold.

    A department is shown on its own only when it has at least k active
    people AND most of them (more than half) are settled: they took part
    (submitted or voted) before the current quarter and were not moved into
    it by an admin within the last `SETTLED_DAYS` days. A department padded
    with accounts that never act, or filled by moving people in, therefore
    shows no figure of its own. Whether a person is settled depends only on
    closed quarters and on moves, never on anything done today."""
    k = effective_k(await get_setting("k_anonymity") if k is None else k)
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
