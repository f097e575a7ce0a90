"""The board's idea cards: the parts every viewer sees alike are rendered
once and kept (web/templating.py CardParts); the vote state, "Yours" and the
submitter's pending note are filled in per request and never kept."""

from __future__ import annotations

import re

from ideas.tables import Idea
from tests.factories import submit
from tests.notify_helpers import vote


def card(page: str, idea_id: str) -> str:
    match = re.search(
        rf'<article class="card idea-card" id="idea-{idea_id}".*?</article>', page, re.S
    )
    assert match, f"no card for idea {idea_id}"
    return match.group(0)


def kept_parts(app) -> list[str]:
    env = app.template_engine.engine
    return [str(part) for parts in env.globals["card_parts"].kept.values() for part in parts]


async def test_one_viewers_vote_and_yours_never_reach_another(app, personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    dan = await personas.get("dan_sales")
    idea_id = await submit(alice)
    await vote(bob, idea_id)
    browsers = {p.key: await p.browser() for p in (alice, bob, dan)}
    # the submitter first, then a voter, then someone who did neither: each
    # card after the first is built from the kept parts
    mine = card((await browsers["alice_support"].get("/")).text, idea_id)
    voted = card((await browsers["bob_finance_council"].get("/")).text, idea_id)
    plain = card((await browsers["dan_sales"].get("/")).text, idea_id)

    assert ">Yours</span>" in mine
    assert ">Yours</span>" not in voted and ">Yours</span>" not in plain
    assert 'aria-pressed="true"' in voted
    assert 'aria-pressed="false"' in plain and 'aria-pressed="false"' in mine
    # the parts every viewer shares are the same bytes in all three cards
    for part in kept_parts(app):
        if f'id="idea-{idea_id}-title"' in part or f"/ideas/{idea_id}#" in part:
            assert part in mine and part in voted and part in plain
    # blind promise: nothing submitter- or viewer-specific is kept
    kept = "".join(kept_parts(app))
    assert f"idea-{idea_id}-title" in kept
    for secret in ("Yours", "pending-", "visible to colleagues", "aria-pressed", "_csrf"):
        assert secret not in kept
    for name in (*alice.identity_strings(), *bob.identity_strings()):
        assert name not in kept

    # the submitter again, after the others: still hers alone
    assert ">Yours</span>" in card((await browsers["alice_support"].get("/")).text, idea_id)
    assert ">Yours</span>" not in card((await browsers["dan_sales"].get("/")).text, idea_id)


async def test_a_changed_idea_gets_a_fresh_card(app, personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea_id = await submit(alice, title="Print the PO number on every invoice")
    d = await dan.browser()
    assert "Print the PO number on every invoice" in card((await d.get("/")).text, idea_id)
    await (
        Idea.update({Idea.title: "Print the cost centre on every invoice"})
        .where(Idea.id == int(idea_id))
        .run()
    )
    page = card((await d.get("/")).text, idea_id)
    assert "Print the cost centre on every invoice" in page
    assert "Print the PO number" not in page


async def test_kept_vote_buttons_are_the_macros_output_and_carry_no_csrf(app, personas):
    """The board's vote buttons come from VoteParts: the same bytes as the
    `vote_button` macro (the idea page's, the swap's) for every state, with
    the page's CSRF input put in per request and never kept."""
    import itertools

    from markupsafe import Markup

    env = app.template_engine.engine
    macros = env.get_template("_macros.html").module
    parts = env.globals["vote_parts"]
    csrf = Markup('<input type="hidden" name="_csrf" value="token-of-one-session">')
    states = itertools.product(
        [0, 1, 12], [False, True], [False, True], [None, "/?sort=new&q=a<b"], ["new", "shipped"]
    )
    for votes, voted, can_vote, back, status in states:
        for closed in (False, True):
            head, tail = parts("1234567", votes, voted, can_vote, back, status, closed)
            args = (votes, voted, can_vote, csrf, back, status, closed)
            assert head + csrf + tail == macros.vote_button("1234567", *args)
    kept = "".join(str(p) for pair in parts.kept.values() for p in pair)
    assert "_csrf" not in kept and "token-of-one-session" not in kept

    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea_id = await submit(alice)
    page = (await (await dan.browser()).get("/")).text
    button = card(page, idea_id)
    assert 'name="_csrf_token"' in button  # the page's CSRF input, between the kept halves
    assert 'aria-pressed="false"' in button and ">Vote</span>" in button


async def test_a_card_is_assembled_from_kept_parts_and_this_viewers_marks(app, personas):
    """`idea_card` (web/templating.py CardParts.card) puts a card together
    without a macro call: the kept frame, head and tail, the vote button's
    halves around the page's CSRF input, and "Yours" or the pending note only
    for the viewer they belong to -- rendered per request, never kept. A
    plain string in the CSRF input's place is escaped, not taken as HTML."""
    import datetime as dt

    from markupsafe import Markup

    from ideas.schemas import Can

    env = app.template_engine.engine
    cards = env.globals["card_parts"]
    alice = await personas.get("alice_support")
    idea_id = await submit(alice, title="Say <when> the parcel leaves")
    page = (await (await alice.browser()).get("/")).text
    mine = card(page, idea_id)
    assert mine.count("<article") == 1 and mine.endswith("</article>")
    assert "Say &lt;when&gt; the parcel leaves" in mine and ">Yours</span>" in mine

    class Projected:  # the attributes a card reads of an IdeaOut
        id = "77"
        title = "Print the PO number"
        status = "new"
        touchpoint = "billing"
        comments = 1
        submitted_on = dt.date(2026, 11, 2)
        votes = 3
        voted = False
        is_mine = True
        visible_from = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)
        can = Can(vote=False, takes_votes=True)

    csrf = Markup('<input type="hidden" name="_csrf_token" value="t">')
    whole = str(cards.card(Projected(), csrf, "/?q=a<b"))
    assert whole.startswith('<article class="card idea-card" id="idea-77"')
    assert csrf in whole and ">Yours</span>" in whole and "from 11:00 UTC" in whole
    assert 'value="/?q=a&lt;b"' in whole  # the return address, escaped
    Projected.is_mine, Projected.visible_from = False, None
    Projected.can = Can(vote=True, takes_votes=True)
    other = str(cards.card(Projected(), csrf, None))
    assert "Yours" not in other and "pending-" not in other and ">Vote</span>" in other
    assert "<script>" not in str(cards.card(Projected(), "<script>", None))
    kept = "".join(str(p) for parts in cards.kept.values() for p in parts)
    assert "Yours" not in kept and "visible to colleagues" not in kept and "_csrf" not in kept
