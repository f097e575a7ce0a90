"""Onboarding in Chromium, by clicks only: an admin imports a CSV with bad
rows, reads the preview (created, updated, rejected with reasons), confirms,
finds one new person and mails them an invitation; the mail goes through a
real SMTP server (aiosmtpd on loopback, the live server's SMTP_URL); the
person follows the link from the mail, sets a password (after a mismatch)
and logs in. The link works once. axe-core checks every page visited;
screenshots are kept."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import expect

from ideas.tables import User
from tests.e2e.conftest import open_ui, start_live_server
from tests.e2e.journey import check_page, click_nav, heading, log_out

pytestmark = pytest.mark.browser

NEW_PASSWORD = "kettle orbit lantern 42"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/password/set\?token=[A-Za-z0-9_\-]+")


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture(scope="module")
async def mail_server(migrated, smtp):
    """A live server that sends its mail to the test SMTP server."""
    controller, _ = smtp
    server = await start_live_server(
        "smtp", {"SMTP_URL": f"smtp://{controller.hostname}:{controller.port}"}
    )
    yield server
    await server.stop()


@pytest.fixture
async def admin_ui(request, chromium, mail_server, smtp):
    smtp[1].messages.clear()
    async with open_ui(request, chromium, mail_server) as watcher:
        yield watcher


def _text(message: EmailMessage) -> str:
    return "\n".join(
        part.get_content() for part in message.walk() if part.get_content_type() == "text/plain"
    )


async def _mail_to(inbox: Inbox, address: str) -> EmailMessage:
    """The server hands the mail over before it answers; allow a moment anyway."""
    for _ in range(100):
        if inbox.to(address):
            break
        await asyncio.sleep(0.05)
    found = inbox.to(address)
    assert len(found) == 1, [m["To"] for m in inbox.messages]
    return found[0]


async def test_admin_imports_people_invites_one_who_sets_a_password_and_logs_in(
    admin_ui, personas, smtp
):
    ui, inbox = admin_ui, smtp[1]
    adam = await personas.get("adam_admin")
    alice = await personas.get("alice_support")  # updated by the import
    csv_text = "\n".join(
        [
            "email,name,title,department,roles",
            "nina@example.com,Nina Nyström,Support Agent,Support,",
            "omar@example.com,Omar Okafor,Billing Clerk,Finance,council",
            "not-an-email,Bad Row,Clerk,Support,",
            "paula@example.com,Paula Price,Courier,Logistics,wizard",
            f"{alice.email},{alice.name},Support Team Lead,Support,",
        ]
    )

    page = await ui.new_page()
    await ui.login(page, adam)
    await click_nav(page, "Admin")
    admin_nav = page.get_by_role("navigation", name="Admin")
    await check_page(ui, page, "admin-overview")
    async with page.expect_navigation():
        await admin_nav.get_by_role("link", name="People").click()
    await heading(page, "People")
    await check_page(ui, page, "admin-people")

    # -- import: the preview first, nothing written ----------------------------
    async with page.expect_navigation():
        await page.get_by_role("link", name="Import from CSV").click()
    await heading(page, "Import people")
    await check_page(ui, page, "admin-import")
    await page.get_by_label("CSV file (UTF-8)").set_input_files(
        {"name": "support.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    )
    async with page.expect_navigation():
        await page.get_by_role("button", name="Preview the import").click()
    await heading(page, "Import preview")
    await expect(page.locator("#import-summary")).to_contain_text(
        "2 to create, 1 to update, 0 unchanged, 2 rejected"
    )
    rejected = page.locator("#import-rejected")
    await expect(rejected.locator("tbody tr")).to_have_count(2)
    await expect(rejected.locator("tr", has_text="not-an-email")).to_contain_text("bad email")
    await expect(rejected.locator("tr", has_text="paula@example.com")).to_contain_text(
        "unknown role 'wizard'"
    )
    await expect(page.locator("#import-created")).to_contain_text("Nina Nyström")
    await expect(page.locator("#import-created")).to_contain_text("Omar Okafor")
    await expect(page.locator("#import-updated")).to_contain_text("Support Team Lead")
    await check_page(ui, page, "admin-import-preview", phone=True)
    assert not await User.exists().where(User.email == "nina@example.com").run()  # not yet

    # confirm without mailing everyone: one person is invited by hand below
    await page.get_by_label(re.compile("Mail each new person an invitation")).uncheck()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Import 3 people").click()
    await heading(page, "Import done")
    await expect(page.locator("#import-result")).to_contain_text(
        "2 created, 1 updated, 0 unchanged, 2 rejected"
    )
    await check_page(ui, page, "admin-import-done")
    assert inbox.messages == []  # nobody was mailed

    # -- find Nina and mail her an invitation -----------------------------------
    async with page.expect_navigation():
        await page.get_by_role("link", name="See the people").click()
    await page.get_by_label("Search").fill("Nina")
    people = page.locator("#people-list")
    await expect(people.locator("tbody tr")).to_have_count(1)
    await ui.htmx_settled(page)
    async with page.expect_navigation():
        await people.get_by_role("link", name="Nina Nyström").click()
    await heading(page, "Nina Nyström")
    await expect(page.locator("main")).to_contain_text("no password yet")
    await check_page(ui, page, "admin-person")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Mail an invitation").click()
    await expect(page.get_by_role("status").filter(has_text="Invitation mailed")).to_be_visible()
    await check_page(ui, page, "admin-person-invited")

    for section in ("Departments", "Organisation settings"):
        async with page.expect_navigation():
            await admin_nav.get_by_role("link", name=section).click()
        await check_page(ui, page, f"admin-{section.split()[0].lower()}")
    async with page.expect_navigation():
        await admin_nav.get_by_role("link", name="Audit log").click()
    await expect(page.locator("main")).to_contain_text("nina@example.com")
    await check_page(ui, page, "admin-audit")

    mail = await _mail_to(inbox, "nina@example.com")
    assert len(inbox.messages) == 1  # only the person invited
    assert "invited" in mail["Subject"]
    found = LINK.search(_text(mail))
    assert found, _text(mail)
    link = found.group(0)
    assert link.startswith(ui.server.url)

    # -- Nina follows the link, sets a password, logs in ------------------------
    await log_out(page)
    await page.goto(link)  # the link in her mail
    await heading(page, "Welcome to Touchpoint, Nina Nyström")
    await check_page(ui, page, "password-set")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("The same password again").fill(NEW_PASSWORD + "!")
    ui.allow_console(r"status of (400|422)")  # Chromium logs the (expected) refusals
    async with page.expect_navigation():
        await page.get_by_role("button", name="Set password").click()
    again = page.get_by_label("The same password again")
    await expect(again).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#password_again-error")).to_be_visible()
    await ui.axe(page, "password-set-mismatch")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await again.fill(NEW_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Set password").click()
    await expect(page.locator("#password-done")).to_contain_text("nina@example.com")
    await check_page(ui, page, "password-set-done")

    async with page.expect_navigation():
        await page.get_by_role("link", name="Log in").click()
    await page.get_by_label("Email").fill("nina@example.com")
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
    await heading(page, "Ideas")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="My ideas")).to_be_visible()
    await expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    await check_page(ui, page, "newcomer-board")

    # the link worked once
    await log_out(page)
    await page.goto(link)
    await expect(page.locator("#link-invalid")).to_be_visible()
    await ui.axe(page, "password-link-used")
