"""`ideas.db.read_rows`: the rows of a read, the same as Piccolo's `raw` on
both engines — on PostgreSQL outside a transaction as asyncpg's records (no
dict per row), inside one on the transaction's own connection."""

from __future__ import annotations

from ideas import db
from ideas.tables import Department

QUERY = "SELECT id, name, {} AS tag FROM department WHERE name LIKE {} ORDER BY id"


async def test_the_same_rows_as_piccolo_raw():
    await Department.insert(*[Department(name=f"Read {i}") for i in range(5)]).run()
    piccolo = await Department.raw(QUERY, "t", "Read %").run()
    rows = await db.read_rows(Department, QUERY, "t", "Read %")
    assert len(rows) == 5
    assert [dict(r) for r in rows] == piccolo
    # by column name, as the projection reads them
    assert [(r["name"], r.get("tag")) for r in rows] == [(p["name"], "t") for p in piccolo]
    assert await db.read_rows(Department, QUERY, "t", "Nothing %") == []


async def test_inside_a_transaction_it_sees_the_transaction_s_own_writes():
    async with db.write_transaction():
        await Department.insert(Department(name="Read in transaction")).run()
        rows = await db.read_rows(Department, QUERY, "x", "Read in %")
        # read on the transaction's connection, not a pooled one that
        # cannot see the uncommitted row
        assert [r["name"] for r in rows] == ["Read in transaction"]
