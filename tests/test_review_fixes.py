"""Fixes from the first review: comment labels frozen at write time (a merge
must not unmask anyone), times on ideas given to the day, forged cursors,
anchored CSRF exclusions, and 404 before anything else for an unknown idea."""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import re

import pytest

from ideas import clock
from ideas.tables import Comment, Notification
from tests.factories import idea_payload, submit
from tests.notify_helpers import council, decide, drain, open_session

MIGRATIONS = "ideas.piccolo_migrations"


def midnight(value: str) -> dt.datetime:
    """Parse an API time and check it is midnight UTC of its day."""
    at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert at.utcoffset() == dt.timedelta(0), value
    assert (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0), value
    return at


def forged(data: dict | str) -> str:
    raw = data if isinstance(data, str) else json.dumps(data)
    return base64.urlsafe_b64encode(raw.encode()).decode()


# -- L1: a merge does not turn a named comment into "Submitter" --------------------------


async def test_a_merge_keeps_the_names_on_comments_written_before_it(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    target = await submit(alice, title="Put the PO number on every invoice")
    url = f"/api/v1/ideas/{target}/comments"
    r = await dan.api().post(url, json={"body": "Our customers ask for this every week."})
    assert r.status_code == 201 and r.json()["author"] == dan.name

    # dan's own idea B is merged into A: dan becomes a co-submitter of A
    duplicate = await submit(dan, title="Show the purchase order number on invoices")
    bob, session = await open_session(personas)
    await decide(bob, duplicate, session, "duplicate", duplicate_of=target)

    # his earlier comment still shows his name, to everyone: "Submitter" there
    # would tell every reader who submitted the duplicate
    for reader in (erin, bob, alice, dan):
        items = (await reader.api().get(url)).json()["items"]
        assert [(c["author"], c["body"]) for c in items] == [
            (dan.name, "Our customers ask for this every week.")
        ]
        fragment = await (await reader.browser()).htmx_get(f"/fragments/ideas/{target}/comments")
        assert fragment.status_code == 200
        authors = re.findall(r'<strong class="comment-author">([^<]*)</strong>', fragment.text)
        assert authors == [dan.name]

    # what he writes as a co-submitter shows as "Co-submitter": never as
    # "Submitter" (issue 13, item 3: a merge lends no voice), never by name
    r = await dan.api().post(url, json={"body": "Happy to share the customer list."})
    assert r.json()["author"] == "Co-submitter"
    items = (await erin.api().get(url)).json()["items"]
    assert [c["author"] for c in items] == [dan.name, "Co-submitter"]
    assert [r["by_submitter"] for r in await Comment.select(Comment.by_submitter).run()] == [
        False,
        False,
    ]


async def test_the_backfill_keeps_every_existing_label(personas):
    """The migration that fills `by_submitter` for comments written before
    it labels them as they showed until then: by the current submitters."""
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = int(await submit(alice))
    await Comment.insert(
        Comment(idea=idea, author=alice.viewer.id, body="mine"),
        Comment(idea=idea, author=dan.viewer.id, body="his"),
    ).run()
    module = importlib.import_module(f"{MIGRATIONS}.ideas_2026_11_23t01_45_01_000000")
    await (await module.forwards()).run()
    rows = await Comment.select(Comment.body, Comment.by_submitter).order_by(Comment.id).run()
    assert [(r["body"], r["by_submitter"]) for r in rows] == [("mine", True), ("his", False)]
    items = (await dan.api().get(f"/api/v1/ideas/{idea}/comments")).json()["items"]
    assert [c["author"] for c in items] == ["Submitter", dan.name]


async def test_the_new_migrations_are_applied():
    from piccolo.apps.migrations.tables import Migration

    names = {r["name"] for r in await Migration.select(Migration.name).run()}
    assert {"2026-11-23T01:45:00:000000", "2026-11-23T01:45:01:000000"} <= names


# -- L2: times on ideas are given to the day -----------------------------------------------


async def test_comment_and_event_times_are_given_to_the_day(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "needs_info", question="Which customers asked for it?")
    r = await alice.api().post(f"/api/v1/ideas/{idea}/answer", json={"answer": "The big ones."})
    assert r.status_code == 200, r.text
    r = await alice.api().post(f"/api/v1/ideas/{idea}/comments", json={"body": "More soon."})
    assert r.status_code == 201
    today = clock.today()
    assert midnight(r.json()["at"]).date() == today

    comments = (await dan.api().get(f"/api/v1/ideas/{idea}/comments")).json()["items"]
    events = (await dan.api().get(f"/api/v1/ideas/{idea}/events")).json()["items"]
    assert len(comments) == 1 and len(events) == 3  # in review, question, answered
    for item in [*comments, *events]:
        assert midnight(item["at"]).date() == today


async def test_the_council_hears_of_an_answer_to_the_day_only(personas):
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "needs_info", question="Which customers asked for it?")
    await drain()
    r = await alice.api().post(f"/api/v1/ideas/{idea}/answer", json={"answer": "The big ones."})
    assert r.status_code == 200, r.text
    await drain()
    # council_answer is about the submitter's doing: the day only
    items = (await bob.api().get("/api/v1/me/notifications")).json()["items"]
    answers = [i for i in items if i["kind"] == "council_answer"]
    assert len(answers) == 1
    midnight(answers[0]["at"])
    # the submitter's own notices (the council's doing, sent to her) keep their time
    rows = await Notification.select(Notification.created_at).where(
        Notification.user == alice.viewer.id
    )
    exact = {r["created_at"].replace(tzinfo=dt.UTC) for r in rows}
    mine = (await alice.api().get("/api/v1/me/notifications")).json()["items"]
    assert {dt.datetime.fromisoformat(i["at"].replace("Z", "+00:00")) for i in mine} == {
        at.astimezone(dt.UTC) for at in exact
    }


