"""Outgoing webhooks against a real receiver on loopback: every delivery
verified with `standardwebhooks`, retries with the same id, timeouts, the
size cap, switching off after failures, the SSRF guard, the blind payload
and the batched release of new ideas and comments."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

import pytest

from ideas import clock, publish
from ideas.config import get_settings, reset_settings
from ideas.integrations import ssrf, webhooks
from ideas.notify import kinds, mailing
from ideas.people import directory
from ideas.tables import Comment, Event, Idea, Notification, WebhookDelivery, WebhookEndpoint
from tests.factories import ctx_for, submit
from tests.notify_helpers import (
    SHIP_NOTE,
    body_text,
    clear_outbox,
    decide,
    drain,
    mails_to,
    open_session,
)
from tests.webhook_receiver import Receiver

FAST = webhooks.Tuning(
    timeout_s=0.5, retry_base_s=0.01, retry_cap_s=0.05, max_attempts=5, disable_after=25
)
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def allow(*hosts: str, delay: int = 0):
    """Settings with WEBHOOK_ALLOWED_HOSTS naming `hosts` (the tests name
    loopback) and PUBLISH_DELAY_MINUTES `delay`: 0 (at once) unless a test is
    about the timing, so a fresh idea's changes go out when they happen."""
    reset_settings(
        dataclasses.replace(
            get_settings(), webhook_allowed_hosts=tuple(hosts), publish_delay_minutes=delay
        )
    )


@pytest.fixture
def loopback_allowed():
    before = get_settings()
    allow("127.0.0.1")
    yield
    reset_settings(before)


@pytest.fixture
def nothing_allowed():
    before = get_settings()
    allow()
    yield
    reset_settings(before)


@pytest.fixture
def fast_retries():
    before = get_settings()
    reset_settings(
        dataclasses.replace(
            before,
            worker=dataclasses.replace(
                before.worker,
                webhook_retry_base_s=0.05,
                webhook_retry_cap_s=0.1,
                webhook_timeout_s=2,
            ),
        )
    )
    yield
    reset_settings(before)


async def connect(admin, url: str, events: list[str]) -> dict:
    r = await admin.api().post("/api/v1/webhooks", json={"url": url, "events": events})
    assert r.status_code == 201, r.text
    return r.json()


async def ship_idea(personas, alice, credit: bool = False) -> str:
    """alice's idea, accepted, worked on and shipped with a note and an impact
    (alice opting in to credit first when `credit`)."""
    idea = await submit(alice)
    if credit:
        r = await alice.api().put(f"/api/v1/ideas/{idea}/credit", json={"credit": True})
        assert r.status_code == 200, r.text
    bob, session = await open_session(personas)
    finance = await directory.department_by_name("Finance")
    await decide(bob, idea, session, "accept", owning_department_id=str(finance))
    erin = await personas.get("erin_it")
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/actions",
        json={
            "title": "Print the PO number",
            "owner_id": erin.id,
            "due_on": str(clock.today() + dt.timedelta(days=7)),
        },
    )
    assert r.status_code == 201, r.text
    r = await erin.api().patch(f"/api/v1/actions/{r.json()['id']}", json={"status": "done"})
    assert r.status_code == 200, r.text
    r = await bob.api().post(
        f"/api/v1/ideas/{idea}/ship",
        json={
            "note": SHIP_NOTE,
            "impact_metric": "Bounced invoices per week",
            "impact_before": 40,
            "impact_after": 3,
        },
    )
    assert r.status_code == 200, r.text
    return idea


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def assert_blind(body: bytes, submitter) -> None:
    """Nothing of the submitter, and no time finer than the day in `data`."""
    text = body.decode()
    for secret in [*submitter.identity_strings(), submitter.department]:
        assert secret not in text, f"{secret!r} in a webhook payload"
    data = json.loads(text)["data"]
    assert not [k for k in keys_of(data) if k.endswith("_at") or k == "created"], data
    assert not ISO_TIME.search(json.dumps(data)), "an exact time in the payload's data"


async def planned_decline(personas, admin, url: str) -> list[int]:
    """A webhook for status changes and one council decision: its deliveries."""
    made = await webhooks.create_endpoint(ctx_for(admin.viewer), url, ["idea.status_changed"])
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "decline", note="Not this year, sorry.")
    events = await Event.select(Event.id).where(Event.idea == int(idea)).run()
    ids = await webhooks.plan_event(events[-1]["id"])
    assert ids, "the decision made no delivery"
    return ids, made


# -- admin API -------------------------------------------------------------------------------


