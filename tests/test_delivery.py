"""Delivery API: actions (add, list, move, edit, remove), shipping and credit."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ideas import clock
from ideas.context import COMMAND_LINE
from ideas.people import directory, service
from ideas.tables import Event, Idea, Submission
from tests.factories import confirm_attendance, ctx_for, submit

SHIP_NOTE = "Invoices now carry the customer's PO number on every page."


# -- helpers --------------------------------------------------------------------------


async def force_status(idea_id: str, status: str, department: str = "Finance") -> None:
    """Test shortcut for states this file only needs as a starting point
    (declined, needs_info, shipped without actions ...): set the status and an
    owning department directly. The main path goes through real triage."""
    dept = await directory.department_by_name(department, create=True)
    await (
        Idea.update({Idea.status: status, Idea.owning_department: dept})
        .where(Idea.id == int(idea_id))
        .run()
    )


async def open_session(personas) -> str:
    """A triage session with three council members from three departments
    (the default quorum); its agenda takes the `new` ideas."""
    bob = await personas.get("bob_finance_council")
    cora = await personas.get("cora_hr_council")
    pat = await personas.get("pat_product_council")
    r = await bob.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": str(clock.today()), "attendee_ids": [bob.id, cora.id, pat.id]},
    )
    assert r.status_code == 201, r.text
    await confirm_attendance(r.json()["id"], cora, pat)
    return r.json()["id"]


async def decide(personas, idea_id: str, session_id: str, **decision) -> dict:
    bob = await personas.get("bob_finance_council")
    r = await bob.api().post(
        f"/api/v1/ideas/{idea_id}/decision", json={"session_id": session_id, **decision}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def triage_accept(personas, idea_id: str, department: str = "Finance") -> None:
    """Accept an idea the way the council does: a session, then a decision."""
    session_id = await open_session(personas)
    dept = await directory.department_by_name(department, create=True)
    await decide(personas, idea_id, session_id, outcome="accept", owning_department_id=str(dept))


async def merge(personas, duplicate_id: str, target_id: str) -> None:
    """Merge through triage: the duplicate's submitter becomes a co-submitter."""
    session_id = await open_session(personas)
    await decide(personas, duplicate_id, session_id, outcome="duplicate", duplicate_of=target_id)


async def accepted(personas, status: str = "accepted"):
    """alice submits, the council accepts it (Finance owns it) -- or, for other
    starting states, it is put there directly; bob is council, erin will own
    the actions."""
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    erin = await personas.get("erin_it")
    idea_id = await submit(alice)
    if status == "accepted":
        await triage_accept(personas, idea_id)
    elif status != "new":
        await force_status(idea_id, status)
    return alice, bob, erin, idea_id


async def add(council, idea_id: str, owner, title: str = "Add a PO field to checkout", **kw):
    body = {
        "title": title,
        "owner_id": owner.id,
        "due_on": str(clock.today() + dt.timedelta(days=7)),
    }
    body.update(kw)
    return await council.api().post(f"/api/v1/ideas/{idea_id}/actions", json=body)


async def status_events(idea_id: str) -> list[dict]:
    return (
        await Event.select(Event.kind, Event.status, Event.note, Event.actor_label, Event.public)
        .where(Event.idea == int(idea_id))
        .order_by(Event.id)
        .run()
    )


async def idea_status(idea_id: str) -> str:
    rows = await Idea.select(Idea.status).where(Idea.id == int(idea_id)).run()
    return rows[0]["status"]


# -- adding actions ---------------------------------------------------------------------


