"""The fan-out: an event's notices, each inserted at most once.

A notice exists at most once per `dedup_key` (a unique index): every fan-out
is a set-based `INSERT … SELECT … ON CONFLICT (dedup_key) DO NOTHING` in
fixed-size chunks, so a re-run after a crash only fills the gaps.
`deliver_event` plans an event's audiences (`audiences.plan`), inserts their
notices and marks the event dispatched; the outbox sweep finds what was not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ideas import clock, sql
from ideas.db import write_transaction
from ideas.notify.audiences import Audience, plan
from ideas.notify.kinds import NOTICE_OPTIONAL
from ideas.tables import Event, Notification, Vote

#: user ids per statement when the recipients are a list
ID_CHUNK = 500


def event_key(event_id: int) -> str:
    """Prefix of the dedup key of an event's notices; the user id follows."""
    return f"event:{event_id}:user:"


_INSERT = (
    'INSERT INTO notification ("user", event, idea, kind, text, dedup_key, created_at, '
    "email_status, email_attempts, email_error) "
    "SELECT u.id, {}, {}, {}, {}, {} || CAST(u.id AS TEXT), {}, "
    "CASE WHEN CAST(u.email_off AS TEXT) LIKE {} THEN 'off' ELSE 'pending' END, 0, '' "
    "FROM tp_user u WHERE u.active AND "
)
_TAIL = " ON CONFLICT (dedup_key) DO NOTHING RETURNING id"


async def _insert(
    *,
    kind: str,
    text: str,
    idea_id: int | None,
    event_id: int | None,
    key_prefix: str,
    where: str,
    args: Sequence[Any],
    now: dt.datetime,
    batch: bool = False,
) -> int:
    """One set-based insert of notices for the users matching `where`;
    returns how many were new. A kind that can be switched off as a notice
    skips those who did; a `batch` kind skips those with such a notice on
    this idea still unread."""
    args = list(args)
    if kind in NOTICE_OPTIONAL:
        where += " AND CAST(u.email_off AS TEXT) NOT LIKE {}"
        args.append(f'%"{kind}"%')
    if batch:
        where += (
            ' AND NOT EXISTS (SELECT 1 FROM notification n WHERE n."user" = u.id '
            "AND n.idea = {} AND n.kind = {} AND n.read_at IS NULL)"
        )
        args += [idea_id, kind]
    lock = sql.notice_batch_lock(idea_id) if batch else None
    async with write_transaction():
        if lock is not None:
            await Notification.raw(lock[0], *lock[1]).run()
        rows = await Notification.raw(
            _INSERT + where + _TAIL,
            event_id,
            idea_id,
            kind,
            text,
            key_prefix,
            now,
            f'%"{kind}"%',
            *args,
        ).run()
    return len(rows)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def fan_out(
    audience: Audience,
    *,
    event_id: int | None,
    key_prefix: str,
    now: dt.datetime,
    chunk: int = 1000,
    pause_s: float = 0.0,
) -> int:
    """Insert the audience's notices in chunks; returns how many were new."""
    common = {
        "kind": audience.kind,
        "text": audience.text,
        "idea_id": audience.idea_id,
        "event_id": event_id,
        "key_prefix": key_prefix,
        "now": now,
        "batch": audience.batch,
    }
    inserted = 0
    but: str = ""
    but_args: tuple = ()
    if audience.exclude_user is not None:
        but, but_args = " AND u.id <> {}", (str(audience.exclude_user),)
    if audience.council:
        inserted += await _insert(where="u.is_council" + but, args=but_args, **common)
    users = list(dict.fromkeys(audience.users))
    for part in chunks(users, min(chunk, ID_CHUNK)):
        marks = ", ".join("{}" for _ in part)
        inserted += await _insert(where=f"u.id IN ({marks})", args=part, **common)
    exclude = ""
    exclude_args: tuple = ()
    if audience.exclude_submitters_of is not None:
        exclude = ' AND u.id NOT IN (SELECT s."user" FROM submission s WHERE s.idea = {})'
        exclude_args = (audience.exclude_submitters_of,)
    if audience.voters_of is not None:
        vote_ids = [
            r["id"]
            for r in await Vote.select(Vote.id)
            .where(Vote.idea == audience.voters_of)
            .order_by(Vote.id)
            .run()
        ]
        for number, part in enumerate(chunks(vote_ids, chunk)):
            if number and pause_s:
                await asyncio.sleep(pause_s)
            where = (
                'u.id IN (SELECT v."user" FROM vote v WHERE v.idea = {} '
                "AND v.id BETWEEN {} AND {})" + exclude
            )
            inserted += await _insert(
                where=where,
                args=(audience.voters_of, part[0], part[-1], *exclude_args),
                **common,
            )
    if audience.followers_of is not None:
        # followers are few next to voters: one statement
        where = 'u.id IN (SELECT f."user" FROM idea_follow f WHERE f.idea = {})' + exclude + but
        inserted += await _insert(
            where=where, args=(audience.followers_of, *exclude_args, *but_args), **common
        )
    return inserted


