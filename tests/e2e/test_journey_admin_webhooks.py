"""An admin connects a webhook in Chromium, by clicks only: the secret is
shown once, the log is on the endpoint's page, and every page passes axe."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from ideas.tables import WebhookEndpoint
from tests.e2e.journey import check_page, click_nav, heading

pytestmark = pytest.mark.browser


async def test_admin_connects_a_webhook_and_sees_its_secret_once(ui, personas):
    adam = await personas.get("adam_admin")
    page = await ui.new_page()
    await ui.login(page, adam)
    await click_nav(page, "Admin")
    admin_nav = page.get_by_role("navigation", name="Admin")
    async with page.expect_navigation():
        await admin_nav.get_by_role("link", name="Webhooks & chat").click()
    await heading(page, "Webhooks and chat channels")
    await check_page(ui, page, "admin-webhooks")

    await page.get_by_label("URL (webhook, Teams Workflows URL) or Slack channel id").fill(
        "https://hooks.example.com/touchpoint"
    )
    await page.get_by_label("idea.shipped").check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Connect").click()
    await heading(page, "Webhook")
    secret = page.locator("[data-secret]")
    await expect(secret).to_contain_text("whsec_")
    shown = await secret.inner_text()
    await check_page(ui, page, "admin-webhook-created")

    [row] = await WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.secret).run()
    assert row["secret"] == shown.strip()
    await ui.goto(page, f"/admin/webhooks/{row['id']}")
    await expect(page.locator("[data-secret]")).to_have_count(0)
    await expect(page.locator("main")).to_contain_text("No attempts yet")
    await check_page(ui, page, "admin-webhook")
