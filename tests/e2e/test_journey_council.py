"""The CX council's journey in Chromium, by clicks only: a council member
opens a weekly triage session (after a refused quorum), takes each kind of
decision inline on the agenda without a page load — accept with an owning
department, decline with a reason (after a too-short one), merge a duplicate,
ask the submitter a question — then the submitter answers on My ideas and the
council reads the answer on the idea. axe-core checks every page visited;
screenshots are kept under test-artifacts/e2e/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import expect

from tests.e2e.journey import NoReload, check_page, click_nav, heading, log_out, post_idea

pytestmark = pytest.mark.browser

DECLINE_NOTE = "We cannot change the carrier's tracking pages; this is outside our reach."
QUESTION = "Which invoices are affected: paper ones, PDFs, or both?"
ANSWER = "Both: customers print the PDF and file it with the paper copy."


async def _idea(persona, idea_id: str) -> dict:
    r = await persona.api().get(f"/api/v1/ideas/{idea_id}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_council_runs_a_session_with_every_decision_and_reads_the_answer(ui, personas):
    bob = await personas.get("bob_finance_council")
    cora = await personas.get("cora_hr_council")
    pat = await personas.get("pat_product_council")
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")

    to_accept = await post_idea(
        alice,
        title="Show the delivery date in the order confirmation",
        problem="Customers call us to ask when their order arrives, right after ordering.",
        proposal="Put the promised delivery date in the confirmation e-mail and the receipt.",
        touchpoint="purchase",
    )
    to_decline = await post_idea(
        dan,
        title="Let customers pick the carrier's tracking page colours",
        problem="Some customers find the carrier's tracking page hard to read on phones.",
        proposal="Let each customer choose colours for the carrier's tracking page.",
        touchpoint="other",
    )
    target = await post_idea(erin)  # "Print the customer's PO number on every invoice"
    duplicate = await post_idea(
        dan,
        title="Add the purchase order number to our invoices",
        problem="Invoices without the customer's purchase order number are paid late.",
        proposal="Print the purchase order number the customer gave us on the invoice.",
    )
    to_ask = await post_idea(
        alice,
        title="Send invoices in the customer's own language",
        problem="Customers abroad cannot read our English invoices and call support.",
        proposal="Send each invoice in the language the customer chose for their account.",
    )
    r = await pat.api().put(f"/api/v1/ideas/{duplicate}/vote")  # this vote moves on merge
    assert r.status_code == 200
    # bob's own idea goes on the agenda too: he sees it marked and cannot decide it
    own = await post_idea(
        bob,
        title="Explain the late-payment fee on the first reminder",
        problem="Customers are surprised by the late-payment fee on their second invoice.",
        proposal="Say on the first reminder what the fee is and when it is charged.",
    )

    page = await ui.new_page()
    await ui.login(page, bob)

    # -- the queue, then the sessions page ------------------------------------
    await click_nav(page, "Triage")
    await heading(page, "Triage queue")
    for idea_id in (to_accept, to_decline, target, duplicate, to_ask):
        await expect(page.get_by_test_id(f"queue-row-{idea_id}")).to_be_visible()
    await expect(page.locator("main")).not_to_contain_text(alice.name)
    await check_page(ui, page, "triage-queue")

    async with page.expect_navigation():
        await page.get_by_role("link", name="Sessions").click()
    await heading(page, "Triage sessions")
    await check_page(ui, page, "triage-sessions")

    # two departments are not a quorum: the page says how many are needed
    # the machine's clock: a browser test talks to a live server in another
    # process, which reads the real clock (tests/conftest.py does not freeze it)
    today = dt.datetime.now(dt.UTC).date()
    await page.get_by_label("Date").fill(today.isoformat())
    # the opener is ticked (checkboxes by role: the header's profile link names the viewer too)
    await expect(page.get_by_role("checkbox", name=re.compile(bob.name))).to_be_checked()
    await page.get_by_role("checkbox", name=re.compile(cora.name)).check()
    ui.allow_console(r"status of 409")  # Chromium logs the (expected) 409 answer
    async with page.expect_navigation() as nav:
        await page.get_by_role("button", name="Open session").click()
    assert (await nav.value).status == 409
    await expect(page.get_by_test_id("session-error")).to_contain_text("3")
    # the choices are kept
    await expect(page.get_by_role("checkbox", name=re.compile(cora.name))).to_be_checked()
    await check_page(ui, page, "triage-sessions-quorum-refused")

    await page.get_by_role("checkbox", name=re.compile(pat.name)).check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Open session").click()
    await expect(page).to_have_url(re.compile(r"/triage/sessions/[^/]+$"))
    await heading(page, "Triage session of")
    attendees = page.locator(".attendees")
    for member in (bob, cora, pat):
        await expect(attendees).to_contain_text(member.name)
    # the opener is confirmed at once; decisions wait for the others to confirm
    await expect(page.get_by_test_id("quorum-notice")).to_be_visible()
    session_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    for member in (cora, pat):
        r = await member.api().post(f"/api/v1/triage/sessions/{session_id}/attend")
        assert r.status_code == 200, r.text
    await page.reload()
    await expect(page.get_by_test_id("quorum-notice")).to_have_count(0)
    # nobody judges their own idea: marked for bob, no decision form
    mine = page.get_by_test_id(f"agenda-item-{own}")
    await expect(mine.get_by_test_id(f"own-idea-{own}")).to_contain_text(
        "Your idea: another member decides"
    )
    await expect(mine.get_by_role("button", name="Accept idea")).to_have_count(0)
    await expect(mine.get_by_test_id(f"open-accept-{own}")).to_have_count(0)
    for idea_id in (to_accept, to_decline, target, duplicate, to_ask):
        item = page.get_by_test_id(f"agenda-item-{idea_id}")
        await expect(item.locator(".status")).to_have_text("In review")
    await check_page(ui, page, "session-opened", phone=True)

    # -- every decision inline, without a page load ---------------------------
    async with NoReload(page):
        # accept, with the owning department
        item = page.get_by_test_id(f"agenda-item-{to_accept}")
        await item.get_by_test_id(f"open-accept-{to_accept}").click()
        await item.get_by_label("Owning department").select_option(label="Support")
        await item.get_by_role("button", name="Accept idea").click()
        await expect(page.get_by_test_id(f"decision-{to_accept}")).to_contain_text("Accepted")
        item = page.get_by_test_id(f"agenda-item-{to_accept}")
        await expect(item.locator(".status")).to_have_text("Accepted")
        await expect(item).to_contain_text("Owned by Support")
        await expect(item.get_by_role("button", name="Accept idea")).to_have_count(0)

        # decline: a short reason is refused next to the field, then a real one
        item = page.get_by_test_id(f"agenda-item-{to_decline}")
        await item.get_by_test_id(f"open-decline-{to_decline}").click()
        await item.get_by_label("Why it is declined").fill("Not for us.")
        await item.get_by_role("button", name="Decline idea").click()
        await ui.htmx_settled(page)
        item = page.get_by_test_id(f"agenda-item-{to_decline}")
        note = item.get_by_label("Why it is declined")
        await expect(note).to_have_attribute("aria-invalid", "true")
        await expect(item.locator(".field-error")).to_contain_text("20")
        await expect(note).to_have_value("Not for us.")  # kept for fixing
        await expect(item.locator(".status")).to_have_text("In review")
        await ui.axe(page, "session-decline-too-short")
        await note.fill(DECLINE_NOTE)
        await item.get_by_role("button", name="Decline idea").click()
        await expect(page.get_by_test_id(f"decision-{to_decline}")).to_contain_text("Declined")
        await expect(page.get_by_test_id(f"decision-{to_decline}")).to_contain_text(DECLINE_NOTE)

        # duplicate of another idea on the agenda
        item = page.get_by_test_id(f"agenda-item-{duplicate}")
        await item.get_by_test_id(f"open-duplicate-{duplicate}").click()
        await item.get_by_label("Duplicate of idea number").fill(target)
        await item.get_by_role("button", name="Merge into that idea").click()
        await expect(page.get_by_test_id(f"decision-{duplicate}")).to_contain_text(
            "Merged as a duplicate"
        )
        await expect(page.get_by_test_id(f"agenda-item-{duplicate}")).to_contain_text(
            f"Merged into idea {target}"
        )

        # needs_info, with a question for the submitter
        item = page.get_by_test_id(f"agenda-item-{to_ask}")
        await item.get_by_test_id(f"open-needs_info-{to_ask}").click()
        await item.get_by_label("Question").fill(QUESTION)
        await item.get_by_role("button", name="Send question").click()
        await expect(page.get_by_test_id(f"decision-{to_ask}")).to_contain_text(
            "Asked the submitter a question"
        )
        item = page.get_by_test_id(f"agenda-item-{to_ask}")
        await expect(item.locator(".status")).to_have_text("Needs info")
        await expect(item.get_by_test_id("question-text")).to_have_text(QUESTION)
        await ui.htmx_settled(page)

    # who decided is shown here, to the council only
    await expect(page.get_by_test_id(f"decision-{to_accept}")).to_contain_text(bob.name)
    await check_page(ui, page, "session-decided", phone=True)

    assert (await _idea(bob, to_accept))["owning_department"]["name"] == "Support"
    assert (await _idea(bob, to_decline))["status"] == "declined"
    merged = await _idea(bob, duplicate)
    assert merged["status"] == "duplicate" and merged["duplicate_of"] == target
    assert merged["votes"] == 0 and (await _idea(bob, target))["votes"] == 1
    assert (await _idea(bob, to_ask))["status"] == "needs_info"
    assert (await _idea(bob, target))["status"] == "in_review"  # undecided stays

    # a reload shows the same: the decisions were written, not just swapped in
    await page.reload()
    await expect(page.get_by_test_id(f"decision-{to_decline}")).to_contain_text("Declined")

    # -- the submitter answers the question on My ideas -----------------------
    await log_out(page)
    await ui.login(page, alice)
    await click_nav(page, "My ideas")
    await heading(page, "My ideas")
    mine = page.locator(f"#my-idea-{to_ask}")
    await expect(mine.locator(".idea-meta .status")).to_have_text("Needs info")
    box = mine.get_by_test_id("question-box")
    await expect(box.get_by_test_id("question-text")).to_have_text(QUESTION)
    await expect(box).to_contain_text("CX council asked")
    await expect(page.locator("main")).not_to_contain_text(bob.name)  # nobody is named
    await expect(page.locator(f"#my-idea-{to_accept} .idea-meta .status")).to_have_text("Accepted")
    await check_page(ui, page, "my-ideas-question", phone=True)

    async with NoReload(page):
        await box.get_by_label("Your answer").fill(ANSWER)
        await box.get_by_role("button", name="Send answer").click()
        box = mine.get_by_test_id("question-box")
        await expect(box.get_by_role("status")).to_contain_text("back in review")
        await expect(box.get_by_test_id("answer-text")).to_have_text(ANSWER)
        await expect(box).to_contain_text("You answered")
        await expect(box.get_by_label("Your answer")).to_have_count(0)
    await check_page(ui, page, "my-ideas-answered")
    await page.reload()
    await expect(page.locator(f"#my-idea-{to_ask} .idea-meta .status")).to_have_text("In review")

    # -- the council sees the answer: "answered" in the queue, and on the idea --
    await log_out(page)
    await ui.login(page, bob)
    await click_nav(page, "Triage")
    await expect(page.get_by_test_id(f"answered-{to_ask}")).to_have_text("Answered")
    await check_page(ui, page, "triage-queue-answered")
    async with page.expect_navigation():
        await page.get_by_test_id(f"queue-row-{to_ask}").get_by_role("link").click()
    await heading(page, "Send invoices in the customer's own language")
    await ui.htmx_settled(page)
    box = page.get_by_test_id("question-box")
    await expect(box.get_by_test_id("question-text")).to_have_text(QUESTION)
    await expect(box.get_by_test_id("answer-text")).to_have_text(ANSWER)
    await expect(box).to_contain_text("Submitter answered")
    for identity in alice.identity_strings():
        await expect(page.locator("body")).not_to_contain_text(identity)
    await check_page(ui, page, "idea-answered-council-view", phone=True)
