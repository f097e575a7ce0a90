"""Hardening: rate limits, security headers, cookies and sessions, passwords,
exports checked at download time, local-only redirects, and answers that do
not tell known e-mail addresses from unknown ones.

Rate limits count requests in fixed one-minute windows (web/ratelimit.py);
a test that needs several requests in one window runs again if the minute
turned while it ran (`in_one_window`), so no assertion depends on timing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from ideas import clock, security
from ideas.config import (
    RATE_LIMIT_DEFAULTS,
    ConfigError,
    get_settings,
    load_settings,
    reset_settings,
)
from ideas.context import COMMAND_LINE
from ideas.people import accounts, directory, invitations, service
from ideas.tables import ApiToken, BrowserSession
from tests.conftest import ROOT
from tests.factories import (
    PASSWORD,
    BrowserClient,
    Personas,
    confirm_attendance,
    ctx_for,
    idea_payload,
    submit,
)
from touchpoint.redis_server import EmbeddedRedis
from web import ratelimit

BASE = "http://testserver"


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def limits(monkeypatch) -> Callable[..., None]:
    """Set rate limits (requests per minute) for this test only."""
    rates = get_settings().rate_limits

    def set_limits(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setitem(rates, name, value)

    return set_limits


async def in_one_window(attempt: Callable[[], Awaitable[Any]]) -> Any:
    """Run `attempt` within one rate-limit window (again if the minute turned)."""
    for _ in range(3):
        window = ratelimit.current_window()
        result = await attempt()
        if ratelimit.current_window() == window:
            return result
    pytest.fail("the rate-limit window turned during every attempt")


def web_from(app, address: str = "127.0.0.1") -> BrowserClient:
    """A cookie client calling from `address`."""
    return BrowserClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url=BASE
    )


def api_from(app, address: str = "127.0.0.1", token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url=BASE,
        headers=headers,
    )


async def log_in(web: BrowserClient, email: str, password: str, **extra: str) -> httpx.Response:
    await web.refresh_csrf()  # the token of the session the client has now (if any)
    data = {"email": email, "password": password, "_csrf_token": web.csrf, **extra}
    r = await web.post("/login", data=data)
    if r.status_code == 303:
        await web.refresh_csrf()  # a new session, a new CSRF token
    return r


def assert_retry_after(r: httpx.Response) -> None:
    assert r.status_code == 429, (r.status_code, r.text[:200])
    seconds = int(r.headers["retry-after"])
    assert 1 <= seconds <= ratelimit.WINDOW_SECONDS


# -- rate limits --------------------------------------------------------------------------------


async def test_login_is_limited_per_address(app, personas, limits):
    alice = await personas.get("alice_support")
    limits(login=3)

    async def attempt():
        here, elsewhere = web_from(app, "10.1.1.1"), web_from(app, "10.1.1.2")
        async with here, elsewhere:
            codes = [
                (await log_in(here, f"someone{i}@example.com", "wrong password")).status_code
                for i in range(3)
            ]
            refused = await log_in(here, alice.email, PASSWORD)  # right password, too late
            other = await log_in(elsewhere, alice.email, PASSWORD)
            return codes, refused, other

    codes, refused, other = await in_one_window(attempt)
    assert codes == [400, 400, 400]
    assert_retry_after(refused)
    assert "Too many attempts" in refused.text and "tp_session" not in refused.cookies
    assert other.status_code == 303  # another address is not held back


async def test_failed_logins_are_capped_per_account_across_addresses(app, personas, limits):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    limits(login_account=3)

    async def attempt():
        answers = {}
        for email in (alice.email, "nobody@example.com"):
            codes = []
            for i in range(4):  # every try from another address
                async with web_from(app, f"10.2.{len(answers)}.{i}") as web:
                    r = await log_in(web, email, "wrong password")
                    codes.append(r.status_code)
            answers[email] = (codes, r)
        async with api_from(app, "10.2.9.9") as api:
            token = await api.post(
                "/api/v1/auth/token", json={"email": alice.email, "password": PASSWORD}
            )
        async with web_from(app, "10.2.9.9") as web:
            dans = await log_in(web, dan.email, PASSWORD)
        return answers, token, dans

    answers, token, dans = await in_one_window(attempt)
    for email, (codes, last) in answers.items():
        assert codes == [400, 400, 400, 429], email  # unknown addresses alike: no enumeration
        assert_retry_after(last)
    assert_retry_after(token)  # the API's token route counts the same account
    assert token.json()["status_code"] == 429
    assert dans.status_code == 303  # another account is not held back


async def test_token_creation_is_limited_per_address(app, personas, limits):
    alice = await personas.get("alice_support")
    limits(token=2)
    body = {"email": alice.email, "password": PASSWORD}

    async def attempt():
        async with api_from(app, "10.3.0.1") as here, api_from(app, "10.3.0.2") as elsewhere:
            codes = [(await here.post("/api/v1/auth/token", json=body)).status_code for _ in "12"]
            return (
                codes,
                await here.post("/api/v1/auth/token", json=body),
                (await elsewhere.post("/api/v1/auth/token", json=body)),
            )

    codes, refused, other = await in_one_window(attempt)
    assert codes == [201, 201]
    assert_retry_after(refused)
    assert refused.json() == {
        "status_code": 429,
        "detail": f"Too many requests; try again in {refused.headers['retry-after']} s",
        "extra": None,
    }
    assert other.status_code == 201


async def test_idea_creation_is_limited_per_person_not_per_address(personas, limits):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    limits(idea=2)

    async def attempt():
        api = alice.api()
        codes = [
            (
                await api.post("/api/v1/ideas", json=idea_payload(title=f"Idea number {i}"))
            ).status_code
            for i in range(2)
        ]
        refused = await api.post("/api/v1/ideas", json=idea_payload())
        form = await (await alice.browser()).form("/ideas/new", idea_payload())
        others = await dan.api().post("/api/v1/ideas", json=idea_payload())  # same address
        return codes, refused, form, others

    codes, refused, form, others = await in_one_window(attempt)
    assert codes == [201, 201]
    assert_retry_after(refused)
    assert_retry_after(form)
    assert "Too many ideas at once" in form.text
    assert others.status_code == 201


async def test_comments_are_limited_per_person(personas, limits):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice)
    limits(comment=2)
    url = f"/api/v1/ideas/{idea}/comments"

    async def attempt():
        api = dan.api()
        codes = [(await api.post(url, json={"body": f"Comment {i}"})).status_code for i in "12"]
        refused = await api.post(url, json={"body": "One more"})
        form = await (await dan.browser()).form(f"/ideas/{idea}/comments", {"body": "Again"})
        others = await alice.api().post(url, json={"body": "Mine"})
        return codes, refused, form, others

    codes, refused, form, others = await in_one_window(attempt)
    assert codes == [201, 201]
    assert_retry_after(refused)
    assert_retry_after(form)
    assert others.status_code == 201


async def test_votes_are_limited_per_person(personas, limits):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    idea = await submit(alice)
    limits(vote=3)
    url = f"/api/v1/ideas/{idea}/vote"

    async def attempt():
        api = dan.api()
        codes = [
            (await api.put(url)).status_code,
            (await api.delete(url)).status_code,
            (await api.put(url)).status_code,
        ]
        refused = await api.delete(url)
        form = await (await dan.browser()).form(f"/ideas/{idea}/vote", {"action": "unvote"})
        others = await erin.api().put(url)
        return codes, refused, form, others

    codes, refused, form, others = await in_one_window(attempt)
    assert codes == [200, 200, 200]
    assert_retry_after(refused)
    assert_retry_after(form)
    assert others.status_code == 200
    voted = await dan.api().get(f"/api/v1/ideas/{idea}")
    assert voted.json()["voted"] is True  # the refused retraction changed nothing


def test_each_rate_limit_is_set_in_the_environment_and_documented(tmp_path):
    base = {"TOUCHPOINT_DATA_DIR": str(tmp_path), "SECRET_KEY": "x" * 32}
    readme = (ROOT / "README.md").read_text()
    for name, (variable, default) in RATE_LIMIT_DEFAULTS.items():
        assert load_settings(base).rate_limits[name] == default
        assert load_settings({**base, variable: "7"}).rate_limits[name] == 7
        assert load_settings({**base, variable: "0"}).rate_limits[name] == 0  # off
        with pytest.raises(ConfigError, match=variable):
            load_settings({**base, variable: "lots"})
        assert f"`{variable}`" in readme, f"{variable} is not documented in README.md"


@pytest.fixture
async def own_redis(migrated):
    """The app wired to a Redis server this test starts and stops."""
    from web.app import create_app, make_redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = EmbeddedRedis(port=port).start()
    app = create_app(dataclasses.replace(get_settings(), redis_url=server.url))
    app.state.redis = make_redis(server.url)
    app.state.limiter = ratelimit.RateLimiter(app.state.redis)
    cast = Personas(app)
    yield server, app, cast
    await cast.close()
    await app.state.redis.aclose()
    server.stop()


async def test_rate_limits_let_requests_through_while_redis_is_down(own_redis, limits):
    server, app, cast = own_redis
    alice = await cast.get("alice_support")
    dan = await cast.get("dan_sales")
    idea = await submit(alice)
    limits(login=1, login_account=1, token=1, idea=1, comment=1, vote=1)

    server.stop()
    api = dan.api()
    answers = [await api.put(f"/api/v1/ideas/{idea}/vote") for _ in range(3)]
    answers += [await api.post("/api/v1/ideas", json=idea_payload()) for _ in range(2)]
    answers += [
        await api.post(f"/api/v1/ideas/{idea}/comments", json={"body": "Still here"})
        for _ in range(2)
    ]
    body = {"email": dan.email, "password": PASSWORD}
    answers += [await api.post("/api/v1/auth/token", json=body) for _ in range(2)]
    web = web_from(app)
    async with web:
        answers += [await log_in(web, dan.email, PASSWORD) for _ in range(2)]
    assert [r.status_code for r in answers] == [200] * 3 + [201] * 6 + [303] * 2

    server.start()  # back: the limits count again once the breaker's pause is over
    app.state.limiter.guard.open_until = 0
    assert (await api.put(f"/api/v1/ideas/{idea}/vote")).status_code == 200
    assert_retry_after(await api.put(f"/api/v1/ideas/{idea}/vote"))


# -- input PostgreSQL cannot store ----------------------------------------------------------------


async def test_nul_characters_are_refused_as_malformed_everywhere(app, personas, client):
    """U+0000 would make PostgreSQL fail (a 500); it is a 400 on both engines."""
    alice = await personas.get("alice_support")
    api = alice.api()
    web = await alice.browser()
    async with web_from(app) as visitor:
        nul_login = await log_in(visitor, "alice\x00@example.com", PASSWORD)
    answers = [
        await api.post("/api/v1/ideas", json=idea_payload(title="Print the PO\x00 number")),
        await api.get("/api/v1/ideas", params={"q": "invoice\x00"}),
        await api.get("/api/v1/ideas/1%00"),
        await web.form("/ideas/new", idea_payload(problem="Accounting departments\x00 bounce it.")),
        await web.get("/", params={"q": "\x00"}),
        nul_login,
        await client.post("/api/v1/auth/token", json={"email": "a\x00@b.c", "password": "x"}),
    ]
    adams = await (await personas.get("adam_admin")).browser()
    answers.append(  # multipart, the CSRF token in the form as a browser sends it
        await adams.post(
            "/admin/import",
            data={"csv_text": "email,name\x00", "_csrf_token": adams.csrf},
            files={"file": ("", b"", "text/csv")},
        )
    )
    for r in answers:
        assert r.status_code == 400, (r.request.method, r.request.url, r.status_code)
        assert "NUL" in r.text
    upload = await adams.post(  # a file is the importer's to check: it names the field
        "/admin/import",
        data={"_csrf_token": adams.csrf},
        files={"file": ("people.csv", b"email,name\x00\n", "text/csv")},
    )
    assert upload.status_code == 422 and "NUL characters" in upload.text
    ok = await api.post("/api/v1/ideas", json=idea_payload(title="Escape sequences like \\u0000"))
    assert ok.status_code == 201 and ok.json()["title"] == "Escape sequences like \\u0000"


# -- security headers and caching ---------------------------------------------------------------


def assert_security_headers(r: httpx.Response) -> None:
    where = f"{r.request.method} {r.request.url.path} → {r.status_code}"
    csp = r.headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ") if d}
    assert directives.get("default-src") == ["'self'"], where
    assert directives.get("script-src") == ["'self'"], where  # no inline script, no eval
    assert directives.get("style-src") == ["'self'"], where
    assert directives.get("object-src") == ["'none'"], where
    assert directives.get("frame-ancestors") == ["'none'"], where
    assert "unsafe" not in csp, where
    assert r.headers.get("x-content-type-options") == "nosniff", where
    assert r.headers.get("referrer-policy") == "same-origin", where
    assert r.headers.get("x-frame-options") == "DENY", where


async def test_security_headers_on_pages_api_and_error_answers(app, personas, client):
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    web = await alice.browser()
    api = alice.api()
    answers = [
        await client.get("/login"),
        await client.get("/"),  # 303 to log in
        await client.get("/static/app.css"),
        await client.get("/health"),
        await client.get("/api/v1/me"),  # 401
        await client.get("/schema/openapi.json"),
        await web.get("/"),
        await web.get(f"/ideas/{idea}"),
        await web.htmx_get(f"/fragments/ideas/{idea}/comments"),
        await web.get("/ideas/424242"),  # 404 page
        await web.get("/admin"),  # 403 page
        await web.post("/ideas/new", data={"_csrf_token": "stale"}),  # CSRF refused
        await web.get("/no/such/page"),  # no route at all
        await client.post("/api/v1/no-such-route"),
        await web.get("/logout"),  # 405
        await api.get("/api/v1/me"),
        await api.get("/api/v1/ideas/424242"),  # 404 JSON
        await api.get("/api/v1/leaderboard"),  # 403 JSON
        await api.post("/api/v1/ideas", json={"title": 1}),  # 400 JSON
    ]
    assert {r.status_code for r in answers} >= {200, 303, 400, 401, 403, 404, 405}
    for r in answers:
        assert_security_headers(r)


async def test_authenticated_answers_are_private_and_never_stored(personas):
    carol = await personas.get("carol_leader")
    idea = await submit(carol)
    web = await carol.browser()
    api = carol.api()
    answers = [
        await web.get("/"),
        await web.get(f"/ideas/{idea}"),
        await web.htmx_get("/fragments/unread"),
        await web.get("/leaders"),
        await web.get("/api/v1/export/ideas.csv"),  # an export, by the browser session
        await web.get("/ideas/424242"),  # an error page
        await web.get("/static/app.css"),
        await api.get("/api/v1/me"),
        await api.get("/api/v1/export/leaderboard.csv"),
        await api.get("/api/v1/ideas/424242"),
        await api.get("/api/v1/triage/queue"),  # 403
    ]
    for r in answers:
        where = f"{r.request.method} {r.request.url.path} → {r.status_code}"
        assert r.headers.get("cache-control") == "private, no-store", where


# -- cookies and sessions -----------------------------------------------------------------------


def set_cookies(r: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in r.headers.get_list("set-cookie")}


async def test_session_cookie_is_http_only_and_same_site_lax(app, personas):
    alice = await personas.get("alice_support")
    async with web_from(app) as web:
        r = await log_in(web, alice.email, PASSWORD)
    cookie = set_cookies(r)["tp_session"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # BASE_URL is http:// in the tests


async def test_cookies_are_secure_when_base_url_is_https(migrated, personas):
    from web.app import create_app

    settings = dataclasses.replace(get_settings(), base_url="https://touchpoint.example.com")
    secure_app = create_app(settings)
    secure_app.state.redis = None
    secure_app.state.limiter = ratelimit.RateLimiter(None)
    alice = await personas.get("alice_support")
    web = BrowserClient(
        transport=httpx.ASGITransport(app=secure_app), base_url="https://touchpoint.example.com"
    )
    async with web:
        login_page = await web.get("/login")
        csrf_cookie = set_cookies(login_page)["tp_csrf"]
        r = await log_in(web, alice.email, PASSWORD)
    session_cookie = set_cookies(r)["tp_session"]
    assert r.status_code == 303
    for cookie in (session_cookie, csrf_cookie):
        assert "Secure" in cookie and "SameSite=lax" in cookie, cookie
    assert "HttpOnly" in session_cookie


async def test_login_rotates_the_session_id(app, personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    async with web_from(app) as web:
        await log_in(web, alice.email, PASSWORD)
        before = web.cookies["tp_session"]
        await log_in(web, dan.email, PASSWORD)  # a new login on the same browser
        after = web.cookies["tp_session"]
        assert after != before
        me = await web.get("/api/v1/me")
        assert me.json()["email"] == dan.email
    async with web_from(app) as replay:
        replay.cookies.set("tp_session", before)
        assert (await replay.get("/")).status_code == 303  # the pre-login id is dead
        assert (await replay.get("/api/v1/me")).status_code == 401


async def test_a_planted_session_id_is_never_adopted(app, personas):
    """Session fixation: an id chosen before log-in is replaced, not kept."""
    alice = await personas.get("alice_support")
    planted = "attacker-chosen-session-id"
    async with web_from(app) as victim:
        victim.cookies.set("tp_session", planted)
        r = await log_in(victim, alice.email, PASSWORD)
    assert r.status_code == 303
    given = set_cookies(r)["tp_session"].split(";")[0].split("=", 1)[1]
    assert given != planted
    async with web_from(app) as attacker:
        attacker.cookies.set("tp_session", planted)
        assert (await attacker.get("/me/ideas")).status_code == 303
    assert await BrowserSession.count().where(BrowserSession.key == planted).run() == 0


async def test_logout_ends_the_session_on_the_server(app, personas):
    alice = await personas.get("alice_support")
    async with web_from(app) as web:
        await log_in(web, alice.email, PASSWORD)
        session_id = web.cookies["tp_session"]
        assert (await web.get("/me/ideas")).status_code == 200
        r = await web.post("/logout", data={"_csrf_token": web.csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert (await web.get("/logout")).status_code == 405  # no log-out by a link
    assert await BrowserSession.count().where(BrowserSession.key == session_id).run() == 0
    async with web_from(app) as replay:  # the old cookie, kept by someone
        replay.cookies.set("tp_session", session_id)
        assert (await replay.get("/me/ideas")).status_code == 303
        assert (await replay.get("/api/v1/me")).status_code == 401


async def test_a_revoked_token_is_refused(app, personas):
    alice = await personas.get("alice_support")
    async with api_from(app, token=alice.token) as api:
        assert (await api.delete("/api/v1/auth/token")).status_code == 200
        r = await api.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


async def test_only_the_hash_of_an_api_token_is_stored(personas):
    alice = await personas.get("alice_support")
    rows = await ApiToken.select(ApiToken.token_hash).where(ApiToken.user == alice.viewer.id).run()
    assert [r["token_hash"] for r in rows] == [security.digest(alice.token)]
    assert alice.token not in str(rows)


# -- passwords ----------------------------------------------------------------------------------


async def test_password_policy_refuses_short_long_and_trivial_passwords(personas, client):
    assert security.MIN_PASSWORD_LENGTH == 10 and security.MAX_PASSWORD_LENGTH == 256
    assert security.password_problem("a" * 9) == "must be at least 10 characters"
    assert security.password_problem("x" * 257) == "must be at most 256 characters"
    assert security.password_problem("abababababab") == "is too simple"
    assert security.password_problem("correct horse battery staple") is None
    yan = await personas.make("yan_invited", "Yan Yilmaz", "Analyst", "Finance")
    token = (await invitations.issue(yan.viewer.id, "invite")).token
    await client.get("/login")
    for password, message in (("short", "at least 10 characters"), ("aaaaaaaaaaaa", "too simple")):
        r = await client.post(
            "/password/set",
            data={
                "token": token,
                "password": password,
                "password_again": password,
                "_csrf_token": client.cookies["tp_csrf"],
            },
        )
        assert r.status_code == 422 and message in r.text
    assert await accounts.authenticate(yan.email, "short") is None


async def test_production_passwords_are_argon2id_with_the_documented_parameters(tmp_path):
    env = {"TOUCHPOINT_DATA_DIR": str(tmp_path), "SECRET_KEY": "x" * 32}
    production = load_settings(env)
    assert production.argon2_profile == "production"  # the cheap profile only when asked for
    saved = get_settings()
    reset_settings(production)
    try:
        stored = security.hash_password("correct horse battery staple")
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert security.verify_password(stored, "correct horse battery staple")
        assert not security.verify_password(stored, "correct horse battery stable")
    finally:
        reset_settings(saved)


# -- exports ------------------------------------------------------------------------------------

EXPORTS = ["/api/v1/export/ideas.csv", "/api/v1/export/leaderboard.csv", "/admin/audit.csv"]


async def test_exports_are_checked_at_download_time_not_handed_on(app, personas):
    """No export is a file waiting somewhere: each download is made for the
    caller, checked then (tests/test_leadership.py also takes a leader's role
    away between two downloads)."""
    carol = await personas.get("carol_leader")
    adam = await personas.get("adam_admin")
    dan = await personas.get("dan_sales")
    await submit(dan)
    carols, adams, dans = await carol.browser(), await adam.browser(), await dan.browser()
    for web, url in ((carols, EXPORTS[0]), (carols, EXPORTS[1]), (adams, EXPORTS[2])):
        r = await web.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), url
        assert r.headers["cache-control"] == "private, no-store"
    async with web_from(app) as anonymous:
        for url in EXPORTS:
            assert (await dans.get(url)).status_code == 403, url  # the link handed on
            assert (await carols.get(EXPORTS[2])).status_code == 403  # not an admin
            r = await anonymous.get(url)
            assert r.status_code in (303, 401) and "text/csv" not in r.headers["content-type"]
    # adam is no longer an admin (another one is, as the last-admin rule asks)
    await personas.make("ada_admin", "Ada Admin", "IT Administrator", "IT", ("admin",))
    await service.set_roles(ctx_for(COMMAND_LINE), adam.viewer.id, ["leader"])
    assert (await adams.get(EXPORTS[2])).status_code == 403  # same session, new answer


# -- redirects ----------------------------------------------------------------------------------

OFF_SITE = ["https://evil.example/x", "//evil.example", "/\\evil.example", "javascript:alert(1)"]


async def test_every_form_that_goes_back_stays_on_the_site(personas):
    """`back` on the forms that work without JavaScript is a local path or
    nothing (log-in's `next=` and the vote form: tests/test_pages.py)."""
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    erin = await personas.get("erin_it")
    idea = await submit(alice)
    mine = await alice.browser()
    council = await bob.browser()
    cast = {key: await personas.get(key) for key in ("cora_hr_council", "pat_product_council")}
    session = await bob.api().post(
        "/api/v1/triage/sessions",
        json={
            "held_on": str(clock.today()),
            "attendee_ids": [bob.id, *(p.id for p in cast.values())],
        },
    )
    await confirm_attendance(session.json()["id"], *cast.values())
    finance = await directory.department_by_name("Finance")
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/decision",
        json={
            "session_id": session.json()["id"],
            "outcome": "accept",
            "owning_department_id": str(finance),
        },
    )
    assert r.status_code == 200, r.text
    due = str(clock.today() + dt.timedelta(days=7))
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/actions",
        json={"title": "Add a PO field", "owner_id": erin.id, "due_on": due},
    )
    action = r.json()["id"]
    forms = [
        (mine, f"/ideas/{idea}/credit", {"credit": "yes"}),
        (council, f"/actions/{action}/status", {"status": "doing"}),
        (
            council,
            f"/ideas/{idea}/actions",
            {"title": "Print it", "owner_id": erin.id, "due_on": due},
        ),
    ]
    for web, url, data in forms:
        for target in OFF_SITE:
            r = await web.form(url, {**data, "back": target})
            assert r.status_code == 303 and r.headers["location"] == "/", (url, target)
        r = await web.form(url, {**data, "back": "/me/actions?x=1"})
        assert r.headers["location"] == "/me/actions?x=1", url  # a local path is kept


