"""Every output that carries an idea goes through the one projection
(ideas/blind.py): with a marker planted in it — every idea the projection
builds has its title wrapped as "⟦P⟧<title>" — each output below must show
the marked title, and never the bare one. An output that builds its own idea
text from the table shows the bare title and fails here.

The marker is planted where the projection builds each idea
(`ideas.blind._card`); a producer goes through the projection by calling
`blind_ideas` / `blind_idea` / `blind_rows` (anything in ideas/blind.py that
builds them);
notices, e-mail and the digest through `blind.idea_text` / `idea_texts`
(`IdeaText`), which carries the same marker.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from markupsafe import escape

from ideas import blind, clock, reveal
from ideas.integrations import webhooks
from ideas.notify import digest
from tests.factories import IDEA, ctx_for, index_terms_as_the_worker, submit
from tests.notify_helpers import (
    body_text,
    clear_outbox,
    decide,
    drain,
    notices,
    open_session,
    vote,
)
from tests.test_notify import next_digest_moment, worker
from tests.test_slack import fake_slack  # noqa: F401 - a fixture
from tests.test_webhooks import (  # noqa: F401 - fixtures
    fast_retries,
    loopback_allowed,
    receiver,
    ship_idea,
)

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")

MARK = "⟦P⟧"
#: no character HTML or Slack escapes, so the pages show it as it is
TITLE = "Show the delivery window on every order confirmation"


@pytest.fixture(autouse=True)
def marked(monkeypatch):
    """Every idea the projection builds carries the marker in its title."""
    original = blind._card

    def projected(*args, **fields):
        card = original(*args, **fields)
        card.title = MARK + card.title
        return card

    monkeypatch.setattr(blind, "_card", projected)
    # notices, e-mail and the digest show an idea as the projection's IdeaText
    original_text = blind.IdeaText

    def projected_text(idea_id, title, *rest, **fields):
        return original_text(idea_id, MARK + title, *rest, **fields)

    monkeypatch.setattr(blind, "IdeaText", projected_text)


@pytest.fixture(autouse=True)
def empty_outbox():
    clear_outbox()
    yield


def assert_marked(text: str, title: str = TITLE) -> None:
    """The output carries the idea's title, and only as the projection
    built it (as is, or HTML-escaped)."""
    forms = {title, str(escape(title))}
    assert any(MARK + f in text for f in forms), f"the projection's title is not in:\n{text}"
    bare = text
    for f in forms:
        bare = bare.replace(MARK + f, "")
    for f in forms:
        assert f not in bare, f"an idea title built outside the projection in:\n{text}"


# -- pages, fragments, JSON -------------------------------------------------------------------


async def test_the_board_page_and_its_fragment(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    await submit(alice, title=TITLE)
    web = await dan.browser()
    assert_marked((await web.get("/")).text)
    assert_marked((await web.htmx_get("/")).text)


async def test_the_idea_page(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice, title=TITLE)
    r = await (await dan.browser()).get(f"/ideas/{idea}")
    assert r.status_code == 200
    assert_marked(r.text)


async def test_the_ideas_merged_into_an_idea(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    target = await submit(alice, title="Invoices in the customer's language")
    duplicate = await submit(dan, title=TITLE)
    bob, session = await open_session(personas)
    await decide(bob, duplicate, session, "duplicate", duplicate_of=target, note="")
    page = (await (await dan.browser()).get(f"/ideas/{target}")).text
    merged = re.search(r'<section class="merged".*?</section>', page, re.S)
    assert merged, "no list of merged ideas on the idea page"
    assert_marked(merged.group(0))
    assert_marked(page)


async def test_the_reveal_page(personas):
    alice = await personas.get("alice_support")
    adam = await personas.get("adam_admin")
    idea = await submit(alice, title=TITLE)
    web = await adam.browser()
    assert_marked((await web.get(f"/admin/ideas/{idea}/reveal")).text)
    r = await web.form(
        f"/admin/ideas/{idea}/reveal", {"reason": "A legal request about this idea."}
    )
    assert r.status_code == 200, r.text
    assert 'data-testid="revealed"' in r.text
    assert_marked(r.text)
    # the reveal's own answer names the idea as the projection shows it too
    revealed = await reveal.reveal_submitter(
        ctx_for(adam.viewer), int(idea), "A second legal request about this idea."
    )
    assert_marked(revealed.idea_title)


async def test_the_similar_ideas_fragment(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    await submit(alice, title=TITLE)
    await index_terms_as_the_worker()  # its similar-search terms (ideas.term_index)
    web = await dan.browser()
    r = await web.htmx_get("/fragments/similar?title=delivery+window+order+confirmation")
    assert_marked(r.text)


async def test_the_json_api_list_and_get(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice, title=TITLE)
    listed = (await dan.api().get("/api/v1/ideas")).json()
    assert [i["title"] for i in listed["items"]] == [MARK + TITLE]
    got = (await dan.api().get(f"/api/v1/ideas/{idea}")).json()
    assert got["title"] == MARK + TITLE
    # the `can` flags the projection fills for the pages are not in the JSON
    assert "can" not in got and "_can" not in got


async def test_the_triage_session_agenda(personas):
    alice = await personas.get("alice_support")
    await submit(alice, title=TITLE)
    bob, session = await open_session(personas)
    r = await (await bob.browser()).get(f"/triage/sessions/{session}")
    assert r.status_code == 200
    # the merge picker is its own output (below)
    agenda = re.sub(r'<datalist id="merge-targets".*?</datalist>', "", r.text, flags=re.S)
    assert_marked(agenda)


async def test_the_merge_picker(personas):
    alice = await personas.get("alice_support")
    await submit(alice, title=TITLE)
    bob, session = await open_session(personas)
    page = (await (await bob.browser()).get(f"/triage/sessions/{session}")).text
    picker = re.search(r'<datalist id="merge-targets".*?</datalist>', page, re.S)
    assert picker, "no merge picker on the session page"
    assert_marked(picker.group(0))


# -- exports ----------------------------------------------------------------------------------


async def test_the_leadership_csv(personas):
    alice = await personas.get("alice_support")
    carol = await personas.get("carol_leader")
    await submit(alice, title=TITLE)
    r = await carol.api().get("/api/v1/export/ideas.csv")
    assert r.status_code == 200, r.text
    titles = [row.get("title", "") for row in csv.DictReader(io.StringIO(r.text))]
    assert titles, r.text
    assert_marked("\n".join(titles))


# -- notices, e-mail, digest ------------------------------------------------------------------


async def test_the_inbox_notice(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice, title=TITLE)
    await vote(dan, idea)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "decline", note="Not this year, sorry.")
    await drain()
    texts = [n["text"] for n in await notices(user=dan.viewer.id)]
    assert texts
    assert_marked("\n".join(texts))
    page = (await (await dan.browser()).get("/me/notifications")).text
    assert_marked(page)


async def test_the_action_owners_email(personas, smtp_sink):
    """The submitter's and voters' mail names no idea (issue 13); the owner
    of an action, whose relation to it is no secret, is told its title."""
    import email
    import email.policy

    alice = await personas.get("alice_support")
    erin = await personas.get("erin_it")
    idea = await submit(alice, title=TITLE)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "accept", owning_department_id=str(bob.viewer.department_id))
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/actions",
        json={"title": "Add the window", "owner_id": erin.id, "due_on": str(clock.today())},
    )
    assert r.status_code == 201, r.text
    await drain()
    to_erin = [
        body_text(email.message_from_bytes(raw, policy=email.policy.default))
        for rcpts, raw in smtp_sink.raw
        if rcpts == [erin.email]
    ]
    assert to_erin, "no mail reached the action's owner"
    assert_marked("\n".join(to_erin))


async def test_the_weekly_digest(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    await submit(alice, title=TITLE)
    moment = next_digest_moment()
    run = await digest.send_weekly_digest(worker(moment + dt.timedelta(hours=2)))
    assert run.outcome == "done"
    digests = [n["text"] for n in await notices(kind="weekly_digest", user=bob.viewer.id)]
    assert digests
    assert_marked("\n".join(digests))


# -- channels ---------------------------------------------------------------------------------


async def test_the_webhook_payload(personas, loopback_allowed, receiver, fast_retries):  # noqa: F811
    admin = await personas.get("adam_admin")
    made = await webhooks.create_endpoint(
        ctx_for(admin.viewer), receiver.url("/ok"), ["idea.shipped", "idea.status_changed"]
    )
    receiver.secrets["/ok"] = made.secret
    alice = await personas.get("alice_support")
    await ship_idea(personas, alice)
    await drain()
    got = receiver.at("/ok")
    assert got
    for delivery in got:
        assert_marked(json.dumps(delivery.json["data"]["idea"], ensure_ascii=False), IDEA["title"])


async def test_the_slack_message(personas, fake_slack):  # noqa: F811
    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(ctx_for(admin.viewer), "C0SHIPPED", [], "slack")
    alice = await personas.get("alice_support")
    await ship_idea(personas, alice)
    await drain()
    [post] = fake_slack.of("chat.postMessage")
    assert_marked(json.dumps(post, ensure_ascii=False), IDEA["title"])


async def test_the_teams_message(personas, loopback_allowed, receiver, fast_retries):  # noqa: F811
    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(ctx_for(admin.viewer), receiver.url("/ok"), [], "teams")
    alice = await personas.get("alice_support")
    await ship_idea(personas, alice)
    await drain()
    [got] = receiver.at("/ok")
    assert_marked(json.dumps(got.json, ensure_ascii=False), IDEA["title"])
