"""Issue 13, item 5: exact times. An insider polls the board, the search,
the similar-idea suggestions, the triage queue, an idea's comments and the
council's questions to catch the minute a submitter acted, then matches it
to who was at their desk. With PUBLISH_DELAY_MINUTES (60 here) what a
submitter does shows to others only at the next full hour, with everything
else of that hour, and the notices and mail it causes are made then, dated
then.

No test reads the real clock: `ideas.clock` is set to the moments each step
needs (a Monday, 10:05 UTC and so on).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils

import pytest

from ideas import clock, context, term_index, triage
from ideas.config import get_settings, reset_settings
from ideas.notify import digest, fanout, mailing
from ideas.publish import visible_from
from ideas.tables import Event, Notification
from tests.factories import (
    confirm_attendance,
    ctx_for,
    idea_payload,
    index_terms_as_the_worker,
    submit,
)
from tests.notify_helpers import clear_outbox, council, drain, mails_to, notices, vote
from workers import tasks


def at(hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 23, hour, minute, second, micro, tzinfo=dt.UTC)


JUST_BEFORE = at(10, 59, 59, 999999)
BOUNDARY = at(11)


class Clock:
    def __init__(self) -> None:
        self.now = at(9)

    def set(self, moment: dt.datetime) -> None:
        self.now = moment


@pytest.fixture
def batches():
    """PUBLISH_DELAY_MINUTES=60 and a clock the test sets."""
    before = get_settings()
    reset_settings(dataclasses.replace(before, publish_delay_minutes=60))
    c = Clock()
    clock.set_clock(lambda: c.now)
    yield c
    clock.set_clock(None)
    reset_settings(before)


def test_the_batch_is_the_next_multiple_of_the_delay():
    assert visible_from(at(10, 5), 60) == BOUNDARY
    assert visible_from(at(10, 0), 60) == BOUNDARY  # strictly after
    assert visible_from(JUST_BEFORE, 60) == BOUNDARY
    assert visible_from(at(10, 5), 15) == at(10, 15)
    assert visible_from(at(23, 59), 60) == at(0) + dt.timedelta(days=1)
    assert visible_from(at(10, 5, 7), 0) == at(10, 5, 7)


async def _ids(persona, url: str) -> list[str]:
    r = await persona.api().get(url)
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


async def test_a_new_idea_shows_to_others_only_with_its_batch(personas, batches):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob = await personas.get("bob_finance_council")
    title = "Quarterly reconciliation statements for resellers"
    batches.set(at(10, 5))
    r = await alice.api().post(
        "/api/v1/ideas",
        json={
            "title": title,
            "problem": "Resellers reconcile our invoices by hand every quarter.",
            "proposal": "Send each reseller one reconciliation statement per quarter.",
            "touchpoint": "billing",
        },
    )
    assert r.status_code == 201
    idea = r.json()["id"]
    assert r.json()["visible_from"] == "2026-11-23T11:00:00Z"

    dans_browser = await dan.browser()
    bobs_browser = await bob.browser()
    for moment in (at(10, 5), at(10, 30), JUST_BEFORE):
        batches.set(moment)
        for url in (
            "/api/v1/ideas?sort=new",
            "/api/v1/ideas",
            "/api/v1/ideas?sort=trending",
            "/api/v1/ideas?q=reconciliation",
            "/api/v1/ideas?status=new",
        ):
            assert idea not in await _ids(dan, url), (moment, url)
        assert idea not in await _ids(bob, "/api/v1/triage/queue")
        assert (await dan.api().get(f"/api/v1/ideas/{idea}")).status_code == 404
        assert (await dan.api().put(f"/api/v1/ideas/{idea}/vote")).status_code == 404
        assert (await dan.api().get(f"/api/v1/ideas/{idea}/comments")).status_code == 404
        board = await dans_browser.get("/?sort=new")
        assert title not in board.text
        similar = await dans_browser.get("/fragments/similar", params={"title": title})
        assert title not in similar.text
        queue = await bobs_browser.get("/triage")
        assert title not in queue.text
        # its author sees it, marked
        assert idea in await _ids(alice, "/api/v1/ideas?sort=new")
        page = await (await alice.browser()).get(f"/ideas/{idea}")
        assert "visible to colleagues from 11:00" in page.text

    # a session opened meanwhile does not take it
    batches.set(at(10, 40))
    members = await council(personas)
    r = await bob.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": "2026-11-23", "attendee_ids": [m.id for m in members]},
    )
    assert [e["idea"]["id"] for e in r.json()["agenda"]] == []

    batches.set(BOUNDARY)
    assert idea in await _ids(dan, "/api/v1/ideas?sort=new")
    assert idea in await _ids(dan, "/api/v1/ideas?q=reconciliation")
    assert idea in await _ids(bob, "/api/v1/triage/queue")
    seen = (await dan.api().get(f"/api/v1/ideas/{idea}")).json()
    assert seen["visible_from"] is None and seen["submitted_on"] == "2026-11-23"
    await index_terms_as_the_worker()  # its similar-search terms (ideas.term_index)
    assert title in (await dans_browser.get("/fragments/similar", params={"title": title})).text
    page = await (await alice.browser()).get(f"/ideas/{idea}")
    assert "visible to colleagues from" not in page.text


async def test_a_pending_ideas_follow_and_timeline_are_404_to_others(personas, batches):
    """Following an idea and its timeline answered 200 for a pending idea's
    id: an insider learned that an idea was submitted in that minute."""
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    batches.set(at(10, 5))
    idea = await submit(alice)
    for method, url in (
        ("PUT", f"/api/v1/ideas/{idea}/follow"),
        ("DELETE", f"/api/v1/ideas/{idea}/follow"),
        ("GET", f"/api/v1/ideas/{idea}/events"),
    ):
        r = await dan.api().request(method, url)
        assert r.status_code == 404, (method, url, r.text)
        assert (await alice.api().request(method, url)).status_code == 200, (method, url)
    browser = await dan.browser()
    assert (await browser.form(f"/ideas/{idea}/follow", {"action": "follow"})).status_code == 404
    batches.set(BOUNDARY)
    assert (await dan.api().put(f"/api/v1/ideas/{idea}/follow")).status_code == 200
    assert (await dan.api().get(f"/api/v1/ideas/{idea}/events")).status_code == 200


async def test_ideas_of_one_batch_appear_together_newest_first_by_batch(personas, batches):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    batches.set(at(9, 30))
    earlier = await submit(erin, title="An idea from the batch before")
    batches.set(at(10, 5))
    alices = await submit(alice, title="Alice's idea early in the hour")
    batches.set(at(10, 50))
    dans = await submit(dan, title="Dan's idea late in the hour")
    batches.set(JUST_BEFORE)
    assert await _ids(erin, "/api/v1/ideas?sort=new") == [earlier]
    batches.set(BOUNDARY)
    listed = await _ids(erin, "/api/v1/ideas?sort=new")
    # both at once, above the earlier batch; nothing tells which came first
    assert set(listed[:2]) == {alices, dans} and listed[2] == earlier


async def test_a_submitter_comment_shows_to_others_only_with_its_batch(personas, batches):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    batches.set(at(8, 0))
    idea = await submit(alice)
    url = f"/api/v1/ideas/{idea}/comments"
    batches.set(at(9, 50))
    assert (await dan.api().post(url, json={"body": "Before the hour."})).status_code == 201
    batches.set(at(10, 10))
    r = await alice.api().post(url, json={"body": "Happy to share the customer list."})
    assert r.status_code == 201
    assert r.json()["author"] == "Submitter"
    assert r.json()["visible_from"] == "2026-11-23T11:00:00Z"
    batches.set(at(10, 20))
    assert (await dan.api().post(url, json={"body": "Within the hour."})).status_code == 201

    def bodies(items):
        return [(c["author"], c["body"]) for c in items]

    for moment in (at(10, 10), at(10, 30), JUST_BEFORE):
        batches.set(moment)
        items = (await erin.api().get(url)).json()["items"]
        assert bodies(items) == [
            (dan.name, "Before the hour."),
            (dan.name, "Within the hour."),
        ]
        fragment = await (await erin.browser()).htmx_get(f"/fragments/ideas/{idea}/comments")
        assert "Happy to share" not in fragment.text
        # the author sees hers, marked
        mine = await (await alice.browser()).htmx_get(f"/fragments/ideas/{idea}/comments")
        assert "Happy to share" in mine.text and "visible to colleagues from 11:00" in mine.text

    batches.set(BOUNDARY)
    items = (await erin.api().get(url)).json()["items"]
    # it takes its place after everything visible before its batch: where it
    # stands says only "during the hour before 11:00"
    assert bodies(items) == [
        (dan.name, "Before the hour."),
        (dan.name, "Within the hour."),
        ("Submitter", "Happy to share the customer list."),
    ]
    assert {c["at"] for c in items} == {"2026-11-23T00:00:00Z"}
    assert all(c["visible_from"] is None for c in items)


async def test_an_answer_its_notices_and_its_mail_wait_for_the_batch(personas, batches):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    bob, cora, pat = await council(personas)
    batches.set(at(8, 0))
    idea = await submit(alice, title="Print the PO number on every invoice")
    duplicate = await submit(dan, title="Show the purchase order on invoices")
    batches.set(at(9, 0))
    members = [bob, cora, pat]
    r = await bob.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": "2026-11-23", "attendee_ids": [m.id for m in members]},
    )
    session = r.json()["id"]
    await confirm_attendance(session, cora, pat)
    for body in (
        {"outcome": "duplicate", "duplicate_of": idea, "target": duplicate},
        {"outcome": "needs_info", "question": "Which customers ask for it?", "target": idea},
    ):
        target = body.pop("target")
        r = await bob.api().post(
            f"/api/v1/ideas/{target}/decision", json={"session_id": session, **body}
        )
        assert r.status_code == 200, r.text
    for event_id in [e["id"] for e in await Event.select(Event.id).run()]:
        await fanout.deliver_event(event_id)
    events_before = await Event.count().run()
    notices_before = await Notification.count().run()

    batches.set(at(10, 10))
    answer = "Forty public-sector customers, every month."
    r = await alice.api().post(f"/api/v1/ideas/{idea}/answer", json={"answer": answer})
    assert r.status_code == 200, r.text
    fragment = await (await alice.browser()).htmx_get(f"/fragments/ideas/{idea}/question")
    assert answer in fragment.text and "visible to colleagues from 11:00" in fragment.text

    for moment in (at(10, 10), at(10, 45), JUST_BEFORE):
        batches.set(moment)
        assert await triage.publish_due(ctx_for(context.WORKER)) == 0
        assert (await erin.api().get(f"/api/v1/ideas/{idea}")).json()["status"] == "needs_info"
        queue = (await bob.api().get("/api/v1/triage/queue")).json()["items"]
        assert idea not in [i["id"] for i in queue]
        questions = (await bob.api().get(f"/api/v1/ideas/{idea}/questions")).json()["items"]
        assert [(q["answer"], q["answered_on"]) for q in questions] == [("", None)]
        council_view = await (await bob.browser()).htmx_get(f"/fragments/ideas/{idea}/question")
        assert answer not in council_view.text
        assert await Event.count().run() == events_before
        assert await Notification.count().run() == notices_before

    batches.set(BOUNDARY)
    assert await tasks.publish_batches({}) == "ok"  # the workers' minute job publishes it
    assert (await erin.api().get(f"/api/v1/ideas/{idea}")).json()["status"] == "in_review"
    queue = (await bob.api().get("/api/v1/triage/queue")).json()["items"]
    assert [i["answered"] for i in queue if i["id"] == idea] == [True]
    questions = (await bob.api().get(f"/api/v1/ideas/{idea}/questions")).json()["items"]
    assert questions[0]["answer"] == answer
    assert questions[0]["answered_on"] == "2026-11-23"
    new = await Event.select(Event.id, Event.created_at).where(Event.idea == int(idea)).run()
    new = [e for e in new if e["created_at"] >= BOUNDARY]
    assert [e["created_at"] for e in new] == [BOUNDARY]
    batches.set(at(11, 7, 33))  # the worker gets to it a little later
    await fanout.deliver_event(new[0]["id"])
    told = await Notification.select(
        Notification.id, Notification.user, Notification.kind, Notification.created_at
    ).where(Notification.event == new[0]["id"])
    assert {n["kind"] for n in told} == {"council_answer", "idea_status"}
    # the co-submitter's notice and the council's all carry the batch's moment
    assert {n["created_at"] for n in told} == {BOUNDARY}
    assert str(dan.viewer.id) in {str(n["user"]) for n in told}
    clear_outbox()
    for n in told:
        await mailing.email_notice(n["id"])
    for person in (*members, dan):
        (message,) = mails_to(person.email)
        assert email.utils.parsedate_to_datetime(message["Date"]) == BOUNDARY
    # the notice list gives the day only
    notices = (await bob.api().get("/api/v1/me/notifications")).json()["items"]
    assert {n["at"] for n in notices if n["kind"] == "council_answer"} == {"2026-11-23T00:00:00Z"}


# -- ids that reveal no order ---------------------------------------------------------------


def _reveals_order(ids: list[int]) -> str | None:
    if ids == sorted(ids) or ids == sorted(ids, reverse=True):
        return "they sort by creation"
    steps = [abs(b - a) for a, b in zip(ids, ids[1:], strict=False)]
    if min(steps) < 10_000:
        return f"two differ by only {min(steps)}"
    return None


async def test_ids_of_ideas_and_comments_reveal_no_order(personas):
    """Ten ideas and ten comments made one after the other: their ids
    neither sort by creation nor differ by a small step, so nobody brackets
    a comment or an idea between two of their own. (Random ids: the chance
    that ten sort by chance is 2 in 10!, below one in a million.)"""
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    ideas = [
        int(await submit(alice, title=f"Idea number {n} for the customers")) for n in range(10)
    ]
    assert _reveals_order(ideas) is None, ideas
    url = f"/api/v1/ideas/{ideas[0]}/comments"
    comments = []
    for n in range(10):
        r = await dan.api().post(url, json={"body": f"Comment {n}"})
        assert r.status_code == 201
        comments.append(int(r.json()["id"]))
    assert _reveals_order(comments) is None, comments
    # pages and fragments use the same ids, and the comments keep their order
    listed = (await dan.api().get(url)).json()["items"]
    assert [c["body"] for c in listed] == [f"Comment {n}" for n in range(10)]
    page = await (await dan.browser()).get(f"/ideas/{ideas[3]}")
    assert page.status_code == 200 and f'hx-get="/fragments/ideas/{ideas[3]}/comments"' in page.text


async def test_the_digest_lists_a_new_idea_only_from_its_batch(personas, batches):
    alice = await personas.get("alice_support")
    batches.set(at(10, 5))
    idea = int(await submit(alice, title="An idea made just before the digest"))
    week_start = at(0) - dt.timedelta(days=6)
    # a digest made at 10:30 does not list it (others cannot see it yet) ...
    early = await digest.top_new(week_start, at(10, 30))
    assert idea not in [i.id for i in early]
    # ... the one made after its batch does
    later = await digest.top_new(week_start, at(12))
    assert idea in [i.id for i in later]


async def test_a_withdrawal_is_told_with_its_batch_not_at_its_minute(personas, batches):
    """Withdrawing told voters and followers (notice, mail `Date:`), and
    showed anyone watching the idea (its status, its timeline), the minute
    the submitter acted; now it happens, is dated, and is delivered at the
    batch's moment, like an answer to the council."""
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    batches.set(at(8))
    idea = await submit(alice)
    batches.set(at(9, 30))
    await vote(dan, idea)
    batches.set(at(10, 5))
    r = await alice.api().post(f"/api/v1/ideas/{idea}/withdraw")
    assert r.status_code == 200, r.text
    # she sees it withdrawn at once; others, nothing until the batch
    assert r.json()["status"] == "withdrawn"
    assert r.json()["edit_visible_from"] == "2026-11-23T11:00:00Z"
    page = await (await alice.browser()).get(f"/ideas/{idea}")
    assert "withdrawn for colleagues from 11:00" in page.text
    for moment in (at(10, 5), JUST_BEFORE):
        batches.set(moment)
        await tasks.publish_batches({})
        await drain()
        seen = (await dan.api().get(f"/api/v1/ideas/{idea}")).json()
        assert seen["status"] == "new" and seen["edit_visible_from"] is None
        timeline = (await dan.api().get(f"/api/v1/ideas/{idea}/events")).json()["items"]
        assert "withdrawn" not in [e["status"] for e in timeline]
        assert await Event.count().where(Event.status == "withdrawn").run() == 0
        assert await notices(user=dan.viewer.id) == []
        # (a vote still counts: a 409 would tell the idea was just withdrawn)
        assert (await erin.api().put(f"/api/v1/ideas/{idea}/vote")).status_code == 200
        assert (await erin.api().delete(f"/api/v1/ideas/{idea}/vote")).status_code == 200
    batches.set(BOUNDARY)
    assert await tasks.publish_batches({}) == "ok"  # the workers' minute job withdraws it
    assert (await dan.api().get(f"/api/v1/ideas/{idea}")).json()["status"] == "withdrawn"
    [event] = await Event.select(Event.id, Event.created_at, Event.dispatched_at).where(
        Event.idea == int(idea), Event.status == "withdrawn"
    )
    assert event["created_at"] == BOUNDARY
    timeline = (await dan.api().get(f"/api/v1/ideas/{idea}/events")).json()["items"]
    assert [e["at"] for e in timeline if e["status"] == "withdrawn"] == ["2026-11-23T00:00:00Z"]
    # delivered from its batch on, dated then
    batches.set(at(11, 0, 30))
    assert event["id"] in await fanout.undispatched_events(at(11, 0, 20), 5, 100)
    result = await fanout.deliver_event(event["id"])
    assert result.outcome == "delivered"
    [told] = await notices(user=dan.viewer.id)
    assert told["kind"] == "vote_withdrawn"
    clear_outbox()
    await mailing.email_notice(told["id"])
    (message,) = mails_to(dan.email)
    assert email.utils.parsedate_to_datetime(message["Date"]) == BOUNDARY


