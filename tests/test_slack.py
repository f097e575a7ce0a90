"""The Slack app against a local Slack Web API (a real HTTP server on
loopback that `slack_sdk`'s `base_url` points at, recording each call's
method, token and body), with requests signed exactly as Slack signs them."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from ideas import clock, publish
from ideas.config import get_settings, reset_settings
from ideas.integrations import webhooks
from ideas.tables import Idea, WebhookDelivery
from tests.factories import ctx_for, submit
from tests.notify_helpers import drain
from tests.test_webhooks import FAST, ship_idea

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-0000-touchpoint"


class FakeSlack:
    """Slack's Web API on loopback: users.info knows the users given; every
    other method answers ok. Records (method, token, body) of each call."""

    def __init__(self, users: dict[str, dict[str, Any]]) -> None:
        self.users = users
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                url = urlsplit(self.path)
                method = url.path.rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                if "json" in (self.headers.get("content-type") or ""):
                    body = json.loads(raw or b"{}")
                else:
                    body = dict(parse_qsl(raw.decode() or url.query))
                token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                fake.calls.append((method, token, body))
                answer: dict[str, Any] = {"ok": True}
                if method == "users.info":
                    user = fake.users.get(body.get("user", ""))
                    answer = (
                        {"ok": True, "user": user}
                        if user
                        else {"ok": False, "error": "user_not_found"}
                    )
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.api_url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def of(self, method: str) -> list[dict[str, Any]]:
        return [body for m, _token, body in self.calls if m == method]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def slack_user(email: str, confirmed: bool = True) -> dict[str, Any]:
    return {"id": "U1", "profile": {"email": email}, "is_email_confirmed": confirmed}


@pytest.fixture
async def fake_slack(personas):
    alice = await personas.get("alice_support")
    users = {
        "U_ALICE": slack_user(alice.email.upper()),
        "U_STRANGER": slack_user("someone.else@example.com"),
        "U_UNCONFIRMED": slack_user(alice.email, confirmed=False),
    }
    fake = FakeSlack(users)
    before = get_settings()
    reset_settings(
        dataclasses.replace(
            before,
            slack_signing_secret=SIGNING_SECRET,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=fake.api_url,
            publish_delay_minutes=0,
        )
    )
    yield fake
    reset_settings(before)
    fake.stop()


def signed(body: bytes, at: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers as Slack signs a request: v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    # the machine's clock, not ideas.clock: slack_sdk's verifier checks the
    # timestamp against time.time()
    ts = str(at if at is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


FORM = "application/x-www-form-urlencoded"


async def post_form(client, path: str, fields: dict[str, str], **sign: Any):
    body = urlencode(fields).encode()
    headers = {"Content-Type": FORM, **signed(body, **sign)}
    return await client.post(path, content=body, headers=headers)


async def interact(client, payload: dict[str, Any]):
    return await post_form(
        client, "/integrations/slack/interactions", {"payload": json.dumps(payload)}
    )


# -- signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/integrations/slack/commands",
        "/integrations/slack/interactions",
        "/integrations/slack/events",
    ],
)
async def test_unsigned_stale_tampered_or_wrongly_signed_requests_are_refused(
    client, fake_slack, path
):
    body = urlencode({"command": "/idea", "user_id": "U_ALICE", "trigger_id": "t1"}).encode()
    plain = {"Content-Type": FORM}
    assert (await client.post(path, content=body, headers=plain)).status_code == 401
    stale = signed(body, at=int(time.time()) - 600)  # slack_sdk reads time.time()
    assert (await client.post(path, content=body, headers={**plain, **stale})).status_code == 401
    tampered = body.replace(b"U_ALICE", b"U_ADMIN")
    good = signed(body)
    assert (await client.post(path, content=tampered, headers={**plain, **good})).status_code == 401
    wrong = signed(body, secret="not-the-secret")
    assert (await client.post(path, content=body, headers={**plain, **wrong})).status_code == 401
    assert fake_slack.calls == []


async def test_no_signing_secret_refuses_everything(client, fake_slack):
    reset_settings(dataclasses.replace(get_settings(), slack_signing_secret=None))
    r = await post_form(client, "/integrations/slack/commands", {"user_id": "U_ALICE"})
    assert r.status_code == 401


async def test_events_url_check_answers_the_challenge(client, fake_slack):
    body = json.dumps(
        {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595"}
    ).encode()
    r = await client.post(
        "/integrations/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **signed(body)},
    )
    assert r.status_code == 200 and r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595"}


# -- /idea, the shortcut, the modal -------------------------------------------------------------


async def test_slash_command_opens_the_modal_for_a_known_colleague(client, fake_slack):
    r = await post_form(
        client,
        "/integrations/slack/commands",
        {
            "command": "/idea",
            "text": "PO numbers on invoices",
            "user_id": "U_ALICE",
            "trigger_id": "trig-1",
        },
    )
    assert r.status_code == 200 and r.content == b""
    methods = [(m, token) for m, token, _ in fake_slack.calls]
    assert methods == [("users.info", BOT_TOKEN), ("views.open", BOT_TOKEN)]
    [opened] = fake_slack.of("views.open")
    assert opened["trigger_id"] == "trig-1"
    view = opened["view"]
    assert view["type"] == "modal" and view["callback_id"] == "touchpoint_submit_idea"
    title = next(b for b in view["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == "PO numbers on invoices"


@pytest.mark.parametrize("user", ["U_STRANGER", "U_UNCONFIRMED", "U_NOBODY"])
async def test_unmatched_slack_user_is_told_how_to_get_access(client, fake_slack, user):
    r = await post_form(
        client,
        "/integrations/slack/commands",
        {"command": "/idea", "user_id": user, "trigger_id": "t"},
    )
    assert r.status_code == 200
    assert r.json()["response_type"] == "ephemeral" and "admin" in r.json()["text"]
    assert fake_slack.of("views.open") == []


async def test_message_shortcut_opens_the_modal_prefilled(client, fake_slack):
    message = "Customers keep asking why the invoice has no PO number on it."
    r = await interact(
        client,
        {
            "type": "message_action",
            "callback_id": "suggest_cx_idea",
            "trigger_id": "trig-2",
            "user": {"id": "U_ALICE"},
            "channel": {"id": "C1"},
            "message": {"text": message},
        },
    )
    assert r.status_code == 200
    [opened] = fake_slack.of("views.open")
    problem = next(b for b in opened["view"]["blocks"] if b["block_id"] == "problem")
    assert problem["element"]["initial_value"] == message


def submission(user: str, **values: str) -> dict[str, Any]:
    fields = {
        "title": "Print the PO number on invoices",
        "problem": "Accounting departments bounce invoices without a PO number.",
        "proposal": "Ask for the PO number at checkout and print it on every invoice.",
        "touchpoint": "billing",
        **values,
    }
    state = {
        k: {k: {"type": "static_select", "selected_option": {"value": v}}}
        if k == "touchpoint"
        else {k: {"type": "plain_text_input", "value": v}}
        for k, v in fields.items()
    }
    return {
        "type": "view_submission",
        "user": {"id": user},
        "view": {"callback_id": "touchpoint_submit_idea", "state": {"values": state}},
    }


async def test_modal_submission_puts_the_idea_on_the_board_as_that_persons(
    client, fake_slack, personas
):
    alice = await personas.get("alice_support")
    r = await interact(client, submission("U_ALICE"))
    assert r.status_code == 200 and r.json()["response_action"] == "update"
    [idea] = await Idea.select(Idea.id, Idea.title).run()
    assert idea["title"] == "Print the PO number on invoices"
    mine = (await alice.api().get("/api/v1/me/ideas")).json()["items"]
    assert [i["id"] for i in mine] == [str(idea["id"])]
    dan = await personas.get("dan_sales")
    seen = (await dan.api().get(f"/api/v1/ideas/{idea['id']}")).json()
    assert seen["is_mine"] is False


async def test_bad_modal_submission_names_the_field_and_creates_nothing(client, fake_slack):
    r = await interact(client, submission("U_ALICE", title="PO"))
    assert r.status_code == 200
    assert r.json()["response_action"] == "errors" and "title" in r.json()["errors"]
    r = await interact(client, submission("U_STRANGER"))
    assert r.json()["response_action"] == "errors"
    assert await Idea.count().run() == 0


# -- unfurls and channel posts ------------------------------------------------------------------


async def test_idea_links_unfurl_to_title_status_and_votes_only(client, fake_slack, personas):
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    base = get_settings().base_url
    event = {
        "type": "event_callback",
        "event": {
            "type": "link_shared",
            "user": "U_ALICE",
            "channel": "C1",
            "message_ts": "1700000000.000100",
            "links": [
                {"url": f"{base}/ideas/{idea}", "domain": "testserver"},
                {"url": f"{base}/ideas/999999", "domain": "testserver"},
                {"url": "https://example.com/ideas/1", "domain": "example.com"},
            ],
        },
    }
    body = json.dumps(event).encode()
    r = await client.post(
        "/integrations/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **signed(body)},
    )
    assert r.status_code == 200
    [unfurl] = fake_slack.of("chat.unfurl")
    assert unfurl["channel"] == "C1" and unfurl["ts"] == "1700000000.000100"
    assert list(unfurl["unfurls"]) == [f"{base}/ideas/{idea}"]
    text = json.dumps(unfurl)
    assert "Print the customer's PO number on every invoice" in text
    assert "Votes:* 0" in text and "New" in text
    for secret in [*alice.identity_strings(), alice.department, "Accounting departments"]:
        assert secret not in text


async def share_link(client, idea: str, user: str | None) -> None:
    """Slack tells of a message with an idea's link, shared by `user`."""
    inner = {
        "type": "link_shared",
        "channel": "C1",
        "message_ts": "1700000000.000200",
        "links": [{"url": f"{get_settings().base_url}/ideas/{idea}", "domain": "testserver"}],
    }
    if user is not None:
        inner["user"] = user
    body = json.dumps({"type": "event_callback", "event": inner}).encode()
    r = await client.post(
        "/integrations/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **signed(body)},
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("user", [None, "U_STRANGER", "U_UNCONFIRMED", "U_NOBODY"])
async def test_a_link_shared_by_no_colleague_unfurls_nothing(client, fake_slack, personas, user):
    """Anyone in a shared or Connect channel could paste idea ids one by one
    to learn titles and how far each got: only a Slack user matched to an
    active Touchpoint person gets an unfurl."""
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    await share_link(client, idea, user)
    assert fake_slack.of("chat.unfurl") == []
    await share_link(client, idea, "U_ALICE")
    assert len(fake_slack.of("chat.unfurl")) == 1


async def test_a_pending_idea_unfurls_nothing_until_its_batch(client, fake_slack, personas):
    """PUBLISH_DELAY_MINUTES=60: an idea made at 10:17 is no idea to others
    before 11:00, so its link (ids are guessable) unfurls nothing before then."""
    import datetime as dt

    reset_settings(dataclasses.replace(get_settings(), publish_delay_minutes=60))
    made_at = dt.datetime(2026, 3, 4, 10, 17, tzinfo=dt.UTC)
    now = [made_at]
    clock.set_clock(lambda: now[0])
    try:
        alice = await personas.get("alice_support")
        idea = await submit(alice)
        now[0] = publish.visible_from(made_at) - dt.timedelta(seconds=1)
        await share_link(client, idea, "U_ALICE")
        assert fake_slack.of("chat.unfurl") == []
        now[0] = publish.visible_from(made_at)
        await share_link(client, idea, "U_ALICE")
        [unfurl] = fake_slack.of("chat.unfurl")
        assert "Print the customer's PO number on every invoice" in json.dumps(unfurl)
    finally:
        clock.set_clock(None)


async def test_shipped_idea_and_weekly_summary_post_to_the_chosen_channel(
    client, fake_slack, personas
):
    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(ctx_for(admin.viewer), "C0SHIPPED", [], "slack")
    alice = await personas.get("alice_support")
    idea = await ship_idea(personas, alice)
    await drain()
    posts = [(token, body) for m, token, body in fake_slack.calls if m == "chat.postMessage"]
    assert len(posts) == 1
    token, body = posts[0]
    assert token == BOT_TOKEN and body["channel"] == "C0SHIPPED"
    text = json.dumps(body)
    assert "Print the customer" in text and "Bounced invoices per week" in text
    assert f"/ideas/{idea}" in text
    for secret in [*alice.identity_strings(), alice.department]:
        assert secret not in text

    import datetime as dt

    monday = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    [summary] = await webhooks.plan_summary(monday)
    assert await webhooks.plan_summary(monday) == []
    result = await webhooks.attempt_delivery(summary, t=FAST, now=monday)
    assert result.outcome == "delivered"
    last = fake_slack.of("chat.postMessage")[-1]
    assert last["channel"] == "C0SHIPPED" and "2030-W01" in json.dumps(last)


async def test_the_weekly_summary_names_the_most_wanted_open_ideas(client, fake_slack, personas):
    """Its "top" is the ideas open for votes (policy.OPEN_FOR_VOTES, one
    waiting for the submitter's answer too), never a closed one."""
    import datetime as dt

    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(ctx_for(admin.viewer), "C0SHIPPED", [], "slack")
    alice = await personas.get("alice_support")
    ids = {}
    for status, votes in (("new", 1), ("needs_info", 5), ("declined", 9), ("withdrawn", 7)):
        ids[status] = int(await submit(alice, f"An idea that is {status} now", direct=True))
        await (
            Idea.update({Idea.status: status, Idea.votes: votes})
            .where(Idea.id == ids[status])
            .run()
        )
    monday = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    [summary] = await webhooks.plan_summary(monday)
    [payload] = (
        await WebhookDelivery.select(WebhookDelivery.payload)
        .where(WebhookDelivery.id == summary)
        .output(as_list=True)
        .run()
    )
    top = [int(i["id"]) for i in json.loads(payload)["data"]["top"]]
    assert top == [ids["needs_info"], ids["new"]]


async def test_ideas_from_slack_count_against_the_persons_rate_limit(client, fake_slack):
    settings = get_settings()
    reset_settings(dataclasses.replace(settings, rate_limits={**settings.rate_limits, "idea": 1}))
    answers = [(await interact(client, submission("U_ALICE"))).json() for _ in range(3)]
    refused = [a for a in answers if a["response_action"] == "errors"]
    # three within at most two rate windows: one at least is over the limit
    assert refused and all("Too many" in a["errors"]["title"] for a in refused)
    assert await Idea.count().run() == 3 - len(refused)


async def test_the_shipped_post_names_a_submitter_who_opted_in_and_nothing_more(
    client, fake_slack, personas
):
    admin = await personas.get("adam_admin")
    await webhooks.create_endpoint(ctx_for(admin.viewer), "C0SHIPPED", [], "slack")
    alice = await personas.get("alice_support")
    await ship_idea(personas, alice, credit=True)
    await drain()
    [post] = fake_slack.of("chat.postMessage")
    text = json.dumps(post)
    assert "Thanks to:* Alice Andersson" in text
    for secret in [alice.email, alice.title, alice.id, alice.department]:
        assert secret not in text
