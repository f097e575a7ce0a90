"""A person's inbox and notification preferences: only ever their own."""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel

from ideas import policy
from ideas.board.ids import parse_id
from ideas.board.listing import check_limit, cursor_int, decode_cursor, encode_cursor
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Invalid, NotFound
from ideas.notify.kinds import EMAIL_OPTIONAL, KINDS, NOTICE_OPTIONAL
from ideas.schemas import Page, to_day
from ideas.tables import Notification, User

#: notices about something a submitter did, sent to others: their time is
#: given to the day only, like every time of a submitter's doing
SUBMITTER_ORIGINATED = frozenset({"council_answer", "idea_comments", "vote_withdrawn"})


class NoticeOut(BaseModel):
    id: str
    #: when the notice was made; the day only (midnight UTC) for a notice of
    #: a submitter's doing sent to someone else
    at: dt.datetime
    idea_id: str | None
    kind: str
    text: str
    read: bool


class MarkedOut(BaseModel):
    marked: int


class EmailChoice(BaseModel):
    kind: str
    label: str
    email: bool
    #: switching this kind off stops its notices too, not only the e-mail
    notice_too: bool = False


class NotificationSettings(BaseModel):
    """E-mail on or off per kind, and the weekly digest."""

    email: list[EmailChoice]
    digest: bool


_COLUMNS = (
    Notification.id,
    Notification.created_at,
    Notification.idea,
    Notification.kind,
    Notification.text,
    Notification.read_at,
)


def _out(row: dict) -> NoticeOut:
    return NoticeOut(
        id=str(row["id"]),
        at=to_day(row["created_at"]) if row["kind"] in SUBMITTER_ORIGINATED else row["created_at"],
        idea_id=str(row["idea"]) if row["idea"] else None,
        kind=row["kind"],
        text=row["text"],
        read=row["read_at"] is not None,
    )


async def list_notices(
    ctx: Context,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    unread_only: bool = False,
) -> Page[NoticeOut]:
    """The viewer's notices, newest first (by when it happened), with an
    opaque cursor: the last notice's id only (its exact time stays on the
    server, as the notice itself may show only the day)."""
    viewer = policy.authorize_person(ctx.actor, "inbox.read")
    limit = check_limit(limit)
    position = decode_cursor(cursor)
    query = Notification.select(*_COLUMNS).where(Notification.user == viewer.id)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    if position:
        last = cursor_int(position, "i", None, "not a cursor this server issued")
        found = (
            await Notification.select(Notification.created_at)
            .where(Notification.id == last, Notification.user == viewer.id)
            .run()
        )
        if not found:
            raise Invalid("cursor", "not a cursor this server issued")
        at = found[0]["created_at"]
        query = query.where(
            (Notification.created_at < at)
            | ((Notification.created_at == at) & (Notification.id < last))
        )
    rows = (
        await query.order_by(Notification.created_at, Notification.id, ascending=False)
        .limit(limit + 1)
        .run()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        next_cursor = encode_cursor({"i": rows[-1]["id"]})
    return Page[NoticeOut](items=[_out(r) for r in rows], next_cursor=next_cursor)


async def mark_read(ctx: Context, notice_id: str | int) -> NoticeOut:
    """Mark one of the viewer's notices read (idempotent); another person's
    notice answers like a missing one."""
    viewer = policy.authorize_person(ctx.actor, "inbox.read")
    number = parse_id(notice_id, "notification")
    now = ctx.now
    async with write_transaction():
        await (
            Notification.update({Notification.read_at: now})
            .where(
                Notification.id == number,
                Notification.user == viewer.id,
                Notification.read_at.is_null(),
            )
            .run()
        )
        rows = (
            await Notification.select(*_COLUMNS)
            .where(Notification.id == number, Notification.user == viewer.id)
            .run()
        )
    if not rows:
        raise NotFound("no such notification")
    return _out(rows[0])


async def mark_read_quietly(ctx: Context, notice_id: str) -> None:
    """Mark a notice read when its idea is opened from it; a malformed id or
    someone else's notice changes nothing and says nothing."""
    try:
        await mark_read(ctx, notice_id)
    except (NotFound, Invalid):
        pass


async def mark_all_read(ctx: Context) -> MarkedOut:
    viewer = policy.authorize_person(ctx.actor, "inbox.read")
    now = ctx.now
    async with write_transaction():
        marked = (
            await Notification.update({Notification.read_at: now})
            .where(Notification.user == viewer.id, Notification.read_at.is_null())
            .returning(Notification.id)
            .run()
        )
    return MarkedOut(marked=len(marked))


async def unread_count(ctx: Context) -> int:
    viewer = policy.authorize_person(ctx.actor, "inbox.read")
    return (
        await Notification.count()
        .where(Notification.user == viewer.id, Notification.read_at.is_null())
        .run()
    )


def _email_off(raw) -> list[str]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "[]")
        except json.JSONDecodeError:
            raw = []
    return [k for k in raw or [] if isinstance(k, str)]


async def get_settings(ctx: Context) -> NotificationSettings:
    viewer = policy.authorize_person(ctx.actor, "inbox.read")
    rows = await User.select(User.email_off, User.digest).where(User.id == viewer.id).run()
    if not rows:
        raise NotFound("no such user")
    off = set(_email_off(rows[0]["email_off"]))
    return NotificationSettings(
        email=[
            EmailChoice(kind=k, label=KINDS[k], email=k not in off, notice_too=k in NOTICE_OPTIONAL)
            for k in EMAIL_OPTIONAL
        ],
        digest=bool(rows[0]["digest"]),
    )


async def save_settings(
    ctx: Context, email_on: set[str] | list[str], digest: bool
) -> NotificationSettings:
    """Store which kinds the viewer wants by e-mail (the others are off)."""
    viewer = policy.authorize_person(ctx.actor, "inbox.read")
    unknown = [k for k in email_on if k not in EMAIL_OPTIONAL]
    if unknown:
        raise Invalid("email", f"unknown notice kind {unknown[0]!r}")
    off = [k for k in EMAIL_OPTIONAL if k not in set(email_on)]
    async with write_transaction():
        await (
            User.update({User.email_off: off, User.digest: bool(digest)})
            .where(User.id == viewer.id)
            .run()
        )
    return await get_settings(ctx)
