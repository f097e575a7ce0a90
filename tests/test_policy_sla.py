"""The triage-SLA rule's SQL twins give the same answer as the function, on
the engine under test (SQLite, and PostgreSQL in CI's second pass), at the
microsecond edges."""

from __future__ import annotations

import datetime as dt
import itertools

from ideas import policy
from ideas.lifecycle import STATUSES
from ideas.tables import Idea
from tests.factories import idea_payload

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
SLA = 14
EDGE = NOW - dt.timedelta(days=SLA)
AGES = [
    EDGE - dt.timedelta(days=10),
    EDGE - dt.timedelta(microseconds=1),
    EDGE,
    EDGE + dt.timedelta(microseconds=1),
    NOW - dt.timedelta(days=13, hours=23),
]


async def test_the_sql_twins_agree_with_is_overdue(personas):
    alice = await personas.get("alice_support")
    r = await alice.api().post("/api/v1/ideas", json=idea_payload())
    assert r.status_code == 201, r.text
    template = (await Idea.select().where(Idea.id == int(r.json()["id"])).run())[0]
    expected: dict[int, bool] = {}
    for n, (status, submitted_at, decided) in enumerate(
        itertools.product(STATUSES, AGES, (False, True))
    ):
        first_decided_at = submitted_at + dt.timedelta(hours=1) if decided else None
        row = {k: v for k, v in template.items() if k != "id"}
        row.update(
            title=f"Edge case number {n} of the triage SLA",
            status=status,
            created_at=submitted_at,
            submitted_on=submitted_at.date(),
            first_decided_at=first_decided_at,
            duplicate_of=None,
        )
        (made,) = await Idea.insert(Idea(**row)).returning(Idea.id).run()
        expected[made["id"]] = policy.is_overdue(submitted_at, status, NOW, SLA, first_decided_at)
    assert any(expected.values()) and not all(expected.values())

    where = {
        r["id"] for r in await Idea.select(Idea.id).where(policy.overdue_where(NOW, SLA)).run()
    }
    condition, args = policy.overdue_sql(NOW, SLA)
    raw = {r["id"] for r in await Idea.raw(f"SELECT id FROM idea WHERE {condition}", *args).run()}
    overdue = {idea_id for idea_id, late in expected.items() if late}
    assert where == overdue
    assert raw == overdue
