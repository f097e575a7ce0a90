"""Helpers for the notification tests: act through the API as people do,
run a real arq worker (in-process, burst) against the test Redis, read what
arrived (inbox rows, .eml files in the file outbox)."""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker

from ideas import clock, mail
from ideas.tables import Event, Notification
from tests.factories import confirm_attendance
from workers import settings as worker_settings

DECLINE_NOTE = "We already plan a new invoice layout next quarter that covers this."
SHIP_NOTE = "Invoices now carry the customer's PO number on every page."


async def vote(persona, idea_id: str) -> None:
    r = await persona.api().put(f"/api/v1/ideas/{idea_id}/vote")
    assert r.status_code == 200, r.text


async def council(personas):
    """Three council members from three departments (the default quorum)."""
    return [
        await personas.get("bob_finance_council"),
        await personas.get("cora_hr_council"),
        await personas.get("pat_product_council"),
    ]


async def open_session(personas) -> tuple[object, str]:
    """bob opens a triage session: every `new` idea goes on the agenda."""
    members = await council(personas)
    bob = members[0]
    r = await bob.api().post(
        "/api/v1/triage/sessions",
        json={"held_on": clock.today().isoformat(), "attendee_ids": [m.id for m in members]},
    )
    assert r.status_code == 201, r.text
    await confirm_attendance(r.json()["id"], *members)
    return bob, r.json()["id"]


async def decide(bob, idea_id: str, session_id: str, outcome: str, **fields) -> dict:
    r = await bob.api().post(
        f"/api/v1/ideas/{idea_id}/decision",
        json={"session_id": session_id, "outcome": outcome, **fields},
    )
    assert r.status_code == 200, r.text
    return r.json()


@asynccontextmanager
async def redis_pool() -> AsyncIterator[ArqRedis]:
    """An arq client of the test Redis (as the web app and workers use)."""
    pool = await create_pool(RedisSettings.from_dsn(os.environ["REDIS_URL"]))
    try:
        yield pool
    finally:
        await pool.aclose()


def worker(**overrides) -> Worker:
    """A real arq worker with Touchpoint's functions, in burst mode (it stops
    when the queue is empty). It does not touch the database pool."""
    options = {
        "functions": worker_settings.functions(),
        "redis_settings": RedisSettings.from_dsn(os.environ["REDIS_URL"]),
        "burst": True,
        "poll_delay": 0.01,
        "handle_signals": False,
        "max_jobs": 20,
        "keep_result": 5,
    }
    options.update(overrides)
    return Worker(**options)


async def drain(**overrides) -> Worker:
    """Run a burst worker until the queue is empty, then one for the index
    queue (terms and embeddings), then one for the mail queue (the e-mail jobs
    the first one queued)."""
    w = worker(**overrides)
    try:
        await w.main()
    finally:
        await w.close()
    index_worker = worker(
        functions=worker_settings.index_functions(), queue_name=worker_settings.INDEX_QUEUE
    )
    try:
        await index_worker.main()
    finally:
        await index_worker.close()
    mail_worker = worker(
        functions=worker_settings.mail_functions(), queue_name=worker_settings.tasks.MAIL_QUEUE
    )
    try:
        await mail_worker.main()
    finally:
        await mail_worker.close()
    return w


async def notices(**where) -> list[dict]:
    query = Notification.select(
        Notification.id,
        Notification.user,
        Notification.event,
        Notification.idea,
        Notification.kind,
        Notification.text,
        Notification.dedup_key,
        Notification.email_status,
        Notification.email_attempts,
        Notification.email_error,
    )
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return await query.order_by(Notification.id).run()


async def undispatched() -> list[int]:
    rows = await Event.select(Event.id).where(Event.dispatched_at.is_null()).run()
    return [r["id"] for r in rows]


def clear_outbox() -> None:
    folder = mail.outbox_dir()
    if folder.exists():
        for path in folder.glob("*.eml"):
            path.unlink()


def outbox_messages() -> list[EmailMessage]:
    folder = mail.outbox_dir()
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def body_text(message: EmailMessage) -> str:
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def mails_to(address: str) -> list[EmailMessage]:
    return [m for m in outbox_messages() if m["To"] == address]
