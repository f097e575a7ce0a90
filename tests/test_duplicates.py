"""Likely duplicates for the council (ideas/duplicates.py): transitive groups
with a suggested target on the queue and the agenda, the "possible
duplicates" panel, and one action merging a whole group."""

from __future__ import annotations

import datetime as dt

import pytest

from ideas import duplicates, vector_index
from ideas.tables import Event, Idea, Submission, Vote
from tests.factories import submit
from tests.notify_helpers import open_session, vote
from tests.test_semantic import embedder  # noqa: F401  (the session's model)

RESET = (
    "Self-service password reset for the customer portal",
    "Portal users who forget their password have no reset link; they have to call support.",
)
RESET_TWIN = (
    "Customers should be able to reset portal passwords themselves",
    "Nobody can get back into the portal after forgetting the password without phoning us.",
)
RESET_THIRD = (
    "Forgotten portal password: let people recover access alone",
    "Every locked-out portal user calls the helpdesk to get a new password set by hand.",
)
OTHER = (
    "Dark mode for the mobile app",
    "A few users have asked for a dark colour scheme in the app store reviews.",
)


def test_links_make_transitive_groups_in_a_stable_order():
    links = {(1, 2): 0.6, (2, 5): 0.55, (7, 8): 0.9}
    assert duplicates.link_groups(links, [5, 1, 2, 3, 7, 8, 9]) == [[5, 1, 2], [7, 8]]
    assert duplicates.link_groups({}, [1, 2]) == []


def test_the_suggested_target_is_the_most_voted_then_the_oldest():
    day = dt.date(2026, 3, 1)
    rows = [
        {"id": 4, "votes": 2, "submitted_on": day},
        {"id": 9, "votes": 5, "submitted_on": day + dt.timedelta(days=3)},
        {"id": 3, "votes": 5, "submitted_on": day + dt.timedelta(days=1)},
    ]
    assert duplicates.suggested_target(rows)["id"] == 3
    assert duplicates.suggested_target(rows[:1])["id"] == 4


