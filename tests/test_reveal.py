"""The audited reveal: admins only, with a reason; audited without the
identity; the submitter told in-app; the identity on that screen alone."""

from __future__ import annotations

import json

from ideas.tables import AuditLog, Event
from tests.factories import submit

REASON = "Abusive language reported by three colleagues; HR case 2026-114."


async def test_only_admins_reach_the_reveal(personas):
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    for key in ("dan_sales", "bob_finance_council", "carol_leader"):
        web = await (await personas.get(key)).browser()
        assert (await web.get(f"/admin/ideas/{idea}/reveal")).status_code == 403
        r = await web.form(f"/admin/ideas/{idea}/reveal", {"reason": REASON})
        assert r.status_code == 403
        assert alice.name not in r.text
    assert await AuditLog.count().run() == 0


async def test_the_reveal_form_shows_no_identity_and_needs_a_reason(personas):
    alice = await personas.get("alice_support")
    adam = await personas.get("adam_admin")
    idea = await submit(alice)
    web = await adam.browser()
    assert f'href="/admin/ideas/{idea}/reveal"' in (await web.get(f"/ideas/{idea}")).text
    staff_page = await (await alice.browser()).get(f"/ideas/{idea}")
    assert "/reveal" not in staff_page.text
    form = await web.get(f"/admin/ideas/{idea}/reveal")
    assert form.status_code == 200 and 'name="reason"' in form.text
    for secret in alice.identity_strings() + [alice.department]:
        assert secret.lower() not in form.text.lower()
    r = await web.form(f"/admin/ideas/{idea}/reveal", {"reason": "because"})
    assert r.status_code == 422 and 'id="reason-error"' in r.text
    assert alice.name not in r.text
    assert await AuditLog.count().run() == 0
    assert await Event.count().where(Event.kind == "reveal").run() == 0
    assert (await web.get("/admin/ideas/9999/reveal")).status_code == 404


async def test_a_reveal_is_audited_announced_and_shown_once(personas):
    alice = await personas.get("alice_support")
    adam = await personas.get("adam_admin")
    idea = await submit(alice)
    web = await adam.browser()
    r = await web.form(f"/admin/ideas/{idea}/reveal", {"reason": REASON})
    assert r.status_code == 200
    for shown in (alice.name, alice.email, alice.title, alice.department):
        assert shown in r.text
    assert r.headers["cache-control"] == "private, no-store"

    audit = (await AuditLog.select().run())[0]
    assert audit["action"] == "identity_reveal" and str(audit["actor"]) == adam.id
    details = (
        json.loads(audit["details"]) if isinstance(audit["details"], str) else audit["details"]
    )
    assert details == {"idea_id": idea, "reason": REASON}
    assert alice.name not in json.dumps(details) and alice.id not in audit["target"]

    event = (await Event.select().where(Event.kind == "reveal").run())[0]
    assert event["idea"] == int(idea) and event["public"] is False
    assert REASON in event["note"]
    # not on the public timeline, and the idea page still shows no identity
    timeline = (await adam.api().get(f"/api/v1/ideas/{idea}/events")).json()["items"]
    assert timeline == []
    page = await web.get(f"/ideas/{idea}")
    assert alice.name not in page.text and alice.email not in page.text
    form = await web.get(f"/admin/ideas/{idea}/reveal")
    assert alice.name not in form.text
