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


class _Undo(Exception):
    pass


async def test_a_write_commits_alone_outside_a_transaction_and_with_it_inside():
    """`db.write_rows`: one write statement's RETURNING rows; outside a
    transaction it commits on its own (the vote's one statement), inside one
    it is undone with the transaction."""
    insert = "INSERT INTO department (name) VALUES ({}) RETURNING name"
    rows = await db.write_rows(Department, insert, "Written alone")
    assert [r["name"] for r in rows] == ["Written alone"]
    try:
        async with db.write_transaction():
            await db.write_rows(Department, insert, "Written then undone")
            raise _Undo
    except _Undo:
        pass
    names = {r["name"] for r in await Department.select(Department.name).run()}
    assert "Written alone" in names and "Written then undone" not in names
