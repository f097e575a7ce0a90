"""The weekly digest: once a week, at the `digest_weekday` and `digest_hour`
(UTC) or the first run after it, everyone who wants a digest and has
something in it gets one notice — the week's status changes of the ideas
they submitted or voted for, and the week's top new ideas. Its e-mail only
counts them (`policy.mail_detail`). Every idea in it is the blind
projection's (`blind.IdeaText`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ideas import blind
from ideas.blind import IdeaText
from ideas.context import Context
from ideas.db import write_transaction
from ideas.notify.fanout import ID_CHUNK, chunks, pending_mail
from ideas.notify.kinds import clip
from ideas.notify.reminders import ScheduledRun, finish_period, iso_week, period_done
from ideas.org_settings import get_setting
from ideas.policy import TURNED_DOWN
from ideas.tables import Event, Idea, Notification, Submission, User, Vote

#: new ideas a digest lists at most
TOP_NEW = 5


async def digest_moment(now: dt.datetime) -> dt.datetime:
    """This week's digest time: the `digest_weekday` at `digest_hour` (UTC)."""
    weekday = await get_setting("digest_weekday")
    hour = await get_setting("digest_hour")
    monday = now.date() - dt.timedelta(days=now.weekday())
    day = monday + dt.timedelta(days=weekday)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


@dataclass
class DigestContent:
    """One person's digest: the changed ideas they submitted or voted for
    (each as its latest change left it), and the week's top new ideas."""

    updates: list[IdeaText]
    top_new: list[IdeaText]


async def week_updates(since: dt.datetime, until: dt.datetime) -> dict[int, IdeaText]:
    """The latest public status change of each idea in the window, by idea:
    the idea with the status that change gave it."""
    rows = (
        await Event.select(Event.idea, Event.status)
        .where(
            Event.public.eq(True),
            Event.status != "",
            Event.idea.is_not_null(),
            Event.created_at >= since,
            Event.created_at < until,
        )
        .order_by(Event.id)
        .run()
    )
    latest: dict[int, str] = {}
    for r in rows:
        latest[r["idea"]] = r["status"]
    ideas = await blind.idea_texts(latest)
    return {i: replace(ideas[i], status=s) for i, s in latest.items() if i in ideas}


async def top_new(since: dt.datetime, until: dt.datetime, limit: int = TOP_NEW) -> list[IdeaText]:
    """The week's most voted new ideas (neither declined nor merged)."""
    rows = (
        await Idea.select(*blind.TEXT_COLUMNS)
        .where(
            # new ideas of the week as others could see them: by when they
            # were published (PUBLISH_DELAY_MINUTES), not when written
            (Idea.published_at.is_null() & (Idea.created_at >= since) & (Idea.created_at < until))
            | ((Idea.published_at >= since) & (Idea.published_at < until)),
            Idea.status.not_in(sorted(TURNED_DOWN)),
        )
        .order_by(Idea.votes, Idea.id, ascending=False)
        .limit(limit)
        .run()
    )
    return [blind.idea_text(r) for r in rows]


async def _followers(idea_ids: Sequence[int], user_id: Any = None) -> dict[Any, set[int]]:
    """Who submitted or voted for each of these ideas (only `user_id`, when
    given): user → idea ids."""
    followers: dict[Any, set[int]] = {}
    if not idea_ids:
        return followers
    ids = list(idea_ids)
    submitted = Submission.select(Submission.user, Submission.idea).where(
        Submission.idea.is_in(ids)
    )
    voted = Vote.select(Vote.user, Vote.idea).where(Vote.idea.is_in(ids))
    if user_id is not None:
        submitted = submitted.where(Submission.user == user_id)
        voted = voted.where(Vote.user == user_id)
    for r in [*await submitted.run(), *await voted.run()]:
        followers.setdefault(r["user"], set()).add(r["idea"])
    return followers


async def digest_for(user_id: Any, since: dt.datetime, until: dt.datetime) -> DigestContent:
    """One person's digest: their ideas' and voted ideas' changes, the top new ideas."""
    updates = await week_updates(since, until)
    theirs = (await _followers(list(updates), user_id)).get(user_id, set())
    return DigestContent(
        [item for idea_id, item in updates.items() if idea_id in theirs],
        await top_new(since, until),
    )


def _digest_text(
    updates: int, new: int, changed: Sequence[IdeaText] = (), fresh: Sequence[IdeaText] = ()
) -> str:
    """The inbox line of a digest: the counts, then what they are (the
    changed ideas with their status, the new ideas), cut to a notice's length."""
    parts = []
    if updates:
        parts.append(f"{updates} update{'s' if updates != 1 else ''} on ideas you follow")
    if new:
        parts.append(f"{new} new idea{'s' if new != 1 else ''} worth a look")
    text = "Your weekly digest: " + " and ".join(parts) + "."
    if changed:
        text += " Updates: " + "; ".join(f"{i.quoted}: {i.status_label}" for i in changed[:5]) + "."
    if fresh:
        text += " New: " + ", ".join(i.quoted for i in fresh[:5]) + "."
    return clip(text)


async def send_weekly_digest(ctx: Context) -> ScheduledRun:
    """Once a week, at the digest time or the first run after it: a digest
    for everyone who wants one and has something in it."""
    now = ctx.now
    moment = await digest_moment(now)
    key = f"digest:{iso_week(moment.date())}"
    if now < moment:
        return ScheduledRun(key, "not_due")
    if await period_done(key):
        return ScheduledRun(key, "already")
    since = moment - dt.timedelta(days=7)
    updates = await week_updates(since, moment)
    fresh = await top_new(since, moment)
    followers = await _followers(list(updates))
    users = (
        await User.select(User.id)
        .where(User.active.eq(True), User.digest.eq(True))
        .order_by(User.id)
        .run()
    )
    prefix = f"{key}:user:"
    rows = []
    for u in users:
        followed = [updates[i] for i in sorted(followers.get(u["id"], ()))]
        if not followed and not fresh:
            continue
        rows.append(
            Notification(
                user=u["id"],
                event=None,
                idea=None,
                kind="weekly_digest",
                text=_digest_text(len(followed), len(fresh), followed, fresh),
                dedup_key=f"{prefix}{u['id']}",
                created_at=now,
                email_status="pending",
            )
        )
    inserted = 0
    for part in chunks(rows, ID_CHUNK):
        async with write_transaction():
            done = (
                await Notification.insert(*part)
                .on_conflict(target=Notification.dedup_key, action="DO NOTHING")
                .returning(Notification.id)
                .run()
            )
        inserted += len(done)
    await finish_period(key)
    return ScheduledRun(
        key, "done", inserted, await pending_mail(Notification.dedup_key.like(f"{prefix}%"))
    )