async def test_the_inbox_cursor_carries_no_time(personas):
    members = await council(personas)
    bob = members[0]
    await Notification.insert(
        *[
            Notification(
                user=bob.viewer.id,
                kind="council_answer",
                text=f"Notice number {n}",
                dedup_key=f"test:{n}",
            )
            for n in range(3)
        ]
    ).run()
    api = bob.api()
    first = (await api.get("/api/v1/me/notifications", params={"limit": 2})).json()
    cursor = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    assert set(cursor) == {"i"}
    second = (
        await api.get(
            "/api/v1/me/notifications", params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [i["text"] for i in [*first["items"], *second["items"]]] == [
        "Notice number 2",
        "Notice number 1",
        "Notice number 0",
    ]
    # another person's notice id is no cursor of yours
    alice = await personas.get("alice_support")
    r = await alice.api().get("/api/v1/me/notifications", params={"cursor": first["next_cursor"]})
    assert r.status_code in (400, 422) and "cursor" in r.text


# -- C1: forged cursors are refused, never a 500 -------------------------------------------

BAD_NUMBERS = [10**30, 2**31, -1, -(10**30), 1.5e300, "9" * 40]


@pytest.mark.parametrize("number", BAD_NUMBERS)
async def test_forged_cursor_numbers_are_refused(personas, number):
    alice = await personas.get("alice_support")
    bob = (await council(personas))[0]
    await submit(alice)
    api = alice.api()
    cursors = {
        "top": forged({"v": number, "i": 1}),
        "top-id": forged({"v": 1, "i": number}),
        "new": forged({"i": number}),
        "trending": forged({"o": number}),
    }
    for sort in ("top", "new", "trending"):
        for name, cursor in cursors.items():
            if not name.startswith(sort):
                continue
            r = await api.get("/api/v1/ideas", params={"sort": sort, "cursor": cursor})
            assert r.status_code in (400, 422) and "cursor" in r.text, (sort, number, r.text)
    r = await api.get("/api/v1/me/ideas", params={"cursor": cursors["new"]})
    assert r.status_code in (400, 422) and "cursor" in r.text
    r = await api.get("/api/v1/me/notifications", params={"cursor": cursors["new"]})
    assert r.status_code in (400, 422) and "cursor" in r.text
    r = await bob.api().get("/api/v1/triage/queue", params={"cursor": cursors["trending"]})
    assert r.status_code in (400, 422) and "cursor" in r.text
    # the pages answer too, without a server error
    web = await bob.browser()
    for path, cursor in (
        ("/", cursors["top"]),
        ("/shipped", cursors["trending"]),
        ("/triage", cursors["trending"]),
        ("/me/notifications", cursors["new"]),
    ):
        r = await web.get(path, params={"cursor": cursor})
        assert r.status_code < 500, (path, r.status_code)


async def test_infinity_and_non_numbers_in_a_cursor_are_refused(personas):
    alice = await personas.get("alice_support")
    api = alice.api()
    for raw in ('{"o": Infinity}', '{"o": NaN}', '{"o": true}', '{"o": [1]}', '{"o": "x"}'):
        r = await api.get("/api/v1/ideas", params={"sort": "trending", "cursor": forged(raw)})
        assert r.status_code in (400, 422) and "cursor" in r.text, raw
    for raw in ('{"v": -Infinity, "i": 1}', '{"v": 1}', '{"v": null, "i": 1}'):
        r = await api.get("/api/v1/ideas", params={"sort": "top", "cursor": forged(raw)})
        assert r.status_code in (400, 422) and "cursor" in r.text, raw


async def test_a_real_cursor_at_the_edge_still_works(personas):
    alice = await personas.get("alice_support")
    await submit(alice)
    r = await alice.api().get(
        "/api/v1/ideas", params={"sort": "top", "cursor": forged({"v": 2**31 - 1, "i": 2**31 - 1})}
    )
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    r = await alice.api().get(
        "/api/v1/ideas", params={"sort": "trending", "cursor": forged({"o": 2**31 - 1})}
    )
    assert r.status_code == 200 and r.json()["items"] == []


# -- A1: CSRF exclusions match the start of the path only -----------------------------------


@pytest.mark.parametrize("word", ["health", "api", "schema"])
async def test_a_form_post_whose_path_merely_contains_an_excluded_word_is_csrf_checked(
    personas, word
):
    alice = await personas.get("alice_support")
    web = await alice.browser()
    url = f"/ideas/{word}/vote"
    r = await web.post(url, data={"action": "vote"})  # no token
    assert r.status_code == 403, r.text
    # with the token the same request passes CSRF and meets the route (no such idea)
    r = await web.form(url, {"action": "vote"})
    assert r.status_code == 404


async def test_the_excluded_paths_themselves_still_need_no_csrf_token(personas):
    alice = await personas.get("alice_support")
    web = await alice.browser()
    assert (await web.get("/health")).status_code in (200, 503)
    assert (await web.get("/schema/openapi.json")).status_code == 200
    r = await alice.api().post("/api/v1/ideas", json=idea_payload())
    assert r.status_code == 201


# -- A2: an unknown idea is 404 before the session is looked at ------------------------------


async def test_a_decision_on_an_unknown_idea_is_404_whatever_the_session(personas):
    alice = await personas.get("alice_support")
    await submit(alice)
    bob, session = await open_session(personas)
    api = bob.api()
    for session_id in (session, "424242", "nope"):
        r = await api.post(
            "/api/v1/ideas/99999/decision",
            json={"session_id": session_id, "outcome": "decline", "note": "x" * 30},
        )
        assert r.status_code == 404, (session_id, r.text)
    # a council member who does not attend the session: 404 too, not 403
    erin_council = await personas.make(
        "quinn_council", "Quinn Quorum", "Quality Lead", "Quality", ("council",)
    )
    r = await erin_council.api().post(
        "/api/v1/ideas/99999/decision",
        json={"session_id": session, "outcome": "decline", "note": "x" * 30},
    )
    assert r.status_code == 404, r.text