async def _three_twins_and_another(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    ids = [
        await submit(alice, title=RESET[0], problem=RESET[1]),
        await submit(dan, title=RESET_TWIN[0], problem=RESET_TWIN[1]),
        await submit(erin, title=RESET_THIRD[0], problem=RESET_THIRD[1]),
        await submit(alice, title=OTHER[0], problem=OTHER[1]),
    ]
    return ids, (alice, dan, erin)


async def test_the_agenda_gathers_duplicates_and_one_action_merges_the_group(
    personas,
    embedder,  # noqa: F811
):
    ids, (alice, dan, erin) = await _three_twins_and_another(personas)
    carol = await personas.get("carol_leader")
    adam = await personas.get("adam_admin")
    # carol votes for two of the twins, dan and adam for the first: the first is
    # the target
    await vote(carol, ids[0])
    await vote(carol, ids[1])
    await vote(dan, ids[0])
    await vote(adam, ids[0])
    await vector_index.embed_pending()
    bob, session_id = await open_session(personas)
    browser = await bob.browser()
    page = await browser.get(f"/triage/sessions/{session_id}")
    assert 'data-testid="dup-groups"' in page.text
    assert f'data-testid="dup-group-{ids[0]}"' in page.text
    assert f'name="member_ids" value="{ids[3]}"' not in page.text  # the dark mode idea
    for twin in ids[1:3]:
        assert f'name="member_ids" value="{twin}"' in page.text
    # nothing about who submitted them
    for person in (alice, dan, erin):
        for text in person.identity_strings():
            assert text not in page.text.split('data-testid="dup-groups"')[1].split("</section>")[0]
    queue = await browser.get("/triage")
    assert f'data-testid="dup-group-{ids[0]}"' in queue.text

    r = await browser.form(
        f"/triage/sessions/{session_id}/merge-group",
        {"target_id": ids[0], "member_ids": [ids[0], ids[1], ids[2]]},
    )
    assert r.status_code == 303, r.text
    statuses = {
        r["id"]: (r["status"], r["duplicate_of"], r["votes"])
        for r in await Idea.select(Idea.id, Idea.status, Idea.duplicate_of, Idea.votes).run()
    }
    assert statuses[int(ids[1])] == ("duplicate", int(ids[0]), 0)
    assert statuses[int(ids[2])] == ("duplicate", int(ids[0]), 0)
    assert statuses[int(ids[3])][0] == "in_review"
    # carol's two votes count once on the target; adam's is there too; dan's is
    # dropped: his twin made him a co-submitter, and nobody votes for his own idea
    assert statuses[int(ids[0])][2] == 2
    voters = await Vote.select(Vote.user).where(Vote.idea == int(ids[0])).run()
    assert sorted(str(v["user"]) for v in voters) == sorted([carol.id, adam.id])
    # every merged submitter is credited on the target and told (one event each)
    co = await Submission.select(Submission.user).where(Submission.idea == int(ids[0])).run()
    assert {str(r["user"]) for r in co} == {alice.id, dan.id, erin.id}
    merged_events = await Event.select(Event.idea).where(Event.status == "duplicate").run()
    assert sorted(str(e["idea"]) for e in merged_events) == sorted(ids[1:3])
    after = await browser.get(f"/triage/sessions/{session_id}")
    assert 'data-testid="dup-groups"' not in after.text


async def test_a_group_that_cannot_be_merged_is_not_merged_at_all(
    personas,
    embedder,  # noqa: F811
):
    ids, _ = await _three_twins_and_another(personas)
    await vector_index.embed_pending()
    bob, session_id = await open_session(personas)
    # one member was declined meanwhile: the whole merge is refused
    await Idea.update({Idea.status: "declined"}).where(Idea.id == int(ids[2])).run()
    browser = await bob.browser()
    r = await browser.form(
        f"/triage/sessions/{session_id}/merge-group",
        {"target_id": ids[0], "member_ids": [ids[0], ids[1], ids[2]]},
    )
    assert r.status_code == 409 and "Nothing was merged" in r.text
    status = await Idea.select(Idea.status).where(Idea.id == int(ids[1])).first().run()
    assert status["status"] == "in_review"
    bad = await browser.form(
        f"/triage/sessions/{session_id}/merge-group", {"target_id": ids[0], "member_ids": ids[0]}
    )
    assert bad.status_code == 422 and "member_ids" in bad.text


async def test_the_idea_page_shows_possible_duplicates_to_the_council_only(
    personas,
    embedder,  # noqa: F811
):
    ids, (alice, _, _) = await _three_twins_and_another(personas)
    await vector_index.embed_pending()
    bob = await personas.get("bob_finance_council")
    council = await bob.browser()
    page = await council.get(f"/ideas/{ids[0]}")
    assert f'hx-get="/triage/ideas/{ids[0]}/duplicates"' in page.text
    panel = await council.htmx_get(f"/triage/ideas/{ids[0]}/duplicates")
    assert panel.status_code == 200
    assert f'href="/ideas/{ids[1]}"' in panel.text and f'href="/ideas/{ids[3]}"' not in panel.text
    assert f'href="/ideas/{ids[0]}"' not in panel.text  # not itself
    staff = await alice.browser()
    assert "/duplicates" not in (await staff.get(f"/ideas/{ids[0]}")).text
    assert (await staff.get(f"/triage/ideas/{ids[0]}/duplicates")).status_code == 403


@pytest.mark.parametrize("model", [False])
async def test_without_vectors_the_groups_come_from_words(personas, model):
    ids, _ = await _three_twins_and_another(personas)
    rows = await Idea.select(Idea.id, Idea.title, Idea.problem, Idea.votes, Idea.submitted_on).run()
    groups = await duplicates.groups_of(rows)
    grouped = {m for g in groups for m in g.members}
    assert int(ids[3]) not in grouped
    assert grouped and grouped <= {int(i) for i in ids[:3]}


# -- batch decline ------------------------------------------------------------------------

REASON = "Outside what this quarter's roadmap can take on."


async def test_batch_decline_declines_the_selected_ideas_with_one_reason_or_none(personas):
    alice = await personas.get("alice_support")
    ids = [
        await submit(alice, title=f"Batch idea number {n} for customers", problem=RESET[1])
        for n in range(3)
    ]
    bob, session_id = await open_session(personas)
    browser = await bob.browser()
    page = await browser.get(f"/triage/sessions/{session_id}")
    assert 'id="batch-decline"' in page.text and 'form="batch-decline"' in page.text
    # a short reason: nothing declined
    short = await browser.form(
        f"/triage/sessions/{session_id}/batch-decline", {"idea_ids": ids[:2], "note": "No."}
    )
    assert short.status_code == 422 and "Nothing was declined" in short.text
    none = await browser.form(f"/triage/sessions/{session_id}/batch-decline", {"note": REASON})
    assert none.status_code == 422 and "idea_ids" in none.text
    assert await Idea.count().where(Idea.status == "declined").run() == 0
    r = await browser.form(
        f"/triage/sessions/{session_id}/batch-decline", {"idea_ids": ids[:2], "note": REASON}
    )
    assert r.status_code == 303
    rows = {r["id"]: r["status"] for r in await Idea.select(Idea.id, Idea.status).run()}
    assert [rows[int(i)] for i in ids] == ["declined", "declined", "in_review"]
    notes = await Event.select(Event.note).where(Event.status == "declined").run()
    assert [n["note"] for n in notes] == [REASON, REASON]
