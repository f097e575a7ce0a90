"""Invitations and password resets: one-time links, mailed, stored hashed."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import re
import shutil
from pathlib import Path

import pytest

from ideas import clock, security
from ideas.config import get_settings
from ideas.context import COMMAND_LINE
from ideas.errors import NotFound
from ideas.people import invitations
from ideas.tables import AuditLog, Department, Invitation, User
from tests.factories import ctx_for

LINK = re.compile(r"http://testserver(/password/set\?token=[A-Za-z0-9_\-]+)")
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mailbox() -> Path:
    """The file outbox (no SMTP_URL in tests), emptied for this test."""
    folder = get_settings().data_dir / "outbox-mail"
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def mails_to(folder: Path, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in message["To"]:
            found.append(message)
    return found


def link_in(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = LINK.search(text)
    assert match, text
    return match.group(1)


async def add_person(browser, address: str, name: str = "Nina New", invite: bool = True):
    rows = await Department.select(Department.id).run()
    if not rows:
        await Department.insert(Department(name="Support")).run()
        rows = await Department.select(Department.id).run()
    data = {"email": address, "name": name, "department_id": str(rows[0]["id"])}
    if invite:
        data["invite"] = "on"
    r = await browser.form("/admin/people/new", data)
    assert r.status_code == 303, r.text[:300]
    return r


async def set_password(client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    page = await client.get(path)
    token = path.split("token=")[1]
    csrf = client.cookies.get("tp_csrf")
    return page, await client.post(
        "/password/set",
        data={
            "token": token,
            "password": password,
            "password_again": password if again is None else again,
            "_csrf_token": csrf,
        },
    )


async def test_an_invitation_link_sets_a_password_once(personas, client, mailbox):
    adam = await personas.get("adam_admin")
    admin = await adam.browser()
    r = await add_person(admin, "nina@example.com")
    assert "invitation mailed" in (await admin.get(r.headers["location"])).text

    [mail] = mails_to(mailbox, "nina@example.com")
    assert mail["Subject"] == "You are invited to Touchpoint"
    assert "Nina New" in mail["To"]
    path = link_in(mail)

    page, done = await set_password(client, path)
    assert page.status_code == 200 and "Welcome to Touchpoint, Nina New" in page.text
    assert done.status_code == 200 and "Your password is set" in done.text

    login = {"email": "nina@example.com", "password": NEW_PASSWORD}
    assert (await client.post("/api/v1/auth/token", json=login)).status_code == 201

    again = await client.get(path)
    assert again.status_code == 400 and "no longer valid" in again.text
    _page, reuse = await set_password(client, path, "another fine passphrase")
    assert reuse.status_code == 400
    assert (await client.post("/api/v1/auth/token", json=login)).status_code == 201


async def test_a_link_expires_after_72_hours(personas, client, mailbox):
    adam = await personas.get("adam_admin")
    await add_person(await adam.browser(), "nina@example.com")
    path = link_in(mails_to(mailbox, "nina@example.com")[0])
    [row] = await Invitation.select().run()
    assert row["expires_at"] - row["created_at"] == dt.timedelta(hours=72)
    assert (await client.get(path)).status_code == 200

    past = clock.now() - dt.timedelta(seconds=1)
    await Invitation.update({Invitation.expires_at: past}).where(Invitation.id == row["id"]).run()
    assert (await client.get(path)).status_code == 400
    _page, r = await set_password(client, path)
    assert r.status_code == 400 and "expired" in r.text
    assert (
        await User.select(User.password_hash).first().where(User.email == "nina@example.com").run()
    )["password_hash"] == ""


async def test_only_the_hash_of_a_link_is_stored(personas, mailbox):
    adam = await personas.get("adam_admin")
    await add_person(await adam.browser(), "nina@example.com")
    token = link_in(mails_to(mailbox, "nina@example.com")[0]).split("token=")[1]
    [row] = await Invitation.select().run()
    assert row["token_hash"] == security.digest(token)
    assert token not in str(row)
    audit_rows = await AuditLog.select(AuditLog.details).run()
    assert all(token not in str(a) for a in audit_rows)


async def test_a_new_invitation_retires_the_older_link(personas, client, mailbox):
    adam = await personas.get("adam_admin")
    admin = await adam.browser()
    await add_person(admin, "nina@example.com")
    first = link_in(mails_to(mailbox, "nina@example.com")[0])
    nina = await User.select(User.id).first().where(User.email == "nina@example.com").run()
    r = await admin.form(f"/admin/people/{nina['id']}/invite", {})
    assert r.status_code == 303
    links = {link_in(m) for m in mails_to(mailbox, "nina@example.com")}
    [second] = links - {first}
    assert (await client.get(first)).status_code == 400
    assert (await client.get(second)).status_code == 200
    actions = [a["action"] for a in await AuditLog.select(AuditLog.action).run()]
    assert actions.count("person.invite") == 2


async def test_a_deactivated_persons_link_stops_working(personas, client, mailbox):
    adam = await personas.get("adam_admin")
    admin = await adam.browser()
    await add_person(admin, "nina@example.com")
    path = link_in(mails_to(mailbox, "nina@example.com")[0])
    nina = await User.select(User.id).first().where(User.email == "nina@example.com").run()
    await admin.form(f"/admin/people/{nina['id']}/deactivate", {})
    assert (await client.get(path)).status_code == 400
    r = await admin.form(f"/admin/people/{nina['id']}/invite", {})
    assert r.status_code == 409 and "deactivated" in r.text


async def test_a_bad_password_is_explained_and_the_link_still_works(personas, client, mailbox):
    adam = await personas.get("adam_admin")
    await add_person(await adam.browser(), "nina@example.com")
    path = link_in(mails_to(mailbox, "nina@example.com")[0])
    _page, short = await set_password(client, path, "short")
    assert short.status_code == 422
    assert 'id="password-error"' in short.text and "at least 10" in short.text
    _page, differ = await set_password(client, path, NEW_PASSWORD, "something else entirely")
    assert differ.status_code == 422 and 'id="password_again-error"' in differ.text
    _page, ok = await set_password(client, path)
    assert ok.status_code == 200


async def test_reset_answers_identically_for_known_and_unknown_addresses(personas, client, mailbox):
    alice = await personas.get("alice_support")
    await client.get("/password/forgot")
    csrf = client.cookies.get("tp_csrf")
    answers = {}
    for address in (alice.email, "nobody@example.com", "not an address"):
        r = await client.post("/password/forgot", data={"email": address, "_csrf_token": csrf})
        answers[address] = (r.status_code, r.text.replace(address, "ADDRESS"))
    assert len(set(answers.values())) == 1
    assert answers[alice.email][0] == 200
    assert (
        "If <strong>ADDRESS</strong> belongs to an active Touchpoint account"
        in (answers[alice.email][1])
    )
    assert len(mails_to(mailbox, alice.email)) == 1
    assert len(list(mailbox.glob("*.eml"))) == 1


async def test_a_reset_link_replaces_the_password_and_ends_sessions(personas, client, mailbox):
    alice = await personas.get("alice_support")
    old_session = await alice.browser()
    assert (await old_session.get("/me/ideas")).status_code == 200
    await invitations.request_password_reset(alice.email.upper())
    [mail] = mails_to(mailbox, alice.email)
    assert mail["Subject"] == "Reset your Touchpoint password"
    page, done = await set_password(client, link_in(mail))
    assert "Choose a new password" in page.text and done.status_code == 200
    old = {"email": alice.email, "password": alice.password}
    new = {"email": alice.email, "password": NEW_PASSWORD}
    assert (await client.post("/api/v1/auth/token", json=old)).status_code == 401
    assert (await client.post("/api/v1/auth/token", json=new)).status_code == 201
    assert (await old_session.get("/me/ideas")).status_code == 303  # logged out


async def test_no_reset_mail_for_a_deactivated_person(personas, mailbox):
    alice = await personas.get("alice_support")
    await User.update({User.active: False}).where(User.email == alice.email).run()
    await invitations.request_password_reset(alice.email)
    assert mails_to(mailbox, alice.email) == []


async def test_reset_requests_are_rate_limited_per_address(personas, client, mailbox):
    limits = get_settings().rate_limits
    saved = limits["login"]
    limits["login"] = 2
    try:
        await client.get("/password/forgot")
        csrf = client.cookies.get("tp_csrf")
        codes = []
        for _ in range(3):
            r = await client.post(
                "/password/forgot", data={"email": "x@example.com", "_csrf_token": csrf}
            )
            codes.append(r.status_code)
        assert codes == [200, 200, 429]
        assert "Too many attempts" in r.text
    finally:
        limits["login"] = saved


async def test_invite_from_the_command_line_is_audited_and_mailed(personas, mailbox):
    await personas.get("alice_support")
    await (
        User.update({User.password_hash: ""}).where(User.email == "alice_support@example.com").run()
    )
    result = await invitations.invite_user(ctx_for(COMMAND_LINE), "Alice_Support@example.com")
    assert result.invited == ["alice_support@example.com"] and result.failed == []
    assert len(mails_to(mailbox, "alice_support@example.com")) == 1
    [entry] = await AuditLog.select().where(AuditLog.action == "person.invite").run()
    assert entry["actor"] is None and entry["target"] == "alice_support@example.com"
    with pytest.raises(NotFound):
        await invitations.invite_user(ctx_for(COMMAND_LINE), "nobody@example.com")


async def test_importing_with_invitations_mails_each_new_person(personas, mailbox):
    adam = await personas.get("adam_admin")
    browser = await adam.browser()
    csv_text = (
        "email,name,title,department,roles\n"
        "ana@example.com,Ana Alves,Agent,Support,\n"
        "ben@example.com,Ben Brooks,Clerk,Finance,council\n"
    )
    preview = await browser.form("/admin/import", {"csv_text": csv_text})
    fingerprint = preview.text.split('name="fingerprint" value="')[1].split('"')[0]
    done = await browser.form(
        "/admin/import/confirm",
        {"csv_text": csv_text, "fingerprint": fingerprint, "invite": "on"},
    )
    assert done.status_code == 200 and "Invitations mailed to 2 people" in done.text
    assert len(mails_to(mailbox, "ana@example.com")) == 1
    assert len(mails_to(mailbox, "ben@example.com")) == 1
    assert await Invitation.count().run() == 2


async def test_a_link_used_twice_at_once_works_once(personas, mailbox):
    adam = await personas.get("adam_admin")
    await add_person(await adam.browser(), "nina@example.com")
    token = link_in(mails_to(mailbox, "nina@example.com")[0]).split("token=")[1]
    results = await asyncio.gather(
        *[invitations.set_password_with_link(token, f"{NEW_PASSWORD} {i}") for i in range(4)],
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, invitations.LinkInvalid)]
    assert len(ok) == 1 and len(refused) == 3, results
    used = await Invitation.select(Invitation.used_at).run()
    assert used[0]["used_at"] is not None
