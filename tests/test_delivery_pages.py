"""Delivery in the browser: My actions, the Delivery board, Shipped, the owner
picker, and the idea page's actions and credit fragments, as each role."""

from __future__ import annotations

import datetime as dt
import re

from ideas import clock
from ideas.tables import Idea
from tests.factories import submit
from tests.test_delivery import (
    SHIP_NOTE,
    accepted,
    add,
    all_done,
    idea_status,
    merge,
    ship_it,
    triage_accept,
)


def order_of(html: str, *needles: str) -> list[int]:
    return [html.index(n) for n in needles]


def assert_blind(html: str, submitter) -> None:
    for secret in submitter.identity_strings():
        assert secret not in html, f"{secret!r} leaked"


# -- My actions -----------------------------------------------------------------------------


async def test_my_actions_page_shows_overdue_first_with_one_click_buttons(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    await add(
        bob, idea_id, erin, title="Later step", due_on=str(clock.today() + dt.timedelta(days=9))
    )
    late = (
        await add(
            bob, idea_id, erin, title="Late step", due_on=str(clock.today() - dt.timedelta(days=2))
        )
    ).json()
    page = await (await erin.browser()).get("/me/actions")
    assert page.status_code == 200
    html = page.text
    assert "My actions" in html
    a, b = order_of(html, "Late step", "Later step")
    assert a < b
    assert "Overdue" in html
    assert f'data-testid="action-{late["id"]}-doing"' in html
    assert "Print the customer&#39;s PO number on every invoice" in html  # the idea it serves
    assert_blind(html, alice)


async def test_my_actions_status_button_swaps_the_row_and_starts_the_idea(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    action = (await add(bob, idea_id, erin)).json()
    browser = await erin.browser()
    r = await browser.form(
        f"/actions/{action['id']}/status",
        {"status": "doing", "view": "row", "back": "/me/actions"},
        htmx=True,
    )
    assert r.status_code == 200, r.text
    assert f'id="my-action-{action["id"]}"' in r.text
    assert "<html" not in r.text  # a row, not a page
    pressed = re.search(
        rf'value="doing"[^>]*aria-pressed="true"[^>]*action-{action["id"]}-doing', r.text
    )
    assert pressed, r.text
    assert await idea_status(idea_id) == "in_progress"
    # without JavaScript: the plain form goes back to the page
    r = await browser.form(
        f"/actions/{action['id']}/status", {"status": "done", "back": "/me/actions"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/me/actions"


async def test_status_form_refuses_strangers_and_bad_input(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    action = (await add(bob, idea_id, erin)).json()
    browser = await alice.browser()
    r = await browser.form(f"/actions/{action['id']}/status", {"status": "doing"}, htmx=True)
    assert r.status_code == 403
    r = await (await erin.browser()).form(
        f"/actions/{action['id']}/status", {"status": "finished"}, htmx=True
    )
    assert r.status_code == 422 and "status" in r.text
    r = await browser.form("/actions/31337/status", {"status": "doing"}, htmx=True)
    assert r.status_code == 404
    assert await idea_status(idea_id) == "accepted"


async def test_forms_without_csrf_are_refused(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    action = (await add(bob, idea_id, erin)).json()
    browser = await erin.browser()
    r = await browser.post(f"/actions/{action['id']}/status", data={"status": "doing"})
    assert r.status_code == 403
    assert await idea_status(idea_id) == "accepted"


async def test_delivery_pages_send_visitors_to_login(client):
    for url in ("/me/actions", "/delivery", "/shipped"):
        r = await client.get(url)
        assert r.status_code in (302, 303), url
        assert r.headers["location"].startswith("/login?next=")


async def test_my_actions_empty_state(personas):
    dan = await personas.get("dan_sales")
    r = await (await dan.browser()).get("/me/actions")
    assert r.status_code == 200 and "Nothing on your list" in r.text


# -- Delivery board ---------------------------------------------------------------------------


async def test_delivery_board_shows_progress_owners_and_overdue_to_council(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    first = (await add(bob, idea_id, erin, title="Print PO on invoices")).json()
    await add(
        bob, idea_id, dan, title="Brief sales", due_on=str(clock.today() - dt.timedelta(days=1))
    )
    await erin.api().patch(f"/api/v1/actions/{first['id']}", json={"status": "done"})
    other = await submit(alice, title="Offer invoice copies by e-mail on request")
    await triage_accept(personas, other, department="Support")
    untouched = await submit(alice, title="A new idea not accepted yet here")
    r = await (await bob.browser()).get("/delivery")
    assert r.status_code == 200
    html = r.text
    assert "1 / 2 done" in html
    assert erin.name in html and dan.name in html
    assert "1 overdue" in html and "Brief sales" in html
    assert "No actions yet" in html  # the other accepted idea
    assert "A new idea not accepted yet here" not in html
    a, b = order_of(html, f'data-testid="delivery-{idea_id}"', f'data-testid="delivery-{other}"')
    assert a < b  # overdue first
    assert untouched not in re.findall(r'data-testid="delivery-(\d+)"', html)
    assert_blind(html, alice)


async def test_delivery_board_is_council_only(personas):
    for key in ("alice_support", "carol_leader", "adam_admin"):
        someone = await personas.get(key)
        r = await (await someone.browser()).get("/delivery")
        assert r.status_code == 403, key


# -- Shipped ---------------------------------------------------------------------------------


async def test_shipped_page_celebrates_with_note_impact_and_department(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    await all_done(bob, erin, idea_id)
    r = await bob.api().post(
        f"/api/v1/ideas/{idea_id}/ship",
        json={
            "note": SHIP_NOTE,
            "impact_metric": "invoice calls per week",
            "impact_before": 140,
            "impact_after": 60.5,
        },
    )
    assert r.status_code == 200
    dan = await personas.get("dan_sales")
    page = await (await dan.browser()).get("/shipped")
    assert page.status_code == 200
    html = page.text
    assert "we acted on what you told us" in html
    assert "Invoices now carry the customer" in html and "PO number on every page." in html
    assert "invoice calls per week: 140 → 60.5" in html
    assert "by Finance" in html
    assert "Thanks to a colleague" in html
    assert_blind(html, alice)


async def test_shipped_page_names_only_those_who_opted_in(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    await ship_it(bob, erin, idea_id)
    dan = await personas.get("dan_sales")
    browser = await dan.browser()
    assert alice.name not in (await browser.get("/shipped")).text
    await alice.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": True})
    html = (await browser.get("/shipped")).text
    assert alice.name in html and "(Support)" in html
    assert alice.title not in html and alice.email not in html


async def test_shipped_page_lists_newest_first_and_only_shipped(personas):
    alice, bob, erin, first = await accepted(personas)
    second = await submit(alice, title="Show delivery dates on the order page")
    await triage_accept(personas, second)
    third = await submit(alice, title="Still only accepted, not shipped yet")
    await triage_accept(personas, third)
    await ship_it(bob, erin, first)
    await ship_it(bob, erin, second)
    await (
        Idea.update({Idea.shipped_at: clock.now() - dt.timedelta(days=3)})
        .where(Idea.id == int(first))
        .run()
    )
    html = (await (await alice.browser()).get("/shipped")).text
    a, b = order_of(html, "Show delivery dates on the order page", "Print the customer")
    assert a < b
    assert "Still only accepted" not in html


async def test_shipped_page_empty_state(personas):
    alice = await personas.get("alice_support")
    r = await (await alice.browser()).get("/shipped")
    assert r.status_code == 200 and "Nothing shipped yet" in r.text


# -- the owner picker --------------------------------------------------------------------------


async def test_owner_picker_finds_people_by_name_for_council(personas):
    alice, bob, erin, _idea_id = await accepted(personas)
    browser = await bob.browser()
    r = await browser.htmx_get("/fragments/people?q=erin&prefix=add-1")
    assert r.status_code == 200
    assert erin.name in r.text and "(IT)" in r.text
    assert f'value="{erin.id}"' in r.text and 'name="owner_id"' in r.text
    assert 'id="add-1-options"' in r.text
    assert erin.title not in r.text  # a directory: name and department
    r = await browser.htmx_get("/fragments/people?q=zzzz")
    assert "No active person" in r.text
    r = await browser.htmx_get("/fragments/people?q=erin&prefix=<script>")
    assert "<script>" not in r.text and 'id="owner-options"' in r.text
    r = await (await alice.browser()).htmx_get("/fragments/people?q=erin")
    assert r.status_code == 403


# -- the idea page's actions fragment -----------------------------------------------------------


async def test_actions_fragment_is_empty_for_ideas_without_delivery(personas, client):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    idea_id = await submit(alice)
    for who in (alice, bob):
        r = await (await who.browser()).htmx_get(f"/fragments/ideas/{idea_id}/actions")
        assert r.status_code == 200 and r.text == ""
    r = await (await bob.browser()).htmx_get("/fragments/ideas/99999/actions")
    assert r.status_code == 404


async def test_actions_fragment_as_staff_owner_and_council(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    mine = (await add(bob, idea_id, erin, title="Erin's step")).json()
    theirs = (await add(bob, idea_id, dan, title="Dan's step")).json()
    url = f"/fragments/ideas/{idea_id}/actions"

    staff_view = (await (await alice.browser()).htmx_get(url)).text
    assert "Erin&#39;s step" in staff_view and "Dan&#39;s step" in staff_view
    assert f"{erin.name} (IT)" in staff_view
    assert 'data-testid="action-' + mine["id"] + "-doing" not in staff_view
    assert "add-action-form" not in staff_view and "Edit or remove" not in staff_view

    owner_view = (await (await erin.browser()).htmx_get(url)).text
    assert f'data-testid="action-{mine["id"]}-doing"' in owner_view
    assert f'data-testid="action-{theirs["id"]}-doing"' not in owner_view
    assert "add-action-form" not in owner_view

    council_view = (await (await bob.browser()).htmx_get(url)).text
    assert f'data-testid="action-{mine["id"]}-doing"' in council_view
    assert f'data-testid="action-{theirs["id"]}-doing"' in council_view
    assert "add-action-form" in council_view and "Edit or remove" in council_view
    assert 'data-testid="ship-blocked"' in council_view and "ship-form" not in council_view
    for html in (staff_view, owner_view, council_view):
        assert_blind(html, alice)
        assert "csrf" in html or "add-action-form" not in html


async def test_council_sees_the_ship_form_once_all_is_done(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    await all_done(bob, erin, idea_id, count=2)
    html = (await (await bob.browser()).htmx_get(f"/fragments/ideas/{idea_id}/actions")).text
    assert 'data-testid="ship-form"' in html and "What changed for customers" in html
    assert "2 of 2 done" in html
    owner_html = (await (await erin.browser()).htmx_get(f"/fragments/ideas/{idea_id}/actions")).text
    # the owner cannot ship, but gets a next step: propose shipping (issue 17)
    assert 'data-testid="ship-form"' not in owner_html and '/ship"' not in owner_html
    assert 'data-testid="propose-form"' in owner_html


async def test_shipped_ideas_show_their_actions_read_only(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    await ship_it(bob, erin, idea_id)
    html = (await (await bob.browser()).htmx_get(f"/fragments/ideas/{idea_id}/actions")).text
    assert "Step number 0" in html
    assert "add-action-form" not in html and "ship-form" not in html and "-doing" not in html


async def test_council_adds_an_action_with_the_form(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    browser = await bob.browser()
    due = str(clock.today() + dt.timedelta(days=5))
    r = await browser.form(
        f"/ideas/{idea_id}/actions",
        {
            "title": "Add PO to the PDF",
            "owner_id": erin.id,
            "due_on": due,
            "q": "eri",
            "shown_status": "accepted",
        },
        htmx=True,
    )
    assert r.status_code == 200, r.text
    assert "Add PO to the PDF" in r.text and f"{erin.name} (IT)" in r.text
    assert f'id="actions-panel-{idea_id}"' in r.text
    listed = (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"]
    assert [a["title"] for a in listed] == ["Add PO to the PDF"]
    # without JavaScript
    r = await browser.form(
        f"/ideas/{idea_id}/actions",
        {"title": "Second step", "owner_id": erin.id, "due_on": due, "back": f"/ideas/{idea_id}"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/ideas/{idea_id}"


def next_week() -> str:
    """A due date the form takes without asking (a week after the test's today)."""
    return str(clock.today() + dt.timedelta(days=7))


async def test_add_action_form_shows_errors_inline(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    browser = await bob.browser()
    r = await browser.form(
        f"/ideas/{idea_id}/actions", {"title": "x", "owner_id": "", "due_on": "soon"}, htmx=True
    )
    assert r.status_code == 200
    assert 'class="field-error" id="add-' + idea_id + '-title-error"' in r.text
    assert "The due date must be a date, like 2026-12-31." in r.text
    assert "Choose the owner" in r.text
    assert 'aria-invalid="true"' in r.text
    r = await browser.form(
        f"/ideas/{idea_id}/actions",
        {
            "title": "Fine title",
            "owner_id": "00000000-0000-0000-0000-000000000000",
            "due_on": next_week(),
        },
        htmx=True,
    )
    assert r.status_code == 200 and f'id="add-{idea_id}-owner_id-error"' in r.text
    assert 'value="Fine title"' in r.text  # what was typed is kept
    r = await browser.form(
        f"/ideas/{idea_id}/actions", {"title": "x", "owner_id": erin.id, "due_on": next_week()}
    )
    assert r.status_code == 422 and "title" in r.text
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"] == []


async def test_add_action_form_is_council_only(personas):
    alice, _bob, erin, idea_id = await accepted(personas)
    r = await (await erin.browser()).form(
        f"/ideas/{idea_id}/actions",
        {"title": "Sneaky step", "owner_id": erin.id, "due_on": next_week()},
        htmx=True,
    )
    assert r.status_code == 403
    new_id = await submit(alice)
    bob = await personas.get("bob_finance_council")
    r = await (await bob.browser()).form(
        f"/ideas/{new_id}/actions",
        {"title": "Too early", "owner_id": erin.id, "due_on": next_week()},
        htmx=True,
    )
    assert r.status_code == 409


async def test_first_doing_on_the_idea_page_refreshes_it(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    first = (await add(bob, idea_id, erin)).json()
    second = (await add(bob, idea_id, erin, title="Second step")).json()
    browser = await erin.browser()
    r = await browser.form(
        f"/actions/{first['id']}/status",
        {"status": "doing", "view": "idea", "shown_status": "accepted"},
        htmx=True,
    )
    assert r.status_code == 200 and r.headers.get("hx-refresh") == "true"
    r = await browser.form(
        f"/actions/{second['id']}/status",
        {"status": "done", "view": "idea", "shown_status": "in_progress"},
        htmx=True,
    )
    assert r.status_code == 200 and "hx-refresh" not in r.headers
    assert f'id="actions-panel-{idea_id}"' in r.text and "1 of 2 done" in r.text


async def test_council_edits_and_removes_with_the_forms(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    action = (await add(bob, idea_id, erin)).json()
    browser = await bob.browser()
    r = await browser.form(
        f"/actions/{action['id']}/edit",
        {
            "title": "Renamed step",
            "owner_id": dan.id,
            "due_on": str(clock.today() + dt.timedelta(3)),
        },
        htmx=True,
    )
    assert r.status_code == 200, r.text
    assert "Renamed step" in r.text and f"{dan.name} (Sales)" in r.text
    r = await browser.form(
        f"/actions/{action['id']}/edit",
        {"title": "ab", "owner_id": dan.id, "due_on": ""},
        htmx=True,
    )
    assert r.status_code == 200 and f'id="edit-{action["id"]}-title-error"' in r.text
    assert (
        await (await erin.browser()).form(f"/actions/{action['id']}/remove", {}, htmx=True)
    ).status_code == 403
    r = await browser.form(f"/actions/{action['id']}/remove", {}, htmx=True)
    assert r.status_code == 200 and "Renamed step" not in r.text and "No actions yet" in r.text
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"] == []


async def test_ship_form_ships_and_refreshes_the_page(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    await all_done(bob, erin, idea_id)
    browser = await bob.browser()
    r = await browser.form(
        f"/ideas/{idea_id}/ship", {"note": "Too short", "impact_metric": ""}, htmx=True
    )
    assert r.status_code == 200
    assert f'id="ship-{idea_id}-note-error"' in r.text and "20 characters" in r.text
    r = await browser.form(
        f"/ideas/{idea_id}/ship",
        {"note": SHIP_NOTE, "impact_metric": "calls", "impact_before": "140", "impact_after": ""},
        htmx=True,
    )
    assert r.status_code == 200 and f'id="ship-{idea_id}-impact_after-error"' in r.text
    assert await idea_status(idea_id) == "in_progress"
    r = await browser.form(
        f"/ideas/{idea_id}/ship",
        {"note": SHIP_NOTE, "impact_metric": "calls", "impact_before": "140", "impact_after": "60"},
        htmx=True,
    )
    assert r.status_code == 200 and r.headers.get("hx-refresh") == "true"
    assert await idea_status(idea_id) == "shipped"
    page = await browser.get(f"/ideas/{idea_id}")
    assert "Shipped" in page.text and "Invoices now carry" in page.text


async def test_ship_form_with_open_actions_is_409(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    await add(bob, idea_id, erin)
    r = await (await bob.browser()).form(f"/ideas/{idea_id}/ship", {"note": SHIP_NOTE}, htmx=True)
    assert r.status_code == 409 and "done" in r.text
    r = await (await erin.browser()).form(f"/ideas/{idea_id}/ship", {"note": SHIP_NOTE}, htmx=True)
    assert r.status_code == 403


# -- the credit fragment ----------------------------------------------------------------------


async def test_credit_fragment_only_for_the_submitter(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    url = f"/fragments/ideas/{idea_id}/credit"
    mine = await (await alice.browser()).htmx_get(url)
    assert mine.status_code == 200
    assert "Credit me by name" in mine.text and "job title is never shown" in mine.text
    assert "stays anonymous" in mine.text
    for other in (bob, erin):
        r = await (await other.browser()).htmx_get(url)
        assert r.status_code == 200 and r.text == ""
    fresh = await submit(alice, title="Fresh idea, not accepted yet")
    r = await (await alice.browser()).htmx_get(f"/fragments/ideas/{fresh}/credit")
    assert r.status_code == 200 and r.text == ""
    r = await (await alice.browser()).htmx_get("/fragments/ideas/123456/credit")
    assert r.status_code == 404


async def test_credit_toggle_before_and_after_shipping(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    browser = await alice.browser()
    r = await browser.form(f"/ideas/{idea_id}/credit", {"credit": "yes"}, htmx=True)
    assert r.status_code == 200
    assert "You are credited once this idea ships" in r.text
    assert "Stay anonymous instead" in r.text
    await ship_it(bob, erin, idea_id)
    html = (await browser.htmx_get(f"/fragments/ideas/{idea_id}/credit")).text
    assert "You are credited." in html
    seen = await (await bob.browser()).get(f"/ideas/{idea_id}")
    assert alice.name in seen.text and alice.title not in seen.text
    r = await browser.form(f"/ideas/{idea_id}/credit", {"credit": "no"}, htmx=True)
    assert "This idea shipped and stays anonymous." in r.text
    seen = await (await bob.browser()).get(f"/ideas/{idea_id}")
    assert_blind(seen.text, alice)
    r = await browser.form(f"/ideas/{idea_id}/credit", {"credit": "maybe"}, htmx=True)
    assert r.status_code == 422
    r = await browser.form(f"/ideas/{idea_id}/credit", {"credit": "yes", "back": "/me/ideas"})
    assert r.status_code == 303 and r.headers["location"] == "/me/ideas"
    r = await (await bob.browser()).form(f"/ideas/{idea_id}/credit", {"credit": "yes"}, htmx=True)
    assert r.status_code == 403


async def test_co_submitter_gets_their_own_credit_toggle(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    duplicate = await submit(dan, title="Put the PO number on our invoices, please")
    await merge(personas, duplicate, idea_id)
    await ship_it(bob, erin, idea_id)
    browser = await dan.browser()
    html = (await browser.htmx_get(f"/fragments/ideas/{idea_id}/credit")).text
    assert "your choice covers only you" in html
    await browser.form(f"/ideas/{idea_id}/credit", {"credit": "yes"}, htmx=True)
    shipped = (await (await bob.browser()).get("/shipped")).text
    assert dan.name in shipped and "(Sales)" in shipped
    assert_blind(shipped, alice)


async def test_every_delivery_route_turns_away_anonymous_callers(personas, client):
    _alice, bob, erin, idea_id = await accepted(personas)
    action = (await add(bob, idea_id, erin)).json()
    aid = action["id"]
    api = [
        ("GET", f"/api/v1/ideas/{idea_id}/actions"),
        ("POST", f"/api/v1/ideas/{idea_id}/actions"),
        ("PATCH", f"/api/v1/actions/{aid}"),
        ("DELETE", f"/api/v1/actions/{aid}"),
        ("POST", f"/api/v1/ideas/{idea_id}/ship"),
        ("PUT", f"/api/v1/ideas/{idea_id}/credit"),
        ("GET", "/api/v1/me/actions"),
    ]
    for method, url in api:
        r = await client.request(method, url, json={})
        assert r.status_code == 401, (method, url, r.status_code)
    pages = [
        "/me/actions",
        "/delivery",
        "/shipped",
        "/fragments/people?q=erin",
        f"/fragments/ideas/{idea_id}/actions",
        f"/fragments/ideas/{idea_id}/credit",
    ]
    for url in pages:
        r = await client.get(url)
        assert r.status_code in (302, 303) and r.headers["location"].startswith("/login"), url
        r = await client.get(url, headers={"HX-Request": "true"})
        assert r.status_code == 401 and r.headers["hx-redirect"].startswith("/login"), url
    assert (await erin.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"][0][
        "status"
    ] == "todo"