# -- one answer for known and unknown addresses -------------------------------------------------


def _same_page(text: str, email: str) -> str:
    """A page with what legitimately differs (the echoed address, CSRF token) taken out."""
    text = text.replace(email, "EMAIL")
    return re.sub(r"[0-9a-f]{64,}", "CSRF-TOKEN", text)


async def test_login_and_reset_answer_alike_for_known_and_unknown_addresses(app, personas):
    alice = await personas.get("alice_support")
    known, unknown = alice.email, "nobody.here@example.com"
    answers: dict[str, dict[str, httpx.Response]] = {}
    for email in (known, unknown):
        async with web_from(app) as web, api_from(app) as api:
            await web.refresh_csrf()
            answers[email] = {
                "login": await log_in(web, email, "not the password"),
                "token": await api.post(
                    "/api/v1/auth/token", json={"email": email, "password": "not the password"}
                ),
                "reset": await web.post(
                    "/password/forgot", data={"email": email, "_csrf_token": web.csrf}
                ),
            }
    for kind in ("login", "token", "reset"):
        a, b = answers[known][kind], answers[unknown][kind]
        assert a.status_code == b.status_code, kind
        assert _same_page(a.text, known) == _same_page(b.text, unknown), kind
        assert "tp_session" not in a.cookies and "tp_session" not in b.cookies
    assert answers[known]["login"].status_code == 400
    assert answers[known]["token"].status_code == 401
    assert answers[known]["reset"].status_code == 200


# -- the security page --------------------------------------------------------------------------


def test_every_test_named_in_the_security_page_exists():
    """docs/security.md names the test behind each claim; each must exist."""
    page = (ROOT / "docs" / "security.md").read_text()
    named = set(re.findall(r"(tests/[\w/]+\.py)::(\w+)", page))
    assert len(named) >= 30
    missing = []
    for path, name in sorted(named):
        source = (ROOT / path).read_text() if (ROOT / path).exists() else ""
        if not re.search(rf"^(async )?def {name}\(", source, re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert not missing, "docs/security.md names tests that do not exist: " + ", ".join(missing)
