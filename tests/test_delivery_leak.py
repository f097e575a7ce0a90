"""The blind promise with shipped ideas in the data: credited and uncredited.

Zebulon and Ottoline (identity strings found nowhere else) submit ideas that
ship without credit (never chosen; chosen and then withdrawn), one that is
in progress with credit chosen before shipping (so it must stay hidden), and
Ottoline co-submits, through a merge, an idea whose other submitter opted in.
The crawler then walks every page, fragment and GET API route as council, a
leader, an admin and another staff member: neither name appears anywhere
that carries an idea, while the opted-in submitter is named as promised.
"""

from __future__ import annotations

import datetime as dt

from ideas import clock
from ideas.tables import Submission
from tests.factories import submit
from tests.leakcrawl import LeakCrawler
from tests.test_delivery import (
    SHIP_NOTE,
    add,
    merge,
    triage_accept,
)
from tests.test_leak import identity, make_submitters

CRAWLERS = ("bob_finance_council", "carol_leader", "adam_admin", "alice_support")
WILHELMINA = ("Wilhelmina Creditworth", "Keeper of Thanks", "Support")

TITLES = {
    "z_shipped": "Let customers pause a subscription for a month",
    "z_in_progress": "Offer a callback instead of hold music",
    "o_shipped": "Merge the two onboarding emails into one",
    "w_shipped": "Show expected delivery dates before payment",
    "o_duplicate": "Show the delivery date before people pay",
}


async def _finish_and_ship(bob, owner, idea_id: str, impact: bool = True) -> None:
    action = (await add(bob, idea_id, owner, title="Build and roll it out")).json()
    r = await owner.api().patch(f"/api/v1/actions/{action['id']}", json={"status": "done"})
    assert r.status_code == 200, r.text
    body = {"note": SHIP_NOTE}
    if impact:
        body |= {"impact_metric": "calls per week", "impact_before": 140, "impact_after": 60}
    r = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json=body)
    assert r.status_code == 200, r.text


async def _credit(persona, idea_id: str, credit: bool) -> dict:
    r = await persona.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": credit})
    assert r.status_code == 200, r.text
    return r.json()


async def build_shipped_world(personas) -> dict:
    zeb, otto = await make_submitters(personas)
    wil = await personas.make("wilhelmina", *WILHELMINA, email="wil@example.com")
    bob = await personas.get("bob_finance_council")
    dan = await personas.get("dan_sales")
    await personas.get("carol_leader")
    await personas.get("adam_admin")
    await personas.get("alice_support")
    authors = {"z": zeb, "o": otto, "w": wil}
    ids: dict[str, str] = {}
    for key, title in TITLES.items():
        ids[key] = await submit(authors[key[0]], title=title)
    for key in ("z_shipped", "z_in_progress", "o_shipped", "w_shipped"):
        await triage_accept(personas, ids[key], department="Product")
    await merge(personas, ids["o_duplicate"], ids["w_shipped"])

    await _finish_and_ship(bob, dan, ids["z_shipped"])  # never chose: anonymous
    await _credit(otto, ids["o_shipped"], True)
    await _finish_and_ship(bob, dan, ids["o_shipped"], impact=False)
    await _credit(otto, ids["o_shipped"], False)  # opted in, then out
    await _credit(wil, ids["w_shipped"], True)  # opted in before shipping
    await _finish_and_ship(bob, dan, ids["w_shipped"])
    await _credit(otto, ids["w_shipped"], False)  # the co-submitter stays out
    await _credit(zeb, ids["z_in_progress"], True)  # chosen, not shipped: hidden
    late = str(clock.today() - dt.timedelta(days=2))
    action = (await add(bob, ids["z_in_progress"], dan, title="Overdue step", due_on=late)).json()
    await dan.api().patch(f"/api/v1/actions/{action['id']}", json={"status": "doing"})
    return {"ids": ids, "zeb": zeb, "otto": otto, "wil": wil}


async def test_shipped_ideas_name_only_those_who_opted_in(personas):
    world = await build_shipped_world(personas)
    ids = world["ids"]
    crawler = LeakCrawler(
        [identity(world["zeb"]), identity(world["otto"])],
        idea_ids=ids.values(),
        idea_titles=TITLES.values(),
        probes=("invoice", "delivery", "Zebulon", "Vexworth"),
    )
    for key in CRAWLERS:
        persona = await personas.get(key)
        await crawler.crawl_html(key, await persona.browser(), "/")
        await crawler.crawl_api(key, persona.api(), {"idea_id": list(ids.values())})
    assert not crawler.findings, "the blind promise leaks:\n" + crawler.report()
    assert not crawler.failures, "\n".join(crawler.failures[:30])

    ok_paths = {v.url.split("?")[0] for v in crawler.visits if v.status == 200}
    expected = {"/shipped", "/delivery", "/me/actions"}
    for key in ("z_shipped", "o_shipped", "w_shipped", "z_in_progress"):
        expected |= {
            f"/ideas/{ids[key]}",
            f"/fragments/ideas/{ids[key]}/actions",
            f"/fragments/ideas/{ids[key]}/credit",
            f"/api/v1/ideas/{ids[key]}/actions",
        }
    assert expected <= ok_paths, sorted(expected - ok_paths)

    # the one who opted in is named, with department and never job title
    alice = await personas.get("alice_support")
    wil = world["wil"]
    shipped = (await (await alice.browser()).get("/shipped")).text
    assert wil.name in shipped and wil.title not in shipped
    credited = (await alice.api().get(f"/api/v1/ideas/{ids['w_shipped']}")).json()["credited_to"]
    assert credited == [{"name": wil.name, "department": "Support"}]
    for key in ("z_shipped", "o_shipped", "z_in_progress"):
        body = (await alice.api().get(f"/api/v1/ideas/{ids[key]}")).json()
        assert body["credited_to"] == [], key


async def test_the_crawl_catches_credit_shown_without_opt_in(personas):
    """Plant the bug this file exists for -- one submitter's opt-in written for
    every submitter of the idea (a credit update missing its "only me" clause)
    -- and watch the crawl report the co-submitter on Shipped."""
    world = await build_shipped_world(personas)
    ids = world["ids"]
    await (
        Submission.update({Submission.credit: True})
        .where(Submission.idea == int(ids["w_shipped"]))
        .run()
    )
    crawler = LeakCrawler(
        [identity(world["zeb"]), identity(world["otto"])],
        idea_ids=ids.values(),
        idea_titles=TITLES.values(),
    )
    alice = await personas.get("alice_support")
    await crawler.crawl_html("alice_support", await alice.browser(), "/shipped")
    caught = {(f.url.split("?")[0], f.identity, f.what) for f in crawler.findings}
    assert ("/shipped", world["otto"].name, "name") in caught
    assert (f"/ideas/{ids['w_shipped']}", world["otto"].name, "name") in caught
    assert all(f.identity == world["otto"].name for f in crawler.findings)
