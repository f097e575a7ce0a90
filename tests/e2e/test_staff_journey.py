"""A staff member's journey in Chromium, using only what a person clicks and
types: log in, submit an idea (after a bad title), notice a likely twin while
typing, and vote from the board without the page reloading — by mouse and by
keyboard. axe-core checks each page; screenshots are kept at desktop and phone
width under test-artifacts/e2e/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import DESKTOP
from tests.factories import idea_payload, index_terms_as_the_worker

pytestmark = pytest.mark.browser

TWIN = idea_payload()  # "Print the customer's PO number on every invoice"
OTHER = idea_payload(
    title="Text customers when their support ticket is answered",
    problem="Customers keep refreshing the portal to see whether we answered their ticket.",
    proposal="Send a short text message with a link as soon as an agent replies to a ticket.",
    touchpoint="support",
)
MINE = {
    "title": "Let customers pay invoices by bank transfer",
    "problem": "Some customers cannot use cards and wait weeks for a manual invoice.",
    "proposal": "Offer bank transfer with a reference number at checkout and on every invoice.",
}


async def _post_idea(persona, payload) -> str:
    r = await persona.api().post("/api/v1/ideas", json=payload)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _votes(persona, idea_id: str) -> int:
    r = await persona.api().get(f"/api/v1/ideas/{idea_id}")
    return r.json()["votes"]


async def test_staff_submits_an_idea_sees_its_twin_and_votes_from_the_board(ui, personas):
    dan = await personas.get("dan_sales")
    alice = await personas.get("alice_support")
    erin = await personas.get("erin_it")
    twin_id = await _post_idea(dan, TWIN)
    other_id = await _post_idea(alice, OTHER)
    await index_terms_as_the_worker()  # their similar-search terms (ideas.term_index)

    page = await ui.new_page()
    await ui.login(page, erin)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Ideas")

    # -- submit: a bad title first, answered next to the field -----------------
    await (
        page.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Submit an idea")
        .click()
    )
    await expect(page).to_have_url(re.compile(r"/ideas/new$"))
    await page.get_by_label("Title").fill("Short")
    await page.get_by_label("Touchpoint").select_option(label="Billing")
    await page.get_by_label("The problem customers have").fill(MINE["problem"])
    await page.get_by_label("Your proposal").fill(MINE["proposal"])
    ui.allow_console(r"status of 422")  # Chromium logs the (expected) 422 answer
    async with page.expect_navigation() as nav:
        await page.get_by_role("button", name="Submit idea").click()
    assert (await nav.value).status == 422

    title = page.get_by_label("Title")
    await expect(title).to_have_attribute("aria-invalid", "true")
    title_field = page.locator(".field", has=page.locator("#title"))
    await expect(title_field.locator(".field-error")).to_have_text(re.compile("at least 8"))
    await expect(title).to_have_attribute("aria-describedby", re.compile(r"\btitle-error\b"))
    await expect(page.locator(".field-error")).to_have_count(1)  # only the bad field
    await expect(page.get_by_label("The problem customers have")).to_have_value(MINE["problem"])
    await expect(page.get_by_label("Touchpoint")).to_have_value("billing")
    await ui.axe(page, "submit-with-errors")

    # -- while typing a title like an existing idea, the twin shows up ----------
    await title.fill("")
    await title.press_sequentially("Print PO number on invoices", delay=25)
    similar = page.locator("#similar")
    await expect(similar.get_by_role("link", name=TWIN["title"])).to_be_visible()
    await ui.axe(page, "submit-with-similar")
    await ui.screenshot(page, "submit")
    await ui.screenshot(page, "submit", phone=True)

    # one click votes for the twin instead, in place
    twin_vote = similar.locator(f"#vote-{twin_id}")
    await expect(twin_vote).to_have_attribute("aria-pressed", "false")
    await twin_vote.click()
    await expect(similar.locator(f"#vote-{twin_id}")).to_have_attribute("aria-pressed", "true")
    await expect(similar.locator(f"#vote-{twin_id} .vote-count")).to_have_text("1")
    assert await _votes(dan, twin_id) == 1

    # ... and the person still submits their own, different idea
    await title.fill(MINE["title"])
    async with page.expect_navigation() as nav:
        await page.get_by_role("button", name="Submit idea").click()
    assert (await nav.value).status == 200
    await expect(page).to_have_url(re.compile(r"/ideas/\d+$"))
    mine_id = page.url.rsplit("/", 1)[-1]
    await expect(page.get_by_role("heading", level=1)).to_have_text(MINE["title"])
    await expect(page.locator(".idea-detail .yours")).to_be_visible()
    await expect(page.locator(".idea-detail .status")).to_have_text("New")
    await ui.htmx_settled(page)  # the sections other areas fill in, too
    await ui.axe(page, "idea")
    await ui.screenshot(page, "idea")
    await ui.screenshot(page, "idea", phone=True)

    # -- the board: vote on another person's idea without a reload -------------
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Board").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(page.locator(f"#idea-{mine_id} .yours")).to_be_visible()
    await expect(page.locator(f"#idea-{other_id} .yours")).to_have_count(0)
    await expect(page.locator(f"#vote-{twin_id}")).to_have_attribute("aria-pressed", "true")
    await ui.htmx_settled(page)
    await ui.axe(page, "board")

    navigations: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    await page.evaluate("window.__journeyMarker = 'no-reload'")

    vote = page.locator(f"#vote-{other_id}")
    await expect(vote).to_have_attribute("aria-pressed", "false")
    await expect(vote.locator(".vote-count")).to_have_text("0")
    await vote.click()
    await expect(vote).to_have_attribute("aria-pressed", "true")
    await expect(vote.locator(".vote-count")).to_have_text("1")
    await expect(vote).to_have_accessible_name(re.compile(r"^1 vote, Voted$"))
    await expect(vote).to_have_accessible_description(OTHER["title"])
    await ui.htmx_settled(page)
    assert await _votes(alice, other_id) == 1

    # -- the same button by keyboard: Tab to it, Enter and Space toggle it ------
    await page.get_by_label("Search").focus()
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement && document.activeElement.id") == (
            f"vote-{other_id}"
        ):
            break
    else:
        pytest.fail("Tab never reached the vote button")
    await page.keyboard.press("Enter")
    await expect(vote).to_have_attribute("aria-pressed", "false")
    await expect(vote.locator(".vote-count")).to_have_text("0")
    await expect(vote).to_be_focused()  # focus survives the swap
    await ui.htmx_settled(page)
    await page.keyboard.press("Space")
    await expect(vote).to_have_attribute("aria-pressed", "true")
    await expect(vote.locator(".vote-count")).to_have_text("1")
    assert await _votes(alice, other_id) == 1

    assert await page.evaluate("window.__journeyMarker") == "no-reload"
    assert navigations == [], f"the page navigated: {navigations}"

    await ui.screenshot(page, "board")
    await ui.screenshot(page, "board", phone=True)
    ui.assert_clean()


async def _fits(page, width: int) -> None:
    """No sideways scrolling at this width: everything wraps."""
    await page.set_viewport_size({"width": width, "height": 740})
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {width}px"
    await page.set_viewport_size(DESKTOP)


async def test_staff_pages_pass_axe_and_fit_a_phone(ui, personas):
    from ideas.tables import Event, Idea

    erin = await personas.get("erin_it")
    dan = await personas.get("dan_sales")
    await _post_idea(dan, TWIN)
    mine = await _post_idea(erin, idea_payload(**MINE, touchpoint="billing"))
    await Idea.update({Idea.status: "in_review"}).where(Idea.id == int(mine)).run()
    await Event.insert(
        Event(idea=int(mine), kind="status", status="in_review", actor_label="CX council")
    ).run()
    page = await ui.new_page()

    await ui.goto(page, "/login")
    await expect(page.get_by_label("Email")).to_be_focused()
    await ui.axe(page, "login")
    await ui.screenshot(page, "login")
    await ui.screenshot(page, "login", phone=True)
    await _fits(page, 360)

    # a failed log-in: the message, the email kept, focus on the password
    await page.get_by_label("Email").fill(erin.email)
    await page.get_by_label("Password").fill("not the password")
    ui.allow_console(r"status of 400")  # Chromium logs the (expected) 400 answer
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    await expect(page.get_by_label("Email")).to_have_value(erin.email)
    await expect(page.get_by_label("Password")).to_be_focused()
    await ui.axe(page, "login-failed")

    await ui.login(page, erin, next="/me/ideas")
    await expect(page.locator(f"#my-idea-{mine}")).to_contain_text("by CX council")
    await ui.htmx_settled(page)
    await ui.axe(page, "my-ideas")
    await ui.screenshot(page, "my-ideas")
    await ui.screenshot(page, "my-ideas", phone=True)

    for path in ("/", "/ideas/new", f"/ideas/{mine}", "/me/ideas"):
        await ui.goto(page, path)
        await ui.htmx_settled(page)
        await _fits(page, 360)

    ui.allow_console(r"status of 404")
    await ui.goto(page, "/ideas/999999", status=404)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    await ui.axe(page, "not-found")
    await ui.screenshot(page, "not-found", phone=True)


async def test_board_search_and_filters_update_the_list_in_place(ui, personas):
    dan = await personas.get("dan_sales")
    alice = await personas.get("alice_support")
    twin_id = await _post_idea(dan, TWIN)
    other_id = await _post_idea(alice, OTHER)
    await alice.api().put(f"/api/v1/ideas/{twin_id}/vote")
    page = await ui.new_page()
    await ui.login(page, alice)
    await page.evaluate("window.__boardMarker = 'no-reload'")
    cards = page.locator("#idea-list article.idea-card")
    await expect(cards).to_have_count(2)
    await expect(cards.first).to_have_id(f"idea-{twin_id}")  # top votes first

    await page.get_by_label("Search").press_sequentially("ticket", delay=30)
    await expect(cards).to_have_count(1)
    await expect(page.locator(f"#idea-{other_id}")).to_be_visible()
    await expect(page.locator("#list-status")).to_have_text("Showing 1 idea.")
    await expect(page).to_have_url(re.compile(r"[?&]q=ticket"))  # a link to this view

    await page.get_by_label("Touchpoint").select_option(label="Billing")
    await expect(cards).to_have_count(0)
    await expect(page.locator("#idea-list")).to_contain_text("No ideas match these filters.")
    await expect(page.locator("#list-status")).to_have_text("No ideas match.")

    await page.get_by_label("Search").fill("")
    await page.get_by_label("Touchpoint").select_option(label="Any touchpoint")
    await page.get_by_label("Sort").select_option(label="New")
    await expect(cards).to_have_count(2)
    await expect(page).to_have_url(re.compile(r"[?&]sort=new"))
    await expect(cards.first).to_have_id(f"idea-{other_id}")  # newest first
    assert await page.evaluate("window.__boardMarker") == "no-reload"

    await page.reload()  # the pushed URL reproduces the view
    await expect(page.get_by_label("Sort")).to_have_value("new")