async def test_secret_is_shown_once_and_never_listed(personas, loopback_allowed, receiver):
    admin = await personas.get("adam_admin")
    made = await connect(admin, receiver.url("/ok"), ["idea.shipped"])
    assert made["secret"].startswith("whsec_") and made["active"] is True
    listed = (await admin.api().get("/api/v1/webhooks")).json()["items"]
    assert [w["id"] for w in listed] == [made["id"]]
    assert "secret" not in listed[0] and made["secret"] not in json.dumps(listed)
    r = await admin.api().delete(f"/api/v1/webhooks/{made['id']}")
    assert r.status_code == 204
    assert (await admin.api().get("/api/v1/webhooks")).json()["items"] == []
    assert (await admin.api().delete(f"/api/v1/webhooks/{made['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example.com/x", "events": ["idea.shipped"]}, "url"),
        ({"url": "http://127.0.0.1:9/x", "events": ["idea.shipped"]}, "url"),
        ({"url": "http://localhost/x", "events": ["idea.shipped"]}, "url"),
        ({"url": "http://[::1]/x", "events": ["idea.shipped"]}, "url"),
        ({"url": "http://169.254.169.254/latest/", "events": ["idea.shipped"]}, "url"),
        ({"url": "https://hooks.example.com/x", "events": []}, "events"),
        ({"url": "https://hooks.example.com/x", "events": ["idea.deleted"]}, "events"),
    ],
)
async def test_bad_webhook_is_refused_naming_the_field(personas, nothing_allowed, body, field):
    admin = await personas.get("adam_admin")
    r = await admin.api().post("/api/v1/webhooks", json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]
    assert await WebhookEndpoint.count().run() == 0


async def test_admin_page_connects_shows_the_secret_once_rotates_and_sends_again(
    personas, loopback_allowed, receiver, redis_client
):
    admin = await personas.get("adam_admin")
    web = await admin.browser()
    r = await web.form(
        "/admin/webhooks",
        {"kind": "webhook", "url": receiver.url("/ok"), "event:idea.status_changed": "on"},
    )
    assert r.status_code == 200, r.text
    secret = re.search(r"data-secret>(whsec_[^<]+)<", r.text).group(1)
    endpoint = (await webhooks.list_endpoints(ctx_for(admin.viewer)))[0]
    assert endpoint.events == ["idea.status_changed"]
    page = await web.get(f"/admin/webhooks/{endpoint.id}")
    assert page.status_code == 200 and secret not in page.text
    assert secret not in (await web.get("/admin/webhooks")).text

    rotated = await web.form(f"/admin/webhooks/{endpoint.id}/rotate", {})
    new_secret = re.search(r"data-secret>(whsec_[^<]+)<", rotated.text).group(1)
    assert new_secret != secret

    bad = await web.form("/admin/webhooks", {"kind": "webhook", "url": "http://10.0.0.1/x"})
    assert bad.status_code == 422 and "not a public address" in bad.text

    alice = await personas.get("alice_support")
    idea = await submit(alice)
    bob, session = await open_session(personas)
    events = await Event.select(Event.id).where(Event.idea == int(idea)).run()
    [delivery] = await webhooks.plan_event(events[-1]["id"])
    assert (await webhooks.attempt_delivery(delivery, t=FAST)).outcome == "delivered"
    page = await web.get(f"/admin/webhooks/{endpoint.id}")
    assert f"/admin/webhooks/deliveries/{delivery}/again" in page.text
    again = await web.form(f"/admin/webhooks/deliveries/{delivery}/again", {})
    assert again.status_code == 303
    assert await redis_client.exists(f"arq:job:webhook:{delivery}:1:again")
    assert (await webhooks.attempt_delivery(delivery, t=FAST)).outcome == "delivered"
    ids = [r.message_id for r in receiver.at("/ok")]
    assert len(ids) == 2 and ids[0] == ids[1]

    off = await web.form(f"/admin/webhooks/{endpoint.id}/active", {"active": "off"})
    assert off.status_code == 303
    assert (await webhooks.get_endpoint(ctx_for(admin.viewer), endpoint.id)).active is False


# -- delivery through the worker -----------------------------------------------------------------


async def test_shipped_idea_reaches_the_webhook_signed_and_blind(
    personas, loopback_allowed, receiver, fast_retries
):
    admin = await personas.get("adam_admin")
    made = await connect(admin, receiver.url("/ok"), ["idea.shipped", "idea.status_changed"])
    receiver.secrets["/ok"] = made["secret"]
    alice = await personas.get("alice_support")
    idea = await ship_idea(personas, alice)
    await drain()

    got = receiver.at("/ok")
    assert got and all(r.verified for r in got), [(r.path, r.verified) for r in got]
    types = [r.json["type"] for r in got]
    assert types.count("idea.shipped") == 1
    assert "idea.status_changed" in types
    assert len({r.message_id for r in got}) == len(got), "two deliveries shared an id"
    shipped = next(r.json for r in got if r.json["type"] == "idea.shipped")
    assert set(shipped) == {"type", "timestamp", "data"}
    data = shipped["data"]
    assert data["idea"]["id"] == idea and data["idea"]["status"] == "shipped"
    assert data["ship_note"] == SHIP_NOTE
    assert data["impact"] == {"metric": "Bounced invoices per week", "before": 40, "after": 3}
    for r in got:
        assert_blind(r.body, alice)

    log = (await admin.api().get(f"/api/v1/webhooks/{made['id']}/deliveries")).json()["items"]
    assert {i["event_id"] for i in log} == {r.message_id for r in got}
    assert all(i["ok"] and i["status_code"] == 200 for i in log)
    assert {"id", "event_id", "event", "attempted_at", "status_code", "ok"} <= set(log[0])


