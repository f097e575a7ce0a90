"""The profile page `/me`, and API tokens (issue 13 item 7): tokens expire, a
person sees and revokes their own, and a password set through a reset or an
invitation link revokes every token and browser session of that person."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
import pytest

from ideas import clock
from ideas.config import ConfigError, get_settings, load_settings, reset_settings
from ideas.context import COMMAND_LINE
from ideas.people import accounts, invitations, service
from ideas.tables import ApiToken
from tests.factories import PASSWORD, BrowserClient, ctx_for
from tests.test_invitations import set_password

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
NEW_PASSWORD = "a brand new passphrase"


def api_client(app, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    )


async def answers(app, token: str) -> int:
    async with api_client(app, token) as c:
        return (await c.get("/api/v1/me")).status_code


async def logged_in(browser: BrowserClient) -> bool:
    r = await browser.get("/me")
    return r.status_code == 200


def test_token_lifetime_is_configurable_and_checked():
    assert load_settings({}).api_token_days == 90
    assert load_settings({"API_TOKEN_DAYS": "7"}).api_token_days == 7
    for bad in ("0", "ninety", "5000"):
        with pytest.raises(ConfigError, match="API_TOKEN_DAYS"):
            load_settings({"API_TOKEN_DAYS": bad})


async def test_a_token_stops_working_when_it_expires(app, personas):
    alice = await personas.get("alice_support")
    today = clock.now()
    fresh = await accounts.create_token(
        ctx_for(alice.viewer, now=today - dt.timedelta(days=89)), "fresh"
    )
    stale = await accounts.create_token(
        ctx_for(alice.viewer, now=today - dt.timedelta(days=91)), "stale"
    )
    assert await answers(app, fresh) == 200
    assert await answers(app, stale) == 401

    # a token made before tokens had a lifetime expires 90 days after it was made
    legacy = await accounts.create_token(
        ctx_for(alice.viewer, now=today - dt.timedelta(days=100)), "legacy"
    )
    await ApiToken.update({ApiToken.expires_at: None}).where(ApiToken.name == "legacy").run()
    assert await answers(app, legacy) == 401


async def test_the_lifetime_follows_api_token_days(app, personas):
    alice = await personas.get("alice_support")
    settings = get_settings()
    reset_settings(dataclasses.replace(settings, api_token_days=7))
    try:
        await accounts.create_token(ctx_for(alice.viewer, now=NOW), "weekly")
    finally:
        reset_settings(settings)
    [row] = await ApiToken.select(ApiToken.expires_at).where(ApiToken.name == "weekly").run()
    assert row["expires_at"] == NOW + dt.timedelta(days=7)


async def test_i_see_and_revoke_my_own_tokens_only(app, personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    made = await accounts.create_named_token(ctx_for(alice.viewer), "report script")
    dans = await accounts.create_named_token(ctx_for(dan.viewer), "dan's script")

    mine = (await alice.api().get("/api/v1/me/tokens")).json()["items"]
    assert {t["name"] for t in mine} == {"", "report script"}  # the persona's own + the new one
    named = next(t for t in mine if t["name"] == "report script")
    assert set(named) == {"id", "name", "created_on", "last_used_on", "expires_on"}
    created = dt.date.fromisoformat(named["created_on"])
    assert dt.date.fromisoformat(named["expires_on"]) == created + dt.timedelta(days=90)
    assert named["last_used_on"] is None
    assert made.token not in str(mine) and "hash" not in str(mine)

    # the persona's token was used for this call: its last use shows (a day, no time)
    used = next(t for t in mine if t["name"] == "")
    assert used["last_used_on"] == clock.now().date().isoformat()

    # another person's token: hidden like a missing one
    r = await alice.api().delete(f"/api/v1/me/tokens/{dans.info.id}")
    assert r.status_code == 404
    assert await answers(app, dans.token) == 200
    assert (await alice.api().delete("/api/v1/me/tokens/not-a-number")).status_code == 404

    r = await alice.api().delete(f"/api/v1/me/tokens/{made.info.id}")
    assert r.status_code == 204 and r.content == b""
    assert await answers(app, made.token) == 401
    assert await answers(app, alice.token) == 200

    # all of mine, the one making the call included; dan's stays
    r = await alice.api().delete("/api/v1/me/tokens")
    assert r.status_code == 204
    assert await answers(app, alice.token) == 401
    assert await answers(app, dans.token) == 200


@pytest.mark.parametrize("purpose", ["reset", "invite"])
async def test_a_password_set_by_link_ends_every_token_and_session(app, personas, purpose):
    alice = await personas.get("alice_support")
    browser = await alice.browser()
    other = await accounts.create_named_token(ctx_for(alice.viewer), "cron job")
    assert await logged_in(browser) and await answers(app, alice.token) == 200

    issued = await invitations.issue(alice.viewer.id, purpose)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as anonymous:
        _, done = await set_password(anonymous, f"/password/set?token={issued.token}")
    assert done.status_code == 200, done.text[:300]

    assert await answers(app, alice.token) == 401
    assert await answers(app, other.token) == 401
    assert not await logged_in(browser)
    # the new password works, and makes a working session
    fresh = BrowserClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with fresh:
        await fresh.login(alice.email, NEW_PASSWORD)
        assert await logged_in(fresh)


async def test_the_profile_page_shows_who_i_am(app, personas):
    bob = await personas.get("bob_finance_council")
    page = await (await bob.browser()).get("/me")
    assert page.status_code == 200
    for text in ("Bob Baranski", "Finance", "Billing Lead", "staff, council", bob.email):
        assert text in page.text
    assert 'id="signed-in-as">Bob Baranski<' in page.text
    assert 'href="/me/settings"' in page.text
    assert "Change your password" in page.text


async def test_a_token_made_on_the_profile_page_is_shown_once_and_works(app, personas):
    alice = await personas.get("alice_support")
    browser = await alice.browser()
    r = await browser.form("/me/tokens", {"name": "weekly report"})
    assert r.status_code == 201
    token = r.text.split('id="new-token" class="mono">')[1].split("<")[0]
    assert await answers(app, token) == 200
    again = await browser.get("/me")
    assert "weekly report" in again.text and token not in again.text

    empty = await browser.form("/me/tokens", {"name": "  "})
    assert empty.status_code == 400 and "Must be 1–80 characters" in empty.text

    [info] = [
        t for t in await accounts.list_tokens(ctx_for(alice.viewer)) if t.name == "weekly report"
    ]
    r = await browser.form(f"/me/tokens/{info.id}/revoke", {})
    assert r.status_code == 303 and r.headers["location"] == "/me"
    assert await answers(app, token) == 401

    r = await browser.form("/me/tokens/revoke-all", {})
    assert r.status_code == 303
    assert await answers(app, alice.token) == 401
    assert await accounts.list_tokens(ctx_for(alice.viewer)) == []


async def test_changing_my_password_needs_the_current_one_and_ends_the_rest(app, personas):
    alice = await personas.get("alice_support")
    here = await alice.browser()
    elsewhere = await alice.browser()

    wrong = await here.form(
        "/me/password",
        {
            "current_password": "not it at all",
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 400 and "Is not your current password." in wrong.text
    differ = await here.form(
        "/me/password",
        {
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "password_again": "something else",
        },
    )
    assert differ.status_code == 400 and "The two new passwords differ." in differ.text
    assert await accounts.authenticate(alice.email, PASSWORD) is not None  # nothing changed

    done = await here.form(
        "/me/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert done.status_code == 200 and "Your password is changed" in done.text
    assert await accounts.authenticate(alice.email, NEW_PASSWORD) is not None
    assert await logged_in(here)
    assert not await logged_in(elsewhere)
    assert await answers(app, alice.token) == 401


async def test_sign_out_everywhere_ends_every_session(app, personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    here, elsewhere, dans = await alice.browser(), await alice.browser(), await dan.browser()
    r = await here.form("/me/sign-out-everywhere", {})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert not await logged_in(here) and not await logged_in(elsewhere)
    assert await logged_in(dans)


async def test_deactivation_ends_sessions_and_tokens_at_once(app, personas):
    from ideas.tables import BrowserSession

    alice = await personas.get("alice_support")
    await alice.browser()
    await service.set_active(ctx_for(COMMAND_LINE), alice.id, False)
    assert await answers(app, alice.token) == 401
    left = await BrowserSession.count().where(BrowserSession.value.like(f"%{alice.id}%")).run()
    assert left == 0
