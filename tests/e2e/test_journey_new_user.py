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

from ideas.people import directory
from ideas.tables import Idea
from tests.e2e.conftest import DESKTOP
from tests.e2e.journey import NoReload, click_nav, heading, post_idea
from tests.factories import confirm_attendance

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
    finance = await directory.department_by_name("Finance", create=True)
    shipped = await post_idea(alice, title="Shipped: invoices carry the PO number")
    # the machine's clock here and below: a browser test talks to a live server in another
    # process, which reads the real clock (tests/conftest.py does not freeze it)
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
    await confirm_attendance(session, bob, cora, pat)
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


async def test_owner_proposes_shipping_and_the_council_ships_from_the_delivery_board(ui, personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    cora = await personas.get("cora_hr_council")
    pat = await personas.get("pat_product_council")
    erin = await personas.get("erin_it")
    finance = await directory.department_by_name("Finance", create=True)
    idea = await post_idea(alice, title="Print the PO number on every invoice page")
    r = await bob.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": dt.date.today().isoformat(), "attendee_ids": [bob.id, cora.id, pat.id]},
    )
    assert r.status_code == 201, r.text
    session = r.json()["id"]
    await confirm_attendance(session, bob, cora, pat)
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/decision",
        json={"session_id": session, "outcome": "accept", "owning_department_id": str(finance)},
    )
    assert r.status_code == 200, r.text
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/actions",
        json={"title": "Add the PO field", "owner_id": erin.id, "due_on": due},
    )
    action = r.json()["id"]
    assert (await erin.api().patch(f"/api/v1/actions/{action}", json={"status": "done"})).is_success

    page = await ui.new_page()
    await ui.login(page, erin, next=f"/ideas/{idea}")
    await ui.htmx_settled(page)
    form = page.get_by_test_id("propose-form")
    async with NoReload(page):
        await form.get_by_label("What changed for customers").fill(
            "Every invoice page now carries the customer's PO number."
        )
        await form.get_by_role("button", name="Propose shipping").click()
        await ui.htmx_settled(page)
        await expect(page.get_by_test_id("ship-proposed")).to_contain_text("Proposed to ship.")
    await axe_both(ui, page, "owner-proposed")

    council = await ui.new_page()
    await ui.login(council, bob, next="/delivery")
    await heading(council, "Delivery")
    proposal = council.get_by_test_id(f"proposal-{idea}")
    await expect(proposal).to_contain_text("Proposed to ship")
    await axe_both(ui, council, "delivery-proposal")
    async with council.expect_navigation():
        await proposal.get_by_role("button", name="Ship it").click()
    await expect(council.locator(f"#idea-status-{idea}")).to_have_text("Shipped")


async def test_layout_header_menu_delivery_rows_inbox_and_favicon(ui, personas):
    adam = await personas.get("adam_admin")
    bob = await personas.get("bob_finance_council")
    alice = await personas.get("alice_support")
    finance = await directory.department_by_name("Finance", create=True)
    idea = await post_idea(alice, title="Show the delivery date on the receipt")
    await set_status(idea, "accepted", owning_department=finance)
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/actions",
        json={"title": "Add the date to the receipt template", "owner_id": bob.id, "due_on": due},
    )
    assert r.status_code == 201, r.text

    page = await ui.new_page()
    await ui.login(page, bob, next="/delivery")
    header = page.locator(".site-header")
    # one line at 1280 px, even for the council's longer navigation
    assert (await header.bounding_box())["height"] < 80
    links = nav_links = page.get_by_role("navigation", name="Main").get_by_role("link")
    tops = {round((await links.nth(i).bounding_box())["y"]) for i in range(await links.count())}
    assert len(tops) == 1, tops
    await expect(nav_links.filter(has_text="Notification settings")).to_have_count(1)
    icon = await page.evaluate("document.querySelector('link[rel=icon]').href")
    assert (await page.request.get(icon)).status == 200

    await page.set_viewport_size(PHONE_390)
    menu = page.get_by_role("button", name="Menu")
    await expect(menu).to_be_visible()
    await expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert (await header.bounding_box())["height"] < 90  # no longer three rows of links
    row = page.get_by_test_id(f"delivery-{idea}")
    assert (await row.bounding_box())["height"] < 260
    await ui.axe(page, "delivery-390")
    await ui.screenshot(page, "delivery-390")
    await menu.click()
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    await ui.axe(page, "menu-open-390")
    await ui.screenshot(page, "menu-open-390")
    async with page.expect_navigation():
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    await page.set_viewport_size(DESKTOP)
    await ui.axe(page, "delivery-1280")

    admin = await ui.new_page()
    await ui.login(admin, adam, next="/admin/settings")
    await heading(admin, "Organisation settings")
    admin_links = admin.get_by_role("navigation", name="Main").get_by_role("link")
    tops = {
        round((await admin_links.nth(i).bounding_box())["y"])
        for i in range(await admin_links.count())
    }
    assert len(tops) == 1, tops  # every role's links on one line at 1280 px
    await axe_both(ui, admin, "admin-settings")


async def test_header_is_one_line_at_1280_for_someone_with_every_role(ui, personas):
    # the longest navigation there is: admin, council and leader at once, with a long name
    everyone = await personas.make(
        "wilhelmina_all_roles",
        "Wilhelmina Fairweather-Oyelaran",
        "Head of Customer Experience",
        "Support",
        ("admin", "council", "leader"),
    )
    page = await ui.new_page()
    await ui.login(page, everyone, next="/admin/settings")
    await heading(page, "Organisation settings")
    main_nav = page.get_by_role("navigation", name="Main")
    for name in ("Triage", "Delivery", "Leaders", "Admin", "Notification settings"):
        await expect(main_nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    profile = main_nav.get_by_role(
        "link", name="Signed in as Wilhelmina Fairweather-Oyelaran, your profile"
    )
    await expect(profile).to_be_visible()
    await expect(page.locator("#signed-in-as")).to_have_text("Wilhelmina Fairweather-Oyelaran")
    assert (await page.locator(".site-header").bounding_box())["height"] < 80
    controls = main_nav.locator("a, button")
    tops = {
        round((await controls.nth(i).bounding_box())["y"]) for i in range(await controls.count())
    }
    assert len(tops) == 1, tops
    await ui.axe(page, "all-roles-1280")
    await ui.screenshot(page, "all-roles-1280")


async def test_inbox_has_no_stray_bullets(ui, personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await post_idea(alice)
    r = await dan.api().post(f"/api/v1/ideas/{idea}/comments", json={"body": "A comment."})
    assert r.status_code == 201
    from tests.notify_helpers import drain

    await drain()
    page = await ui.new_page()
    await ui.login(page, alice, next="/me/notifications")
    await expect(page.locator(".notice")).to_have_count(1)
    style = await page.evaluate(
        "getComputedStyle(document.querySelector('.notice-list')).listStyleType"
    )
    assert style == "none"
    await axe_both(ui, page, "inbox")
