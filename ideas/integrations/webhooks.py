"""Outgoing webhooks and chat channels: more deliverers on the outbox.

- `plan_event(event_id)` (called by the worker's per-event job, before the
  event is marked dispatched) makes one delivery per subscribed endpoint of
  a status event: `idea.status_changed`, and `idea.shipped` / `idea.merged`.
- `release_batched(now)` (a periodic job) makes the deliveries of new ideas
  (`idea.submitted`) and comments (`comment.created`) made before the last
  release boundary, a multiple of PUBLISH_DELAY_MINUTES (UTC): a channel
  learns of them in a batch, never at the moment someone acted. A status
  event caused by a submitter (an answer to the council) waits the same way.
- `attempt_delivery(id)` sends one delivery once: signed per Standard
  Webhooks (`standardwebhooks`), through the SSRF guard, with a timeout and
  a cap on the answer read. A failure is retried with exponential back-off
  for a bounded time, always with the same `webhook-id`; an endpoint that
  fails `disable_after` times in a row is switched off and admins are told.

Each delivery is unique per (endpoint, source) (a unique index), so a re-run
after a crash adds nothing twice. Payloads carry the idea as a plain staff
member sees it (ideas.blind), never a submitter, their department or a time
finer than the release window.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import secrets
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, Field
from standardwebhooks.webhooks import Webhook

from ideas import audit, clock
from ideas.blind import IDEA_COLUMNS, author_label, blind_ideas
from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.integrations import ssrf
from ideas.lifecycle import DUPLICATE, SHIPPED
from ideas.publish import is_pending, visible_from
from ideas.tables import (
    Comment,
    Event,
    Idea,
    JobRun,
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from ideas.viewer import Viewer, require_role

#: event names a webhook may subscribe to (API.md, "Added in v1.1")
EVENTS = (
    "idea.submitted",
    "idea.status_changed",
    "idea.shipped",
    "idea.merged",
    "comment.created",
)
#: arq function name of one attempt of a delivery (workers.tasks.deliver_webhook)
DELIVER_WEBHOOK = "deliver_webhook"


def job_id(delivery_id: int, attempts: int) -> str:
    """One job per attempt of a delivery: a retry gets a new job, a repeated
    enqueue of the same attempt (sweep, crash) does not."""
    return f"webhook:{delivery_id}:{attempts}"


#: what a chat channel (Slack, Teams) receives
CHAT_EVENTS = ("idea.shipped", "summary.weekly")
KINDS = ("webhook", "slack", "teams")

#: the least-privileged reader: a staff member who voted for nothing and submitted nothing
STAFF_READER = Viewer(
    id=UUID(int=0), name="Staff", email="staff@invalid", department_id=0, roles=frozenset({"staff"})
)

#: how far back the release job looks for ideas and comments not yet delivered
LOOKBACK = dt.timedelta(days=7)
#: characters of an answer kept in the delivery log
EXCERPT = 500


@dataclass(frozen=True)
class Tuning:
    """Delivery knobs (TOUCHPOINT_WEBHOOK_*, checked in ideas/config.py)."""

    timeout_s: float = 10.0
    max_response_bytes: int = 64 * 1024
    retry_base_s: float = 30.0
    retry_cap_s: float = 3600.0
    max_attempts: int = 12
    disable_after: int = 25


def tuning() -> Tuning:
    w = get_settings().worker
    return Tuning(
        timeout_s=w.webhook_timeout_s,
        max_response_bytes=w.webhook_max_response_bytes,
        retry_base_s=w.webhook_retry_base_s,
        retry_cap_s=w.webhook_retry_cap_s,
        max_attempts=w.webhook_max_attempts,
        disable_after=w.webhook_disable_after,
    )


def backoff(attempts: int, t: Tuning) -> float:
    return min(t.retry_cap_s, t.retry_base_s * 2 ** max(0, attempts - 1))


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# -- release windows ------------------------------------------------------------------------


def period() -> dt.timedelta:
    return dt.timedelta(minutes=get_settings().publish_delay_minutes)


def last_boundary(now: dt.datetime, step: dt.timedelta | None = None) -> dt.datetime:
    """The latest release boundary at or before `now`: a multiple of `step`
    counted from the Unix epoch (UTC), the same rule as `ideas.publish`."""
    step = period() if step is None else step
    if step <= dt.timedelta(0):
        return now
    return visible_from(now, _minutes(step)) - step


def release_at(made: dt.datetime, step: dt.timedelta | None = None) -> dt.datetime:
    """When something made at `made` may be seen by others: exactly
    `ideas.publish.visible_from` (one rule for the product and channels)."""
    step = period() if step is None else step
    return visible_from(made, _minutes(step))


def _minutes(step: dt.timedelta) -> int:
    return max(0, int(step.total_seconds() // 60))


def _released(published_at: dt.datetime | None, made: dt.datetime, step: dt.timedelta):
    """When a row is released: its own `published_at` where it has one (the
    moment the product shows it to others), else the next boundary."""
    if published_at is not None:
        return published_at if published_at.tzinfo else published_at.replace(tzinfo=dt.UTC)
    return release_at(made, step)


# -- admin: endpoints ---------------------------------------------------------------------


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    events: list[str] = Field(max_length=len(EVENTS))


class WebhookOut(BaseModel):
    id: str
    kind: str
    url: str
    events: list[str]
    active: bool
    failures: int
    disabled_reason: str


class WebhookCreated(WebhookOut):
    """Answered once, when an endpoint is made or its secret rotated."""

    secret: str


class AttemptOut(BaseModel):
    id: str
    delivery_id: str
    event_id: str
    event: str
    attempted_at: dt.datetime
    status_code: int | None
    ok: bool
    latency_ms: int
    response_excerpt: str


def _endpoint_out(row: dict, secret: str | None = None) -> WebhookOut:
    fields = dict(
        id=str(row["id"]),
        kind=row["kind"],
        url=row["url"],
        events=list(row["events"] or []),
        active=row["active"],
        failures=row["failures"],
        disabled_reason=row["disabled_reason"],
    )
    return WebhookCreated(**fields, secret=secret) if secret else WebhookOut(**fields)


def _check_url(url: str, field: str = "url") -> str:
    url = (url or "").strip()
    if not url:
        raise Invalid(field, "give the URL to post to")
    if len(url) > 2000:
        raise Invalid(field, "at most 2000 characters")
    try:
        ssrf.check_literal(url, get_settings().webhook_allowed_hosts)
    except ssrf.Refused as exc:
        raise Invalid(field, str(exc)) from None
    return url


def _check_events(events: Sequence[str], kind: str) -> list[str]:
    allowed = EVENTS if kind == "webhook" else CHAT_EVENTS
    if not events:
        raise Invalid("events", f"choose at least one of {', '.join(allowed)}")
    unknown = [e for e in events if e not in allowed]
    if unknown:
        raise Invalid("events", f"unknown event {unknown[0]!r}; known: {', '.join(allowed)}")
    return [e for e in allowed if e in set(events)]


def parse_endpoint_id(raw: str | int) -> int:
    try:
        value = int(str(raw))
        if not 0 < value < 2**31:
            raise ValueError
        return value
    except ValueError:
        raise NotFound("no such webhook") from None


async def create_endpoint(
    viewer: Viewer, url: str, events: Sequence[str], kind: str = "webhook"
) -> WebhookOut:
    """A new endpoint (admins); a webhook's secret is in the answer, and only there."""
    require_role(viewer, "admin")
    if kind not in KINDS:
        raise Invalid("kind", f"one of {', '.join(KINDS)}")
    if kind == "slack":
        url = (url or "").strip()
        if not url or len(url) > 80 or not url.replace("-", "").replace("_", "").isalnum():
            raise Invalid("channel", "give the Slack channel id, e.g. C0123456789")
    else:
        url = _check_url(url)
    if kind != "webhook" and not events:
        events = list(CHAT_EVENTS)
    events = _check_events(events, kind)
    secret = new_secret() if kind == "webhook" else ""
    async with write_transaction():
        endpoint = WebhookEndpoint(
            kind=kind, url=url, events=events, active=True, secret=secret, created_at=clock.now()
        )
        await endpoint.save().run()
        await audit.record(viewer, f"{kind}.create", url, {"events": events})
    row = await _endpoint_row(endpoint.id)
    return _endpoint_out(row, secret if kind == "webhook" else None)


