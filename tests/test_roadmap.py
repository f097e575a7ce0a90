"""The roadmap (issue 17, item 3): all staff see what was accepted, what is
in progress and what shipped lately, filterable by touchpoint and owning
department, without any submitter's identity."""

from __future__ import annotations

import datetime as dt
import re

from ideas import clock, roadmap
from ideas.board.submit import submit_idea
from ideas.people import directory
from ideas.schemas import IdeaIn
from ideas.tables import Idea
from tests.factories import ctx_for, idea_payload

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


async def idea_in(persona, title: str, status: str, department: int | None = None, **extra) -> int:
    idea = await submit_idea(
        ctx_for(persona.viewer),
        IdeaIn(**idea_payload(title=title, touchpoint=extra.pop("tp", "billing"))),
    )
    values = {Idea.status: status, Idea.owning_department: department}
    for column, value in extra.items():
        values[getattr(Idea, column)] = value
    await Idea.update(values).where(Idea.id == int(idea.id)).run()
    return int(idea.id)


async def world(personas, now: dt.datetime = NOW):
    """The roadmap's ideas, shipped a month and 200 days before `now`."""
    alice = await personas.get("alice_support")
    finance = await directory.department_by_name("Finance", create=True)
    it = await directory.department_by_name("IT", create=True)
    ids = {
        "accepted": await idea_in(alice, "Accepted idea owned by finance", "accepted", finance),
        "working": await idea_in(alice, "Idea in progress owned by IT", "in_progress", it,
                                 tp="support"),
        "shipped": await idea_in(alice, "Shipped last month by finance", "shipped", finance,
                                 shipped_at=now - dt.timedelta(days=30)),
        "old": await idea_in(alice, "Shipped long ago by finance", "shipped", finance,
                             shipped_at=now - dt.timedelta(days=200)),
        "new": await idea_in(alice, "A new idea not on the roadmap", "new"),
        "declined": await idea_in(alice, "A declined idea not on the roadmap", "declined"),
    }  # fmt: skip
    return alice, finance, it, ids


def titles(result: roadmap.Roadmap) -> dict[str, list[str]]:
    return {c.status: [i.idea.title for i in c.items] for c in result.columns}


async def test_roadmap_columns_and_filters(personas):
    alice, finance, it, ids = await world(personas)
    dan = await personas.get("dan_sales")
    result = await roadmap.roadmap(ctx_for(dan.viewer, NOW))
    assert titles(result) == {
        "accepted": ["Accepted idea owned by finance"],
        "in_progress": ["Idea in progress owned by IT"],
        "shipped": ["Shipped last month by finance"],
    }
    assert sorted(d.name for d in result.departments) == ["Finance", "IT"]
    by_it = await roadmap.roadmap(ctx_for(dan.viewer, NOW), department=str(it))
    assert titles(by_it) == {"accepted": [], "in_progress": ["Idea in progress owned by IT"],
                             "shipped": []}  # fmt: skip
    support = await roadmap.roadmap(ctx_for(dan.viewer, NOW), touchpoint="support")
    assert titles(support)["in_progress"] == ["Idea in progress owned by IT"]
    assert titles(support)["accepted"] == []


async def test_roadmap_page_for_every_staff_member_names_no_submitter(personas):
    # the page's "recently shipped" is relative to today: the ideas shipped
    # before the test's today, and one moved to three days ago
    alice, finance, it, ids = await world(personas, clock.now())
    await (
        Idea.update({Idea.shipped_at: clock.now() - dt.timedelta(days=3)})
        .where(Idea.id == ids["shipped"])
        .run()
    )
    dan = await personas.get("dan_sales")
    c = await dan.browser()
    r = await c.get("/roadmap")
    assert r.status_code == 200
    assert 'href="/roadmap"' in r.text  # in the main navigation
    for title in ("Accepted idea owned by finance", "Idea in progress owned by IT",
                  "Shipped last month by finance"):  # fmt: skip
        assert title in r.text
    for absent in ("Shipped long ago", "A new idea not on", "A declined idea"):
        assert absent not in r.text
    assert "Recently shipped" in r.text and "Owned by IT" in r.text
    for secret in alice.identity_strings():
        assert secret not in r.text
    filtered = await c.get("/roadmap", params={"department": str(it)})
    assert "Idea in progress owned by IT" in filtered.text
    assert "Accepted idea owned by finance" not in filtered.text
    assert re.search(rf'<option value="{it}" selected>IT</option>', filtered.text)
    bad = await c.get("/roadmap", params={"department": "abc", "touchpoint": "nowhere"})
    assert bad.status_code == 422
    assert "Touchpoint: must be one of" in bad.text
    bad = await c.get("/roadmap", params={"department": "abc"})
    assert bad.status_code == 422 and "Department: no department with id" in bad.text
