"""Making deliveries: one per subscribed endpoint of a status event
(`plan_event`), the batched new ideas and comments at each release boundary
(`release_batched`), the weekly chat summary (`plan_summary`). Each delivery
is unique per (endpoint, source), so a re-run adds nothing twice."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from ideas import clock
from ideas.blind import author_label
from ideas.db import write_transaction
from ideas.integrations.webhooks.events import LOOKBACK, last_boundary, period, release_at, released
from ideas.integrations.webhooks.payloads import envelope, shipped_extra, staff_ideas
from ideas.lifecycle import DUPLICATE, SHIPPED, WITHDRAWN
from ideas.policy import OPEN_FOR_VOTES
from ideas.tables import (
    Comment,
    Event,
    Idea,
    JobRun,
    WebhookDelivery,
    WebhookEndpoint,
)


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
    first_seen = released(made_at["published_at"], made_at["created_at"], period())
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
                .where(Idea.status != WITHDRAWN)
                .run()
            )
            done = await _sources_of(endpoint["id"], "idea:", since)
            todo = [r for r in rows if f"idea:{r['id']}:idea.submitted" not in done]
            ideas = await staff_ideas([r["id"] for r in todo])
            for r in todo:
                due = released(r["published_at"], r["created_at"], step)
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
                due = released(r["published_at"], r["created_at"], step)
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
        .where(Idea.status.is_in(sorted(OPEN_FOR_VOTES)))
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
