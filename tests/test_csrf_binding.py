"""The CSRF token is bound to the browser session (issue 13.17): a token
that is valid for the site but belongs to another session — say one that
someone who can set a cookie for the site planted, or their own — is refused."""

from __future__ import annotations

from tests.factories import BrowserClient, idea_payload
from web.auth import session_csrf_token


def plant(client: BrowserClient, token: str) -> None:
    """The CSRF cookie replaced (as a cookie set for the site by someone else)."""
    (session,) = [c for c in client.cookies.jar if c.name == "tp_session"]
    client.cookies.clear()
    client.cookies.set("tp_session", session.value, domain=session.domain, path="/")
    client.cookies.set("tp_csrf", token, domain=session.domain, path="/")


async def test_a_token_of_another_session_is_refused(app, personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    alices = await alice.browser()
    dans = await dan.browser()
    alices_token = alices.csrf
    assert alices_token != dans.csrf
    assert alices_token == session_csrf_token(
        app.state.settings.secret_key, alices.cookies["tp_session"]
    )
    # dan plants his own (valid) token as alice's cookie and form field
    plant(alices, dans.csrf)
    r = await alices.post("/ideas/new", data={**idea_payload(), "_csrf_token": dans.csrf})
    assert r.status_code == 403
    # an anonymous visitor's token (valid for the site) is no better
    async with BrowserClient(transport=alices._transport, base_url="http://testserver") as v:
        anonymous = await v.refresh_csrf()
    assert anonymous
    plant(alices, anonymous)
    r = await alices.post("/ideas/new", data={**idea_payload(), "_csrf_token": anonymous})
    assert r.status_code == 403
    # reading a page puts the session's token back; with it the change goes through
    assert await alices.refresh_csrf() == alices_token
    r = await alices.post("/ideas/new", data={**idea_payload(), "_csrf_token": alices_token})
    assert r.status_code in (200, 303), r.text[:300]


async def test_a_new_session_gets_a_new_token(personas):
    alice = await personas.get("alice_support")
    first = await alice.browser()
    second = await alice.browser()
    assert first.csrf != second.csrf
    r = await first.post("/logout", data={"_csrf_token": second.csrf})
    assert r.status_code == 403
    r = await first.post("/logout", data={"_csrf_token": first.csrf})
    assert r.status_code == 303
