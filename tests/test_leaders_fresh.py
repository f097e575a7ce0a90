"""Leadership figures are reused only until something they count changes
(issue 17, item 13): a ship, a credit choice or a decision bumps a version
in its own transaction, and the version is part of the kept figures' key;
a vote (counted within LEADERS_CACHE_SECONDS) does not."""

from __future__ import annotations

import dataclasses

import pytest

from ideas import figures
from ideas.config import get_settings, reset_settings
from ideas.leadership.board import leaderboard
from ideas.leadership.kept import forget_kept_figures
from tests.factories import ctx_for, submit
from tests.notify_helpers import decide, open_session, vote
from tests.test_delivery import SHIP_NOTE, accepted, all_done


@pytest.fixture
def kept_for_a_minute():
    settings = get_settings()
    reset_settings(dataclasses.replace(settings, leaders_cache_seconds=60))
    forget_kept_figures()
    yield
    reset_settings(settings)
    forget_kept_figures()


async def test_a_ship_and_a_credit_choice_show_at_once_a_vote_waits(personas, kept_for_a_minute):
    alice, bob, erin, idea = await accepted(personas)
    leader = ctx_for((await personas.get("carol_leader")).viewer)
    await all_done(bob, erin, idea)
    before = await leaderboard(leader, "all")
    dan = await personas.get("dan_sales")
    other = await submit(dan, title="Another idea to vote for")
    await vote(erin, other)
    assert await leaderboard(leader, "all") is before  # a vote: the kept copy
    version = await figures.current()
    r = await bob.api().post(f"/api/v1/ideas/{idea}/ship", json={"note": SHIP_NOTE})
    assert r.status_code == 200, r.text
    assert await figures.current() > version
    shipped = await leaderboard(leader, "all")
    assert shipped is not before
    assert shipped.shipped_total == before.shipped_total + 1
    assert alice.name not in {e.name for e in shipped.by_person}
    r = await alice.api().put(f"/api/v1/ideas/{idea}/credit", json={"credit": True})
    assert r.status_code == 200
    credited = await leaderboard(leader, "all")
    assert alice.name in {e.name for e in credited.by_person}


async def test_a_decision_bumps_the_version(personas, kept_for_a_minute):
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    bob, session = await open_session(personas)  # the agenda move is a status change too
    version = await figures.current()
    await decide(bob, idea, session, "decline", note="x" * 30)
    assert await figures.current() == version + 1
