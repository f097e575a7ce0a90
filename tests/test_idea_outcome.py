"""The idea page tells the whole story (issue 17, item 7): a shipped idea
shows its impact (metric, before → after), an idea lists the ideas merged
into it, and the weekly-digest notice says what is in it and links on."""

from __future__ import annotations

import datetime as dt

from ideas.notify import digest
from tests.factories import submit
from tests.notify_helpers import decide, notices, open_session, vote
from tests.test_delivery import accepted, all_done
from tests.test_notify import next_digest_moment, worker


async def test_shipped_idea_shows_its_impact_on_its_page(personas):
    alice, bob, erin, idea = await accepted(personas)
    await all_done(bob, erin, idea)
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/ship",
        json={"note": "Invoices now carry the PO number on every page.",
              "impact_metric": "invoice calls per week", "impact_before": 140,
              "impact_after": 60.5},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    page = (await (await erin.browser()).get(f"/ideas/{idea}")).text
    assert "What changed for customers" in page
    assert "Invoices now carry the PO number on every page." in page
    assert "<strong>Impact:</strong> invoice calls per week: 140 → 60.5" in page


async def test_idea_lists_the_ideas_merged_into_it(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    target = await submit(alice, title="Invoices in the customer's language")
    duplicate = await submit(dan, title="Translated invoices for customers")
    bob, session = await open_session(personas)
    await decide(bob, duplicate, session, "duplicate", duplicate_of=target, note="")
    page = (await (await dan.browser()).get(f"/ideas/{target}")).text
    assert "Ideas merged into this one" in page
    assert f'<a href="/ideas/{duplicate}">Translated invoices for customers</a>' in page
    other = (await (await dan.browser()).get(f"/ideas/{duplicate}")).text
    assert "Ideas merged into this one" not in other


async def test_weekly_digest_notice_names_what_is_in_it_and_links_on(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice, title="Print the PO number on invoices")
    await vote(dan, idea)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "accept", owning_department_id=str(bob.viewer.department_id))
    moment = next_digest_moment()
    run = await digest.send_weekly_digest(worker(moment + dt.timedelta(hours=1)))
    assert run.outcome == "done"
    [notice] = await notices(kind="weekly_digest", user=dan.viewer.id)
    assert "“Print the PO number on invoices”: Accepted" in notice["text"]
    inbox = (await (await dan.browser()).get("/me/notifications")).text
    assert 'href="/?sort=new"' in inbox and 'href="/roadmap"' in inbox
