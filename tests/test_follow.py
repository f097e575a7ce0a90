"""The loop closes for voters and followers too (issue 17, item 2): voters
hear of acceptance and of progress (each switchable), anyone may follow an
idea, the submitter follows their own, followers hear of new comments in
one notice per busy thread, one click stops following, and the mail of a
comment notice names no idea."""

from __future__ import annotations

from ideas.tables import Notification
from tests.factories import submit
from tests.notify_helpers import (
    body_text,
    clear_outbox,
    decide,
    drain,
    mails_to,
    notices,
    open_session,
    vote,
)


async def comment(persona, idea_id: str, body: str) -> None:
    r = await persona.api().post(f"/api/v1/ideas/{idea_id}/comments", json={"body": body})
    assert r.status_code == 201, r.text


async def kinds(persona) -> list[str]:
    return [n["kind"] for n in await notices(user=persona.viewer.id)]


async def test_voters_hear_of_acceptance_and_each_kind_can_be_switched_off(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    idea = await submit(alice)
    await vote(dan, idea)
    await vote(erin, idea)
    # erin wants no "accepted" notices: the switch stops the notice, not only its mail
    r = await erin.api().put(
        "/api/v1/me/notification-settings",
        json={"email_on": ["vote_in_progress", "vote_shipped"], "digest": True},
    )
    assert r.status_code == 200, r.text
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "accept", owning_department_id=str(bob.viewer.department_id))
    await drain()
    assert await kinds(dan) == ["vote_accepted"]
    told = (await notices(user=dan.viewer.id))[0]["text"]
    assert "accepted" in told and "Senior" not in told
    assert await kinds(erin) == []
    # the submitter hears as the submitter, once, not as a follower
    assert "vote_accepted" not in await kinds(alice)


async def test_follow_without_voting_and_comments_batched_into_one_notice(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    idea = await submit(alice)
    api = dan.api()
    # the submitter follows their own idea from the start
    assert (await alice.api().get(f"/api/v1/ideas/{idea}")).json()["following"] is True
    assert (await api.get(f"/api/v1/ideas/{idea}")).json()["following"] is False
    r = await api.put(f"/api/v1/ideas/{idea}/follow")
    assert r.status_code == 200 and r.json() == {"following": True}
    assert (await api.put(f"/api/v1/ideas/{idea}/follow")).json() == {"following": True}
    assert (await api.get(f"/api/v1/ideas/{idea}")).json()["following"] is True
    # nobody else learns who follows
    assert (await erin.api().get(f"/api/v1/ideas/{idea}")).json()["following"] is False

    for n in range(3):
        await comment(erin, idea, f"A busy thread, comment {n}")
    await drain()
    assert await kinds(dan) == ["idea_comments"]
    assert await kinds(alice) == ["idea_comments"]
    assert await kinds(erin) == []  # the author is not told of their own comments
    # once read, the next comment is a new notice
    first = (await notices(user=dan.viewer.id))[0]
    await api.post(f"/api/v1/me/notifications/{first['id']}/read")
    await comment(erin, idea, "One more after dan read the first notice")
    await drain()
    assert await kinds(dan) == ["idea_comments", "idea_comments"]
    assert await kinds(alice) == ["idea_comments"]  # still unread: still one

    r = await api.delete(f"/api/v1/ideas/{idea}/follow")
    assert r.status_code == 200 and r.json() == {"following": False}
    await Notification.update({Notification.read_at: Notification.created_at}, force=True).run()
    await comment(erin, idea, "Dan stopped following before this one")
    await drain()
    assert await kinds(dan) == ["idea_comments", "idea_comments"]
    assert await kinds(alice) == ["idea_comments", "idea_comments"]


async def test_comment_mail_names_no_idea_and_inbox_unfollow_is_one_click(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice, title="Invoices in the customer's own language")
    clear_outbox()
    await comment(dan, idea, "I would love this for our Dutch customers.")
    await drain()
    [mail] = mails_to(alice.email)
    assert mail["Subject"] == "You have an update in Touchpoint"
    body = body_text(mail)
    assert "Invoices in the customer" not in body and f"/ideas/{idea}" not in body
    assert "/me/notifications" in body

    browser = await alice.browser()
    inbox = await browser.get("/me/notifications")
    assert f'action="/ideas/{idea}/follow"' in inbox.text and "Stop following" in inbox.text
    r = await browser.form(
        f"/ideas/{idea}/follow", {"action": "unfollow", "back": "/me/notifications"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/me/notifications"
    assert (await alice.api().get(f"/api/v1/ideas/{idea}")).json()["following"] is False
    r = await browser.form(f"/ideas/{idea}/follow", {"action": "follow"}, htmx=True)
    assert r.status_code == 200 and "Stop following" in r.text and "You follow this idea" in r.text


async def test_opening_an_idea_from_a_notice_marks_it_read(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice)
    await comment(dan, idea, "A comment so that alice has a notice.")
    await drain()
    [notice] = await notices(user=alice.viewer.id)
    browser = await alice.browser()
    # someone else opening the idea with alice's notice id changes nothing
    other = await dan.browser()
    assert (await other.get(f"/ideas/{idea}?notice={notice['id']}")).status_code == 200
    assert (await alice.api().get("/api/v1/me/notifications")).json()["items"][0]["read"] is False
    assert (await browser.get(f"/ideas/{idea}?notice={notice['id']}")).status_code == 200
    assert (await alice.api().get("/api/v1/me/notifications")).json()["items"][0]["read"] is True
    assert (await browser.get(f"/ideas/{idea}?notice=bogus")).status_code == 200