async def _endpoint_row(endpoint_id: int) -> dict:
    rows = (
        await WebhookEndpoint.select()
        .where(WebhookEndpoint.id == endpoint_id)
        .output(load_json=True)
        .run()
    )
    if not rows:
        raise NotFound("no such webhook")
    return rows[0]


async def list_endpoints(viewer: Viewer, kind: str | None = "webhook") -> list[WebhookOut]:
    require_role(viewer, "admin")
    query = WebhookEndpoint.select().output(load_json=True).order_by(WebhookEndpoint.id)
    if kind:
        query = query.where(WebhookEndpoint.kind == kind)
    return [_endpoint_out(r) for r in await query.run()]


async def get_endpoint(viewer: Viewer, endpoint_id: str | int) -> WebhookOut:
    require_role(viewer, "admin")
    return _endpoint_out(await _endpoint_row(parse_endpoint_id(endpoint_id)))


async def delete_endpoint(viewer: Viewer, endpoint_id: str | int) -> None:
    require_role(viewer, "admin")
    row = await _endpoint_row(parse_endpoint_id(endpoint_id))
    async with write_transaction():
        await WebhookEndpoint.delete().where(WebhookEndpoint.id == row["id"]).run()
        await audit.record(viewer, f"{row['kind']}.delete", row["url"])


