"""The ideas API: create, list, get, similar, vote, events, my ideas."""

from __future__ import annotations

import asyncio

import pytest

from ideas.board.view import get_idea
from ideas.board.vote import unvote, vote
from ideas.context import COMMAND_LINE
from ideas.people import service
from ideas.tables import Vote
from tests.factories import ctx_for, idea_payload, index_terms_as_the_worker, submit


async def test_create_idea_answers_201_with_a_new_idea(personas):
    alice = await personas.get("alice_support")
    r = await alice.api().post("/api/v1/ideas", json=idea_payload())
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "new"
    assert body["votes"] == 0 and body["voted"] is False
    assert body["is_mine"] is True
    assert body["credited_to"] == [] and body["owning_department"] is None
    assert set(body) >= {
        "id",
        "title",
        "problem",
        "proposal",
        "touchpoint",
        "status",
        "votes",
        "voted",
        "submitted_on",
        "owning_department",
        "duplicate_of",
        "is_mine",
        "credited_to",
    }
    assert "T" not in body["submitted_on"]  # a date, not a time


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "short"),
        ("title", "x" * 141),
        ("problem", "too short"),
        ("proposal", "p" * 5001),
        ("touchpoint", "website"),
    ],
)
async def test_create_idea_names_the_bad_field(personas, field, value):
    alice = await personas.get("alice_support")
    api = alice.api()
    r = await api.post("/api/v1/ideas", json=idea_payload(**{field: value}))
    assert r.status_code in (400, 422)
    body = r.json()
    assert field in body["detail"]
    assert any(e["key"] == field for e in body["extra"])
    listed = await api.get("/api/v1/ideas")
    assert listed.json()["items"] == []  # nothing half-written