async def test_the_submitter_gets_the_same_idea_from_create_as_from_reading_it(personas, batches):
    """The create answer is built without reading the idea back: it must be
    what the submitter reads next, window and all (`visible_from`)."""
    alice = await personas.get("alice_support")
    batches.set(at(10, 5))
    created = await alice.api().post("/api/v1/ideas", json=idea_payload())
    assert created.status_code == 201
    assert created.json()["visible_from"] is not None
    read = await alice.api().get(f"/api/v1/ideas/{created.json()['id']}")
    assert read.status_code == 200 and read.json() == created.json()


async def test_an_edit_of_a_published_idea_shows_to_others_only_with_its_batch(personas, batches):
    """The submitter may edit a `new` idea; once others can see it, the text
    changing at the edit's minute would tell anyone watching the idea when its
    submitter was at work. Others see the edit from the next batch, dated
    then; the editor sees it at once, marked."""
    from ideas.tables import Idea, WaitingEdit

    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob = await personas.get("bob_finance_council")
    batches.set(at(10, 5))
    r = await alice.api().post("/api/v1/ideas", json=idea_payload(title="Reseller statements"))
    idea = r.json()["id"]
    batches.set(at(10, 20))  # nobody else sees it yet: the edit is the idea
    r = await alice.api().patch(f"/api/v1/ideas/{idea}", json={"title": "Reseller statements v2"})
    assert r.status_code == 200 and r.json()["edit_visible_from"] is None
    batches.set(BOUNDARY)
    assert (await dan.api().get(f"/api/v1/ideas/{idea}")).json()[
        "title"
    ] == "Reseller statements v2"
    await index_terms_as_the_worker()

    batches.set(at(11, 20))
    new_title = "Quarterly reconciliation statements for resellers"
    r = await alice.api().patch(f"/api/v1/ideas/{idea}", json={"title": new_title})
    assert r.status_code == 200, r.text
    assert r.json()["title"] == new_title
    assert r.json()["edit_visible_from"] == "2026-11-23T12:00:00Z"
    batches.set(at(11, 30))
    problem = "Resellers reconcile every invoice by hand at the end of each quarter."
    r = await alice.api().patch(f"/api/v1/ideas/{idea}", json={"problem": problem})
    assert (r.json()["title"], r.json()["problem"]) == (new_title, problem)  # one edit, merged
    assert await WaitingEdit.count().run() == 1
    page = await (await alice.browser()).get(f"/ideas/{idea}")
    assert new_title in page.text and "your edit is visible to colleagues from 12:00" in page.text

    for moment in (at(11, 30), JUST_BEFORE.replace(hour=11)):
        batches.set(moment)
        await tasks.publish_batches({})
        seen = (await dan.api().get(f"/api/v1/ideas/{idea}")).json()
        assert seen["title"] == "Reseller statements v2" and seen["problem"] != problem
        assert seen["edit_visible_from"] is None
        assert idea not in await _ids(dan, "/api/v1/ideas?q=reconciliation")
        board = await (await dan.browser()).get(f"/ideas/{idea}")
        assert new_title not in board.text and "your edit" not in board.text
        queue = (await bob.api().get("/api/v1/triage/queue")).json()["items"]
        assert [i["title"] for i in queue if i["id"] == idea] == ["Reseller statements v2"]

    batches.set(at(12, 0, 30))
    assert await tasks.publish_batches({}) == "ok"  # the workers' minute job applies it
    seen = (await dan.api().get(f"/api/v1/ideas/{idea}")).json()
    assert (seen["title"], seen["problem"]) == (new_title, problem)
    await index_terms_as_the_worker()
    assert idea in await _ids(dan, "/api/v1/ideas?q=reconciliation")
    mine = (await alice.api().get(f"/api/v1/ideas/{idea}")).json()
    assert mine["title"] == new_title and mine["edit_visible_from"] is None
    row = await Idea.select(Idea.edited_at, Idea.updated_at).where(Idea.id == int(idea)).first()
    assert row["edited_at"] == row["updated_at"] == at(12)  # the batch's moment, not 11:20
    assert await WaitingEdit.count().run() == 0


