"""What a new user hit (issue 17), in Chromium by clicks: the board opens on
ideas open for votes (a closed idea's button names its status), the roadmap
shows what is being done, the submitter edits a new idea and withdraws
another, and answering the council's question updates the status and the
timeline without a reload. axe-core checks each page at 1280 px and 390 px."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import expect

from ideas import people
from ideas.tables import Idea
from tests.e2e.conftest import DESKTOP
from tests.e2e.journey import NoReload, click_nav, heading, post_idea

pytestmark = pytest.mark.browser

#: the phone width the issue names
PHONE_390 = {"width": 390, "height": 844}


async def axe_both(ui, page, name: str) -> None:
    """axe at desktop and at 390 px, a screenshot of each."""
    await ui.axe(page, name)
    await ui.screenshot(page, name)
    await page.set_viewport_size(PHONE_390)
    try:
        await ui.axe(page, f"{name}-390")
        await ui.screenshot(page, f"{name}-390")
    finally:
        await page.set_viewport_size(DESKTOP)


async def set_status(idea_id: str, status: str, **extra) -> None:
    values = {Idea.status: status}
    for name, value in extra.items():
        values[getattr(Idea, name)] = value
    await Idea.update(values).where(Idea.id == int(idea_id)).run()


async def test_board_opens_on_open_ideas_and_the_roadmap_shows_the_work(ui, personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    finance = await people.department_by_name("Finance", create=True)
    shipped = await post_idea(alice, title="Shipped: invoices carry the PO number")
    await set_status(
        shipped, "shipped", votes=50, owning_department=finance,
        shipped_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
    )  # fmt: skip
    working = await post_idea(dan, title="In progress: delivery date on the receipt")
    await set_status(working, "in_progress", owning_department=finance)
    waiting = await post_idea(alice, title="Waiting: text customers when a ticket is answered")
    r = await erin.api().post(
        f"/api/v1/ideas/{waiting}/comments", json={"body": "Yes please, our customers ask."}
    )
    assert r.status_code == 201

    page = await ui.new_page()
    await ui.login(page, erin)
    await heading(page, "Ideas")
    cards = page.locator(".idea-card")
    await expect(cards).to_have_count(2)  # the shipped idea is not on the opening board
    await expect(page.get_by_text("Shipped: invoices carry the PO number")).to_have_count(0)
    await expect(page.locator(f"#idea-{waiting} .comment-count")).to_contain_text("1 comment")
    await axe_both(ui, page, "board-open")

    async with NoReload(page):
        await page.get_by_label("Status").select_option(label="Closed (shipped, declined…)")
        await ui.htmx_settled(page)
        await expect(cards).to_have_count(1)
    button = page.locator(f"#vote-{shipped}")
    await expect(button).to_be_disabled()
    await expect(button.locator(".label")).to_have_text("Shipped")
    await axe_both(ui, page, "board-closed")

    await click_nav(page, "Roadmap")
    await heading(page, "Roadmap")
    await expect(page.get_by_test_id("roadmap-in_progress")).to_contain_text(
        "In progress: delivery date on the receipt"
    )
    await expect(page.get_by_test_id("roadmap-shipped")).to_contain_text(
        "Shipped: invoices carry the PO number"
    )
    await page.get_by_label("Touchpoint").select_option(label="Support")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_test_id("roadmap-shipped")).to_contain_text("Nothing here")
    await axe_both(ui, page, "roadmap")


async def test_submitter_edits_withdraws_and_answers_without_reloads(ui, personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    cora = await personas.get("cora_hr_council")
    pat = await personas.get("pat_product_council")
    asked = await post_idea(alice, title="Explain proration on the upgrade page")
    r = await bob.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": dt.date.today().isoformat(), "attendee_ids": [bob.id, cora.id, pat.id]},
    )
    assert r.status_code == 201, r.text
    session = r.json()["id"]
    r = await bob.api().post(
        f"/api/v1/ideas/{asked}/decision",
        json={"session_id": session, "outcome": "needs_info", "question": "Which plans?"},
    )
    assert r.status_code == 200, r.text
    fresh = await post_idea(alice, title="Let customers pause a subscription")
    other = await post_idea(alice, title="Offer a yearly plan with a discount")

    page = await ui.new_page()
    await ui.login(page, alice, next=f"/ideas/{fresh}")
    await page.get_by_role("link", name="Edit your idea").click()
    await heading(page, "Edit your idea")
    await page.get_by_label("Title").fill("Let customers pause a subscription for a month")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Save changes").click()
    await heading(page, "Let customers pause a subscription for a month")
    await expect(page.locator(".idea-meta .edited")).to_contain_text("Edited")
    await axe_both(ui, page, "idea-edited")

    await ui.goto(page, f"/ideas/{other}")
    await page.locator("details.withdraw > summary").click()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Yes, withdraw it").click()
    await expect(page.locator(f"#idea-status-{other}")).to_have_text("Withdrawn")
    await expect(page.locator(f"#vote-{other} .label")).to_have_text("Withdrawn")
    await axe_both(ui, page, "idea-withdrawn")

    await ui.goto(page, f"/ideas/{asked}")
    await ui.htmx_settled(page)
    await expect(page.locator(f"#idea-status-{asked}")).to_have_text("Needs info")
    async with NoReload(page):
        await page.get_by_label("Your answer").fill("Monthly and yearly plans, both.")
        await page.get_by_role("button", name="Send answer").click()
        await ui.htmx_settled(page)
        await expect(page.locator(f"#idea-status-{asked}")).to_have_text("In review")
        await expect(page.locator(f"#idea-timeline-{asked}")).to_contain_text(
            re.compile(r"In review\s+by Submitter")
        )
    await axe_both(ui, page, "idea-answered")