async def test_council_adds_an_action_and_the_owner_is_told(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    r = await add(bob, idea_id, erin)
    assert r.status_code == 201, r.text
    action = r.json()
    assert action["title"] == "Add a PO field to checkout"
    assert action["status"] == "todo"
    assert action["idea_id"] == idea_id
    assert action["due_on"] == str(clock.today() + dt.timedelta(days=7))
    assert action["overdue"] is False
    assert action["owner"] == {"id": erin.id, "name": erin.name, "department": "IT"}
    events = [e for e in await status_events(idea_id) if e["kind"] == "action_assigned"]
    assert len(events) == 1 and events[0]["public"] is False
    rows = (
        await Event.select(Event.data)
        .where(Event.kind == "action_assigned")
        .output(load_json=True)
        .run()
    )
    assert rows[0]["data"] == {"action_id": int(action["id"])}
    # assigning is not a step on the public timeline
    timeline = (await bob.api().get(f"/api/v1/ideas/{idea_id}/events")).json()["items"]
    assert [e["status"] for e in timeline] == ["in_review", "accepted"]


async def test_actions_can_be_added_to_in_progress_ideas(personas):
    _alice, bob, erin, idea_id = await accepted(personas, status="in_progress")
    assert (await add(bob, idea_id, erin)).status_code == 201


@pytest.mark.parametrize("status", ["new", "in_review", "needs_info", "declined", "shipped"])
async def test_actions_only_on_accepted_or_in_progress_ideas(personas, status):
    _alice, bob, erin, idea_id = await accepted(personas, status=status)
    r = await add(bob, idea_id, erin)
    assert r.status_code == 409
    assert r.json()["extra"]["current_status"] == status


async def test_adding_an_action_needs_council(personas, client):
    alice, bob, erin, idea_id = await accepted(personas)
    assert (await add(erin, idea_id, erin)).status_code == 403
    assert (await add(alice, idea_id, erin)).status_code == 403
    body = {"title": "Anything at all", "owner_id": erin.id, "due_on": str(clock.today())}
    r = await client.post(f"/api/v1/ideas/{idea_id}/actions", json=body)
    assert r.status_code == 401
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"] == []


async def test_adding_an_action_to_a_missing_idea_is_404(personas):
    _alice, bob, erin, _idea_id = await accepted(personas)
    assert (await add(bob, "999999", erin)).status_code == 404
    assert (await add(bob, "not-an-id", erin)).status_code == 404


async def test_unknown_or_inactive_owner_is_422_naming_owner_id(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    for owner_id in ("00000000-0000-0000-0000-000000000000", "nobody"):
        r = await add(bob, idea_id, erin, owner_id=owner_id)
        assert r.status_code == 422, r.text
        assert "owner_id" in r.json()["detail"]
        assert r.json()["extra"][0]["key"] == "owner_id"
    await service.set_active(ctx_for(COMMAND_LINE), erin.viewer.id, False)
    r = await add(bob, idea_id, erin)
    assert r.status_code == 422 and "owner_id" in r.json()["detail"]
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "ab"), ("title", "x" * 201), ("due_on", "next week"), ("due_on", None)],
)
async def test_bad_action_fields_are_named(personas, field, value):
    _alice, bob, erin, idea_id = await accepted(personas)
    r = await add(bob, idea_id, erin, **{field: value})
    assert r.status_code in (400, 422)
    assert field in r.json()["detail"]
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"] == []


# -- listing --------------------------------------------------------------------------


async def test_any_staff_lists_an_ideas_actions_with_owner_department(personas, client):
    alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    await add(bob, idea_id, erin, title="Print PO on invoices")
    await add(
        bob, idea_id, dan, title="Tell the sales team", due_on=str(clock.today() - dt.timedelta(1))
    )
    r = await alice.api().get(f"/api/v1/ideas/{idea_id}/actions")
    assert r.status_code == 200
    body = r.json()
    assert body["next_cursor"] is None
    items = body["items"]
    assert [(a["title"], a["owner"]["department"], a["overdue"]) for a in items] == [
        ("Print PO on invoices", "IT", False),
        ("Tell the sales team", "Sales", True),
    ]
    assert all("title" not in a["owner"] for a in items)  # the owner's job title is not shown
    assert (await alice.api().get("/api/v1/ideas/424242/actions")).status_code == 404
    assert (await client.get(f"/api/v1/ideas/{idea_id}/actions")).status_code == 401


# -- moving actions -----------------------------------------------------------------------


