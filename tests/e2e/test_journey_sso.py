"""A new employee's first day, in Chromium, with only the environment of
docs/sso.md set: she signs in through the company's identity provider (a
real OpenID Connect provider, npm's oidc-provider, on loopback), lands on the
board with the department and role the provider's claims give her, and
submits an idea — no admin did anything. When the provider later moves her to
another department, her next sign-in shows the new one."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import open_ui, start_live_server
from tests.oidc_provider import PASSWORD, TestProvider, require_node

pytestmark = pytest.mark.browser

NINA = {
    "email": "nina.newhire@corp.example",
    "email_verified": True,
    "name": "Nina Newhire",
    "department": "Customer Success",
    "title": "Onboarding Specialist",
    "groups": ["all-staff", "cx-council"],
}
IDEA = {
    "title": "Welcome call for every new enterprise customer",
    "problem": "New enterprise customers do not know whom to call during their first month.",
    "proposal": "Book a welcome call with their success manager in the week they sign up.",
}


async def sign_in_at_the_provider(ui, page, check_login_page: bool = False) -> None:
    await ui.goto(page, "/login")
    if check_login_page:
        await ui.axe(page, "login-with-sso")
    await page.get_by_role("link", name="Sign in with Corp Login").click()
    await expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    await page.get_by_label("Username").fill("nina")
    await page.get_by_label("Password").fill(PASSWORD)
    async with page.expect_navigation(url=re.compile(r"^" + re.escape(ui.url("/")) + r"$")):
        await page.get_by_role("button", name="Sign in to the test IdP").click()


async def test_a_new_employee_signs_in_through_the_provider_and_submits(request, chromium):
    require_node()
    idp = TestProvider(redirect_uris=[])
    server = await start_live_server(
        "sso",
        idp.env(
            OIDC_PROVIDER_NAME="Corp Login",
            OIDC_DEPARTMENT_CLAIM="department",
            OIDC_TITLE_CLAIM="title",
            OIDC_GROUPS_CLAIM="groups",
            OIDC_GROUP_ROLES="cx-council=council,execs=leader",
            OIDC_ALLOWED_DOMAINS="corp.example",
        ),
    )
    idp.redirect_uris = [server.url_for("/auth/oidc/callback")]
    idp.post_logout_redirect_uris = [server.url_for("/login")]
    idp.set_account("nina", NINA)
    idp.start()
    try:
        async with open_ui(request, chromium, server) as ui:
            page = await ui.new_page()
            await sign_in_at_the_provider(ui, page, check_login_page=True)
            await expect(page.locator("#signed-in-as")).to_have_text("Nina Newhire")
            # her role came from the provider's groups: the council's pages are hers
            nav = page.get_by_role("navigation", name="Main")
            await expect(nav.get_by_role("link", name="Triage")).to_be_visible()
            await ui.axe(page, "board-after-sso")

            await nav.get_by_role("link", name="Submit an idea").click()
            await page.get_by_label("Title").fill(IDEA["title"])
            await page.get_by_label("Touchpoint").select_option(label="Onboarding")
            await page.get_by_label("The problem customers have").fill(IDEA["problem"])
            await page.get_by_label("Your proposal").fill(IDEA["proposal"])
            async with page.expect_navigation(url=re.compile(r"/ideas/[^/]+$")):
                await page.get_by_role("button", name="Submit idea").click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(IDEA["title"])

            await nav.get_by_role("link", name=re.compile("Signed in as")).click()
            await expect(page.locator("#me-department")).to_have_text("Customer Success")
            await expect(page.locator("#me-title")).to_have_text("Onboarding Specialist")
            await expect(page.locator("#me-roles")).to_have_text("staff, council")
            await ui.axe(page, "profile")
            await ui.screenshot(page, "profile-after-sso")

        # the directory moves her to Finance; her next sign-in (a new browser) shows it
        idp.set_account("nina", {**NINA, "department": "Finance", "groups": ["all-staff"]})
        async with open_ui(request, chromium, server) as ui:
            page = await ui.new_page()
            await sign_in_at_the_provider(ui, page)
            await ui.goto(page, "/me")
            await expect(page.locator("#me-department")).to_have_text("Finance")
            await expect(page.locator("#me-roles")).to_have_text("staff")
            mine = await ui.goto(page, "/me/ideas")
            assert mine is not None
            await expect(page.get_by_text(IDEA["title"])).to_be_visible()
    finally:
        idp.stop()
        await server.stop()