async def test_create_idea_rejects_unknown_fields_and_malformed_json(personas):
    api = (await personas.get("alice_support")).api()
    r = await api.post("/api/v1/ideas", json=idea_payload(status="shipped"))
    assert r.status_code == 400 and "status" in r.json()["detail"]
    r = await api.post(
        "/api/v1/ideas", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400


async def test_ideas_api_needs_a_token(client):
    assert (await client.get("/api/v1/ideas")).status_code == 401
    assert (await client.post("/api/v1/ideas", json=idea_payload())).status_code == 401
    r = await client.get("/api/v1/ideas", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json()["status_code"] == 401


async def test_get_unknown_idea_is_404(personas):
    api = (await personas.get("alice_support")).api()
    for bad in ("999999", "abc", "-1", "1e3"):
        r = await api.get(f"/api/v1/ideas/{bad}")
        assert r.status_code == 404, bad
        assert (await api.put(f"/api/v1/ideas/{bad}/vote")).status_code == 404
        assert (await api.get(f"/api/v1/ideas/{bad}/events")).status_code == 404


async def test_vote_and_unvote_are_idempotent(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = (await alice.api().post("/api/v1/ideas", json=idea_payload())).json()
    api = dan.api()
    url = f"/api/v1/ideas/{idea['id']}/vote"
    assert (await api.put(url)).json() == {"votes": 1, "voted": True}
    assert (await api.put(url)).json() == {"votes": 1, "voted": True}
    got = (await api.get(f"/api/v1/ideas/{idea['id']}")).json()
    assert got["votes"] == 1 and got["voted"] is True and got["is_mine"] is False
    assert (await api.delete(url)).json() == {"votes": 0, "voted": False}
    assert (await api.delete(url)).json() == {"votes": 0, "voted": False}


async def test_closed_ideas_take_no_votes(personas):
    from ideas.tables import Idea

    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = (await alice.api().post("/api/v1/ideas", json=idea_payload())).json()
    for status in ("declined", "duplicate", "shipped"):
        await Idea.update({Idea.status: status}).where(Idea.id == int(idea["id"])).run()
        r = await dan.api().put(f"/api/v1/ideas/{idea['id']}/vote")
        assert r.status_code == 409
        assert status in r.json()["detail"]


async def test_200_concurrent_votes_are_counted_exactly(personas):
    alice = await personas.get("alice_support")
    idea = (await alice.api().post("/api/v1/ideas", json=idea_payload())).json()
    idea_id = int(idea["id"])
    voters = [
        (await personas.make(f"voter{i}", f"Voter {i}", "Clerk", "Operations")).viewer
        for i in range(200)
    ]
    # every voter votes twice at once: 400 concurrent calls, 200 distinct votes
    results = await asyncio.gather(*[vote(ctx_for(v), idea_id) for v in voters for _ in range(2)])
    assert all(r.voted for r in results)
    row = await get_idea(ctx_for(voters[0]), idea_id)
    assert row.votes == 200
    assert await Vote.count().where(Vote.idea == idea_id).run() == 200
    await asyncio.gather(*[unvote(ctx_for(v), idea_id) for v in voters[:50]])
    assert (await get_idea(ctx_for(voters[0]), idea_id)).votes == 150


async def test_list_filters_sort_search_and_cursor(personas):
    alice = await personas.get("alice_support")
    api = alice.api()
    made = []
    for i in range(7):
        r = await api.post(
            "/api/v1/ideas",
            json=idea_payload(
                title=f"Idea number {i} about {'refunds' if i % 2 else 'invoices'}",
                touchpoint="billing" if i % 2 else "support",
            ),
        )
        made.append(r.json()["id"])
    voters = [await personas.make(f"v{i}", f"V {i}", "Clerk", "Ops") for i in range(3)]
    for n, voter in enumerate(voters):
        for idea_id in made[: n + 1]:
            await voter.api().put(f"/api/v1/ideas/{idea_id}/vote")
    top = (await api.get("/api/v1/ideas?limit=3")).json()
    assert [i["id"] for i in top["items"]] == [made[0], made[1], made[2]]
    assert top["next_cursor"]
    page2 = (await api.get(f"/api/v1/ideas?limit=3&cursor={top['next_cursor']}")).json()
    page3 = (await api.get(f"/api/v1/ideas?limit=3&cursor={page2['next_cursor']}")).json()
    seen = [i["id"] for p in (top, page2, page3) for i in p["items"]]
    assert sorted(seen) == sorted(made) and len(seen) == 7
    assert page3["next_cursor"] is None
    new = (await api.get("/api/v1/ideas?sort=new&limit=2")).json()
    assert [i["id"] for i in new["items"]] == [made[6], made[5]]
    trending = (await api.get("/api/v1/ideas?sort=trending&limit=1")).json()
    assert trending["items"][0]["id"] == made[0]
    billing = (await api.get("/api/v1/ideas?touchpoint=billing")).json()["items"]
    assert {i["touchpoint"] for i in billing} == {"billing"} and len(billing) == 3
    found = (await api.get("/api/v1/ideas?q=REFUNDS")).json()["items"]
    assert len(found) == 3 and all("refunds" in i["title"] for i in found)
    assert (await api.get("/api/v1/ideas?status=new")).json()["items"]
    assert (await api.get("/api/v1/ideas?status=shipped")).json()["items"] == []


@pytest.mark.parametrize(
    "query", ["status=bogus", "touchpoint=web", "sort=best", "limit=0", "limit=101", "cursor=zzz"]
)
async def test_list_rejects_bad_parameters_by_name(personas, query):
    api = (await personas.get("alice_support")).api()
    r = await api.get(f"/api/v1/ideas?{query}")
    assert r.status_code in (400, 422)
    assert query.split("=")[0] in r.json()["detail"]


async def test_similar_suggests_the_near_duplicate(personas):
    alice = await personas.get("alice_support")
    api = alice.api()
    target = (await api.post("/api/v1/ideas", json=idea_payload())).json()
    await api.post(
        "/api/v1/ideas",
        json=idea_payload(
            title="Office plants in the break room",
            problem="The break room feels bare and people do not spend time there.",
            proposal="Buy a few plants and ask a volunteer to water them weekly.",
            touchpoint="other",
        ),
    )
    await index_terms_as_the_worker()  # their similar-search terms (ideas.term_index)
    r = await api.get("/api/v1/ideas/similar", params={"title": "Invoices lack the PO number"})
    assert r.status_code == 200
    items = r.json()["items"]
    assert items and items[0]["id"] == target["id"]
    assert len(items) <= 5
    assert (await api.get("/api/v1/ideas/similar", params={"title": ""})).json()["items"] == []


async def test_events_and_my_ideas(personas):
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = (await alice.api().post("/api/v1/ideas", json=idea_payload())).json()
    r = await alice.api().get(f"/api/v1/ideas/{idea['id']}/events")
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
    mine = (await alice.api().get("/api/v1/me/ideas")).json()
    assert [i["id"] for i in mine["items"]] == [idea["id"]]
    assert (await dan.api().get("/api/v1/me/ideas")).json()["items"] == []


async def test_me_and_departments(personas):
    bob = await personas.get("bob_finance_council")
    me = (await bob.api().get("/api/v1/me")).json()
    assert me["email"] == bob.email and me["title"] == bob.title
    assert me["department"]["name"] == "Finance" and me["department"]["id"]
    assert me["roles"] == ["staff", "council"]
    depts = (await bob.api().get("/api/v1/departments")).json()
    assert {"id", "name"} <= set(depts["items"][0]) and depts["next_cursor"] is None


async def test_token_create_and_revoke(client, personas):
    alice = await personas.get("alice_support")
    r = await client.post(
        "/api/v1/auth/token", json={"email": alice.email, "password": alice.password}
    )
    assert r.status_code == 201
    token = r.json()["token"]
    assert r.json()["user"]["email"] == alice.email
    h = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=h)).status_code == 200
    assert (await client.delete("/api/v1/auth/token", headers=h)).status_code == 200
    assert (await client.get("/api/v1/me", headers=h)).status_code == 401
    bad = await client.post("/api/v1/auth/token", json={"email": alice.email, "password": "x"})
    assert bad.status_code == 401
    missing = await client.post("/api/v1/auth/token", json={"email": alice.email})
    assert missing.status_code == 400 and "password" in missing.json()["detail"]


async def test_deactivated_user_is_refused(client, personas):

    alice = await personas.get("alice_support")
    await service.set_active(ctx_for(COMMAND_LINE), alice.viewer.id, False)
    r = await client.post(
        "/api/v1/auth/token", json={"email": alice.email, "password": alice.password}
    )
    assert r.status_code == 401
    assert (await alice.api().get("/api/v1/me")).status_code == 401


async def test_health_reports_database_and_redis(client):
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "ok" and body["redis"] == "ok"


async def test_health_details_are_for_admins_only(client, personas):
    """The backlog changes with what people do: an activity oracle for
    anyone but admins (issue 13.16)."""
    alice = await personas.get("alice_support")
    adam = await personas.get("adam_admin")
    assert (await alice.api().post("/api/v1/ideas", json=idea_payload())).status_code == 201
    details = ("queue_depth", "oldest_undelivered_event_age_s", "failed_jobs")
    for caller in (client, alice.api(), await alice.browser()):
        body = (await caller.get("/health")).json()
        assert body["status"] == "ok" and all(body[k] is None for k in details), body
    for caller in (adam.api(), await adam.browser()):
        body = (await caller.get("/health")).json()
        assert isinstance(body["queue_depth"], int) and body["failed_jobs"] == {}
        assert "oldest_undelivered_event_age_s" in body


async def test_the_create_answer_is_what_the_submitter_reads_next(personas):
    alice = await personas.get("alice_support")
    created = await alice.api().post("/api/v1/ideas", json=idea_payload())
    assert created.status_code == 201
    read = await alice.api().get(f"/api/v1/ideas/{created.json()['id']}")
    assert read.status_code == 200 and read.json() == created.json()
    assert created.json()["following"] is True and created.json()["comments"] == 0


async def test_a_vote_without_a_body_is_not_read(app, personas):
    """A PUT or DELETE that says it has no body (no length, or 0) reaches its
    handler without the body being read (issue 18.3); one that has a body is
    still read and checked (a NUL in it is refused)."""
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea_id = await submit(alice)
    path = f"/api/v1/ideas/{idea_id}/vote"
    reads = []

    async def answer(method: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> int:
        sent = []

        async def receive():
            reads.append(method)
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"authorization", f"Bearer {dan.token}".encode()),
                *headers,
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
        return sent[0]["status"]

    assert await answer("PUT", []) == 200
    assert await answer("DELETE", [(b"content-length", b"0")]) == 200
    assert reads == []
    with_body = [(b"content-length", b"3"), (b"content-type", b"text/plain")]
    assert await answer("PUT", with_body, b"a\x00b") == 400
    assert reads == ["PUT"]
