"""Owners get a next step (issue 17, item 5): once every action is done an
action owner proposes shipping with a draft note and impact; the council is
told and ships from the delivery board, or asks for changes (the owners are
told)."""

from __future__ import annotations

from ideas.tables import Idea
from tests.notify_helpers import drain, notices
from tests.test_delivery import accepted, add, all_done

DRAFT = {
    "note": "Invoices now show the PO number on every page, so they are paid on time.",
    "impact_metric": "invoice calls per week",
    "impact_before": 140,
    "impact_after": 60,
}


async def kinds(persona) -> list[str]:
    return [n["kind"] for n in await notices(user=persona.viewer.id)]


async def test_owner_proposes_council_asks_for_changes_then_ships_from_the_board(personas):
    alice, bob, erin, idea = await accepted(personas)
    dan = await personas.get("dan_sales")
    await all_done(bob, erin, idea)
    await drain()

    panel = (await (await erin.browser()).htmx_get(f"/fragments/ideas/{idea}/actions")).text
    assert 'data-testid="propose-form"' in panel and "Propose shipping" in panel
    other = (await (await dan.browser()).htmx_get(f"/fragments/ideas/{idea}/actions")).text
    assert "propose-form" not in other
    assert (
        await dan.api().post(f"/api/v1/ideas/{idea}/ship-proposal", json=DRAFT)
    ).status_code == 403

    r = await erin.api().post(f"/api/v1/ideas/{idea}/ship-proposal", json=DRAFT)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    await drain()
    assert "council_ship_proposed" in await kinds(bob)
    assert "council_ship_proposed" not in await kinds(erin)
    panel = (await (await erin.browser()).htmx_get(f"/fragments/ideas/{idea}/actions")).text
    assert "Proposed to ship." in panel and "propose-form" not in panel

    web = await bob.browser()
    council_panel = (await web.htmx_get(f"/fragments/ideas/{idea}/actions")).text
    assert DRAFT["note"] in council_panel and 'value="invoice calls per week"' in council_panel
    board = (await web.get("/delivery")).text
    assert f'data-testid="proposal-{idea}"' in board and DRAFT["note"] in board

    r = await web.form(
        f"/ideas/{idea}/ship-changes",
        {"note": "Add the numbers for last month too.", "back": "/delivery"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/delivery"
    await drain()
    told = [n for n in await notices(user=erin.viewer.id) if n["kind"] == "action_ship_changes"]
    assert len(told) == 1 and "Add the numbers for last month too." in told[0]["text"]
    assert f'data-testid="proposal-{idea}"' not in (await web.get("/delivery")).text

    assert (
        await erin.api().post(f"/api/v1/ideas/{idea}/ship-proposal", json=DRAFT)
    ).status_code == 200
    r = await web.form(
        f"/ideas/{idea}/ship",
        {"note": DRAFT["note"], "impact_metric": "invoice calls per week",
         "impact_before": "140", "impact_after": "60"},
    )  # fmt: skip
    assert r.status_code == 303
    row = (await Idea.select(Idea.status, Idea.ship_proposal).where(Idea.id == int(idea)))[0]
    assert row["status"] == "shipped" and row["ship_proposal"] in ({}, "{}")


async def test_no_proposal_while_actions_are_open(personas):
    alice, bob, erin, idea = await accepted(personas)
    await add(bob, idea, erin)
    r = await erin.api().post(f"/api/v1/ideas/{idea}/ship-proposal", json=DRAFT)
    assert r.status_code == 409
    panel = (await (await erin.browser()).htmx_get(f"/fragments/ideas/{idea}/actions")).text
    assert "propose-form" not in panel
    r = await (await bob.browser()).form(
        f"/ideas/{idea}/ship-changes", {"note": "Nothing yet here."}
    )
    assert r.status_code == 409