async def test_failing_endpoint_is_retried_with_the_same_message_id(
    personas, loopback_allowed, receiver, fast_retries
):
    admin = await personas.get("adam_admin")
    made = await connect(admin, receiver.url("/flaky"), ["idea.status_changed"])
    receiver.secrets["/flaky"] = made["secret"]
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "decline", note="Not this year, sorry.")
    await drain()

    got = receiver.at("/flaky")  # two status changes: in review, then declined
    assert all(r.verified for r in got)
    ids = [r.message_id for r in got]
    retried = [i for i in set(ids) if ids.count(i) == 2]
    assert len(got) == 3 and len(retried) == 1 and retried[0].startswith("msg_")
    twice = [r for r in got if r.message_id == retried[0]]
    assert [r.answered for r in twice] == [500, 200]
    assert twice[0].body == twice[1].body
    log = (await admin.api().get(f"/api/v1/webhooks/{made['id']}/deliveries")).json()["items"]
    of_retried = [(i["status_code"], i["ok"]) for i in log if i["event_id"] == retried[0]]
    assert of_retried == [(200, True), (500, False)]
    assert any("oops" in i["response_excerpt"] for i in log)


async def test_hanging_endpoint_is_timed_out(personas, loopback_allowed, receiver):
    admin = await personas.get("adam_admin")
    ids, _made = await planned_decline(personas, admin, receiver.url("/hang"))
    result = await webhooks.attempt_delivery(ids[0], t=dataclasses.replace(FAST, timeout_s=0.3))
    assert result.outcome == "retry" and result.status_code is None
    log = await webhooks.list_attempts(ctx_for(admin.viewer), _made.id)
    assert "timed out" in log[0].response_excerpt and not log[0].ok


async def test_answer_is_read_only_up_to_the_cap(personas, loopback_allowed, receiver):
    admin = await personas.get("adam_admin")
    ids, made = await planned_decline(personas, admin, receiver.url("/big"))
    t = dataclasses.replace(FAST, max_response_bytes=4096)
    assert (await webhooks.attempt_delivery(ids[0], t=t)).outcome == "delivered"
    log = await webhooks.list_attempts(ctx_for(admin.viewer), made.id)
    assert 0 < len(log[0].response_excerpt) <= webhooks.EXCERPT


async def test_endpoint_is_switched_off_after_failures_and_admins_are_told(
    personas, loopback_allowed, receiver
):
    admin = await personas.get("adam_admin")
    alice = await personas.get("alice_support")
    ids, made = await planned_decline(personas, admin, receiver.url("/fail"))
    t = dataclasses.replace(FAST, disable_after=2, max_attempts=10)
    later = clock.now() + dt.timedelta(hours=1)
    first = await webhooks.attempt_delivery(ids[0], t=t, now=later)
    assert first.outcome == "retry" and not first.disabled
    second = await webhooks.attempt_delivery(ids[0], t=t, now=later + dt.timedelta(hours=1))
    assert second.disabled
    endpoint = (await webhooks.get_endpoint(ctx_for(admin.viewer), made.id)).model_dump()
    assert endpoint["active"] is False and "failures in a row" in endpoint["disabled_reason"]
    third = await webhooks.attempt_delivery(ids[0], t=t, now=later + dt.timedelta(hours=2))
    assert third.outcome == "skipped"
    assert receiver.hits["/fail"] == 2
    told = await Notification.select(Notification.user, Notification.text).where(
        Notification.kind == "webhook_disabled"
    )
    assert [str(n["user"]) for n in told] == [admin.id]
    assert receiver.url("/fail") in told[0]["text"]
    assert not [n for n in told if str(n["user"]) == alice.id]
    clear_outbox()
    [notice] = await Notification.select(Notification.id).where(
        Notification.kind == "webhook_disabled"
    )
    assert (await mailing.email_notice(notice["id"])).outcome == "sent"
    [message] = mails_to(admin.email)
    # every notice's mail but a few work kinds has the generic subject (issue 13)
    assert message["Subject"] == kinds.PRIVATE_SUBJECT
    assert "/me/notifications" in body_text(message)  # the details are behind log-in


async def test_an_endpoint_removed_mid_attempt_logs_nothing(personas, loopback_allowed, receiver):
    import asyncio

    admin = await personas.get("adam_admin")
    ids, made = await planned_decline(personas, admin, receiver.url("/slow"))
    slow = dataclasses.replace(FAST, timeout_s=30)
    attempt = asyncio.create_task(webhooks.attempt_delivery(ids[0], t=slow))
    assert await asyncio.to_thread(receiver.arrived.wait, 30)
    await webhooks.delete_endpoint(ctx_for(admin.viewer), made.id)
    receiver.release.set()
    assert (await attempt).outcome == "gone"
    assert await WebhookDelivery.count().run() == 0


