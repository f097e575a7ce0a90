"""Blind council triage: the queue, sessions with a quorum, decisions, merges,
questions and answers — through the API and the council's pages."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from ideas import clock
from ideas.org_settings import set_setting
from ideas.tables import AgendaItem, Event, Idea, Question, Submission, Vote
from tests.factories import confirm_attendance, submit

COUNCIL = ("bob_finance_council", "cora_hr_council", "pat_product_council")


async def age(idea_id: str, days: int) -> None:
    """Pretend an idea was submitted `days` ago."""
    when = clock.now() - dt.timedelta(days=days)
    await (
        Idea.update({Idea.submitted_on: when.date(), Idea.created_at: when})
        .where(Idea.id == int(idea_id))
        .run()
    )


async def council(personas):
    return [await personas.get(k) for k in COUNCIL]


async def open_session(personas, held_on: str = "2026-11-23") -> dict:
    members = await council(personas)
    r = (
        await members[0]
        .api()
        .post(
            "/api/v1/triage/sessions",
            json={"held_on": held_on, "attendee_ids": [m.id for m in members]},
        )
    )
    assert r.status_code == 201, r.text
    await confirm_attendance(r.json()["id"], *members[1:])
    return r.json()


async def decide(persona, idea_id: str, session_id: str, outcome: str, **fields):
    return await persona.api().post(
        f"/api/v1/ideas/{idea_id}/decision",
        json={"session_id": session_id, "outcome": outcome, **fields},
    )


def data_of(event: dict) -> dict:
    raw = event["data"]
    return json.loads(raw) if isinstance(raw, str) else raw


def title(n: int) -> str:
    return f"Idea number {n} for the customers"


# -- the queue ----------------------------------------------------------------------------


async def test_queue_and_triage_pages_are_council_only(personas):
    alice = await personas.get("alice_support")
    assert (await alice.api().get("/api/v1/triage/queue")).status_code == 403
    assert (await alice.api().get("/api/v1/triage/sessions")).status_code == 403
    browser = await alice.browser()
    for url in ("/triage", "/triage/sessions"):
        r = await browser.get(url)
        assert r.status_code == 403, url
        assert "Not allowed" in r.text


async def test_queue_shows_waiting_ideas_blind_with_age_votes_and_sla(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob = await personas.get("bob_finance_council")
    old = await submit(alice, title=title(1), touchpoint="billing")
    fresh = await submit(alice, title=title(2), touchpoint="support")
    voted = await submit(dan, title=title(3), touchpoint="billing")
    await age(old, 20)
    await age(fresh, 3)
    await age(voted, 10)
    for voter in (alice, bob):
        assert (await voter.api().put(f"/api/v1/ideas/{voted}/vote")).status_code == 200

    r = await bob.api().get("/api/v1/triage/queue")
    assert r.status_code == 200
    body = r.json()
    assert body["next_cursor"] is None
    items = body["items"]
    assert [i["id"] for i in items] == [voted, old, fresh]  # most votes, then oldest
    by_id = {i["id"]: i for i in items}
    assert by_id[old]["age_days"] == 20 and by_id[old]["sla_breached"] is True
    assert by_id[fresh]["age_days"] == 3 and by_id[fresh]["sla_breached"] is False
    assert by_id[voted]["votes"] == 2
    for item in items:
        assert item["is_mine"] is False
        assert "submitter" not in item and "author" not in item

    r = await bob.api().get("/api/v1/triage/queue", params={"sort": "age"})
    assert [i["id"] for i in r.json()["items"]] == [old, voted, fresh]
    r = await bob.api().get("/api/v1/triage/queue", params={"touchpoint": "support"})
    assert [i["id"] for i in r.json()["items"]] == [fresh]
    r = await bob.api().get("/api/v1/triage/queue", params={"sort": "loudest"})
    assert r.status_code == 400 and "sort" in r.json()["detail"]

    await set_setting("triage_sla_days", 2)
    r = await bob.api().get("/api/v1/triage/queue")
    assert all(i["sla_breached"] for i in r.json()["items"])

    page = await (await bob.browser()).get("/triage?sort=age")
    assert page.status_code == 200
    assert page.text.index(title(1)) < page.text.index(title(3)) < page.text.index(title(2))
    assert "Over SLA" in page.text
    for person in (alice, dan):
        assert person.name not in page.text and person.email not in page.text


async def test_queue_paginates_with_a_cursor(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    ids = [await submit(alice, title=title(n)) for n in range(5)]
    api = bob.api()
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "age"} | ({"cursor": cursor} if cursor else {})
        body = (await api.get("/api/v1/triage/queue", params=params)).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ids


# -- sessions -----------------------------------------------------------------------------


async def test_session_needs_attendees_from_enough_departments(personas):
    bob, cora, _pat = await council(personas)
    api = bob.api()
    r = await api.post(
        "/api/v1/triage/sessions", json={"held_on": "2026-11-23", "attendee_ids": [bob.id, cora.id]}
    )
    assert r.status_code == 409
    assert "at least 3 departments" in r.json()["detail"]
    assert r.json()["extra"] == {"departments": 2, "needed": 3}
    assert (await api.get("/api/v1/triage/sessions")).json()["items"] == []

    await set_setting("quorum_departments", 2)
    r = await api.post(
        "/api/v1/triage/sessions", json={"held_on": "2026-11-23", "attendee_ids": [bob.id, cora.id]}
    )
    assert r.status_code == 201


async def test_session_attendees_must_be_council_members(personas):
    bob, cora, pat = await council(personas)
    alice = await personas.get("alice_support")
    api = bob.api()
    for attendees in (
        [bob.id, cora.id, pat.id, alice.id],
        [bob.id, cora.id, pat.id, "00000000-0000-0000-0000-000000000000"],
        [bob.id, "not-an-id"],
        [],
    ):
        r = await api.post(
            "/api/v1/triage/sessions", json={"held_on": "2026-11-23", "attendee_ids": attendees}
        )
        assert r.status_code == 422, attendees
        assert "attendee_ids" in r.json()["detail"]
    r = await alice.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": "2026-11-23", "attendee_ids": [bob.id, cora.id, pat.id]},
    )
    assert r.status_code == 403


async def test_opening_a_session_takes_the_agenda_and_moves_new_ideas_to_review(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    quiet_old = await submit(alice, title=title(1))
    popular = await submit(alice, title=title(2))
    quiet_new = await submit(alice, title=title(3))
    await age(quiet_old, 9)
    await age(quiet_new, 1)
    assert (await bob.api().put(f"/api/v1/ideas/{popular}/vote")).status_code == 200

    session = await open_session(personas)
    assert [e["idea"]["id"] for e in session["agenda"]] == [popular, quiet_old, quiet_new]
    assert [e["position"] for e in session["agenda"]] == [1, 2, 3]
    assert all(e["idea"]["status"] == "in_review" for e in session["agenda"])
    assert all(e["outcome"] is None for e in session["agenda"])
    assert session["decisions"] == []
    assert {a["department"]["name"] for a in session["attendees"]} == {"Finance", "HR", "Product"}

    events = await Event.select().where(Event.idea == int(popular)).run()
    assert len(events) == 1
    assert events[0]["kind"] == "status" and events[0]["status"] == "in_review"
    assert events[0]["actor_label"] == "CX council"
    assert events[0]["session"] == int(session["id"])
    timeline = (await alice.api().get(f"/api/v1/ideas/{popular}/events")).json()["items"]
    assert [(e["status"], e["actor"]) for e in timeline] == [("in_review", "CX council")]

    # undecided in_review ideas come first on the next agenda, then new ones,
    # up to AGENDA_SIZE
    await set_setting("agenda_size", 4)
    newer = [await submit(alice, title=title(n)) for n in (4, 5)]
    second = await open_session(personas, "2026-11-30")
    assert [e["idea"]["id"] for e in second["agenda"]] == [popular, quiet_old, quiet_new, newer[0]]
    statuses = {r["id"]: r["status"] for r in await Idea.select(Idea.id, Idea.status).run()}
    assert statuses[int(newer[0])] == "in_review" and statuses[int(newer[1])] == "new"

    r = await bob.api().get(f"/api/v1/triage/sessions/{second['id']}")
    assert r.status_code == 200 and r.json()["id"] == second["id"]
    listed = (await bob.api().get("/api/v1/triage/sessions")).json()["items"]
    assert [s["id"] for s in listed] == [second["id"], session["id"]]
    assert (await bob.api().get("/api/v1/triage/sessions/999")).status_code == 404
    assert (await bob.api().get("/api/v1/triage/sessions/nope")).status_code == 404


# -- decisions ----------------------------------------------------------------------------


async def test_accept_needs_an_owning_department(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    idea = await submit(alice)
    session = (await open_session(personas))["id"]
    r = await decide(bob, idea, session, "accept")
    assert r.status_code == 422 and "owning_department_id" in r.json()["detail"]
    r = await decide(bob, idea, session, "accept", owning_department_id="9999")
    assert r.status_code == 422 and "owning_department_id" in r.json()["detail"]
    departments = (await bob.api().get("/api/v1/departments")).json()["items"]
    product = next(d for d in departments if d["name"] == "Product")
    r = await decide(bob, idea, session, "accept", owning_department_id=product["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "accepted"
    assert body["owning_department"] == {"id": product["id"], "name": "Product"}
    row = (await Idea.select().where(Idea.id == int(idea)).run())[0]
    assert row["accepted_at"] is not None and row["first_decided_at"] is not None

    detail = (await bob.api().get(f"/api/v1/triage/sessions/{session}")).json()
    assert detail["decisions"] == [
        {
            "idea_id": idea,
            "outcome": "accept",
            "decided_by": {"id": bob.id, "name": bob.name},
            "decided_on": clock.today().isoformat(),
        }
    ]
    timeline = (await alice.api().get(f"/api/v1/ideas/{idea}/events")).json()["items"]
    assert timeline[-1]["status"] == "accepted" and timeline[-1]["actor"] == "CX council"
    assert bob.name not in str(timeline)


async def test_decline_needs_a_note_of_twenty_characters(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    idea = await submit(alice)
    session = (await open_session(personas))["id"]
    r = await decide(bob, idea, session, "decline", note="Not now.")
    assert r.status_code == 422 and "note" in r.json()["detail"]
    note = "We already print PO numbers since the October release."
    r = await decide(bob, idea, session, "decline", note=note)
    assert r.status_code == 200 and r.json()["status"] == "declined"
    timeline = (await alice.api().get(f"/api/v1/ideas/{idea}/events")).json()["items"]
    assert timeline[-1] == {
        **timeline[-1],
        "status": "declined",
        "note": note,
        "actor": "CX council",
    }

    # a declined idea takes no further decision: 409 naming the status, nothing changed
    r = await decide(bob, idea, session, "accept", owning_department_id="1")
    assert r.status_code == 409
    assert "declined" in r.json()["detail"]
    assert r.json()["extra"]["current_status"] == "declined"
    assert (await Idea.select(Idea.status).where(Idea.id == int(idea)).run())[0][
        "status"
    ] == "declined"
    assert await Event.count().where(Event.idea == int(idea)).run() == 2


async def test_a_decision_needs_an_in_review_idea_and_an_attending_member(personas):
    alice = await personas.get("alice_support")
    bob, cora, pat = await council(personas)
    idea = await submit(alice)
    r = await decide(bob, idea, "1", "decline", note="x" * 30)
    assert r.status_code == 422 and "session_id" in r.json()["detail"]
    await set_setting("quorum_departments", 2)
    r = await bob.api().post(
        "/api/v1/triage/sessions", json={"held_on": "2026-11-23", "attendee_ids": [bob.id, cora.id]}
    )
    session = r.json()["id"]
    await confirm_attendance(session, cora)
    r = await decide(pat, idea, session, "decline", note="x" * 30)
    assert r.status_code == 403 and "attendee" in r.json()["detail"]
    r = await decide(alice, idea, session, "decline", note="x" * 30)
    assert r.status_code == 403
    late = await submit(alice, title="A late idea, still new")
    r = await decide(bob, late, session, "decline", note="x" * 30)
    assert r.status_code == 409
    assert r.json()["extra"] == {"current_status": "new", "allowed": ["in_review"]}
    assert (await decide(bob, "424242", session, "decline", note="x" * 30)).status_code == 404
    r = await decide(bob, idea, session, "ship")
    assert r.status_code == 400 and "outcome" in r.json()["detail"]


async def test_merging_moves_votes_once_per_person_and_makes_a_co_submitter(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    bob = await personas.get("bob_finance_council")
    target = await submit(alice, title=title(1))
    dup = await submit(dan, title=title(2))
    for voter in (alice, erin, bob):
        assert (await voter.api().put(f"/api/v1/ideas/{dup}/vote")).status_code == 200
    for voter in (erin, dan):
        assert (await voter.api().put(f"/api/v1/ideas/{target}/vote")).status_code == 200
    session = (await open_session(personas))["id"]

    r = await decide(bob, dup, session, "duplicate", duplicate_of=dup)
    assert r.status_code == 409 and "itself" in r.json()["detail"]
    r = await decide(bob, dup, session, "duplicate", duplicate_of="987654")
    assert r.status_code == 422 and "duplicate_of" in r.json()["detail"]
    r = await decide(bob, dup, session, "duplicate", duplicate_of="x1")
    assert r.status_code == 422 and "duplicate_of" in r.json()["detail"]
    r = await decide(bob, dup, session, "duplicate")
    assert r.status_code == 422 and "duplicate_of" in r.json()["detail"]

    r = await decide(bob, dup, session, "duplicate", duplicate_of=target)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "duplicate" and r.json()["duplicate_of"] == target
    assert r.json()["votes"] == 0
    target_now = (await alice.api().get(f"/api/v1/ideas/{target}")).json()
    # erin once, plus bob; nobody votes for their own idea: alice's vote (she
    # submitted the target) does not move, and dan's (now a co-submitter) goes
    assert target_now["votes"] == 2
    voters = {
        str(v["user"]) for v in await Vote.select(Vote.user).where(Vote.idea == int(target)).run()
    }
    assert voters == {erin.id, bob.id}
    # the duplicate's submitter now shares the target (for notices and credit)
    subs = await Submission.select(Submission.user, Submission.role).where(
        Submission.idea == int(target)
    )
    assert {(str(s["user"]), s["role"]) for s in subs} == {
        (alice.id, "submitter"),
        (dan.id, "co_submitter"),
    }
    assert (await dan.api().get(f"/api/v1/ideas/{target}")).json()["is_mine"] is True
    event = (await Event.select().where(Event.idea == int(dup)).order_by(Event.id).run())[-1]
    assert event["kind"] == "status" and event["status"] == "duplicate"
    assert data_of(event) == {"target_idea_id": int(target)}
    # the duplicate takes no votes; it cannot be a merge target
    assert (await erin.api().put(f"/api/v1/ideas/{dup}/vote")).status_code == 409
    third = await submit(erin, title=title(3))
    second_session = (await open_session(personas, "2026-11-30"))["id"]
    r = await decide(bob, third, second_session, "duplicate", duplicate_of=dup)
    assert r.status_code == 409 and "duplicate" in r.json()["detail"]


async def test_merging_into_a_declined_idea_is_refused(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    declined = await submit(alice, title=title(1))
    other = await submit(alice, title=title(2))
    session = (await open_session(personas))["id"]
    assert (await decide(bob, declined, session, "decline", note="n" * 25)).status_code == 200
    r = await decide(bob, other, session, "duplicate", duplicate_of=declined)
    assert r.status_code == 409 and "declined" in r.json()["detail"]
    assert (await alice.api().get(f"/api/v1/ideas/{other}")).json()["status"] == "in_review"


async def test_a_question_goes_to_the_submitter_and_the_answer_back_to_review(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob = await personas.get("bob_finance_council")
    idea = await submit(alice)
    session = (await open_session(personas))["id"]
    r = await decide(bob, idea, session, "needs_info")
    assert r.status_code == 422 and "question" in r.json()["detail"]
    question = "Which customers asked for this, and how often?"
    r = await decide(bob, idea, session, "needs_info", question=question)
    assert r.status_code == 200 and r.json()["status"] == "needs_info"
    q = (await Question.select().where(Question.idea == int(idea)).run())[0]
    asked = (await Event.select().where(Event.idea == int(idea)).order_by(Event.id).run())[-1]
    assert data_of(asked) == {"question_id": q["id"]}
    timeline = (await dan.api().get(f"/api/v1/ideas/{idea}/events")).json()["items"]
    assert question not in str(timeline)  # the question is for the submitter and the council

    # the submitter sees it (API and My ideas); others don't
    r = await alice.api().get(f"/api/v1/ideas/{idea}/questions")
    assert [i["question"] for i in r.json()["items"]] == [question]
    assert (await dan.api().get(f"/api/v1/ideas/{idea}/questions")).json()["items"] == []
    alice_web = await alice.browser()
    fragment = await alice_web.htmx_get(f"/fragments/ideas/{idea}/question")
    assert question in fragment.text and 'name="answer"' in fragment.text
    assert "Bob" not in fragment.text
    dan_fragment = await (await dan.browser()).htmx_get(f"/fragments/ideas/{idea}/question")
    assert dan_fragment.status_code == 200 and dan_fragment.text == ""

    # only the submitter answers, only while it waits, with some text
    r = await dan.api().post(f"/api/v1/ideas/{idea}/answer", json={"answer": "Me, often."})
    assert r.status_code == 403
    r = await alice.api().post(f"/api/v1/ideas/{idea}/answer", json={"answer": "   "})
    assert r.status_code == 422 and "answer" in r.json()["detail"]
    answer = "Forty enterprise customers a month, mostly public sector."
    r = await alice.api().post(f"/api/v1/ideas/{idea}/answer", json={"answer": answer})
    assert r.status_code == 200 and r.json()["status"] == "in_review" and r.json()["answered"]
    r = await alice.api().post(f"/api/v1/ideas/{idea}/answer", json={"answer": answer})
    assert r.status_code == 409
    answered = (await Event.select().where(Event.idea == int(idea)).order_by(Event.id).run())[-1]
    assert answered["actor_label"] == "Submitter"
    assert data_of(answered) == {"answered": True, "question_id": q["id"]}

    # the council sees the question and the answer, and the queue marks it answered
    queue = (await bob.api().get("/api/v1/triage/queue")).json()["items"]
    assert [(i["id"], i["answered"]) for i in queue] == [(idea, True)]
    council_fragment = await (await bob.browser()).htmx_get(f"/fragments/ideas/{idea}/question")
    assert question in council_fragment.text and answer in council_fragment.text
    assert alice.name not in council_fragment.text and 'name="answer"' not in council_fragment.text
    # deciding again clears the mark
    r = await decide(bob, idea, session, "decline", note="Too few customers to justify it.")
    assert r.status_code == 200 and r.json()["answered"] is False


async def test_answer_form_on_my_ideas_swaps_in_place(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    idea = await submit(alice)
    session = (await open_session(personas))["id"]
    await decide(bob, idea, session, "needs_info", question="What does the customer see now?")
    web = await alice.browser()
    r = await web.form(f"/ideas/{idea}/answer", {"answer": ""}, htmx=True)
    assert (
        r.status_code == 200 and 'class="field-error"' in r.text and 'aria-invalid="true"' in r.text
    )
    r = await web.form(
        f"/ideas/{idea}/answer", {"answer": "A blank field on the invoice."}, htmx=True
    )
    assert r.status_code == 200
    assert "A blank field on the invoice." in r.text and "back in review" in r.text
    r = await web.form(f"/ideas/{idea}/answer", {"answer": "again"})
    assert r.status_code == 409


# -- the council's pages ------------------------------------------------------------------


async def test_council_runs_a_session_from_the_pages(personas):
    alice = await personas.get("alice_support")
    bob, cora, pat = await council(personas)
    first = await submit(alice, title=title(1))
    second = await submit(alice, title=title(2))
    web = await bob.browser()

    page = await web.get("/triage/sessions")
    assert page.status_code == 200
    for member in (bob, cora, pat):
        assert member.name in page.text
    assert "HR" in page.text and alice.name not in page.text

    r = await web.form(
        "/triage/sessions", {"held_on": "2026-11-23", "attendee_ids": [bob.id, cora.id]}
    )
    assert r.status_code == 409 and "at least 3 departments" in r.text
    r = await web.form("/triage/sessions", {"held_on": "", "attendee_ids": [bob.id]})
    assert r.status_code == 422 and 'id="held_on-error"' in r.text
    r = await web.form(
        "/triage/sessions", {"held_on": "2026-11-23", "attendee_ids": [bob.id, cora.id, pat.id]}
    )
    assert r.status_code == 303
    session_url = r.headers["location"]
    page = await web.get(session_url)
    assert page.status_code == 200
    assert title(1) in page.text and title(2) in page.text
    assert f'id="agenda-{first}"' in page.text and "Accept idea" in page.text
    session_id = session_url.rsplit("/", 1)[1]
    await confirm_attendance(session_id, cora, pat)
    decide_url = f"/triage/sessions/{session_id}/ideas/{first}/decision"

    r = await web.form(decide_url, {"outcome": "decline", "note": "short"}, htmx=True)
    assert r.status_code == 200
    assert f'id="agenda-{first}"' in r.text and 'class="field-error"' in r.text
    assert "at least 20 characters" in r.text
    r = await web.form(
        decide_url,
        {"outcome": "decline", "note": "Out of scope for this year's roadmap."},
        htmx=True,
    )
    assert r.status_code == 200
    assert "Declined" in r.text and f"by {bob.name}" in r.text and "Accept idea" not in r.text

    # without JavaScript the form posts and comes back to the page
    r = await web.form(
        f"/triage/sessions/{session_id}/ideas/{second}/decision",
        {"outcome": "needs_info", "question": "Which invoice template is affected?"},
    )
    assert r.status_code == 303
    # a refused move shows its reason in the item
    r = await web.form(
        f"/triage/sessions/{session_id}/ideas/{second}/decision",
        {"outcome": "decline", "note": "A note long enough to pass."},
        htmx=True,
    )
    assert r.status_code == 200 and "needs_info" in r.text
    page = await web.get(session_url)
    assert "Asked the submitter a question" in page.text
    assert alice.name not in page.text and alice.email not in page.text

    # a council member who did not attend reads the session but cannot decide
    await set_setting("quorum_departments", 1)
    third = await submit(alice, title=title(3))
    r = await cora.api().post(
        "/api/v1/triage/sessions", json={"held_on": "2026-11-30", "attendee_ids": [cora.id]}
    )
    other = r.json()["id"]
    page = await web.get(f"/triage/sessions/{other}")
    assert page.status_code == 200 and title(3) in page.text
    assert "did not attend" in page.text and "Accept idea" not in page.text
    r = await web.form(
        f"/triage/sessions/{other}/ideas/{third}/decision",
        {"outcome": "decline", "note": "A note long enough to pass."},
    )
    assert r.status_code == 403
    assert (await (await alice.browser()).get(session_url)).status_code == 403


@pytest.mark.parametrize("outcome", ["accept", "duplicate"])
async def test_decision_forms_name_the_missing_field(personas, outcome):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    idea = await submit(alice)
    session = (await open_session(personas))["id"]
    web = await bob.browser()
    r = await web.form(
        f"/triage/sessions/{session}/ideas/{idea}/decision", {"outcome": outcome}, htmx=True
    )
    field = "owning_department_id" if outcome == "accept" else "duplicate_of"
    assert r.status_code == 200 and f'id="d{idea}-{field}-error"' in r.text
    assert (await AgendaItem.select(AgendaItem.outcome).run())[0]["outcome"] == ""


async def test_concurrent_decisions_on_one_idea_take_effect_once(personas):
    alice = await personas.get("alice_support")
    bob, cora, _pat = await council(personas)
    idea = await submit(alice)
    session = (await open_session(personas))["id"]
    departments = (await bob.api().get("/api/v1/departments")).json()["items"]
    answers = await asyncio.gather(
        decide(bob, idea, session, "accept", owning_department_id=departments[0]["id"]),
        decide(cora, idea, session, "decline", note="Declined in parallel, for the test."),
        decide(bob, idea, session, "needs_info", question="Anything to add?"),
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409, 409], [r.text for r in answers]
    winner = next(r for r in answers if r.status_code == 200).json()["status"]
    assert (await Idea.select(Idea.status).where(Idea.id == int(idea)).run())[0]["status"] == winner
    decided = await Event.count().where(Event.idea == int(idea), Event.status == winner).run()
    assert decided == 1
    assert await Event.count().where(Event.idea == int(idea)).run() == 2


async def test_concurrent_merges_into_one_target_count_each_voter_once(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    voters = [await personas.make(f"voter{n}", f"Voter {n}", "Agent", "Support") for n in range(6)]
    target = await submit(alice, title=title(0))
    twins = [await submit(alice, title=title(n)) for n in (1, 2, 3)]
    for twin in twins:  # every voter voted for every twin
        for voter in voters:
            assert (await voter.api().put(f"/api/v1/ideas/{twin}/vote")).status_code == 200
    session = (await open_session(personas))["id"]
    answers = await asyncio.gather(
        *[decide(bob, twin, session, "duplicate", duplicate_of=target) for twin in twins]
    )
    assert [r.status_code for r in answers] == [200, 200, 200], [r.text for r in answers]
    assert (await alice.api().get(f"/api/v1/ideas/{target}")).json()["votes"] == len(voters)
    assert await Vote.count().where(Vote.idea == int(target)).run() == len(voters)
