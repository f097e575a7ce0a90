"""The per-process cache of who is calling (web/auth.py, docs/security.md):
a revocation is effective within VIEWER_CACHE_SECONDS, a logout in this
process at once, and one credential is never answered with another's person.
The clock is moved, never slept on."""

from __future__ import annotations

import datetime as dt

import pytest

from ideas import clock
from ideas.tables import User
from web.auth import VIEWER_CACHE_SECONDS, viewer_cache

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def moment():
    """The cache on, at its production window, and a clock the test moves."""
    now = [START]
    clock.set_clock(lambda: now[0])
    viewer_cache.seconds = VIEWER_CACHE_SECONDS
    yield now
    clock.set_clock(None)
    viewer_cache.seconds = 0
    viewer_cache.clear()


async def test_a_deactivated_person_is_refused_once_the_window_has_passed(personas, moment):
    dan = await personas.get("dan_sales")
    api = dan.api()
    assert (await api.get("/api/v1/ideas")).status_code == 200
    # deactivated by another process (straight in the database): this one
    # still believes the token within the window ...
    await User.update({User.active: False}).where(User.id == dan.viewer.id).run()
    moment[0] = START + dt.timedelta(seconds=VIEWER_CACHE_SECONDS - 1)
    assert (await api.get("/api/v1/ideas")).status_code == 200
    # ... and not a moment after it
    moment[0] = START + dt.timedelta(seconds=VIEWER_CACHE_SECONDS)
    assert (await api.get("/api/v1/ideas")).status_code == 401
    moment[0] = START + dt.timedelta(seconds=3 * VIEWER_CACHE_SECONDS)
    assert (await api.get("/api/v1/ideas")).status_code == 401


async def test_a_role_taken_away_is_gone_once_the_window_has_passed(personas, moment):
    bob = await personas.get("bob_finance_council")
    api = bob.api()
    assert (await api.get("/api/v1/triage/queue")).status_code == 200
    await User.update({User.is_council: False}).where(User.id == bob.viewer.id).run()
    moment[0] = START + dt.timedelta(seconds=VIEWER_CACHE_SECONDS + 0.5)
    assert (await api.get("/api/v1/triage/queue")).status_code == 403


async def test_each_credential_answers_for_its_own_person(personas, moment):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    for persona in (alice, dan, alice, dan):
        me = await persona.api().get("/api/v1/me")
        assert me.status_code == 200 and me.json()["id"] == persona.id
