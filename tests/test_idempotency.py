"""`Idempotency-Key` on POST creates (docs/api.md, "Added in v1.1"): the same key
from the same caller within 24 hours answers what the first request answered
and creates nothing; the same key with another body is 422. A client that
retries after a timeout (a hung Redis, a dropped connection) creates one
idea, not two."""

from __future__ import annotations

import uuid

from ideas import clock, idempotency
from ideas.tables import ApiToken, Comment, Idea, TriageSession
from tests.factories import PASSWORD, idea_payload
from tests.notify_helpers import council
from tests.test_delivery import accepted


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def twice(api, url: str, body: dict, headers: dict | None = None):
    headers = headers or key()
    first = await api.post(url, json=body, headers=headers)
    second = await api.post(url, json=body, headers=headers)
    return first, second


async def test_a_repeated_create_answers_the_same_and_creates_nothing(personas):
    alice = await personas.get("alice_support")
    first, second = await twice(alice.api(), "/api/v1/ideas", idea_payload())
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await Idea.count().run() == 1
    # without the header, or with another key, each request creates
    await alice.api().post("/api/v1/ideas", json=idea_payload())
    await alice.api().post("/api/v1/ideas", json=idea_payload(), headers=key())
    assert await Idea.count().run() == 3


async def test_the_same_key_with_another_body_is_422_and_creates_nothing(personas):
    alice = await personas.get("alice_support")
    headers = key()
    first = await alice.api().post("/api/v1/ideas", json=idea_payload(), headers=headers)
    other = idea_payload(title="Let customers download all invoices at once")
    second = await alice.api().post("/api/v1/ideas", json=other, headers=headers)
    assert first.status_code == 201 and second.status_code == 422
    assert "Idempotency-Key" in second.json()["detail"]
    assert await Idea.count().run() == 1


async def test_keys_belong_to_their_caller_and_route(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    headers = key()
    a = await alice.api().post("/api/v1/ideas", json=idea_payload(), headers=headers)
    d = await dan.api().post("/api/v1/ideas", json=idea_payload(), headers=headers)
    assert a.status_code == d.status_code == 201 and a.json()["id"] != d.json()["id"]
    c = await dan.api().post(
        f"/api/v1/ideas/{a.json()['id']}/comments",
        json={"body": "Our customers ask for this every week."},
        headers=headers,
    )
    assert c.status_code == 201
    assert await Idea.count().run() == 2 and await Comment.count().run() == 1


async def test_a_refused_first_request_does_not_hold_the_key(personas):
    alice = await personas.get("alice_support")
    headers = key()
    bad = await alice.api().post("/api/v1/ideas", json=idea_payload(title="x"), headers=headers)
    assert bad.status_code == 400
    good = await alice.api().post("/api/v1/ideas", json=idea_payload(), headers=headers)
    assert good.status_code == 201 and await Idea.count().run() == 1


async def test_every_create_route_takes_the_key(personas, client):
    alice, bob, erin, idea_id = await accepted(personas)
    api = bob.api()
    comment = {"body": "The council wants to hear from Finance first."}
    action = {"title": "Add a PO field to checkout", "owner_id": erin.id, "due_on": "2030-01-01"}
    members = await council(personas)
    new_idea = await alice.api().post("/api/v1/ideas", json=idea_payload())
    session = {
        "held_on": clock.today().isoformat(),
        "attendee_ids": [m.id for m in members],
    }
    assert new_idea.status_code == 201
    before = {
        "comments": await Comment.count().run(),
        "sessions": await TriageSession.count().run(),
        "tokens": await ApiToken.count().run(),
    }
    for url, body, who in [
        (f"/api/v1/ideas/{idea_id}/comments", comment, api),
        (f"/api/v1/ideas/{idea_id}/actions", action, api),
        ("/api/v1/triage/sessions", session, api),
        ("/api/v1/auth/token", {"email": alice.email, "password": PASSWORD}, client),
    ]:
        first, second = await twice(who, url, body)
        assert first.status_code == 201, (url, first.text)
        assert (second.status_code, second.json()) == (201, first.json()), url
    assert await Comment.count().run() == before["comments"] + 1
    assert await TriageSession.count().run() == before["sessions"] + 1
    assert await ApiToken.count().run() == before["tokens"] + 1


async def test_stored_answers_do_not_reveal_a_token(client, personas):
    alice = await personas.get("alice_support")
    body = {"email": alice.email, "password": PASSWORD}
    await Idea.raw("DELETE FROM idempotent_request").run()
    first, _ = await twice(client, "/api/v1/auth/token", body)
    token = first.json()["token"]
    rows = await Idea.raw("SELECT * FROM idempotent_request").run()
    assert len(rows) == 1 and token not in str(rows) and alice.email not in str(rows)


async def test_a_key_is_kept_24_hours():
    digest = idempotency.key_digest("secret-key-for-test", "caller", "POST /x", "k")
    now = 1_000_000.0
    assert await idempotency.claim(digest, "body", now=now) is None
    await idempotency.store(digest, 201, "application/json", "")
    held = await idempotency.claim(digest, "body", now=now + idempotency.TTL_S - 1)
    assert held is not None and held.status == 201
    assert await idempotency.claim(digest, "body", now=now + idempotency.TTL_S + 1) is None