async def rotate_secret(viewer: Viewer, endpoint_id: str | int) -> WebhookOut:
    """A new secret, shown once; the old one stops signing at once."""
    require_role(viewer, "admin")
    row = await _endpoint_row(parse_endpoint_id(endpoint_id))
    if row["kind"] != "webhook":
        raise Conflict("only webhooks have a signing secret")
    secret = new_secret()
    async with write_transaction():
        await (
            WebhookEndpoint.update({WebhookEndpoint.secret: secret})
            .where(WebhookEndpoint.id == row["id"])
            .run()
        )
        await audit.record(viewer, "webhook.rotate", row["url"])
    return _endpoint_out(await _endpoint_row(row["id"]), secret)


async def set_active(viewer: Viewer, endpoint_id: str | int, active: bool) -> WebhookOut:
    """Switch an endpoint on (its failure count starts again) or off."""
    require_role(viewer, "admin")
    row = await _endpoint_row(parse_endpoint_id(endpoint_id))
    values: dict[Any, Any] = {WebhookEndpoint.active: active, WebhookEndpoint.disabled_reason: ""}
    if active:
        values[WebhookEndpoint.failures] = 0
    async with write_transaction():
        await WebhookEndpoint.update(values).where(WebhookEndpoint.id == row["id"]).run()
        await audit.record(
            viewer, f"{row['kind']}.{'activate' if active else 'deactivate'}", row["url"]
        )
    return _endpoint_out(await _endpoint_row(row["id"]))


async def list_attempts(
    viewer: Viewer, endpoint_id: str | int, limit: int = 100
) -> list[AttemptOut]:
    """The delivery log of one endpoint, newest first."""
    require_role(viewer, "admin")
    row = await _endpoint_row(parse_endpoint_id(endpoint_id))
    rows = (
        await WebhookAttempt.select(
            WebhookAttempt.id,
            WebhookAttempt.delivery,
            WebhookAttempt.delivery.message_id.as_alias("message_id"),
            WebhookAttempt.delivery.event.as_alias("event"),
            WebhookAttempt.attempted_at,
            WebhookAttempt.status_code,
            WebhookAttempt.ok,
            WebhookAttempt.latency_ms,
            WebhookAttempt.response_excerpt,
        )
        .where(WebhookAttempt.endpoint == row["id"])
        .order_by(WebhookAttempt.id, ascending=False)
        .limit(limit)
        .run()
    )
    return [
        AttemptOut(
            id=str(r["id"]),
            delivery_id=str(r["delivery"]),
            event_id=r["message_id"],
            event=r["event"],
            attempted_at=r["attempted_at"],
            status_code=r["status_code"],
            ok=r["ok"],
            latency_ms=r["latency_ms"],
            response_excerpt=r["response_excerpt"],
        )
        for r in rows
    ]