async def test_delivery_gives_up_after_its_last_attempt(personas, loopback_allowed, receiver):
    admin = await personas.get("adam_admin")
    ids, _made = await planned_decline(personas, admin, receiver.url("/fail"))
    t = dataclasses.replace(FAST, max_attempts=2)
    later = clock.now() + dt.timedelta(hours=1)
    assert (await webhooks.attempt_delivery(ids[0], t=t, now=later)).outcome == "retry"
    last = await webhooks.attempt_delivery(ids[0], t=t, now=later + dt.timedelta(hours=1))
    assert last.outcome == "failed" and last.retry_at is None
    assert await webhooks.due_deliveries(later + dt.timedelta(days=2)) == []


# -- the SSRF guard ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://172.16.0.1/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://127.0.0.1/hook",
        "http://127.1/hook",
        "http://2130706433/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00:ec2::254]/latest/",
        "http://[fc00::1]/hook",
        # IPv6 forms that carry a non-public IPv4 (Python 3.11 calls them global)
        "http://[64:ff9b::a9fe:a9fe]/latest/",  # NAT64 of 169.254.169.254
        "http://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "http://[64:ff9b:1::a00:1]/hook",  # local-use NAT64
        "http://[2002:a9fe:a9fe::1]/latest/",  # 6to4 of 169.254.169.254
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
        "http://[::127.0.0.1]/hook",  # IPv4-compatible
        "http://[::a00:1]/hook",  # IPv4-compatible 10.0.0.1
        "http://[::ffff:a9fe:a9fe]/latest/",  # IPv4-mapped
    ],
)
async def test_ssrf_guard_refuses_non_public_addresses(url):
    with pytest.raises(ssrf.Refused):
        await ssrf.resolve(url, ())


async def test_metadata_address_is_refused_even_inside_an_allowed_network():
    with pytest.raises(ssrf.Refused, match="metadata"):
        await ssrf.resolve("http://169.254.169.254/latest/", ("169.254.0.0/16",))
    with pytest.raises(ssrf.Refused, match="metadata"):
        await ssrf.resolve("http://[64:ff9b::a9fe:a9fe]/latest/", ("169.254.0.0/16",))


async def test_an_ipv6_form_of_a_public_ipv4_is_still_public():
    for url in ("http://[64:ff9b::5db8:d822]/x", "http://[2002:5db8:d822::1]/x"):
        assert (await ssrf.resolve(url, ())).port == 80


async def test_loopback_by_name_is_not_contacted_without_the_allow_list(
    personas, nothing_allowed, receiver
):
    admin = await personas.get("adam_admin")
    allow("127.0.0.1")  # let the endpoint be made; then take loopback away again
    ids, made = await planned_decline(personas, admin, f"http://localhost:{receiver.port}/ok")
    allow()
    result = await webhooks.attempt_delivery(ids[0], t=FAST)
    assert result.outcome == "retry"
    log = await webhooks.list_attempts(ctx_for(admin.viewer), made.id)
    assert log[0].response_excerpt.startswith("refused") and "127.0.0.1" in log[0].response_excerpt
    assert receiver.hits == {}


async def test_ipv6_loopback_is_refused_unless_allowed(personas, nothing_allowed):
    v6 = Receiver(host="::1")
    try:
        v6.start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        admin = await personas.get("adam_admin")
        allow("::1")
        ids, made = await planned_decline(personas, admin, v6.url("/ok"))
        allow()
        assert (await webhooks.attempt_delivery(ids[0], t=FAST)).outcome == "retry"
        assert v6.hits == {}
        allow("::1/128")
        assert (await webhooks.attempt_delivery(ids[0], t=FAST)).outcome == "delivered"
        assert v6.hits == {"/ok": 1}
    finally:
        v6.stop()


async def test_a_name_resolving_to_loopback_is_refused():
    async def resolver(host: str, port: int) -> list[str]:
        return {
            "hooks.example.test": ["127.0.0.1"],
            "mixed.example.test": ["93.184.216.34", "10.1.1.1"],
        }[host]

    with pytest.raises(ssrf.Refused, match="127.0.0.1"):
        await ssrf.resolve("https://hooks.example.test/x", (), resolver)
    with pytest.raises(ssrf.Refused, match="10.1.1.1"):
        await ssrf.resolve("https://mixed.example.test/x", (), resolver)
    target = await ssrf.resolve("https://public.example.test/x", (), _public)
    assert target.address == "93.184.216.34" and target.host_header == "public.example.test"


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


