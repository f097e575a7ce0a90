"""Issue 13, items 3 and 11: a determined insider tries, over HTTP and as
the role he has, to take over the submitter's place or to judge (or vote
for) his own idea. Each test performs the attack and shows it is refused or
learns nothing.

- A merge makes the duplicate's submitter a co-submitter: credit and
  notices, never the submitter's voice (answer, "Submitter" comments, the
  council's questions) and never a say over the submitter's own credit.
- Shipped, declined and duplicate ideas are not merge targets (409), nor in
  the merge picker.
- Nobody decides an idea they submitted or co-submitted (403); the session
  page marks it "Your idea: another member decides"; the quorum counts only
  confirmed attendees who may decide that idea.
- A session decides only once its attendees have confirmed attending
  (`POST /api/v1/triage/sessions/{id}/attend`), spanning the quorum.
- Nobody votes for their own idea (409), and the refusal leaves no trace.
"""

from __future__ import annotations

import re

from ideas import blind
from ideas.notify import fanout
from ideas.tables import Event, Idea, Notification, Submission, Vote
from tests.factories import confirm_attendance, submit
from tests.notify_helpers import council, undispatched

TODAY = "2026-11-23"


async def _session(opener, attendees, confirm=()) -> str:
    r = await opener.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": TODAY, "attendee_ids": [m.id for m in attendees]},
    )
    assert r.status_code == 201, r.text
    await confirm_attendance(r.json()["id"], *confirm)
    return r.json()["id"]


async def _decide(persona, idea_id: str, session_id: str, outcome: str, **fields):
    return await persona.api().post(
        f"/api/v1/ideas/{idea_id}/decision",
        json={"session_id": session_id, "outcome": outcome, **fields},
    )


async def _quinn(personas):
    """A fourth council member, from a fourth department."""
    return await personas.make(
        "quinn_legal_council", "Quinn Quade", "Counsel", "Legal", ("council",)
    )


# -- item 3: a merge never hands over the submitter's voice -------------------------------


async def test_a_merged_co_submitter_gets_credit_and_notices_but_not_the_submitters_voice(
    personas,
):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    bob, cora, pat = await council(personas)
    target = await submit(alice, title="Print the PO number on every invoice")
    throwaway = await submit(dan, title="Invoices should show the purchase order")
    session = await _session(bob, [bob, cora, pat], confirm=(cora, pat))
    r = await _decide(bob, throwaway, session, "duplicate", duplicate_of=target)
    assert r.status_code == 200, r.text
    r = await _decide(bob, target, session, "needs_info", question="Which customers ask?")
    assert r.status_code == 200, r.text
    for event_id in await undispatched():  # the workers' job, done here
        await fanout.deliver_event(event_id)

    # credit and notices: dan shares the target ("is_mine") and hears of it
    assert (await dan.api().get(f"/api/v1/ideas/{target}")).json()["is_mine"] is True
    kinds = {n["kind"] for n in await _notices(dan)}
    assert "idea_status" in kinds
    # ... but the council's question is for the submitter only
    assert "idea_question" not in kinds
    assert any(n["kind"] == "idea_question" for n in await _notices(alice))
    questions = await dan.api().get(f"/api/v1/ideas/{target}/questions")
    assert questions.json()["items"] == []
    fragment = await (await dan.browser()).htmx_get(f"/fragments/ideas/{target}/question")
    assert fragment.status_code == 200 and fragment.text == ""

    # he cannot answer in the submitter's place (API and form)
    r = await dan.api().post(f"/api/v1/ideas/{target}/answer", json={"answer": "It is me, often."})
    assert r.status_code == 403
    web = await dan.browser()
    r = await web.form(f"/ideas/{target}/answer", {"answer": "It is me, often."})
    assert r.status_code == 403
    status = await Idea.select(Idea.status).where(Idea.id == int(target)).run()
    assert status[0]["status"] == "needs_info"

    # nor withdraw or rewrite it (a merge gives credit and notices, not the idea)
    page = await web.get(f"/ideas/{target}")
    assert page.status_code == 200
    assert "Withdraw" not in page.text and "Edit your idea" not in page.text
    assert (await dan.api().post(f"/api/v1/ideas/{target}/withdraw")).status_code == 403
    r = await dan.api().patch(f"/api/v1/ideas/{target}", json={"title": "Something else entirely"})
    assert r.status_code == 403
    assert (await web.form(f"/ideas/{target}/withdraw", {})).status_code == 403
    status = await Idea.select(Idea.status, Idea.title).where(Idea.id == int(target)).run()
    assert status[0] == {"status": "needs_info", "title": "Print the PO number on every invoice"}
    alices_page = await (await alice.browser()).get(f"/ideas/{target}")
    assert "Withdraw" in alices_page.text

    # nor comment as "Submitter": his comments show as "Co-submitter"
    r = await dan.api().post(f"/api/v1/ideas/{target}/comments", json={"body": "I wrote this."})
    assert r.status_code == 201 and r.json()["author"] == "Co-submitter"
    authors = [
        c["author"]
        for c in (await erin.api().get(f"/api/v1/ideas/{target}/comments")).json()["items"]
    ]
    assert authors == ["Co-submitter"]

    # the real submitter still answers and speaks as "Submitter"
    r = await alice.api().post(
        f"/api/v1/ideas/{target}/answer", json={"answer": "Forty public-sector customers."}
    )
    assert r.status_code == 200, r.text
    r = await alice.api().post(f"/api/v1/ideas/{target}/comments", json={"body": "Thanks all."})
    assert r.json()["author"] == "Submitter"

    # his credit choice covers only himself, never the submitter's
    r = await dan.api().put(f"/api/v1/ideas/{target}/credit", json={"credit": True})
    assert r.status_code == 200, r.text
    rows = await Submission.select(Submission.user, Submission.credit).where(
        Submission.idea == int(target)
    )
    credit = {str(s["user"]): s["credit"] for s in rows}
    assert credit[alice.id] is None and credit[dan.id] is True