async def send_again(
    viewer: Viewer, delivery_id: str | int, now: dt.datetime | None = None
) -> tuple[str, int]:
    """Make a delivery due again (same message, same id); returns its
    endpoint's id and its attempts so far (for the job id)."""
    require_role(viewer, "admin")
    now = now or clock.now()
    try:
        did = int(str(delivery_id))
        if not 0 < did < 2**31:
            raise ValueError
    except ValueError:
        raise NotFound("no such delivery") from None
    async with write_transaction():
        rows = (
            await WebhookDelivery.select(
                WebhookDelivery.id,
                WebhookDelivery.attempts,
                WebhookDelivery.endpoint,
                WebhookDelivery.endpoint.url.as_alias("url"),
            )
            .where(WebhookDelivery.id == did)
            .run()
        )
        if not rows:
            raise NotFound("no such delivery")
        await (
            WebhookDelivery.update(
                {WebhookDelivery.state: "pending", WebhookDelivery.next_attempt_at: now}
            )
            .where(WebhookDelivery.id == did)
            .run()
        )
        await audit.record(viewer, "webhook.send_again", rows[0]["url"], {"delivery": did})
    return str(rows[0]["endpoint"]), rows[0]["attempts"]


# -- payloads ----------------------------------------------------------------------------------


def _idea_json(idea) -> dict[str, Any]:
    data = idea.model_dump(mode="json")
    # the reader's own facts mean nothing to a channel
    data.pop("voted", None)
    data.pop("is_mine", None)
    return data


