"""The board a new user meets (issue 17, item 1): it opens on ideas open for
votes, closed ones are one filter away, cards show their comment count,
"my votes" / "my ideas" filters, a "most discussed" sort, and a closed
idea's vote button says its status."""

from __future__ import annotations

import re

from ideas import comments
from ideas.board.vote import vote
from ideas.comments import CommentIn
from ideas.tables import Idea
from tests.factories import ctx_for, submit
from tests.test_pages import titles_in


async def set_status(idea_id: int, status: str, votes: int = 0) -> None:
    await Idea.update({Idea.status: status, Idea.votes: votes}).where(Idea.id == idea_id).run()


async def world(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    shipped = int(await submit(alice, "Shipped idea with many votes", direct=True))
    await set_status(shipped, "shipped", votes=40)
    declined = int(await submit(dan, "Declined idea with some votes", direct=True))
    await set_status(declined, "declined", votes=20)
    waiting = int(await submit(alice, "Waiting idea from the submitter", direct=True))
    talked = int(await submit(dan, "Talked about idea from dan", direct=True))
    accepted = int(await submit(dan, "Accepted idea still open for votes", direct=True))
    await set_status(accepted, "accepted", votes=3)
    for n in range(3):
        await comments.add_comment(
            ctx_for(dan.viewer), talked, CommentIn(body=f"Comment number {n}")
        )
    await comments.add_comment(ctx_for(alice.viewer), waiting, CommentIn(body="One comment here"))
    return alice, dan, {"shipped": shipped, "declined": declined, "waiting": waiting,
                        "talked": talked, "accepted": accepted}  # fmt: skip


async def test_board_opens_on_ideas_open_for_votes_closed_ones_a_filter_away(personas):
    alice, dan, ids = await world(personas)
    c = await dan.browser()
    board = (await c.get("/")).text
    assert sorted(titles_in(board)) == [
        "Accepted idea still open for votes",
        "Talked about idea from dan",
        "Waiting idea from the submitter",
    ]
    assert '<option value="" selected>Open for votes</option>' in board
    assert 'href="/?status=closed"' in board
    closed = (await c.get("/?status=closed")).text
    assert titles_in(closed) == ["Shipped idea with many votes", "Declined idea with some votes"]
    every = (await c.get("/?status=any")).text
    assert len(titles_in(every)) == 5
    # one status still works as before
    assert titles_in((await c.get("/?status=shipped")).text) == ["Shipped idea with many votes"]


async def test_closed_ideas_vote_button_says_their_status(personas):
    alice, dan, ids = await world(personas)
    c = await dan.browser()
    closed = (await c.get("/?status=closed")).text
    button = re.search(rf'id="vote-{ids["shipped"]}".*?</button>', closed, re.S).group(0)
    assert "disabled" in button
    assert '<span class="label">Shipped</span>' in button
    assert "Closed" not in button
    page = (await c.get(f"/ideas/{ids['declined']}")).text
    assert '<span class="label">Declined</span>' in page


async def test_cards_show_comment_counts_and_most_discussed_sorts_by_them(personas):
    alice, dan, ids = await world(personas)
    c = await dan.browser()
    board = (await c.get("/?sort=discussed")).text
    assert titles_in(board)[:2] == ["Talked about idea from dan", "Waiting idea from the submitter"]
    assert f'href="/ideas/{ids["talked"]}#idea-comments">3 comments' in board
    assert f'href="/ideas/{ids["waiting"]}#idea-comments">1 comment<' in board
    assert f'href="/ideas/{ids["accepted"]}#idea-comments">0 comments' in board
    api = dan.api()
    r = await api.get("/api/v1/ideas", params={"sort": "discussed"})
    assert r.status_code == 200
    first = r.json()["items"][0]
    assert first["id"] == str(ids["talked"]) and first["comments"] == 3


async def test_my_votes_and_my_ideas_filters(personas):
    alice, dan, ids = await world(personas)
    await vote(ctx_for(alice.viewer), ids["talked"])
    c = await alice.browser()
    assert titles_in((await c.get("/?mine=votes")).text) == ["Talked about idea from dan"]
    assert titles_in((await c.get("/?mine=ideas")).text) == ["Waiting idea from the submitter"]
    assert sorted(titles_in((await c.get("/?mine=ideas&status=any")).text)) == [
        "Shipped idea with many votes",
        "Waiting idea from the submitter",
    ]
    # someone else's "my ideas" are theirs: the filter never shows another's
    other = await dan.browser()
    assert "Waiting idea from the submitter" not in titles_in(
        (await other.get("/?mine=ideas")).text
    )
    r = await alice.api().get("/api/v1/ideas", params={"mine": "votes"})
    assert [i["title"] for i in r.json()["items"]] == ["Talked about idea from dan"]
    bad = await alice.api().get("/api/v1/ideas", params={"mine": "theirs"})
    assert bad.status_code in (400, 422) and "mine" in bad.text