async def test_the_checked_address_is_the_one_connected_to(personas, loopback_allowed, receiver):
    """DNS rebinding: the name is resolved once; the request goes to the
    address that was checked, whatever a second answer would say."""
    calls = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.9.9.9"]

    admin = await personas.get("adam_admin")
    url = f"http://rebind.example.test:{receiver.port}/ok"
    ids, _made = await planned_decline(personas, admin, url)
    result = await webhooks.attempt_delivery(ids[0], t=FAST, resolver=rebinding)
    assert result.outcome == "delivered"
    assert calls == ["rebind.example.test"]
    assert receiver.at("/ok")[0].headers["host"] == f"rebind.example.test:{receiver.port}"


async def test_redirects_are_not_followed(personas, loopback_allowed, receiver):
    admin = await personas.get("adam_admin")
    ids, made = await planned_decline(personas, admin, receiver.url("/redirect"))
    result = await webhooks.attempt_delivery(ids[0], t=FAST)
    assert result.outcome == "retry" and result.status_code == 302
    assert receiver.hits == {"/redirect": 1}


# -- timing: new ideas and comments go out batched ---------------------------------------------


async def test_new_ideas_and_comments_are_released_at_the_window_boundary(
    personas, loopback_allowed, receiver
):
    """PUBLISH_DELAY_MINUTES (60): an idea made at 10:17 and a submitter's
    comment at 10:48 reach the webhook together, stamped 11:00. (Made at
    once, then dated back and stamped as the product would have stamped
    them, so that dan may comment: to him a pending idea does not exist.)"""
    admin = await personas.get("adam_admin")
    day = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    made = await webhooks.create_endpoint(
        ctx_for(admin.viewer), receiver.url("/ok"), ["idea.submitted", "comment.created"]
    )
    receiver.secrets["/ok"] = made.secret
    await WebhookEndpoint.update({WebhookEndpoint.created_at: day}).where(
        WebhookEndpoint.id == int(made.id)
    )
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice)
    r = await alice.api().post(f"/api/v1/ideas/{idea}/comments", json={"body": "More detail."})
    assert r.status_code == 201, r.text
    r = await dan.api().post(f"/api/v1/ideas/{idea}/comments", json={"body": "Yes please."})
    assert r.status_code == 201, r.text
    allow("127.0.0.1", delay=60)
    at = {"idea": day.replace(hour=10, minute=17, second=23)}
    # as the product would have stamped them then (ideas.publish)
    await Idea.update(
        {Idea.created_at: at["idea"], Idea.published_at: publish.visible_from(at["idea"])}
    ).where(Idea.id == int(idea))
    comments = await Comment.select(Comment.id, Comment.by_submitter).order_by(Comment.id).run()
    for c, minute in zip(comments, (48, 52), strict=True):
        made_at = day.replace(hour=10, minute=minute)
        shown = publish.visible_from(made_at) if c["by_submitter"] else None
        await Comment.update({Comment.created_at: made_at, Comment.published_at: shown}).where(
            Comment.id == c["id"]
        )

    assert await webhooks.release_batched(day.replace(hour=10, minute=59, second=59)) == []
    ids = await webhooks.release_batched(day.replace(hour=11, minute=0, second=5))
    assert len(ids) == 3
    assert await webhooks.release_batched(day.replace(hour=11, minute=30)) == []
    for i in ids:
        assert (
            await webhooks.attempt_delivery(i, t=FAST, now=day.replace(hour=11, minute=1))
        ).outcome == "delivered"
    got = receiver.at("/ok")
    assert sorted(r.json["type"] for r in got) == [
        "comment.created",
        "comment.created",
        "idea.submitted",
    ]
    assert {r.json["timestamp"] for r in got} == {"2026-03-04T11:00:00+00:00"}
    authors = sorted(
        r.json["data"]["comment"]["author"] for r in got if r.json["type"] == "comment.created"
    )
    assert authors == ["Dan Dimitrov", "Submitter"]
    for r in got:
        assert r.verified
        assert_blind(r.body, alice)
        assert "10:17" not in r.body.decode() and "10:48" not in r.body.decode()


async def test_a_submitters_answer_reaches_webhooks_at_the_next_boundary(
    personas, loopback_allowed, receiver
):
    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(
        ctx_for(admin.viewer), receiver.url("/ok"), ["idea.status_changed"]
    )
    alice = await personas.get("alice_support")
    idea = await submit(alice)  # published at once: a pending idea is on no agenda
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "needs_info", question="Which customers send POs?")
    r = await alice.api().post(
        f"/api/v1/ideas/{idea}/answer", json={"answer": "All of them, nearly."}
    )
    assert r.status_code == 200, r.text
    # the product dates the answer's event to its batch already (triage.
    # publish_due); an event dated inside a window must still wait for its end
    allow("127.0.0.1", delay=60)
    answer = (
        await Event.select(Event.id, Event.created_at)
        .where(Event.idea == int(idea))
        .order_by(Event.id)
        .run()
    )[-1]
    made_at = dt.datetime(2026, 3, 4, 10, 17, tzinfo=dt.UTC)
    await Event.update({Event.created_at: made_at}).where(Event.id == answer["id"])
    await Idea.update(
        {
            Idea.created_at: made_at - dt.timedelta(days=1),
            Idea.published_at: publish.visible_from(made_at - dt.timedelta(days=1)),
        }
    ).where(Idea.id == int(idea))
    assert await webhooks.plan_event(answer["id"], now=made_at + dt.timedelta(minutes=1)) == []
    row = await WebhookDelivery.select(WebhookDelivery.due_at, WebhookDelivery.payload).first()
    assert row["due_at"] == dt.datetime(2026, 3, 4, 11, 0, tzinfo=dt.UTC)
    assert json.loads(row["payload"])["timestamp"] == "2026-03-04T11:00:00+00:00"
    assert "10:17" not in row["payload"]


