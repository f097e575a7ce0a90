"""Browser-test harness: the real app served by uvicorn, driven by Playwright
in Debian's Chromium.

Everything here builds on tests/conftest.py (same database, same Redis, same
environment; tables are truncated before each test), so data made in the test
process with `personas` / `ideas.services` is what the browser sees.

Fixtures
--------
live_server (session)
    `LiveServer` with `.url` ("http://127.0.0.1:<port>"), `.url_for(path)` and
    `.log_path`. `uvicorn --factory web.app:create_app` runs as a subprocess on
    a free port of 127.0.0.1 with this test run's environment (DATABASE_URL,
    REDIS_URL, SECRET_KEY, TOUCHPOINT_DATA_DIR, TOUCHPOINT_ARGON2, rate limits;
    BASE_URL is the server's own URL). Migrations come from the session
    fixture `migrated`; the server is ready once GET /health answers 200, and is
    stopped at the end of the session. Its output (access log, tracebacks) is
    in test-artifacts/e2e/server-<engine>.log.

start_live_server(name, extra_env) / open_ui(request, chromium, server)
    For a test that needs a server configured differently (e.g. SMTP_URL
    pointing at a test mail server): `server = await start_live_server(
    "smtp", {"SMTP_URL": ...})` starts one more (same environment plus
    `extra_env`; log in test-artifacts/e2e/server-<name>-<engine>.log), and
    `await server.stop()` ends it. `async with open_ui(request, chromium,
    server) as ui:` gives a watched `UI` on it, as the `ui` fixture does.

chromium (session)
    A Playwright `Browser`: /usr/bin/chromium, headless, with the flags in
    CHROMIUM_ARGS. Without /usr/bin/chromium (or the playwright package) the
    browser tests are skipped with the reason, except under CI=true, where
    they fail instead.

ui (function)
    A `UI`: one fresh browser context (no cookies; desktop viewport 1280x800)
    watched for trouble. Its helpers:

    - `await ui.new_page()` → a watched Playwright `Page`.
    - `await ui.login(page, persona, next="/")` logs in through the /login
      form (email, password, the button) as a persona from tests/factories.py,
      and waits for the redirect to `next`. The context keeps the session
      cookie, so further pages of the same `ui` are logged in too.
    - `await ui.htmx_settled(page)` waits until no HTMX request is in flight
      and every swap has settled (swapped-in content is live only then);
      `ui.settled_and_still(page)` also waits for CSS animations to end.
    - `await ui.goto(page, "/path")` opens a local path and checks the answer
      is not an error (pass `status=` to expect another one).
    - `await ui.screenshot(page, "name", phone=False)` saves a full-page PNG
      under test-artifacts/e2e/<test>/; `phone=True` first resizes to
      375x740 (and back to desktop after).
    - `await ui.axe(page, "name")` injects the vendored axe-core
      (/static/axe.min.js, loaded by URL so the page's CSP stays on) and fails
      on any serious or critical violation; the full report is written next
      to the screenshots.
    - `ui.allow_console(r"regex")` excuses console errors whose text or source
      URL matches, e.g. the "Failed to load resource: ... 422" Chromium logs
      for an expected error answer. Use sparingly, as narrow as possible.
    - `ui.problems` — what the watch saw so far; `ui.assert_clean()` fails on
      it (also run automatically when the test ends).

    The watch records, and the test fails on: console errors (CSP violations
    among them), uncaught page errors, JavaScript dialogs (alert/confirm/
    prompt: auto-dismissed), HTTP 5xx answers, and any request to a host other
    than 127.0.0.1/localhost/[::1] (aborted before it leaves the machine).

Constants: DESKTOP, PHONE (viewport sizes), ARTIFACTS (test-artifacts/e2e).

Mark browser tests with `@pytest.mark.browser` (every test collected under
tests/e2e/ gets the mark anyway, so `-m "not browser"` leaves them out).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
#: URL schemes that never leave the page (no network)
INERT_SCHEMES = {"data", "blob", "about", "javascript", "chrome-error"}
SERIOUS = {"serious", "critical"}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    """Skip the browser tests on a developer machine, fail them loudly in CI."""
    if _in_ci():
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _engine() -> str:
    return "postgres" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"


# -- the live server -----------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    log_path: Path
    process: subprocess.Popen

    def url_for(self, path: str) -> str:
        return self.url + path

    async def stop(self) -> None:
        await asyncio.to_thread(_stop, self.process)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _start_server(
    port: int, log_path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    env = dict(os.environ)  # tests/conftest.py set DATABASE_URL, REDIS_URL, SECRET_KEY, ...
    env["BASE_URL"] = f"http://127.0.0.1:{port}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})
    with log_path.open("w") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "web.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def start_live_server(name: str = "", extra_env: dict[str, str] | None = None) -> LiveServer:
    """Start a live server and wait until it is healthy (the caller stops it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = ARTIFACTS / f"server-{name + '-' if name else ''}{_engine()}.log"
    process = _start_server(port, log_path, extra_env)
    server = LiveServer(url=url, log_path=log_path, process=process)
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"the live server exited with {process.returncode}:\n{server.log_tail()}"
                    )
                try:
                    if (await client.get(url + "/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the live server never got healthy:\n{server.log_tail()}")
                await asyncio.sleep(0.1)
    except BaseException:
        _stop(process)
        raise
    return server


@pytest.fixture(scope="session")
async def live_server(migrated) -> LiveServer:
    server = await start_live_server()
    try:
        yield server
    finally:
        await server.stop()


# -- the browser ---------------------------------------------------------------


def _chromium_installed() -> bool:
    return CHROMIUM.exists()


@pytest.fixture(scope="session")
async def chromium():
    if not _chromium_installed():
        _unavailable(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the playwright package is missing: pip install -e '.[test]'")
    manager = async_playwright()
    playwright = await manager.start()
    try:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except Exception as exc:
        await manager.__aexit__(None, None, None)
        _unavailable(f"Chromium did not start: {exc}")
    yield browser
    await browser.close()
    await manager.__aexit__(None, None, None)


# -- one watched browser context per test --------------------------------------


def _is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in INERT_SCHEMES:
        return True
    return (parsed.hostname or "") in LOCAL_HOSTS


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120] or "test"


@dataclass
class UI:
    server: LiveServer
    context: Any
    artifacts: Path
    problems: list[str] = field(default_factory=list)
    allowed_console: list[re.Pattern] = field(default_factory=list)
    _pages: set[int] = field(default_factory=set)

    # -- watching --
    def allow_console(self, pattern: str) -> None:
        self.allowed_console.append(re.compile(pattern))

    def _watch(self, page) -> None:
        if id(page) in self._pages:
            return
        self._pages.add(id(page))

        def on_console(msg) -> None:
            if msg.type != "error":
                return
            text = msg.text
            location = (msg.location or {}).get("url", "") or page.url
            if any(p.search(text) or p.search(location) for p in self.allowed_console):
                return
            self.problems.append(f"console error on {location}: {text}")

        def on_page_error(exc) -> None:
            self.problems.append(f"page error on {page.url}: {exc}")

        async def on_dialog(dialog) -> None:
            self.problems.append(f"{dialog.type} dialog on {page.url}: {dialog.message!r}")
            await dialog.dismiss()

        def on_response(response) -> None:
            if response.status >= 500:
                self.problems.append(f"HTTP {response.status} from {response.url}")

        def on_websocket(ws) -> None:
            if not _is_local(ws.url):
                self.problems.append(f"websocket to a non-local host: {ws.url}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("dialog", on_dialog)
        page.on("response", on_response)
        page.on("websocket", on_websocket)

    async def _route(self, route) -> None:
        url = route.request.url
        if _is_local(url):
            await route.continue_()
        else:
            self.problems.append(f"request to a non-local host: {route.request.method} {url}")
            await route.abort("blockedbyclient")

    def assert_clean(self) -> None:
        if self.problems:
            found = "\n  ".join(self.problems)
            self.problems = []
            pytest.fail(f"the browser saw problems:\n  {found}", pytrace=False)

    # -- acting --
    def url(self, path: str) -> str:
        return self.server.url_for(path)

    async def new_page(self):
        page = await self.context.new_page()
        self._watch(page)
        return page

    async def goto(self, page, path: str, status: int | None = 200):
        response = await page.goto(self.url(path))
        if status is not None:
            assert response is not None, f"no answer for {path}"
            assert response.status == status, (
                f"{path}: HTTP {response.status}, expected {status}\n{self.server.log_tail(15)}"
            )
        return response

    async def htmx_settled(self, page) -> None:
        """Wait until HTMX has no request in flight and has settled its swaps
        (new content is wired up only once settled)."""
        await page.wait_for_function(
            "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
        )

    async def login(self, page, persona, next: str = "/") -> None:
        """Log in through the form, as a person would."""
        await self.goto(page, f"/login?next={quote(next, safe='')}")
        await page.get_by_label("Email").fill(persona.email)
        await page.get_by_label("Password").fill(persona.password)
        async with page.expect_navigation():
            await page.get_by_role("button", name="Log in").click()
        landed = urlparse(page.url)
        expected = urlparse(next)
        assert landed.path == expected.path, f"login landed on {page.url}, expected {next}"

    async def screenshot(self, page, name: str, phone: bool = False) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{_slug(name)}{'-phone' if phone else ''}.png"
        if phone:
            await page.set_viewport_size(PHONE)
        try:
            await page.screenshot(path=str(path), full_page=True)
        finally:
            if phone:
                await page.set_viewport_size(DESKTOP)
        return path

    async def settled_and_still(self, page) -> None:
        """HTMX settled and no CSS animation running: swapped-in content fades
        in (`.htmx-added`, 0.25 s), and colour contrast measured mid-fade is
        the contrast of half-transparent text, not of the page people read."""
        await self.htmx_settled(page)
        await page.wait_for_function(
            "() => document.getAnimations().every(a => a.playState !== 'running')"
        )

    async def axe(self, page, name: str, impacts: set[str] = SERIOUS) -> list[dict]:
        """Run axe-core on the page, once it is still; fail on violations of
        the given impacts."""
        await self.settled_and_still(page)
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            # By URL, from our own /static: an inline copy would be (rightly)
            # refused by the page's Content-Security-Policy.
            await page.add_script_tag(url="/static/axe.min.js")
        result = await page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        violations = result.get("violations", [])
        self.artifacts.mkdir(parents=True, exist_ok=True)
        (self.artifacts / f"axe-{_slug(name)}.json").write_text(json.dumps(violations, indent=2))
        bad = [v for v in violations if v.get("impact") in impacts]
        if bad:
            lines = []
            for v in bad:
                targets = [", ".join(n.get("target", [])) for n in v.get("nodes", [])[:5]]
                lines.append(f"{v['impact']}: {v['id']} — {v['help']} — at {targets}")
            pytest.fail(f"axe on {name} ({page.url}):\n  " + "\n  ".join(lines), pytrace=False)
        return violations


@asynccontextmanager
async def open_ui(request, chromium, server: LiveServer) -> AsyncIterator[UI]:
    """A fresh watched browser context on `server`; fails on what it saw at the end."""
    context = await chromium.new_context(
        base_url=server.url, viewport=DESKTOP, locale="en-GB", timezone_id="UTC"
    )
    context.set_default_timeout(10_000)
    artifacts = ARTIFACTS / _slug(request.node.nodeid.split("::", 1)[-1])
    if artifacts.exists():
        shutil.rmtree(artifacts, ignore_errors=True)
    watcher = UI(server=server, context=context, artifacts=artifacts)
    await context.route("**/*", watcher._route)
    context.on("page", watcher._watch)
    try:
        yield watcher
    finally:
        await context.close()
    watcher.assert_clean()


@pytest.fixture
async def ui(request, chromium, live_server):
    async with open_ui(request, chromium, live_server) as watcher:
        yield watcher