async def test_first_action_leaving_todo_moves_the_idea_in_progress(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    first = (await add(bob, idea_id, erin)).json()
    second = (await add(bob, idea_id, erin, title="Second step here")).json()
    r = await erin.api().patch(f"/api/v1/actions/{first['id']}", json={"status": "doing"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "doing"
    assert await idea_status(idea_id) == "in_progress"
    timeline = (await alice.api().get(f"/api/v1/ideas/{idea_id}/events")).json()["items"]
    assert [(e["status"], e["actor"]) for e in timeline][-1] == ("in_progress", "System")
    # more moves record no further status event
    await erin.api().patch(f"/api/v1/actions/{second['id']}", json={"status": "doing"})
    await erin.api().patch(f"/api/v1/actions/{first['id']}", json={"status": "done"})
    started = [e for e in await status_events(idea_id) if e["status"] == "in_progress"]
    assert [(e["kind"], e["public"]) for e in started] == [("status", True)]


async def test_an_action_going_straight_to_done_also_starts_the_idea(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    action = (await add(bob, idea_id, erin)).json()
    r = await erin.api().patch(f"/api/v1/actions/{action['id']}", json={"status": "done"})
    assert r.status_code == 200
    # the product's today, read now (a run that crosses midnight keeps working)
    assert r.json()["done_on"] == str(clock.today())
    assert await idea_status(idea_id) == "in_progress"
    back = await erin.api().patch(f"/api/v1/actions/{action['id']}", json={"status": "todo"})
    assert back.json()["status"] == "todo" and back.json()["done_on"] is None
    assert await idea_status(idea_id) == "in_progress"  # no way back to accepted


async def test_council_may_move_any_action(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    cora = await personas.get("cora_hr_council")
    action = (await add(bob, idea_id, erin)).json()
    r = await cora.api().patch(f"/api/v1/actions/{action['id']}", json={"status": "doing"})
    assert r.status_code == 200
    assert await idea_status(idea_id) == "in_progress"


async def test_anyone_but_owner_or_council_gets_403(personas, client):
    alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    carol = await personas.get("carol_leader")
    adam = await personas.get("adam_admin")
    action = (await add(bob, idea_id, erin)).json()
    url = f"/api/v1/actions/{action['id']}"
    for someone in (alice, dan, carol, adam):
        r = await someone.api().patch(url, json={"status": "doing"})
        assert r.status_code == 403, someone.key
    assert (await client.patch(url, json={"status": "doing"})).status_code == 401
    assert await idea_status(idea_id) == "accepted"
    listed = (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"]
    assert listed[0]["status"] == "todo"


async def test_moving_a_missing_action_is_404_and_a_bad_status_is_named(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    action = (await add(bob, idea_id, erin)).json()
    api = erin.api()
    assert (await api.patch("/api/v1/actions/987654", json={"status": "doing"})).status_code == 404
    assert (await api.patch("/api/v1/actions/nope", json={"status": "doing"})).status_code == 404
    r = await api.patch(f"/api/v1/actions/{action['id']}", json={"status": "started"})
    assert r.status_code in (400, 422) and "status" in r.json()["detail"]
    r = await api.patch(f"/api/v1/actions/{action['id']}", json={})
    assert r.status_code == 422 and "status" in r.json()["detail"]


async def test_owner_cannot_edit_only_council_can(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    action = (await add(bob, idea_id, erin)).json()
    url = f"/api/v1/actions/{action['id']}"
    r = await erin.api().patch(url, json={"title": "Something easier"})
    assert r.status_code == 403
    new_due = str(clock.today() + dt.timedelta(days=30))
    r = await bob.api().patch(
        url, json={"title": "Print PO on every page", "owner_id": dan.id, "due_on": new_due}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["title"], body["owner"]["name"], body["due_on"]) == (
        "Print PO on every page",
        dan.name,
        new_due,
    )
    assigned = await Event.select(Event.data).where(Event.kind == "action_assigned").run()
    assert len(assigned) == 2  # the new owner is told too
    r = await bob.api().patch(url, json={"owner_id": "00000000-0000-0000-0000-000000000001"})
    assert r.status_code == 422 and "owner_id" in r.json()["detail"]
    # the old owner no longer moves it; the new one does
    assert (await erin.api().patch(url, json={"status": "doing"})).status_code == 403
    assert (await dan.api().patch(url, json={"status": "doing"})).status_code == 200


async def test_council_removes_actions_others_cannot(personas, client):
    alice, bob, erin, idea_id = await accepted(personas)
    action = (await add(bob, idea_id, erin)).json()
    url = f"/api/v1/actions/{action['id']}"
    assert (await erin.api().delete(url)).status_code == 403
    assert (await alice.api().delete(url)).status_code == 403
    assert (await client.delete(url)).status_code == 401
    assert (await bob.api().delete(url)).status_code == 204
    assert (await bob.api().delete(url)).status_code == 404
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"] == []


# -- shipping -----------------------------------------------------------------------------


async def all_done(bob, erin, idea_id: str, count: int = 1) -> list[dict]:
    actions = [
        (await add(bob, idea_id, erin, title=f"Step number {i}")).json() for i in range(count)
    ]
    for a in actions:
        r = await erin.api().patch(f"/api/v1/actions/{a['id']}", json={"status": "done"})
        assert r.status_code == 200
    return actions


async def test_shipping_needs_at_least_one_action(personas):
    _alice, bob, _erin, idea_id = await accepted(personas)
    r = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={"note": SHIP_NOTE})
    assert r.status_code == 409
    assert "action" in r.json()["detail"]
    assert await idea_status(idea_id) == "accepted"


async def test_shipping_with_open_actions_is_409_and_changes_nothing(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    done, still_open = await all_done(bob, erin, idea_id, count=2)
    await erin.api().patch(f"/api/v1/actions/{still_open['id']}", json={"status": "doing"})
    r = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={"note": SHIP_NOTE})
    assert r.status_code == 409
    assert r.json()["extra"]["open_actions"] == 1
    assert await idea_status(idea_id) == "in_progress"
    rows = await Idea.select(Idea.shipped_at, Idea.ship_note).where(Idea.id == int(idea_id)).run()
    assert rows[0] == {"shipped_at": None, "ship_note": ""}


async def test_council_ships_when_every_action_is_done(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    await all_done(bob, erin, idea_id, count=2)
    r = await bob.api().post(
        f"/api/v1/ideas/{idea_id}/ship",
        json={
            "note": SHIP_NOTE,
            "impact_metric": "invoice calls per week",
            "impact_before": 140,
            "impact_after": 60,
        },
    )
    assert r.status_code == 200, r.text
    idea = r.json()
    assert idea["status"] == "shipped" and idea["id"] == idea_id
    assert idea["credited_to"] == []
    rows = (
        await Idea.select(
            Idea.shipped_at,
            Idea.ship_note,
            Idea.impact_metric,
            Idea.impact_before,
            Idea.impact_after,
        )
        .where(Idea.id == int(idea_id))
        .run()
    )
    row = rows[0]
    assert row["shipped_at"] is not None and row["ship_note"] == SHIP_NOTE
    assert (row["impact_metric"], row["impact_before"], row["impact_after"]) == (
        "invoice calls per week",
        140,
        60,
    )
    timeline = (await alice.api().get(f"/api/v1/ideas/{idea_id}/events")).json()["items"]
    assert [(e["status"], e["actor"]) for e in timeline][-2:] == [
        ("in_progress", "System"),
        ("shipped", "CX council"),
    ]
    assert timeline[-1]["note"] == SHIP_NOTE
    shipped_events = [e for e in await status_events(idea_id) if e["status"] == "shipped"]
    assert [e["kind"] for e in shipped_events] == ["status"]
    # shipped is final; its actions no longer move
    again = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={"note": SHIP_NOTE})
    assert again.status_code == 409
    action_id = (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"][0]["id"]
    moved = await erin.api().patch(f"/api/v1/actions/{action_id}", json={"status": "todo"})
    assert moved.status_code == 409


async def test_ship_note_must_say_what_changed(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    await all_done(bob, erin, idea_id)
    for note in ("Done.", " " * 30, "x" * 19):
        r = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={"note": note})
        assert r.status_code in (400, 422)
        assert "note" in r.json()["detail"]
    r = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={})
    assert r.status_code in (400, 422) and "note" in r.json()["detail"]
    assert await idea_status(idea_id) == "in_progress"


@pytest.mark.parametrize(
    ("impact", "field"),
    [
        ({"impact_metric": "calls per week", "impact_before": 140}, "impact_after"),
        ({"impact_metric": "calls per week", "impact_after": 60}, "impact_before"),
        ({"impact_before": 140, "impact_after": 60}, "impact_metric"),
    ],
)
async def test_impact_needs_metric_before_and_after(personas, impact, field):
    _alice, bob, erin, idea_id = await accepted(personas)
    await all_done(bob, erin, idea_id)
    r = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={"note": SHIP_NOTE, **impact})
    assert r.status_code == 422
    assert field in r.json()["detail"]
    assert await idea_status(idea_id) == "in_progress"


async def test_shipping_needs_council_and_an_idea(personas, client):
    alice, bob, erin, idea_id = await accepted(personas)
    await all_done(bob, erin, idea_id)
    url = f"/api/v1/ideas/{idea_id}/ship"
    for someone in (alice, erin, await personas.get("carol_leader")):
        assert (await someone.api().post(url, json={"note": SHIP_NOTE})).status_code == 403
    assert (await client.post(url, json={"note": SHIP_NOTE})).status_code == 401
    r = await bob.api().post("/api/v1/ideas/77777/ship", json={"note": SHIP_NOTE})
    assert r.status_code == 404
    assert await idea_status(idea_id) == "in_progress"


async def test_shipping_a_new_idea_is_refused(personas):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    idea_id = await submit(alice)
    r = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={"note": SHIP_NOTE})
    assert r.status_code == 409
    assert await idea_status(idea_id) == "new"


# -- credit ---------------------------------------------------------------------------------


async def ship_it(bob, erin, idea_id: str) -> dict:
    await all_done(bob, erin, idea_id)
    r = await bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={"note": SHIP_NOTE})
    assert r.status_code == 200, r.text
    return r.json()


async def test_credit_after_shipping_shows_name_and_department_never_title(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    await ship_it(bob, erin, idea_id)
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}")).json()["credited_to"] == []
    r = await alice.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": True})
    assert r.status_code == 200, r.text
    assert r.json()["credited_to"] == [{"name": alice.name, "department": "Support"}]
    seen = await bob.api().get(f"/api/v1/ideas/{idea_id}")
    assert seen.json()["credited_to"] == [{"name": alice.name, "department": "Support"}]
    assert alice.title not in seen.text and alice.email not in seen.text
    r = await alice.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": False})
    assert r.status_code == 200 and r.json()["credited_to"] == []
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}")).json()["credited_to"] == []


async def test_credit_chosen_before_shipping_is_kept_and_shows_on_ship(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    r = await alice.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": True})
    assert r.status_code == 200
    assert r.json()["credited_to"] == []  # not shipped yet: still anonymous
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}")).json()["credited_to"] == []
    shipped = await ship_it(bob, erin, idea_id)
    assert shipped["credited_to"] == [{"name": alice.name, "department": "Support"}]


async def test_credit_on_a_new_idea_is_kept_too(personas):
    alice = await personas.get("alice_support")
    idea_id = await submit(alice)
    r = await alice.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": True})
    assert r.status_code == 200 and r.json()["status"] == "new"
    rows = await Submission.select(Submission.credit).where(Submission.idea == int(idea_id)).run()
    assert rows == [{"credit": True}]


async def test_co_submitters_choose_credit_each_for_themselves(personas):
    alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    duplicate = await submit(dan, title="Put the PO number on our invoices, please")
    await merge(personas, duplicate, idea_id)
    await ship_it(bob, erin, idea_id)
    r = await dan.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": True})
    assert r.status_code == 200
    assert r.json()["credited_to"] == [{"name": dan.name, "department": "Sales"}]
    assert r.json()["is_mine"] is True
    r = await alice.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": True})
    assert sorted(c["name"] for c in r.json()["credited_to"]) == sorted([alice.name, dan.name])
    r = await dan.api().put(f"/api/v1/ideas/{idea_id}/credit", json={"credit": False})
    assert r.json()["credited_to"] == [{"name": alice.name, "department": "Support"}]


async def test_only_submitters_choose_credit(personas, client):
    _alice, bob, erin, idea_id = await accepted(personas)
    await ship_it(bob, erin, idea_id)
    url = f"/api/v1/ideas/{idea_id}/credit"
    for someone in (bob, erin, await personas.get("adam_admin")):
        r = await someone.api().put(url, json={"credit": True})
        assert r.status_code == 403, someone.key
    assert (await client.put(url, json={"credit": True})).status_code == 401
    assert (await bob.api().get(f"/api/v1/ideas/{idea_id}")).json()["credited_to"] == []
    alice = await personas.get("alice_support")
    assert (
        await alice.api().put("/api/v1/ideas/55555/credit", json={"credit": True})
    ).status_code == 404
    bad = await alice.api().put(url, json={"credit": "maybe"})
    assert bad.status_code in (400, 422) and "credit" in bad.json()["detail"]


# -- my actions (API) ------------------------------------------------------------------------


async def test_my_actions_lists_overdue_first_then_by_due_date(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    dan = await personas.get("dan_sales")
    later = str(clock.today() + dt.timedelta(days=20))
    soon = str(clock.today() + dt.timedelta(days=2))
    late = str(clock.today() - dt.timedelta(days=3))
    await add(bob, idea_id, erin, title="Later step", due_on=later)
    await add(bob, idea_id, erin, title="Soon step", due_on=soon)
    await add(bob, idea_id, erin, title="Late step", due_on=late)
    await add(bob, idea_id, dan, title="Not mine at all", due_on=late)
    r = await erin.api().get("/api/v1/me/actions")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [a["title"] for a in items] == ["Late step", "Soon step", "Later step"]
    assert [a["overdue"] for a in items] == [True, False, False]


async def test_openapi_describes_the_delivery_routes(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "post" in paths["/api/v1/ideas/{idea_id}/actions"]
    assert "get" in paths["/api/v1/ideas/{idea_id}/actions"]
    assert "patch" in paths["/api/v1/actions/{action_id}"]
    assert "post" in paths["/api/v1/ideas/{idea_id}/ship"]
    assert "put" in paths["/api/v1/ideas/{idea_id}/credit"]


# -- under concurrency --------------------------------------------------------------------------


async def test_concurrent_first_moves_start_the_idea_exactly_once(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    actions = [(await add(bob, idea_id, erin, title=f"Parallel step {i}")).json() for i in range(8)]
    api = erin.api()
    answers = await asyncio.gather(
        *[api.patch(f"/api/v1/actions/{a['id']}", json={"status": "doing"}) for a in actions]
    )
    assert [r.status_code for r in answers] == [200] * len(actions)
    started = [e for e in await status_events(idea_id) if e["status"] == "in_progress"]
    assert len(started) == 1
    assert await idea_status(idea_id) == "in_progress"


async def test_shipping_races_a_reopened_action_and_stays_consistent(personas):
    _alice, bob, erin, idea_id = await accepted(personas)
    (action,) = await all_done(bob, erin, idea_id)
    ship_answer, reopen_answer = await asyncio.gather(
        bob.api().post(f"/api/v1/ideas/{idea_id}/ship", json={"note": SHIP_NOTE}),
        erin.api().patch(f"/api/v1/actions/{action['id']}", json={"status": "doing"}),
    )
    assert sorted([ship_answer.status_code, reopen_answer.status_code]) == [200, 409]
    listed = (await bob.api().get(f"/api/v1/ideas/{idea_id}/actions")).json()["items"]
    if await idea_status(idea_id) == "shipped":
        assert ship_answer.status_code == 200
        assert all(a["status"] == "done" for a in listed)
    else:
        assert ship_answer.status_code == 409 and listed[0]["status"] == "doing"
