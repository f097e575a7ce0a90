"""What creating an idea writes, on both engines: on PostgreSQL one
statement (ideas.sql.submit_statement), on SQLite one write transaction —
the same rows either way, and a random id already taken is skipped, never
shared."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ideas import clock, participation
from ideas.board import ids, submit
from ideas.tables import Follow, Idea, IdeaVector, Participation, Submission
from tests.factories import submit as submit_as


@pytest.fixture
def still():
    """A clock that does not move: every stamp of the create is this moment."""
    moment = dt.datetime(2026, 6, 10, 10, 0, 0, 123456, tzinfo=dt.UTC)
    clock.set_clock(lambda: moment)
    yield moment
    clock.set_clock(None)


async def test_an_idea_is_written_with_its_submission_follow_vector_and_participation(
    personas, still
):
    alice = await personas.get("alice_support")
    now = still
    idea_id = int(await submit_as(alice, "Printable receipts for every card payment"))
    row = (await Idea.select().where(Idea.id == idea_id).run())[0]
    assert row["status"] == "new" and row["votes"] == 0
    assert row["title"] == "Printable receipts for every card payment"
    assert row["created_at"] == now and row["updated_at"] == now
    assert row["submitted_on"] == now.date()
    assert row["published_at"] is not None and row["published_at"] <= now
    assert row["owning_department"] is None and row["duplicate_of"] is None
    assert row["ship_note"] == "" and row["impact_metric"] == ""
    assert row["impact_before"] is None and row["impact_after"] is None
    assert row["answered"] is False and row["edited_at"] is None
    assert row["first_decided_at"] is None and row["shipped_at"] is None
    proposal = row["ship_proposal"]
    assert (json.loads(proposal) if isinstance(proposal, str) else proposal) == {}
    subs = await Submission.select().where(Submission.idea == idea_id).run()
    assert [(s["user"], s["role"], s["credit"], s["created_at"]) for s in subs] == [
        (alice.viewer.id, "submitter", None, now)
    ]
    follows = await Follow.select(Follow.user).where(Follow.idea == idea_id).run()
    assert follows == [{"user": alice.viewer.id}]
    vectors = await IdeaVector.select().where(IdeaVector.idea == idea_id).run()
    assert [(v["pending"], v["vector"], v["model"], v["updated_at"]) for v in vectors] == [
        (True, None, "", now)
    ]
    took_part = await Participation.select().where(Participation.user == alice.viewer.id).run()
    assert [(p["department"], p["quarter"]) for p in took_part] == [
        (alice.viewer.department_id, participation.quarter_label_of(now))
    ]


async def test_a_random_id_already_taken_is_skipped(personas, monkeypatch):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    taken = int(await submit_as(alice, "Printable receipts for every card payment"))
    fresh = taken + 1 if taken + 1 < ids.ID_LIMIT else taken - 1
    candidates = iter([taken, fresh])
    monkeypatch.setattr(ids, "random_candidate", lambda: next(candidates))
    monkeypatch.setattr(submit, "random_candidate", ids.random_candidate)
    second = int(await submit_as(dan, "Live chat on the billing pages"))
    assert second == fresh
    # the taken idea keeps its one submitter; the new one has its own
    for idea_id, person in ((taken, alice), (fresh, dan)):
        subs = await Submission.select(Submission.user).where(Submission.idea == idea_id).run()
        assert subs == [{"user": person.viewer.id}]
        follows = await Follow.select(Follow.user).where(Follow.idea == idea_id).run()
        assert follows == [{"user": person.viewer.id}]
    assert (await Idea.select(Idea.title).where(Idea.id == taken).run())[0]["title"] == (
        "Printable receipts for every card payment"
    )