async def staff_ideas(
    idea_ids: Sequence[int], published_by: dt.datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Ideas as the least-privileged reader sees them, by id; with
    `published_by`, only those others may see at that time (ideas.publish)."""
    if not idea_ids:
        return {}
    rows = await Idea.select(*IDEA_COLUMNS).where(Idea.id.is_in(list(set(idea_ids)))).run()
    if published_by is not None:
        shown = {
            r["id"]
            for r in await Idea.select(Idea.id, Idea.published_at)
            .where(Idea.id.is_in(list(set(idea_ids))))
            .run()
            if not is_pending(r["published_at"], published_by)
        }
        rows = [r for r in rows if r["id"] in shown]
    ideas = await blind_ideas(rows, STAFF_READER)
    return {int(i.id): _idea_json(i) for i in ideas}


async def shipped_extra(idea_id: int) -> dict[str, Any]:
    """What a shipped post adds: the public ship note and the impact."""
    rows = (
        await Idea.select(Idea.ship_note, Idea.impact_metric, Idea.impact_before, Idea.impact_after)
        .where(Idea.id == idea_id)
        .run()
    )
    if not rows:
        return {}
    r = rows[0]
    impact = None
    if r["impact_metric"] and r["impact_before"] is not None and r["impact_after"] is not None:
        impact = {
            "metric": r["impact_metric"],
            "before": r["impact_before"],
            "after": r["impact_after"],
        }
    return {"ship_note": r["ship_note"], "impact": impact}


def envelope(event: str, at: dt.datetime, data: dict[str, Any]) -> str:
    """The body of every delivery: {"type", "timestamp", "data"}."""
    body = {"type": event, "timestamp": at.astimezone(dt.UTC).isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


async def _endpoints_for(events: Sequence[str], since: dt.datetime | None = None) -> list[dict]:
    rows = (
        await WebhookEndpoint.select(
            WebhookEndpoint.id,
            WebhookEndpoint.kind,
            WebhookEndpoint.events,
            WebhookEndpoint.created_at,
        )
        .where(WebhookEndpoint.active.eq(True))
        .output(load_json=True)
        .run()
    )
    return [
        r
        for r in rows
        if set(r["events"] or []) & set(events) and (since is None or r["created_at"] <= since)
    ]


async def _insert(rows: list[WebhookDelivery]) -> list[int]:
    """Insert deliveries; those that exist already (endpoint, source) are skipped."""
    made = []
    for row in rows:
        async with write_transaction():
            result = (
                await WebhookDelivery.insert(row)
                .on_conflict(action="DO NOTHING")
                .returning(WebhookDelivery.id)
                .run()
            )
        made += [r["id"] for r in result]
    return made


def _delivery(endpoint: dict, source: str, event: str, payload: str, due: dt.datetime, now):
    return WebhookDelivery(
        endpoint=endpoint["id"],
        message_id="msg_" + uuid.uuid4().hex,
        source=source,
        event=event,
        payload=payload,
        due_at=due,
        state="pending",
        attempts=0,
        next_attempt_at=due,
        created_at=now,
    )


def _status_events(status: str) -> list[str]:
    if status == SHIPPED:
        return ["idea.shipped", "idea.status_changed"]
    if status == DUPLICATE:
        return ["idea.merged", "idea.status_changed"]
    return ["idea.status_changed"]


async def plan_event(event_id: int, now: dt.datetime | None = None) -> list[int]:
    """Deliveries of one outbox event for every subscribed endpoint
    (idempotent). Returns the ids of those due now."""
    now = now or clock.now()
    rows = (
        await Event.select(
            Event.id,
            Event.idea,
            Event.kind,
            Event.status,
            Event.note,
            Event.actor_label,
            Event.public,
            Event.data,
            Event.created_at,
        )
        .where(Event.id == event_id)
        .output(load_json=True)
        .run()
    )
    if not rows:
        return []
    event = rows[0]
    if event["kind"] != "status" or not event["public"] or event["idea"] is None:
        return []
    names = _status_events(event["status"])
    endpoints = await _endpoints_for(names)
    if not endpoints:
        return []
    data = event["data"] if isinstance(event["data"], dict) else {}
    by_submitter = event["actor_label"] == "Submitter" or bool(data.get("answered"))
    # a submitter's act reaches channels at the next release, like a new idea
    due = release_at(event["created_at"]) if by_submitter else event["created_at"]
    made_at = (
        await Idea.select(Idea.created_at, Idea.published_at)
        .where(Idea.id == event["idea"])
        .first()
        .run()
    )
    idea = (await staff_ideas([event["idea"]])).get(event["idea"])
    if idea is None or made_at is None:
        return []
    # nor may a change of a brand-new idea say that it existed before its own release
    first_seen = _released(made_at["published_at"], made_at["created_at"], period())
    if due < first_seen:
        due, by_submitter = first_seen, True
    body: dict[str, Any] = {"idea": idea, "status": event["status"], "note": event["note"]}
    if event["status"] == SHIPPED:
        body.update(await shipped_extra(event["idea"]))
    if event["status"] == DUPLICATE:
        body["merged_into"] = idea.get("duplicate_of")
    stamp = due if by_submitter else event["created_at"]
    made = []
    for endpoint in endpoints:
        for name in names:
            if name in endpoint["events"]:
                made.append(
                    _delivery(
                        endpoint,
                        f"event:{event_id}:{name}",
                        name,
                        envelope(name, stamp, body),
                        due,
                        now,
                    )
                )
    ids = await _insert(made)
    return ids if due <= now else []


async def _sources_of(endpoint_id: int, prefix: str, since: dt.datetime) -> set[str]:
    """Sources already delivered to an endpoint (made no earlier than `since`:
    a delivery is made after the thing it carries)."""
    rows = (
        await WebhookDelivery.select(WebhookDelivery.source)
        .where(
            WebhookDelivery.endpoint == endpoint_id,
            WebhookDelivery.source.like(prefix + "%"),
            WebhookDelivery.created_at >= since,
        )
        .run()
    )
    return {r["source"] for r in rows}


async def _period_done(key: str) -> bool:
    return await JobRun.exists().where(JobRun.key == key).run()


async def _finish_period(key: str) -> None:
    async with write_transaction():
        await JobRun.insert(JobRun(key=key)).on_conflict(action="DO NOTHING").run()


async def release_batched(now: dt.datetime | None = None) -> list[int]:
    """Deliveries of the ideas and comments made before the last release
    boundary (and after the endpoint was made), in an order that says nothing
    of when each was made. Idempotent; returns the new delivery ids."""
    now = now or clock.now()
    boundary = last_boundary(now)
    run_key = f"webhook-release:{boundary.isoformat()}"
    if await _period_done(run_key):
        return []  # this window is out: the every-minute job costs one lookup
    made: list[WebhookDelivery] = []
    step = period()
    for endpoint in await _endpoints_for(["idea.submitted", "comment.created"]):
        since = max(endpoint["created_at"], boundary - LOOKBACK)
        if "idea.submitted" in endpoint["events"]:
            rows = (
                await Idea.select(Idea.id, Idea.created_at, Idea.published_at)
                .where(Idea.created_at >= since, Idea.created_at < boundary)
                .where(Idea.status != "withdrawn")
                .run()
            )
            done = await _sources_of(endpoint["id"], "idea:", since)
            todo = [r for r in rows if f"idea:{r['id']}:idea.submitted" not in done]
            ideas = await staff_ideas([r["id"] for r in todo])
            for r in todo:
                due = _released(r["published_at"], r["created_at"], step)
                if r["id"] not in ideas or due > now:
                    continue
                payload = envelope("idea.submitted", due, {"idea": ideas[r["id"]]})
                source = f"idea:{r['id']}:idea.submitted"
                made.append(_delivery(endpoint, source, "idea.submitted", payload, due, now))
        if "comment.created" in endpoint["events"]:
            rows = (
                await Comment.select(
                    Comment.id,
                    Comment.idea,
                    Comment.body,
                    Comment.as_council,
                    Comment.by_submitter,
                    Comment.by_co_submitter,
                    Comment.created_at,
                    Comment.published_at,
                    Comment.author.name.as_alias("author_name"),
                )
                .where(Comment.created_at >= since, Comment.created_at < boundary)
                .where(Comment.deleted_at.is_null())
                .run()
            )
            done = await _sources_of(endpoint["id"], "comment:", since)
            todo = [r for r in rows if f"comment:{r['id']}:comment.created" not in done]
            ideas = await staff_ideas([r["idea"] for r in todo])
            for r in todo:
                due = _released(r["published_at"], r["created_at"], step)
                if r["idea"] not in ideas or due > now:
                    continue
                comment = {
                    "id": str(r["id"]),
                    "author": author_label(
                        r["by_submitter"], r["as_council"], r["author_name"], r["by_co_submitter"]
                    ),
                    "body": r["body"],
                }
                payload = envelope(
                    "comment.created", due, {"idea": ideas[r["idea"]], "comment": comment}
                )
                source = f"comment:{r['id']}:comment.created"
                made.append(_delivery(endpoint, source, "comment.created", payload, due, now))
    # the random message id says nothing of the order things were made in
    made.sort(key=lambda d: d.message_id)
    ids = await _insert(made)
    await _finish_period(run_key)
    return ids


async def plan_summary(now: dt.datetime | None = None) -> list[int]:
    """Once per ISO week (from Monday, UTC): the weekly summary for each chat
    channel that wants it. Counts and shipped titles only."""
    now = now or clock.now()
    monday = (now - dt.timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    week_start = monday - dt.timedelta(days=7)
    # a channel connected during the week gets its first summary next Monday
    endpoints = [
        e
        for e in await _endpoints_for(["summary.weekly"], since=monday)
        if e["kind"] in ("slack", "teams")
    ]
    if not endpoints:
        return []
    year, week, _ = week_start.date().isocalendar()
    key = f"{year}-W{week:02d}"
    if await _period_done(f"webhook-summary:{key}"):
        return []
    submitted = await Idea.count().where(Idea.created_at >= week_start, Idea.created_at < monday)
    shipped_rows = (
        await Idea.select(Idea.id)
        .where(Idea.status == SHIPPED, Idea.shipped_at >= week_start, Idea.shipped_at < monday)
        .order_by(Idea.votes, ascending=False)
        .limit(10)
        .run()
    )
    shipped = await staff_ideas([r["id"] for r in shipped_rows])
    top_rows = (
        await Idea.select(Idea.id)
        .where(Idea.status.is_in(["new", "in_review", "accepted", "in_progress"]))
        .where(Idea.created_at < last_boundary(now))
        .order_by(Idea.votes, ascending=False)
        .order_by(Idea.id)
        .limit(5)
        .run()
    )
    top = await staff_ideas([r["id"] for r in top_rows])
    data = {
        "week": key,
        "submitted": submitted,
        "shipped": [shipped[r["id"]] for r in shipped_rows if r["id"] in shipped],
        "top": [top[r["id"]] for r in top_rows if r["id"] in top],
    }
    payload = envelope("summary.weekly", monday, data)
    made = [
        _delivery(e, f"summary:{key}", "summary.weekly", payload, monday, now) for e in endpoints
    ]
    ids = await _insert(made)
    await _finish_period(f"webhook-summary:{key}")
    return ids


async def due_deliveries(now: dt.datetime, limit: int = 1000) -> list[tuple[int, int]]:
    """(delivery id, attempts) of pending deliveries whose next attempt is due."""
    rows = (
        await WebhookDelivery.select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .run()
    )
    return [(r["id"], r["attempts"]) for r in rows]


# -- sending ----------------------------------------------------------------------------------


@dataclass
class Answer:
    """What one attempt got back."""

    status_code: int | None
    ok: bool
    excerpt: str
    latency_ms: int


@dataclass
class AttemptResult:
    delivery_id: int
    outcome: str  # delivered, retry, failed, skipped, already, not_due, gone
    attempts: int = 0
    retry_at: dt.datetime | None = None
    status_code: int | None = None
    disabled: bool = False


async def post_checked(
    url: str,
    body: bytes,
    headers: dict[str, str],
    t: Tuning,
    resolver: ssrf.Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Answer:
    """POST through the SSRF guard: to the address checked (https: the URL's
    host name in SNI and in the certificate check), no redirects followed,
    the whole exchange within `t.timeout_s`, at most `t.max_response_bytes`
    of the answer read. `verify`: the trusted CAs (tests bring their own)."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = await ssrf.resolve(url, get_settings().webhook_allowed_hosts, resolver)
    except ssrf.Refused as exc:
        return Answer(None, False, f"refused: {exc}", took())
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    all_headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": "Touchpoint-Webhooks/1",
        **headers,
    }
    try:
        async with asyncio.timeout(t.timeout_s):
            async with httpx.AsyncClient(
                timeout=t.timeout_s, follow_redirects=False, trust_env=False, verify=verify
            ) as client:
                request = client.build_request(
                    "POST",
                    target.connect_url,
                    content=body,
                    headers=all_headers,
                    extensions=extensions,
                )
                response = await client.send(request, stream=True)
                try:
                    read = bytearray()
                    async for chunk in response.aiter_raw():
                        read += chunk
                        if len(read) >= t.max_response_bytes:
                            break
                finally:
                    await response.aclose()
    except TimeoutError:
        return Answer(None, False, f"timed out after {t.timeout_s:g} s", took())
    except httpx.HTTPError as exc:
        return Answer(None, False, f"{type(exc).__name__}: {exc}"[:EXCERPT], took())
    excerpt = bytes(read[: EXCERPT * 4]).decode("utf-8", "replace")[:EXCERPT]
    ok = 200 <= response.status_code < 300
    return Answer(response.status_code, ok, excerpt, took())