async def _notices(persona) -> list[dict]:
    return await Notification.select(Notification.kind, Notification.text).where(
        Notification.user == persona.viewer.id
    )


async def test_shipped_declined_and_duplicate_ideas_are_not_merge_targets(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob, cora, pat = await council(personas)
    shipped = await submit(alice, title="An idea that already shipped")
    declined = await submit(alice, title="An idea the council declined")
    duplicate = await submit(alice, title="An idea merged elsewhere")
    open_target = await submit(alice, title="An idea still open for merging")
    mine = await submit(dan, title="A throwaway idea of my own")
    session = await _session(bob, [bob, cora, pat], confirm=(cora, pat))
    assert (await _decide(bob, declined, session, "decline", note="n" * 25)).status_code == 200
    r = await _decide(bob, duplicate, session, "duplicate", duplicate_of=open_target)
    assert r.status_code == 200
    await Idea.update({Idea.status: "shipped"}).where(Idea.id == int(shipped)).run()

    page = await (await bob.browser()).get(f"/triage/sessions/{session}")
    picker = page.text.split('<datalist id="merge-targets">', 1)[1].split("</datalist>", 1)[0]
    assert f'value="{open_target}"' in picker
    for closed in (shipped, declined, duplicate):
        assert f'value="{closed}"' not in picker

    for closed, status in ((shipped, "shipped"), (declined, "declined"), (duplicate, "duplicate")):
        r = await _decide(bob, mine, session, "duplicate", duplicate_of=closed)
        assert r.status_code == 409, r.text
        assert r.json()["extra"]["target_status"] == status
    subs = await Submission.select(Submission.idea).where(Submission.user == dan.viewer.id)
    assert [s["idea"] for s in subs] == [int(mine)]  # no co-submission anywhere
    assert (await dan.api().get(f"/api/v1/ideas/{mine}")).json()["status"] == "in_review"


async def test_the_merge_picker_names_ideas_through_the_blind_projection(personas, monkeypatch):
    """A marker planted in the projection shows in every picker entry: the
    picker has no idea text of its own (so nothing the projection withholds)."""
    alice = await personas.get("alice_support")
    bob, cora, pat = await council(personas)
    target = await submit(alice, title="Print the PO number on every invoice")
    session = await _session(bob, [bob, cora, pat], confirm=(cora, pat))
    project = blind.blind_ideas

    async def marked(rows, viewer):
        return [
            i.model_copy(update={"title": f"{i.title} [blind]"})
            for i in await project(rows, viewer)
        ]

    monkeypatch.setattr(blind, "blind_ideas", marked)
    page = await (await bob.browser()).get(f"/triage/sessions/{session}")
    picker = page.text.split('<datalist id="merge-targets">', 1)[1].split("</datalist>", 1)[0]
    options = re.findall(r'<option value="(\d+)">([^<]*)</option>', picker)
    assert (target, "Print the PO number on every invoice [blind]") in options
    assert options and all(name.endswith(" [blind]") for _id, name in options)


# -- item 3: nobody judges their own idea ----------------------------------------------------


async def test_a_council_member_never_decides_an_idea_he_submitted_or_co_submitted(personas):
    alice = await personas.get("alice_support")
    bob, cora, pat = await council(personas)
    quinn = await _quinn(personas)
    own = await submit(bob, title="Bob's own idea on the agenda")
    other = await submit(alice, title="Alice's idea on the same agenda")
    session = await _session(bob, [bob, cora, pat], confirm=(cora, pat))

    r = await _decide(bob, own, session, "accept", owning_department_id="1")
    assert r.status_code == 403 and "your idea" in r.json()["detail"]
    web = await bob.browser()
    r = await web.form(
        f"/triage/sessions/{session}/ideas/{own}/decision",
        {"outcome": "decline", "note": "Declining my own idea, sneakily."},
    )
    assert r.status_code == 403
    assert (await Idea.select(Idea.status).where(Idea.id == int(own)).run())[0][
        "status"
    ] == "in_review"

    # the page marks it for him, with no decision form; others' ideas have one
    page = await web.get(f"/triage/sessions/{session}")
    item = page.text.split(f'id="agenda-{own}"', 1)[1].split("</article>", 1)[0]
    assert "Your idea: another member decides" in item
    assert "decision-form" not in item and "Accept idea" not in item
    item = page.text.split(f'id="agenda-{other}"', 1)[1].split("</article>", 1)[0]
    assert "Accept idea" in item and "Your idea" not in item
    # ... and nobody else sees the mark
    page = await (await cora.browser()).get(f"/triage/sessions/{session}")
    assert "Your idea" not in page.text and "Accept idea" in page.text

    # the quorum counts only who may decide it: bob's department drops out
    r = await _decide(cora, own, session, "accept", owning_department_id="1")
    assert r.status_code == 409 and "who may decide it" in r.json()["detail"]
    quorum_session = await _session(bob, [bob, cora, pat, quinn], confirm=(cora, pat, quinn))
    r = await _decide(cora, own, quorum_session, "decline", note="Not for this year, sorry.")
    assert r.status_code == 200, r.text
    # alice's idea in the first session: bob may decide it
    r = await _decide(bob, other, session, "decline", note="Not for this year, sorry.")
    assert r.status_code == 200, r.text


async def test_a_merge_does_not_let_a_council_member_decide_the_target(personas):
    """Merging his throwaway idea into alice's makes bob a co-submitter of
    hers: from then on he may not decide it either."""
    alice = await personas.get("alice_support")
    bob, cora, pat = await council(personas)
    target = await submit(alice, title="Alice's idea, soon with a co-submitter")
    throwaway = await submit(bob, title="Bob's throwaway duplicate idea")
    session = await _session(bob, [bob, cora, pat], confirm=(cora, pat))
    # he cannot merge his own idea himself ...
    r = await _decide(bob, throwaway, session, "duplicate", duplicate_of=target)
    assert r.status_code == 403
    quinn = await _quinn(personas)
    second = await _session(cora, [cora, pat, quinn, bob], confirm=(pat, quinn, bob))
    r = await _decide(cora, throwaway, second, "duplicate", duplicate_of=target)
    assert r.status_code == 200, r.text
    # ... nor merge anyone's idea into his own (it would bring his idea votes)
    other = await submit(alice, title="Another idea on the same topic")
    third = await _session(cora, [cora, pat, quinn, bob], confirm=(pat, quinn, bob))
    r = await _decide(bob, other, third, "duplicate", duplicate_of=throwaway)
    assert r.status_code in (403, 409)  # (the throwaway is merged: closed as well)
    own = await submit(bob, title="Bob's own open idea as a target")
    r = await _decide(bob, other, third, "duplicate", duplicate_of=own)
    assert r.status_code == 403 and "your idea" in r.json()["detail"]
    # ... and once a co-submitter, he cannot decide the target
    r = await _decide(bob, target, second, "accept", owning_department_id="1")
    assert r.status_code == 403
    r = await _decide(bob, target, second, "needs_info", question="Who needs this?")
    assert r.status_code == 403
    assert (await bob.api().get(f"/api/v1/ideas/{target}")).json()["status"] == "in_review"


# -- item 3: attendance is confirmed by each attendee ----------------------------------------


async def test_a_session_decides_only_once_its_attendees_confirm(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    bob, cora, pat = await council(personas)
    quinn = await _quinn(personas)
    idea = await submit(alice)
    # bob lists two colleagues who are not there: alone, he cannot decide
    session = await _session(bob, [bob, cora, pat])
    detail = (await bob.api().get(f"/api/v1/triage/sessions/{session}")).json()
    assert {a["id"]: a["confirmed"] for a in detail["attendees"]} == {
        bob.id: True,
        cora.id: False,
        pat.id: False,
    }
    r = await _decide(bob, idea, session, "decline", note="Declined by one member alone.")
    assert r.status_code == 409
    # an unconfirmed attendee cannot decide either
    r = await _decide(cora, idea, session, "decline", note="Declined before confirming.")
    assert r.status_code == 409 and "confirm" in r.json()["detail"]
    assert (await Idea.select(Idea.status).where(Idea.id == int(idea)).run())[0][
        "status"
    ] == "in_review"

    # only a listed attendee confirms, only for themselves
    url = f"/api/v1/triage/sessions/{session}/attend"
    assert (await quinn.api().post(url)).status_code == 403
    assert (await dan.api().post(url)).status_code == 403
    assert (await cora.api().post("/api/v1/triage/sessions/424242/attend")).status_code == 404
    r = await cora.api().post(url)
    assert r.status_code == 200
    assert {a["id"]: a["confirmed"] for a in r.json()["attendees"]}[cora.id] is True
    r = await _decide(bob, idea, session, "decline", note="Still one department short.")
    assert r.status_code == 409

    # pat confirms on the page: a button, then the session decides
    web = await pat.browser()
    page = await web.get(f"/triage/sessions/{session}")
    assert 'data-testid="attend"' in page.text and "Accept idea" not in page.text
    assert 'data-testid="quorum-notice"' in page.text
    r = await web.form(f"/triage/sessions/{session}/attend", {})
    assert r.status_code == 303
    page = await web.get(f"/triage/sessions/{session}")
    assert 'data-testid="attend"' not in page.text and "Accept idea" in page.text
    assert 'data-testid="quorum-notice"' not in page.text
    r = await _decide(bob, idea, session, "decline", note="Declined with a real quorum.")
    assert r.status_code == 200, r.text


# -- item 11: nobody votes for their own idea --------------------------------------------------


async def test_nobody_votes_for_their_own_idea_and_the_refusal_leaves_no_trace(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    bob, cora, pat = await council(personas)
    idea = await submit(alice, title="Alice wants votes for her idea")
    seen_before = (await erin.api().get(f"/api/v1/ideas/{idea}")).json()
    events_before = await Event.count().run()

    r = await alice.api().put(f"/api/v1/ideas/{idea}/vote")
    assert r.status_code == 409 and "own idea" in r.json()["detail"]
    web = await alice.browser()
    r = await web.form(f"/ideas/{idea}/vote", {"action": "vote"})
    assert r.status_code == 409
    r = await web.form(f"/ideas/{idea}/vote", {"action": "vote"}, htmx=True)
    assert r.status_code == 409
    assert await Vote.count().run() == 0
    assert await Event.count().run() == events_before
    # others see exactly what they saw before
    assert (await erin.api().get(f"/api/v1/ideas/{idea}")).json() == seen_before
    # her board shows her own idea's button disabled, marked as hers
    board = await web.get("/")
    button = board.text.split(f'id="vote-{idea}"', 1)[1].split("</button>", 1)[0]
    assert "disabled" in button and "Yours" in button
    page = await (await erin.browser()).get("/")
    button = page.text.split(f'id="vote-{idea}"', 1)[1].split("</button>", 1)[0]
    assert "disabled" not in button and "Yours" not in button

    # a co-submitter (by merge) votes for the target: refused too
    dup = await submit(dan, title="Dan's duplicate of Alice's idea")
    assert (await dan.api().put(f"/api/v1/ideas/{idea}/vote")).status_code == 200
    session = await _session(bob, [bob, cora, pat], confirm=(cora, pat))
    r = await _decide(bob, dup, session, "duplicate", duplicate_of=idea)
    assert r.status_code == 200, r.text
    # his earlier vote went with the merge: a co-submitter has no vote on it
    assert (await erin.api().get(f"/api/v1/ideas/{idea}")).json()["votes"] == 0
    r = await dan.api().put(f"/api/v1/ideas/{idea}/vote")
    assert r.status_code == 409
    assert await Vote.count().where(Vote.idea == int(idea)).run() == 0
    # others still vote
    assert (await erin.api().put(f"/api/v1/ideas/{idea}/vote")).status_code == 200