async def test_a_submitter_comment_changes_only_before_others_see_it_or_with_a_batch(
    personas, batches
):
    """A "Submitter" comment changing under others' eyes would date its
    author's action to the minute: it can be edited only until its batch,
    and its deletion, once others see it, takes effect at the next batch."""
    from ideas.tables import Comment

    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    batches.set(at(8, 0))
    idea = await submit(alice)
    url = f"/api/v1/ideas/{idea}/comments"
    batches.set(at(10, 50))
    r = await alice.api().post(url, json={"body": "Happy to share the customer list."})
    comment = r.json()["id"]
    named = (await dan.api().post(url, json={"body": "Me too."})).json()["id"]
    batches.set(at(10, 55))  # not seen by others yet: edited at once
    r = await alice.api().patch(f"/api/v1/comments/{comment}", json={"body": "Happy to share."})
    assert r.status_code == 200, r.text
    batches.set(at(11, 2))  # within 15 minutes, but others see it now
    r = await alice.api().patch(f"/api/v1/comments/{comment}", json={"body": "Changed."})
    assert r.status_code == 409 and "until colleagues see it" in r.text
    mine = (await alice.api().get(url)).json()["items"]
    assert [c["editable"] for c in mine if c["id"] == comment] == [False]
    r = await dan.api().patch(f"/api/v1/comments/{named}", json={"body": "Me too, truly."})
    assert r.status_code == 200  # a named comment: its author is known anyway

    def shown(items):
        return [(c["author"], c["body"], c["deleted"]) for c in items]

    batches.set(at(11, 10))
    assert (await alice.api().delete(f"/api/v1/comments/{comment}")).status_code == 200
    assert ("", "", True) in shown((await alice.api().get(url)).json()["items"])  # hers: at once
    assert (await alice.api().delete(f"/api/v1/comments/{comment}")).status_code == 409
    for moment in (at(11, 10), at(11, 59, 59)):
        batches.set(moment)
        await tasks.publish_batches({})
        assert shown((await dan.api().get(url)).json()["items"]) == [
            (dan.name, "Me too, truly.", False),
            ("Submitter", "Happy to share.", False),
        ]
        listed = (await dan.api().get(f"/api/v1/ideas/{idea}")).json()
        assert listed["comments"] == 2
    batches.set(at(12, 0, 30))
    assert await tasks.publish_batches({}) == "ok"
    assert shown((await dan.api().get(url)).json()["items"]) == [
        (dan.name, "Me too, truly.", False),
        ("", "", True),
    ]
    assert (await dan.api().get(f"/api/v1/ideas/{idea}")).json()["comments"] == 1
    row = await Comment.select(Comment.deleted_at).where(Comment.id == int(comment)).first()
    assert row["deleted_at"] == at(12)  # the batch's moment, not 11:10