# -- a worker killed mid-delivery ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_worker_killed_mid_delivery_delivers_each_message_under_one_id(
    personas, loopback_allowed, receiver, tmp_path
):
    from tests.test_reliability import WorkerProcess, eventually

    admin = await personas.get("adam_admin")
    made = await connect(admin, receiver.url("/slow"), ["idea.status_changed"])
    receiver.secrets["/slow"] = made["secret"]
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "decline", note="Not this year, sorry.")

    env = {
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "TOUCHPOINT_WEBHOOK_TIMEOUT_S": "2",
        "PUBLISH_DELAY_MINUTES": "0",
    }
    started = []
    try:
        first = WorkerProcess(tmp_path / "worker-1.log", **env).start()
        started.append(first)

        async def arrived() -> bool:
            return receiver.arrived.is_set()

        await eventually(arrived, what="a delivery to reach the receiver", worker=first)
        first.kill()  # mid-delivery: the receiver holds the answer
        receiver.release.set()
        second = WorkerProcess(tmp_path / "worker-2.log", **env).start()
        started.append(second)

        async def all_delivered() -> bool:
            states = await WebhookDelivery.select(WebhookDelivery.state).run()
            return len(states) == 2 and all(s["state"] == "delivered" for s in states)

        await eventually(all_delivered, within=90, what="every delivery", worker=second)
    finally:
        for w in started:
            w.stop()
    rows = await WebhookDelivery.select(WebhookDelivery.message_id, WebhookDelivery.payload).run()
    sent = {r["message_id"]: r["payload"].encode() for r in rows}
    got = receiver.at("/slow")
    assert all(r.verified for r in got), [(r.message_id, r.verified, len(r.body)) for r in got]
    assert {r.message_id for r in got} == set(sent), "a delivery arrived under another id"
    assert all(r.body == sent[r.message_id] for r in got)
    assert len(got) > len(sent), "the killed attempt was to be sent again"


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"WEBHOOK_ALLOWED_HOSTS": "hooks.internal, not a host"}, "WEBHOOK_ALLOWED_HOSTS"),
        ({"WEBHOOK_ALLOWED_HOSTS": "10.0.0.300/8"}, "WEBHOOK_ALLOWED_HOSTS"),
        ({"SLACK_API_URL": "ftp://slack.example.com/api/"}, "SLACK_API_URL"),
        ({"SLACK_API_URL": "https://slack.example.com/api"}, "SLACK_API_URL"),
        ({"PUBLISH_DELAY_MINUTES": "soon"}, "PUBLISH_DELAY_MINUTES"),
        ({"PUBLISH_DELAY_MINUTES": "1441"}, "PUBLISH_DELAY_MINUTES"),
    ],
)
def test_bad_integration_settings_name_the_variable(tmp_path, env, variable):
    from ideas.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=variable):
        load_settings({"TOUCHPOINT_DATA_DIR": str(tmp_path), **env})


def test_integration_settings_are_read(tmp_path):
    from ideas.config import load_settings

    settings = load_settings(
        {
            "TOUCHPOINT_DATA_DIR": str(tmp_path),
            "WEBHOOK_ALLOWED_HOSTS": "Hooks.Internal, 10.20.0.0/16, ::1",
            "SLACK_SIGNING_SECRET": "abc",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_API_URL": "http://127.0.0.1:9999/api/",
            "PUBLISH_DELAY_MINUTES": "0",
        }
    )
    assert settings.webhook_allowed_hosts == ("hooks.internal", "10.20.0.0/16", "::1")
    assert (settings.slack_signing_secret, settings.slack_bot_token) == ("abc", "xoxb-1")
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.publish_delay_minutes == 0
    defaults = load_settings({"TOUCHPOINT_DATA_DIR": str(tmp_path)})
    assert defaults.publish_delay_minutes == 60 and defaults.webhook_allowed_hosts == ()
    assert defaults.slack_api_url == "https://slack.com/api/" and defaults.slack_bot_token is None


