"""`ideas.sql.in_list`: the same rows for every length of list on both
engines — on PostgreSQL a short list is written as one parameter a value,
padded to the next power of two (so the planner can keep one plan per
width), a longer one as one array."""

from __future__ import annotations

import pytest

from ideas import sql
from ideas.tables import Department


@pytest.fixture
async def departments() -> list[int]:
    rows = (
        await Department.insert(*[Department(name=f"Dept {i:03d}") for i in range(80)])
        .returning(Department.id)
        .run()
    )
    return sorted(r["id"] for r in rows)


@pytest.mark.parametrize("length", [1, 2, 3, 5, 17, 64, 65, 80])
async def test_every_length_finds_exactly_its_rows(departments, length):
    wanted = departments[::-1][:length]
    condition, args = sql.in_list("id", wanted)
    rows = await Department.raw(f"SELECT id FROM department WHERE {condition}", *args).run()
    assert sorted(r["id"] for r in rows) == sorted(wanted)


async def test_an_empty_list_finds_nothing(departments):
    # an empty array on PostgreSQL; SQLite takes `IN ()` as nothing
    condition, args = sql.in_list("id", [])
    rows = await Department.raw(f"SELECT id FROM department WHERE {condition}", *args).run()
    assert rows == []


def test_short_lists_come_in_few_shapes(monkeypatch):
    monkeypatch.setattr(sql, "is_postgres", lambda: True)
    shapes = {sql.in_list("id", range(n))[0] for n in range(1, sql.IN_LIST_PARAMETERS + 1)}
    # widths 1, 2, 4, ..., 64: seven statements, not sixty-four
    assert len(shapes) == 7
    condition, args = sql.in_list("id", [7, 8, 9])
    assert condition == "id IN ({}, {}, {}, {})" and args == [7, 8, 9, 9]
    condition, args = sql.in_list("id", range(sql.IN_LIST_PARAMETERS + 1))
    assert condition == "id = ANY({})" and len(args) == 1


@pytest.mark.parametrize("length", [1, 3, 5, 17, 64, 65, 80])
async def test_position_in_orders_the_rows_as_the_list_does(departments, length):
    """`sql.position_in`: a ranking made in Python kept by ORDER BY, with a
    LIMIT cutting the same rows as the list would (padded short lists, an
    array for long ones, on both engines)."""
    wanted = departments[::-3][:length]
    wanted = wanted[1::2] + wanted[::2]  # not in the table's order
    among, among_args = sql.in_list("id", wanted)
    rank, rank_args = sql.position_in("id", wanted)
    rows = await Department.raw(
        f"SELECT id FROM department WHERE {among} ORDER BY {rank} LIMIT {{}}",
        *among_args,
        *rank_args,
        len(wanted),
    ).run()
    assert [r["id"] for r in rows] == wanted
    rows = await Department.raw(
        f"SELECT id FROM department WHERE {among} ORDER BY {rank} LIMIT 2",
        *among_args,
        *rank_args,
    ).run()
    assert [r["id"] for r in rows] == wanted[:2]


def test_position_in_comes_in_the_shapes_of_in_list(monkeypatch):
    monkeypatch.setattr(sql, "is_postgres", lambda: True)
    shapes = {sql.position_in("id", range(n))[0] for n in range(1, sql.IN_LIST_PARAMETERS + 1)}
    assert len(shapes) == 7
    rank, args = sql.position_in("id", [7, 8, 9])
    assert args == [7, 8, 9, 9] and "THEN 3" in rank  # the padding repeats the last