async def test_a_held_edit_is_dropped_once_the_council_has_decided(personas, batches):
    """The council decided on the text it saw: an edit still waiting for its
    batch is not applied under the decision (as an edit then is refused)."""
    from ideas.tables import WaitingEdit

    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob, cora, pat = await council(personas)
    batches.set(at(8, 0))
    idea = await submit(alice, title="Print the PO number on every invoice")
    batches.set(at(10, 5))
    r = await alice.api().patch(f"/api/v1/ideas/{idea}", json={"title": "Something else"})
    assert r.json()["edit_visible_from"] == "2026-11-23T11:00:00Z"
    batches.set(at(10, 30))
    r = await bob.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": "2026-11-23", "attendee_ids": [m.id for m in (bob, cora, pat)]},
    )
    session = r.json()["id"]
    await confirm_attendance(session, cora, pat)
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/decision",
        json={"session_id": session, "outcome": "decline", "note": "Not for this year, sorry."},
    )
    assert r.status_code == 200, r.text
    # she is not shown an edit that will not happen
    mine = (await alice.api().get(f"/api/v1/ideas/{idea}")).json()
    assert (mine["title"], mine["edit_visible_from"]) == (
        "Print the PO number on every invoice",
        None,
    )
    batches.set(at(11, 0, 30))
    assert await tasks.publish_batches({}) == "ok"
    for persona in (dan, alice):
        seen = (await persona.api().get(f"/api/v1/ideas/{idea}")).json()
        assert seen["status"] == "declined"
        assert seen["title"] == "Print the PO number on every invoice"
    assert await WaitingEdit.count().run() == 0