def test_release_boundaries_are_multiples_of_the_delay_from_the_epoch_utc():
    at = dt.datetime(2026, 3, 4, 10, 17, 23, tzinfo=dt.UTC)
    seven = dt.timedelta(minutes=7)  # does not divide a day: 10:21, never 10:23
    assert webhooks.release_at(at, seven) == dt.datetime(2026, 3, 4, 10, 21, tzinfo=dt.UTC)
    assert webhooks.last_boundary(at, seven) == dt.datetime(2026, 3, 4, 10, 14, tzinfo=dt.UTC)
    hour, quarter = dt.timedelta(minutes=60), dt.timedelta(minutes=15)
    assert webhooks.release_at(at, hour) == dt.datetime(2026, 3, 4, 11, tzinfo=dt.UTC)
    assert webhooks.release_at(at, quarter) == dt.datetime(2026, 3, 4, 10, 30, tzinfo=dt.UTC)
    assert webhooks.last_boundary(at, quarter) == dt.datetime(2026, 3, 4, 10, 15, tzinfo=dt.UTC)
    late = dt.datetime(2026, 3, 4, 23, 59, 59, tzinfo=dt.UTC)
    assert webhooks.release_at(late, hour) == dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    assert webhooks.release_at(at, dt.timedelta(0)) == at


async def test_admin_connects_slack_and_teams_channels_on_the_page(personas, loopback_allowed):
    admin = await personas.get("adam_admin")
    web = await admin.browser()
    r = await web.form("/admin/webhooks", {"kind": "slack", "url": "C0CXIDEAS"})
    assert r.status_code == 200 and "data-secret" not in r.text
    r = await web.form("/admin/webhooks", {"kind": "teams", "url": "https://example.com/wf/1"})
    assert r.status_code == 200
    bad = await web.form("/admin/webhooks", {"kind": "slack", "url": "#general; drop"})
    assert bad.status_code == 422 and "channel id" in bad.text
    made = await webhooks.list_endpoints(ctx_for(admin.viewer), None)
    assert [(e.kind, e.url, e.events) for e in made] == [
        ("slack", "C0CXIDEAS", ["idea.shipped", "summary.weekly"]),
        ("teams", "https://example.com/wf/1", ["idea.shipped", "summary.weekly"]),
    ]
    listing = await web.get("/admin/webhooks")
    assert "C0CXIDEAS" in listing.text and "Teams channel" in listing.text
    assert "not set up" in listing.text  # no SLACK_BOT_TOKEN in the tests' settings


async def test_a_change_to_an_unreleased_idea_waits_for_the_ideas_release(
    personas, loopback_allowed, receiver
):
    """An idea made at 10:17 and put on an agenda at 10:20: its status change
    goes out at 11:00 with the idea, not at 10:20 (which would say it existed)."""
    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(
        ctx_for(admin.viewer), receiver.url("/ok"), ["idea.status_changed"]
    )
    alice = await personas.get("alice_support")
    idea = await submit(alice)  # made at once, then dated back below
    await open_session(personas)
    [event] = await Event.select(Event.id).where(Event.idea == int(idea)).run()
    allow("127.0.0.1", delay=60)
    day = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    made_at = day.replace(hour=10, minute=17)
    await Idea.update(
        {Idea.created_at: made_at, Idea.published_at: publish.visible_from(made_at)}
    ).where(Idea.id == int(idea))
    await Event.update({Event.created_at: day.replace(hour=10, minute=20)}).where(
        Event.id == event["id"]
    )
    assert await webhooks.plan_event(event["id"], now=day.replace(hour=10, minute=21)) == []
    row = await WebhookDelivery.select(WebhookDelivery.due_at, WebhookDelivery.payload).first()
    assert row["due_at"] == day.replace(hour=11)
    assert json.loads(row["payload"])["timestamp"] == "2026-03-04T11:00:00+00:00"


# -- https: the checked address, the URL's name in SNI and in the certificate check ----------


