"""Rough edges a new user hit (issue 17, items 8 and 9): form errors are
sentences naming the field (never Pydantic's wording); an action due in the
past is asked about, not taken silently; removing an action asks first, and
its owner is told it was removed."""

from __future__ import annotations

import datetime as dt

import pytest

from ideas import clock
from tests.factories import submit
from tests.notify_helpers import drain, notices
from tests.test_delivery import accepted, add, all_done

RAW = ("Input should be", "valid number", "at least 1 characters", "Must be at least")


async def test_ship_form_names_the_bad_number_in_words(personas):
    _alice, bob, erin, idea = await accepted(personas)
    await all_done(bob, erin, idea)
    r = await (await bob.browser()).form(
        f"/ideas/{idea}/ship",
        {"note": "Invoices now carry the PO number.", "impact_metric": "calls a week",
         "impact_before": "lots", "impact_after": "60"},
        htmx=True,
    )  # fmt: skip
    assert r.status_code == 200
    assert "The value before must be a number, like 140 or 12.5." in r.text
    for raw in RAW:
        assert raw not in r.text


async def test_an_empty_comment_is_a_sentence_naming_the_field(personas):
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    r = await (await alice.browser()).form(f"/ideas/{idea}/comments", {"body": "  "}, htmx=True)
    assert "Your comment cannot be empty." in r.text
    for raw in RAW:
        assert raw not in r.text


async def test_a_past_due_date_is_asked_about_on_the_forms(personas):
    _alice, bob, erin, idea = await accepted(personas)
    web = await bob.browser()
    past = str(clock.today() - dt.timedelta(days=2))
    form = {"title": "Brief the sales team", "owner_id": erin.id, "due_on": past}
    r = await web.form(f"/ideas/{idea}/actions", form, htmx=True)
    assert r.status_code == 200
    assert "The due date is in the past" in r.text and 'name="past_ok"' in r.text
    assert (await bob.api().get(f"/api/v1/ideas/{idea}/actions")).json()["items"] == []
    r = await web.form(f"/ideas/{idea}/actions", {**form, "past_ok": "1"}, htmx=True)
    assert "Brief the sales team" in r.text and "in the past" not in r.text
    [action] = (await bob.api().get(f"/api/v1/ideas/{idea}/actions")).json()["items"]
    # editing something else keeps the (already past) date without asking
    r = await web.form(
        f"/actions/{action['id']}/edit",
        {"title": "Brief the whole sales team", "owner_id": erin.id, "due_on": past},
        htmx=True,
    )
    assert "Brief the whole sales team" in r.text and "in the past" not in r.text
    r = await web.form(
        f"/actions/{action['id']}/edit",
        {"title": "Brief the whole sales team", "owner_id": erin.id,
         "due_on": str(clock.today() - dt.timedelta(days=5))},
        htmx=True,
    )  # fmt: skip
    assert "The due date is in the past" in r.text


async def test_removing_an_action_asks_first_and_tells_its_owner(personas):
    _alice, bob, erin, idea = await accepted(personas)
    action = (await add(bob, idea, erin, title="Print the PO number")).json()
    web = await bob.browser()
    panel = (await web.htmx_get(f"/fragments/ideas/{idea}/actions")).text
    assert "Remove action…" in panel and "Yes, remove it" in panel
    assert "is told that it was removed" in panel
    await drain()
    r = await web.form(f"/actions/{action['id']}/remove", {}, htmx=True)
    assert r.status_code == 200
    await drain()
    told = {n["kind"]: n["text"] for n in await notices(user=erin.viewer.id)}
    assert "action_removed" in told and "Print the PO number" in told["action_removed"]
    assert told["action_assigned"].endswith("(This action was later removed.)")


def test_a_full_participation_label_is_not_clipped():
    """ "100% (14 of 14)" written after a full bar stays inside the chart (issue 17, item 10)."""
    import re as _re

    from ideas import charts
    from ideas.leadership.metrics import ParticipationEntry

    entry = ParticipationEntry(
        name="Support", people=14, participants=14, share=1.0, kind="department"
    )
    svg = charts.participation_chart([entry], "all time", 5)
    x, text = _re.search(r'<text x="([\d.]+)"[^>]*chart-value[^>]*>([^<]+)</text>', svg).groups()
    assert text == "100% (14 of 14)"
    # ~8 px a character at 13 px: the label ends inside the 360 px wide chart
    assert float(x) + 8 * len(text) <= charts.WIDTH


async def test_sqlite_version_is_said_as_sqlite_writes_it(caplog):
    """Piccolo said "Running Sqlite version 3.4" for 3.40.1 (issue 17, item 11)."""
    import logging
    import sqlite3

    from ideas.db import engine, is_postgres

    if is_postgres():
        pytest.skip("the SQLite engine only")
    with caplog.at_level(logging.INFO, logger="piccolo.engine.base"):
        await engine().check_version()
    said = [r.getMessage() for r in caplog.records if "version" in r.getMessage()]
    assert said == [f"Running SQLite version {sqlite3.sqlite_version}"]
