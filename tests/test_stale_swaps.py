"""HTMX answers update everything they change (issue 17, item 6): after the
submitter answers the council's question the status and the timeline follow
(out of band); the "Credited to…" banner appears with the credit choice; a
merge target's vote count on the session page follows the merge. (Opening
an idea from a notice marks it read: tests/test_follow.py.)"""

from __future__ import annotations

import re

from tests.factories import submit
from tests.notify_helpers import decide, open_session, vote
from tests.test_delivery import accepted, ship_it


def oob(html: str, element_id: str) -> str:
    """The content of the out-of-band element with this id in an HTMX answer
    ('' if none): up to the next out-of-band element or the end."""
    start = re.search(rf'<(\w+) id="{element_id}"[^>]*hx-swap-oob="true"[^>]*>', html)
    if not start:
        return ""
    rest = html[start.end() :]
    following = re.search(r"<\w+ [^>]*hx-swap-oob=", rest)
    rest = rest[: following.start()] if following else rest
    return rest.strip().removesuffix(f"</{start.group(1)}>").strip()


async def test_answering_the_question_refreshes_status_and_timeline(personas):
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "needs_info", question="What does the customer see now?")
    web = await alice.browser()
    page = (await web.get(f"/ideas/{idea}")).text
    assert f'id="idea-status-{idea}"' in page and f'id="idea-timeline-{idea}"' in page
    mine = (await web.get("/me/ideas")).text  # the form is on My ideas too: same ids there
    assert f'id="idea-status-{idea}"' in mine and f'id="idea-timeline-{idea}"' in mine

    refused = await web.form(f"/ideas/{idea}/answer", {"answer": ""}, htmx=True)
    assert oob(refused.text, f"idea-status-{idea}") == ""  # nothing changed: nothing swapped
    r = await web.form(
        f"/ideas/{idea}/answer", {"answer": "A blank field on the invoice."}, htmx=True
    )
    assert r.status_code == 200
    assert oob(r.text, f"idea-status-{idea}") == "In review"
    timeline = oob(r.text, f"idea-timeline-{idea}")
    assert "Needs info" in timeline and "In review" in timeline and "by Submitter" in timeline
    assert alice.name not in r.text


async def test_credit_choice_shows_the_banner_without_a_reload(personas):
    alice, bob, erin, idea = await accepted(personas)
    await ship_it(bob, erin, idea)
    web = await alice.browser()
    page = (await web.get(f"/ideas/{idea}")).text
    assert f'<div id="idea-credited-{idea}"></div>' in page
    r = await web.form(f"/ideas/{idea}/credit", {"credit": "yes"}, htmx=True)
    assert r.status_code == 200
    banner = oob(r.text, f"idea-credited-{idea}")
    assert f"Credited to {alice.name}" in banner
    r = await web.form(f"/ideas/{idea}/credit", {"credit": "no"}, htmx=True)
    assert oob(r.text, f"idea-credited-{idea}").strip() == ""


async def test_merge_refreshes_the_target_vote_count_on_the_session_page(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    carol = await personas.get("carol_leader")
    target = await submit(alice, title="Invoices in the customer's language")
    duplicate = await submit(dan, title="Translated invoices for customers")
    await vote(erin, duplicate)
    # carol, not dan: dan becomes a co-submitter of the target by the merge, and
    # a new co-submitter's vote on the target is dropped (ideas.triage.merge.merge_into)
    await vote(carol, target)
    bob, session = await open_session(personas)
    web = await bob.browser()
    page = (await web.get(f"/triage/sessions/{session}")).text
    assert f'<span id="agenda-votes-{target}">1 vote</span>' in page
    r = await web.form(
        f"/triage/sessions/{session}/ideas/{duplicate}/decision",
        {"outcome": "duplicate", "duplicate_of": target, "note": ""},
        htmx=True,
    )
    assert r.status_code == 200, r.text
    assert oob(r.text, f"agenda-votes-{target}") == "2 votes"
