"""From accepted to shipped in Chromium, by clicks only: a council member
finds the accepted idea on the Delivery board, adds actions on the idea page
(the owner found by name), removes one; the owner moves theirs to doing and
done from My actions, one click each, without a page load (after reading
the notice in their inbox); the council ships
the idea with what changed for customers and its measured impact; the
submitter opts in to credit on My ideas and finds their name on Shipped.
axe-core checks every page visited; screenshots are kept."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import expect

from tests.e2e.journey import NoReload, check_page, click_nav, heading, log_out, nav, post_idea
from tests.notify_helpers import decide, drain, open_session

pytestmark = pytest.mark.browser

TITLE = "Print the customer's PO number on every invoice"
ACTION = "Add a PO number field at checkout"
SPARE = "Tell the support team about the new field"
SHIP_NOTE = "Every invoice now carries the customer's PO number, so none bounce any more."


async def _department_id(persona, name: str) -> str:
    r = await persona.api().get("/api/v1/departments")
    return next(d["id"] for d in r.json()["items"] if d["name"] == name)


async def _add_action(
    ui, page, title: str, owner_query: str, owner_name: str, due: dt.date
) -> None:
    form = page.get_by_test_id("add-action-form")
    if not await form.is_visible():
        await page.get_by_text("Add an action", exact=True).click()
    await form.get_by_label("What needs doing").fill(title)
    await form.get_by_placeholder("Search people by name").fill(owner_query)
    option = form.get_by_label(re.compile(owner_name))
    await option.check()  # shows up once the search has answered
    await form.get_by_label("Due on").fill(due.isoformat())
    await form.get_by_test_id("add-action").click()
    await expect(page.get_by_test_id("actions-panel").locator(".action-title")).to_contain_text(
        [title]
    )
    await ui.htmx_settled(page)


async def test_owner_moves_an_action_council_ships_submitter_is_credited(ui, personas):
    alice = await personas.get("alice_support")  # the submitter
    erin = await personas.get("erin_it")  # the action owner
    idea_id = await post_idea(alice, title=TITLE)
    bob, session_id = await open_session(personas)
    await decide(
        bob,
        idea_id,
        session_id,
        "accept",
        owning_department_id=await _department_id(bob, "Finance"),
    )
    # the machine's clock: a browser test talks to a live server in another
    # process, which reads the real clock (tests/conftest.py does not freeze it)
    due = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)

    # -- council: from the Delivery board to the idea, add the actions ---------
    page = await ui.new_page()
    await ui.login(page, bob)
    await click_nav(page, "Delivery")
    await heading(page, "Delivery")
    row = page.get_by_test_id(f"delivery-{idea_id}")
    await expect(row).to_contain_text("No actions yet")
    await check_page(ui, page, "delivery-board")
    async with page.expect_navigation():
        await row.get_by_role("link", name=TITLE).click()
    await heading(page, TITLE)
    await ui.htmx_settled(page)
    panel = page.get_by_test_id("actions-panel")
    await expect(panel).to_contain_text("No actions yet")
    await expect(page.get_by_test_id("ship-blocked")).to_be_visible()
    await check_page(ui, page, "idea-no-actions")

    async with NoReload(page):
        await _add_action(ui, page, ACTION, "Erin", erin.name, due)
        await _add_action(ui, page, SPARE, "Eri", erin.name, due)
        items = panel.locator("li.action-item")
        await expect(items).to_have_count(2)
        await expect(panel).to_contain_text(f"Owner: {erin.name} (IT)")
        await expect(panel).to_contain_text("0 of 2 done")
        await check_page(ui, page, "idea-two-actions")

        spare = items.filter(has_text=SPARE)
        await spare.get_by_text("Edit or remove").click()
        await spare.get_by_text("Remove action…").click()  # it asks first (issue 17)
        remove = spare.get_by_role("button", name="Yes, remove it")
        # without JavaScript the form must carry its own CSRF token
        await expect(
            remove.locator("xpath=ancestor::form[1]").locator("input[name=_csrf_token]")
        ).to_have_count(1)
        await remove.click()
        await expect(panel.locator("li.action-item")).to_have_count(1)
        await expect(panel).not_to_contain_text(SPARE)
    item_id = await panel.locator("li.action-item").get_attribute("id")
    action_id = item_id.removeprefix("action-")

    # -- the owner hears of it in the inbox (the notification worker ran) ------
    await drain()
    await log_out(page)
    await ui.login(page, erin)
    async with page.expect_navigation():
        await nav(page).get_by_role("link", name=re.compile(r"^Inbox")).click()
    await heading(page, "Inbox")
    notice = page.locator('[data-kind="action_assigned"]').filter(has_text=ACTION)
    await expect(notice).to_have_count(1)
    await check_page(ui, page, "inbox", phone=True)
    async with NoReload(page):
        await notice.get_by_role("button", name=re.compile("^Mark read")).click()
        await expect(notice.locator(".chip")).to_have_count(0)  # no longer "New"
    await check_page(ui, page, "inbox-read")
    await click_nav(page, "Notification settings")
    await check_page(ui, page, "settings")

    # -- the owner: My actions, doing then done, one click each -----------------
    await click_nav(page, "My actions")
    await heading(page, "My actions")
    mine = page.get_by_test_id(f"my-action-{action_id}")
    await expect(mine).to_contain_text(ACTION)
    await expect(mine).to_contain_text(TITLE)
    await expect(page.get_by_test_id(f"action-{action_id}-todo")).to_have_attribute(
        "aria-pressed", "true"
    )
    await check_page(ui, page, "my-actions", phone=True)
    async with NoReload(page):
        await page.get_by_test_id(f"action-{action_id}-doing").click()
        await expect(page.get_by_test_id(f"action-{action_id}-doing")).to_have_attribute(
            "aria-pressed", "true"
        )
        await expect(mine.locator(".status")).to_have_text("In progress")  # the first move
        await ui.htmx_settled(page)
        await page.get_by_test_id(f"action-{action_id}-done").click()
        await expect(page.get_by_test_id(f"action-{action_id}-done")).to_have_attribute(
            "aria-pressed", "true"
        )
        await expect(page.get_by_test_id(f"action-{action_id}-doing")).to_have_attribute(
            "aria-pressed", "false"
        )
    await check_page(ui, page, "my-actions-done")

    # -- council ships it from the idea page -----------------------------------
    await log_out(page)
    await ui.login(page, bob)
    await click_nav(page, "Delivery")
    row = page.get_by_test_id(f"delivery-{idea_id}")
    await expect(row).to_contain_text("1 / 1 done")
    await expect(row).to_contain_text(erin.name)
    await expect(row.locator(".status")).to_have_text("In progress")
    await check_page(ui, page, "delivery-board-done")
    async with page.expect_navigation():
        await row.get_by_role("link", name=TITLE).click()
    await ui.htmx_settled(page)
    ship = page.get_by_test_id("ship-form")
    await expect(ship).to_be_visible()
    await check_page(ui, page, "idea-ready-to-ship")
    await ship.get_by_label("What changed for customers").fill(SHIP_NOTE)
    await ship.get_by_label("Measure").fill("invoice calls per week")
    await ship.get_by_label("Before").fill("140")
    await ship.get_by_label("After").fill("60")
    await page.get_by_test_id("ship").click()
    await expect(page.locator(".idea-detail .status-shipped")).to_have_text("Shipped")
    await ui.htmx_settled(page)
    await expect(page.get_by_test_id("ship-form")).to_have_count(0)
    await check_page(ui, page, "idea-shipped")

    # -- the submitter opts in to credit, then sees their name on Shipped ------
    await log_out(page)
    await ui.login(page, alice)
    await click_nav(page, "Shipped")
    card = page.get_by_test_id(f"shipped-{idea_id}")
    await expect(card).to_contain_text(SHIP_NOTE)
    await expect(card).to_contain_text("140")
    await expect(card).to_contain_text("60")
    await expect(card).to_contain_text("Thanks to a colleague")  # anonymous until opted in
    await expect(card).not_to_contain_text(alice.name)

    await click_nav(page, "My ideas")
    await expect(page.locator(f"#my-idea-{idea_id} .idea-meta .status")).to_have_text("Shipped")
    toggle = page.get_by_test_id(f"credit-toggle-{idea_id}")
    await expect(toggle).to_have_text("Credit me by name")
    await check_page(ui, page, "my-ideas-shipped")
    async with NoReload(page):
        await toggle.click()
        await expect(toggle).to_have_text("Stay anonymous instead")
        await expect(toggle).to_have_attribute("aria-pressed", "true")
    await check_page(ui, page, "my-ideas-credited")

    await click_nav(page, "Shipped")
    card = page.get_by_test_id(f"shipped-{idea_id}")
    await expect(card).to_contain_text(alice.name)
    await expect(card).to_contain_text("Support")  # the department, never the title
    await expect(card).not_to_contain_text(alice.title)
    await check_page(ui, page, "shipped-credited", phone=True)

    r = await bob.api().get(f"/api/v1/ideas/{idea_id}")
    assert r.json()["credited_to"] == [{"name": alice.name, "department": "Support"}]