@pytest.fixture
def tls_receiver():
    """An https receiver on 127.0.0.1 whose certificate names hooks.example.test."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import trustme

    ca = trustme.CA()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append(self.headers.get("host", ""))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.example.test").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    yield server.server_address[1], client_context, seen
    server.shutdown()
    server.server_close()


async def test_https_goes_to_the_checked_address_with_the_name_in_sni_and_the_check(
    loopback_allowed, tls_receiver
):
    port, trust, seen = tls_receiver

    async def resolver(host: str, port: int) -> list[str]:
        return {"hooks.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]}[host]

    answer = await webhooks.post_checked(
        f"https://hooks.example.test:{port}/in", b"{}", {}, FAST, resolver, verify=trust
    )
    assert answer.ok and answer.status_code == 204, answer.excerpt
    assert seen == [f"hooks.example.test:{port}"]
    # the certificate is checked against the URL's name, not the address connected to
    wrong = await webhooks.post_checked(
        f"https://other.example.test:{port}/in", b"{}", {}, FAST, resolver, verify=trust
    )
    assert not wrong.ok and wrong.status_code is None and "certificate" in wrong.excerpt.lower()
    assert len(seen) == 1


# -- review fixes: what comment.created may carry -------------------------------------------


async def released_payloads(personas, events: list[str]) -> list[dict]:
    """Run the batched release a minute from now (delay 0): the payloads made."""
    await webhooks.release_batched(clock.now() + dt.timedelta(minutes=1))
    rows = await WebhookDelivery.select(WebhookDelivery.payload).run()
    return [json.loads(r["payload"]) for r in rows if json.loads(r["payload"])["type"] in events]


async def test_a_co_submitters_comment_reaches_the_webhook_as_co_submitter(
    personas, loopback_allowed, receiver
):
    """dan's idea is merged into alice's: his comment there goes out as
    "Co-submitter", never under his name."""
    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(ctx_for(admin.viewer), receiver.url("/ok"), ["comment.created"])
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    target = await submit(alice)
    dup = await submit(dan)
    bob, session = await open_session(personas)
    await decide(bob, dup, session, "duplicate", duplicate_of=target)
    r = await dan.api().post(f"/api/v1/ideas/{target}/comments", json={"body": "Same as mine!"})
    assert r.status_code == 201 and r.json()["author"] == "Co-submitter", r.text
    payloads = await released_payloads(personas, ["comment.created"])
    assert [p["data"]["comment"]["author"] for p in payloads] == ["Co-submitter"]
    for secret in dan.identity_strings():
        assert secret not in json.dumps(payloads)


async def test_a_deleted_comment_never_reaches_the_webhook(personas, loopback_allowed, receiver):
    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(ctx_for(admin.viewer), receiver.url("/ok"), ["comment.created"])
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    idea = await submit(alice)
    r = await alice.api().post(f"/api/v1/ideas/{idea}/comments", json={"body": "Oops, my name."})
    assert r.status_code == 201, r.text
    r = await alice.api().delete(f"/api/v1/comments/{r.json()['id']}")
    assert r.status_code == 200, r.text
    r = await dan.api().post(f"/api/v1/ideas/{idea}/comments", json={"body": "Yes please."})
    assert r.status_code == 201, r.text
    payloads = await released_payloads(personas, ["comment.created"])
    assert [p["data"]["comment"]["body"] for p in payloads] == ["Yes please."]
    assert "Oops" not in json.dumps(payloads)


async def test_webhook_windows_follow_the_products_publish_rule_with_delay_7(
    personas, loopback_allowed, receiver
):
    """PUBLISH_DELAY_MINUTES=7 does not divide a day: the product shows an idea
    made at 10:17:23 from 10:21 (multiples of 7 minutes since the epoch), and
    a webhook must carry it then, not at 10:23 (counted from midnight), which
    would tell a board poller more than the window."""
    allow("127.0.0.1", delay=7)
    made_at = dt.datetime(2026, 3, 4, 10, 17, 23, tzinfo=dt.UTC)
    shown = dt.datetime(2026, 3, 4, 10, 21, tzinfo=dt.UTC)
    assert publish.visible_from(made_at) == shown
    clock.set_clock(lambda: made_at)
    try:
        admin = await personas.get("adam_admin")
        await webhooks.create_endpoint(
            ctx_for(admin.viewer), receiver.url("/ok"), ["idea.submitted", "comment.created"]
        )
        alice = await personas.get("alice_support")
        idea = await submit(alice)
        r = await alice.api().post(f"/api/v1/ideas/{idea}/comments", json={"body": "More."})
        assert r.status_code == 201, r.text
    finally:
        clock.set_clock(None)
    row = await Idea.select(Idea.published_at).where(Idea.id == int(idea)).first()
    assert row["published_at"] == shown
    assert webhooks.last_boundary(shown + dt.timedelta(minutes=1)) == shown
    assert await webhooks.release_batched(shown - dt.timedelta(seconds=1)) == []
    ids = await webhooks.release_batched(shown + dt.timedelta(seconds=5))
    assert len(ids) == 2
    rows = await WebhookDelivery.select(WebhookDelivery.due_at, WebhookDelivery.payload).run()
    assert {r["due_at"] for r in rows} == {shown}
    assert {json.loads(r["payload"])["timestamp"] for r in rows} == {shown.isoformat()}


async def test_a_row_is_released_by_its_published_at(personas, loopback_allowed, receiver):
    """Where an idea carries `published_at`, that is when a channel may learn
    of it: not earlier, even if the window of its `created_at` is over."""
    allow("127.0.0.1", delay=60)
    day = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    admin = await personas.get("adam_admin")
    made = await webhooks.create_endpoint(
        ctx_for(admin.viewer), receiver.url("/ok"), ["idea.submitted"]
    )
    await WebhookEndpoint.update({WebhookEndpoint.created_at: day}).where(
        WebhookEndpoint.id == int(made.id)
    )
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    await Idea.update(
        {Idea.created_at: day.replace(hour=10, minute=17), Idea.published_at: day.replace(hour=12)}
    ).where(Idea.id == int(idea))
    assert await webhooks.release_batched(day.replace(hour=11, minute=1)) == []
    assert len(await webhooks.release_batched(day.replace(hour=12, minute=0, second=5))) == 1
    row = await WebhookDelivery.select(WebhookDelivery.due_at).first()
    assert row["due_at"] == day.replace(hour=12)