def sign_headers(secret: str, message_id: str, payload: str, at: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt (signed now, same id)."""
    signature = Webhook(secret).sign(message_id, at, payload)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


async def _send(delivery: dict, t: Tuning, resolver, now: dt.datetime) -> Answer:
    kind = delivery["kind"]
    if kind == "webhook":
        headers = sign_headers(
            delivery["secret"], delivery["message_id"], delivery["payload"], clock.now()
        )
        return await post_checked(
            delivery["url"], delivery["payload"].encode(), headers, t, resolver
        )
    envelope_ = json.loads(delivery["payload"])
    if kind == "teams":
        from ideas.integrations import teams

        body = json.dumps(teams.message_for(envelope_)).encode()
        return await post_checked(delivery["url"], body, {}, t, resolver)
    from ideas.integrations import slack

    return await slack.post_to_channel(delivery["url"], envelope_, t)


async def _tell_admins(endpoint: dict, now: dt.datetime) -> None:
    """A notice (and its e-mail) to every active admin: the endpoint is off."""
    text = (
        f"The {endpoint['kind']} endpoint {endpoint['url'][:200]} was switched off after "
        f"{endpoint['failures']} failed deliveries in a row. Check it and switch it on "
        "again on the admin pages."
    )
    key = f"webhook_disabled:{endpoint['id']}:{now.isoformat()}:user:"
    await Notification.raw(
        'INSERT INTO notification ("user", event, idea, kind, text, dedup_key, created_at, '
        "email_status, email_attempts, email_error) "
        "SELECT u.id, NULL, NULL, 'webhook_disabled', {}, {} || CAST(u.id AS TEXT), {}, "
        "'pending', 0, '' FROM tp_user u WHERE u.active AND u.is_admin "
        "ON CONFLICT (dedup_key) DO NOTHING",
        text,
        key,
        now,
    ).run()


async def attempt_delivery(
    delivery_id: int,
    *,
    now: dt.datetime | None = None,
    t: Tuning | None = None,
    resolver: ssrf.Resolver | None = None,
) -> AttemptResult:
    """Send one delivery once, log the attempt and decide what comes next."""
    t = t or tuning()
    now = now or clock.now()
    rows = (
        await WebhookDelivery.select(
            WebhookDelivery.id,
            WebhookDelivery.message_id,
            WebhookDelivery.payload,
            WebhookDelivery.state,
            WebhookDelivery.attempts,
            WebhookDelivery.due_at,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.endpoint.as_alias("endpoint_id"),
            WebhookDelivery.endpoint.kind.as_alias("kind"),
            WebhookDelivery.endpoint.url.as_alias("url"),
            WebhookDelivery.endpoint.secret.as_alias("secret"),
            WebhookDelivery.endpoint.active.as_alias("active"),
        )
        .where(WebhookDelivery.id == delivery_id)
        .run()
    )
    if not rows:
        return AttemptResult(delivery_id, "gone")
    d = rows[0]
    if d["state"] != "pending":
        return AttemptResult(delivery_id, "already", d["attempts"])
    if not d["active"]:
        async with write_transaction():
            await (
                WebhookDelivery.update({WebhookDelivery.state: "skipped"})
                .where(WebhookDelivery.id == delivery_id)
                .run()
            )
        return AttemptResult(delivery_id, "skipped", d["attempts"])
    if d["due_at"] > now:
        return AttemptResult(delivery_id, "not_due", d["attempts"], retry_at=d["due_at"])
    answer = await _send(d, t, resolver, now)
    attempts = d["attempts"] + 1
    done_at = clock.now()
    disabled = False
    async with write_transaction():
        if not await WebhookDelivery.exists().where(WebhookDelivery.id == delivery_id).run():
            return AttemptResult(delivery_id, "gone", attempts, status_code=answer.status_code)
        await WebhookAttempt.insert(
            WebhookAttempt(
                delivery=delivery_id,
                endpoint=d["endpoint_id"],
                attempted_at=done_at,
                status_code=answer.status_code,
                ok=answer.ok,
                latency_ms=answer.latency_ms,
                response_excerpt=answer.excerpt,
            )
        ).run()
        values: dict[Any, Any] = {WebhookDelivery.attempts: attempts}
        if answer.ok:
            values.update(
                {WebhookDelivery.state: "delivered", WebhookDelivery.delivered_at: done_at}
            )
            values[WebhookDelivery.next_attempt_at] = None
            await (
                WebhookEndpoint.update({WebhookEndpoint.failures: 0})
                .where(WebhookEndpoint.id == d["endpoint_id"])
                .run()
            )
            outcome, retry_at = "delivered", None
        else:
            retry_at = now + dt.timedelta(seconds=backoff(attempts, t))
            if attempts >= t.max_attempts:
                values[WebhookDelivery.state] = "failed"
                values[WebhookDelivery.next_attempt_at] = None
                outcome, retry_at = "failed", None
            else:
                values[WebhookDelivery.next_attempt_at] = retry_at
                outcome = "retry"
            rows = await WebhookEndpoint.raw(
                "UPDATE webhook_endpoint SET failures = failures + 1 WHERE id = {} "
                "RETURNING id, kind, url, failures, active",
                d["endpoint_id"],
            ).run()
            endpoint = rows[0] if rows else None
            if endpoint and endpoint["active"] and endpoint["failures"] >= t.disable_after:
                await (
                    WebhookEndpoint.update(
                        {
                            WebhookEndpoint.active: False,
                            WebhookEndpoint.disabled_reason: (
                                f"switched off after {endpoint['failures']} failures in a row"
                            ),
                        }
                    )
                    .where(WebhookEndpoint.id == d["endpoint_id"])
                    .run()
                )
                await _tell_admins(endpoint, done_at)
                disabled = True
        await WebhookDelivery.update(values).where(WebhookDelivery.id == delivery_id).run()
    return AttemptResult(
        delivery_id, outcome, attempts, retry_at, answer.status_code, disabled=disabled
    )