async def pending_mail(where) -> list[int]:
    """The notices matching `where` whose e-mail is still to send."""
    rows = (
        await Notification.select(Notification.id)
        .where(where, Notification.email_status == "pending")
        .order_by(Notification.id)
        .run()
    )
    return [r["id"] for r in rows]


@dataclass
class Delivery:
    """What delivering one event did (for the job's log line)."""

    event_id: int
    outcome: str
    kind: str = ""
    recipients: int = 0
    inserted: int = 0
    mail_ids: list[int] = field(default_factory=list)


async def not_yet(event_id: int) -> bool:
    """The event is dated in the future (a submitter's withdrawal waits for
    its batch, ideas.publish): nothing of it is delivered before that moment;
    the outbox sweep (`undispatched_events`) brings it back from then."""
    rows = await Event.select(Event.created_at).where(Event.id == event_id).run()
    if not rows:
        return False
    at = rows[0]["created_at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at > clock.now()


async def deliver_event(event_id: int, *, chunk: int = 1000, pause_s: float = 0.0) -> Delivery:
    """Create every notice of one event (idempotent), then mark it dispatched.
    Returns the ids of notices whose e-mail is still to send. An event dated
    in the future is left for later (`not_yet`)."""
    if await not_yet(event_id):
        return Delivery(event_id, "not yet")
    rows = (
        await Event.select(
            Event.id,
            Event.idea,
            Event.kind,
            Event.status,
            Event.note,
            Event.actor,
            Event.data,
            Event.created_at,
            Event.dispatched_at,
        )
        .where(Event.id == event_id)
        .output(load_json=True)
        .run()
    )
    if not rows:
        return Delivery(event_id, "gone")
    event = rows[0]
    async with write_transaction():
        await Event.update({Event.attempts: Event.attempts + 1}).where(Event.id == event_id).run()
    inserted = 0
    if event["dispatched_at"] is None:
        # a notice is dated when its event happened, however late it is delivered
        now = event["created_at"]
        for audience in await plan(event):
            inserted += await fan_out(
                audience,
                event_id=event_id,
                key_prefix=event_key(event_id),
                now=now,
                chunk=chunk,
                pause_s=pause_s,
            )
        async with write_transaction():
            await (
                Event.update({Event.dispatched_at: clock.now()})
                .where(Event.id == event_id, Event.dispatched_at.is_null())
                .run()
            )
        outcome = "delivered"
    else:
        outcome = "already"
    recipients = await Notification.count().where(Notification.event == event_id).run()
    return Delivery(
        event_id,
        outcome,
        kind=event["kind"],
        recipients=recipients,
        inserted=inserted,
        mail_ids=await pending_mail(Notification.event == event_id),
    )


async def undispatched_events(older_than: dt.datetime, max_attempts: int, limit: int) -> list[int]:
    """Events the sweep should (re-)enqueue."""
    rows = (
        await Event.select(Event.id)
        .where(
            Event.dispatched_at.is_null(),
            Event.created_at <= older_than,
            Event.attempts < max_attempts,
        )
        .order_by(Event.id)
        .limit(limit)
        .run()
    )
    return [r["id"] for r in rows]