async def test_a_co_submitters_council_comment_is_not_batched_when_changed(personas, batches):
    """A co-submitter writing as council is shown as "CX council" at once
    (not batched): editing and deleting it behave as for any council
    comment -- a deletion that waited for a batch would mark its author as
    a co-submitter."""
    from ideas.tables import Submission

    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob = await personas.get("bob_finance_council")
    batches.set(at(8, 0))
    idea = await submit(alice)
    await Submission.insert(Submission(idea=int(idea), user=bob.id, role="co_submitter")).run()
    url = f"/api/v1/ideas/{idea}/comments"
    batches.set(at(10, 5))
    r = await bob.api().post(url, json={"body": "From the council.", "as_council": True})
    assert r.status_code == 201 and r.json()["author"] == "CX council", r.text
    comment = r.json()["id"]
    batches.set(at(10, 6))
    r = await bob.api().patch(f"/api/v1/comments/{comment}", json={"body": "From the council!"})
    assert r.status_code == 200, r.text
    assert (await bob.api().delete(f"/api/v1/comments/{comment}")).status_code == 200
    assert [c["deleted"] for c in (await dan.api().get(url)).json()["items"]] == [True]


async def test_the_words_of_an_unpublished_idea_move_no_suggestion(personas, batches):
    """Suggestions by shared words rank published ideas with document
    frequencies: an unpublished idea's words counted in them would change
    which published ideas a draft is shown -- at the second a colleague
    submitted on that topic. Its words are indexed from its batch on."""
    from ideas.board import similar
    from ideas.tables import IdeaTerm, TermDocFreq
    from workers import tasks as worker_tasks

    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    batches.set(at(8, 0))
    for title in (
        "Kubernetes cluster for resellers",
        "Reseller portal for statements",
        "Cluster the support tickets by topic",
    ):
        await submit(dan, title=title)
    # ideas whose text yields no search term (the sweep reads them again and again)
    for n in range(5):
        problem = f"Клиенты ждут ответа слишком долго, {n}."
        await submit(dan, title=f"Быстрее отвечать {n}", problem=problem)
    batches.set(at(10, 5))
    await index_terms_as_the_worker()
    draft = "Kubernetes cluster for the team"

    async def seen() -> tuple[list, list]:
        frequencies = await TermDocFreq.select().order_by(TermDocFreq.term).run()
        return await similar._lexical_scores(draft, "", 5), frequencies

    before = await seen()
    idea = await submit(alice, title="Kubernetes cluster for the team")  # visible from 11:00
    await worker_tasks.index_terms({}, [int(idea)])  # its after-commit job
    await index_terms_as_the_worker()
    assert await seen() == before
    assert await IdeaTerm.count().where(IdeaTerm.idea == int(idea)).run() == 0
    batches.set(at(11, 0, 2))  # the sweep right after the batch: the newest first,
    # before any older idea whose text yields no term (those stay in its list)
    assert [r["id"] for r in await term_index.ideas_without_terms(1)] == [int(idea)]
    await index_terms_as_the_worker()
    assert int(idea) in [i for i, _ in await similar._lexical_scores(draft, "", 5)]
