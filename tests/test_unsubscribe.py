"""E-mail a person can stop (issue 17, item 12): every notice e-mail carries
`List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
(RFC 8058) with a signed link that switches that kind of e-mail off; and
addresses on internal domains (.local, .internal, .corp) are accepted."""

from __future__ import annotations

import httpx
import pytest

from ideas import unsubscribe
from ideas.errors import Invalid
from ideas.notify import kinds
from ideas.people import directory
from ideas.tables import User
from tests.factories import submit
from tests.notify_helpers import clear_outbox, drain, mails_to, notices, open_session


async def test_notice_mail_carries_one_click_unsubscribe_that_switches_the_kind_off(app, personas):
    alice = await personas.get("alice_support")
    clear_outbox()
    idea = await submit(alice)
    bob, session = await open_session(personas)  # in review: alice hears of it
    await drain()
    [mail] = mails_to(alice.email)
    link = mail["List-Unsubscribe"].strip().strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in link and link.startswith("http")
    path = "/unsubscribe/" + link.split("/unsubscribe/", 1)[1]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as stranger:  # the mail client: no session, no CSRF token
        page = await stranger.get(path)
        assert page.status_code == 200
        assert "Stop this kind of e-mail from Touchpoint?" in page.text
        off = (await User.select(User.email_off).where(User.id == alice.viewer.id))[0]
        assert "idea_status" not in str(off["email_off"])  # a GET changes nothing
        r = await stranger.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 200 and "Done" in r.text
        assert (
            await stranger.post(path, data={"List-Unsubscribe": "One-Click"})
        ).status_code == 200
        forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        assert (await stranger.post(forged)).status_code == 404
        dan = await personas.get("dan_sales")
        someone_else = unsubscribe.token_for(dan.viewer.id, "idea_status").split(".")[0]
        spliced = f"/unsubscribe/{someone_else}.{path.rsplit('.', 1)[1]}"
        assert (await stranger.post(spliced)).status_code == 404
        # the link does not say which kind of mail it is (nor that the idea is hers)
        assert b"idea_status" not in __import__("base64").urlsafe_b64decode(
            path.split("/")[-1].split(".")[0] + "=="
        )
    prefs = (await alice.api().get("/api/v1/me/notification-settings")).json()
    assert {c["kind"]: c["email"] for c in prefs["email"]}["idea_status"] is False
    # the next notice of that kind arrives in the inbox without an e-mail
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/decision",
        json={"session_id": session, "outcome": "decline", "note": "x" * 30},
    )
    assert r.status_code == 200, r.text
    await drain()
    statuses = [n["email_status"] for n in await notices(user=alice.viewer.id)]
    assert statuses == ["sent", "off"]


async def test_the_pages_behind_the_link_never_name_the_kind_and_links_differ(app, personas):
    """Anyone who saw a mail's List-Unsubscribe header (a mail gateway, a log)
    can open the link: neither the page nor the one-click answer may say
    that the mail was about an idea the recipient submitted, and two mails of
    one kind to one person must not carry the same (linkable) link."""
    alice = await personas.get("alice_support")
    first = unsubscribe.token_for(alice.viewer.id, "idea_status")
    second = unsubscribe.token_for(alice.viewer.id, "idea_status")
    assert first != second
    assert first.split(".")[1] != second.split(".")[1]
    assert unsubscribe.read(first) == unsubscribe.read(second) == (alice.viewer.id, "idea_status")
    # a nonce cannot be swapped onto another token's MAC
    user, nonce, mac = first.split(".")
    assert (await _stranger_post(app, f"{user}.{second.split('.')[1]}.{mac}")).status_code == 404
    labels = [label for kind, label in kinds.KINDS.items()]
    async with _stranger(app) as stranger:
        page = await stranger.get(f"/unsubscribe/{first}")
        assert page.status_code == 200
        done = await stranger.post(
            f"/unsubscribe/{second}",
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200 and "Done" in done.text
    for text in (page.text, done.text):
        for label in labels:
            assert label not in text, label
        assert "idea you submitted" not in text and "idea_status" not in text
    off = (await User.select(User.email_off).where(User.id == alice.viewer.id))[0]["email_off"]
    assert "idea_status" in str(off)


async def test_links_of_the_older_form_still_work(app, personas):
    import base64

    dan = await personas.get("dan_sales")
    user = dan.viewer.id
    old = (
        base64.urlsafe_b64encode(user.bytes).decode().rstrip("=")
        + "."
        + unsubscribe._sign(user.bytes + b":vote_shipped")
    )
    assert unsubscribe.read(old) == (user, "vote_shipped")
    assert (await _stranger_post(app, old)).status_code == 200


def _stranger(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _stranger_post(app, token):
    async with _stranger(app) as stranger:
        return await stranger.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})


async def test_digest_link_switches_the_digest_off(personas):
    dan = await personas.get("dan_sales")
    token = unsubscribe.token_for(dan.viewer.id, "weekly_digest")
    assert await unsubscribe.apply(token) == "Your weekly digest"
    assert (await User.select(User.digest).where(User.id == dan.viewer.id))[0]["digest"] is False


@pytest.mark.parametrize("address", ["x@acme.local", "x@acme.internal", "x@acme.corp"])
def test_internal_domains_are_accepted(address):
    assert directory.normalise_email(address.upper().replace("X@", "x@")) == address


@pytest.mark.parametrize("address", ["x@localhost", "x@acme.invalid", "not an address"])
def test_nonsense_addresses_are_still_refused(address):
    with pytest.raises(Invalid):
        directory.normalise_email(address)


async def test_users_add_accepts_an_internal_domain(personas):
    from tests.test_cli import add

    run = await add("nora@acme.local")
    assert run.code == 0, run.err
    assert await User.count().where(User.email == "nora@acme.local").run() == 1
