"""Small helpers shared by the role journeys (tests/e2e/test_journey_*.py):
log out through the nav, check a page (HTMX settled, axe, screenshot), and
prove that a stretch of clicks happened without a page load."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.async_api import expect

from tests.factories import idea_payload


async def post_idea(persona, **fields) -> str:
    """Data made as the person would through the API (setup, not the journey)."""
    r = await persona.api().post("/api/v1/ideas", json=idea_payload(**fields))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def nav(page):
    return page.get_by_role("navigation", name="Main")


async def click_nav(page, name: str) -> None:
    """Follow a main-navigation link, as a person would."""
    async with page.expect_navigation():
        await nav(page).get_by_role("link", name=name, exact=True).click()


async def log_out(page) -> None:
    async with page.expect_navigation():
        await nav(page).get_by_role("button", name="Log out").click()
    assert urlparse(page.url).path == "/login", page.url


async def check_page(ui, page, name: str, phone: bool = False) -> None:
    """Once HTMX has settled: axe (no serious or critical violation), and a
    screenshot kept (also at phone width when asked)."""
    await ui.htmx_settled(page)
    await ui.axe(page, name)
    await ui.screenshot(page, name)
    if phone:
        await ui.screenshot(page, name, phone=True)


class NoReload:
    """`async with NoReload(page):` fails if a new document loaded inside
    (history pushes by HTMX are fine: they load nothing)."""

    def __init__(self, page) -> None:
        self.page = page
        self.loads: list[str] = []

    def _on_load(self, page) -> None:
        self.loads.append(page.url)

    async def __aenter__(self) -> NoReload:
        await self.page.evaluate("window.__noReload = 'still here'")
        self.page.on("domcontentloaded", self._on_load)
        return self

    async def __aexit__(self, *exc) -> None:
        self.page.remove_listener("domcontentloaded", self._on_load)
        if exc[0] is None:
            assert self.loads == [], f"the page loaded anew: {self.loads}"
            assert await self.page.evaluate("window.__noReload") == "still here"


async def heading(page, text: str) -> None:
    await expect(page.get_by_role("heading", level=1)).to_contain_text(text)
