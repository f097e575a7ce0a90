"""Who hears what: the notices an event brings, reminders, the weekly digest,
and the e-mail of each notice.

- The submitter and co-submitters hear of every status change of their idea,
  the council's question and the decline reason.
- Voters (subscribed by voting) hear when the idea ships, is declined or is
  merged (their notice names the target and carries the duplicate's id).
- Action owners hear of an assignment, a due date close by, an overdue action.
- The council hears that an answer arrived, and of ideas past the triage SLA.

A notice exists at most once per `dedup_key` (a unique index): every fan-out
is a set-based `INSERT … SELECT … ON CONFLICT (dedup_key) DO NOTHING` in
fixed-size chunks, so a re-run after a crash only fills the gaps. No notice
text names or describes a submitter to anyone but that submitter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ideas import mail
from ideas.blind import submitter_ids
from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.lifecycle import (
    ACCEPTED,
    DECLINED,
    DUPLICATE,
    IN_PROGRESS,
    IN_REVIEW,
    NEEDS_INFO,
    SHIPPED,
    STATUS_LABELS,
)
from ideas.org_settings import get_setting
from ideas.services import utcnow
from ideas.tables import Action, Event, Idea, JobRun, Notification, Question, Submission, User, Vote

log = logging.getLogger("touchpoint.notify")

#: notice kinds → what the person is told about (settings page, e-mail opt-out)
KINDS: dict[str, str] = {
    "idea_status": "A status change of an idea you submitted",
    "idea_question": "A question from the CX council about your idea",
    "vote_shipped": "An idea you voted for shipped",
    "vote_declined": "An idea you voted for was declined",
    "vote_merged": "An idea you voted for was merged into another",
    "action_assigned": "An action is assigned to you",
    "action_due_soon": "An action of yours is due soon",
    "action_overdue": "An action of yours is overdue",
    "council_answer": "A submitter answered the council's question (council)",
    "council_sla": "Ideas past the triage SLA (council)",
    "identity_revealed": "An admin revealed that you submitted an idea",
    "weekly_digest": "Your weekly digest",
}

#: kinds whose e-mail a person may switch off (the digest has its own switch;
#: being told of an identity reveal cannot be switched off)
EMAIL_OPTIONAL = tuple(k for k in KINDS if k not in ("identity_revealed", "weekly_digest"))

SUBJECTS: dict[str, str] = {
    "idea_status": "Update on your idea",
    "idea_question": "A question about your idea",
    "vote_shipped": "Shipped",
    "vote_declined": "Declined",
    "vote_merged": "Merged",
    "action_assigned": "New action for you",
    "action_due_soon": "Action due soon",
    "action_overdue": "Action overdue",
    "council_answer": "Answer received",
    "council_sla": "Ideas past the triage SLA",
    "identity_revealed": "Who submitted your idea was revealed",
    "weekly_digest": "Your week in Touchpoint",
}

#: Redis hash where workers count job outcomes, "<job>:<outcome>" → n (/health)
JOB_STATS_KEY = "touchpoint:job_stats"

#: an action is "due soon" this many days ahead
DUE_SOON_DAYS = 2
#: notes and questions quoted in a notice are cut to this length
NOTE_MAX = 600
#: user ids per statement when the recipients are a list
ID_CHUNK = 500


def _q(title: str) -> str:
    return f"“{title}”"


def _clip(text: str, limit: int = NOTE_MAX) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _with(text: str, label: str, note: str) -> str:
    note = _clip(note)
    return f"{text} {label}: {note}" if note else text


def event_key(event_id: int) -> str:
    """Prefix of the dedup key of an event's notices; the user id follows."""
    return f"event:{event_id}:user:"


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# -- who hears what ---------------------------------------------------------------------


@dataclass
class Audience:
    """One group of recipients of one event, and what they are told."""

    kind: str
    text: str
    idea_id: int | None
    #: explicit recipients (submitters, an owner)
    users: list[Any] = field(default_factory=list)
    #: everyone whose vote is on this idea (submitters of `exclude_submitters_of` excepted)
    voters_of: int | None = None
    exclude_submitters_of: int | None = None
    #: every active council member
    council: bool = False


async def _idea(idea_id: int | None) -> dict | None:
    if idea_id is None:
        return None
    rows = (
        await Idea.select(Idea.id, Idea.title, Idea.status, Idea.duplicate_of)
        .where(Idea.id == idea_id)
        .run()
    )
    return rows[0] if rows else None


async def _question_text(idea_id: int, data: dict) -> str:
    query = Question.select(Question.question)
    if data.get("question_id"):
        query = query.where(Question.id == int(data["question_id"]))
    else:
        query = query.where(Question.idea == idea_id).order_by(Question.id, ascending=False)
    rows = await query.limit(1).run()
    return rows[0]["question"] if rows else ""


def _submitter_text(status: str, title: str, note: str, target: str = "") -> str:
    t = _q(title)
    if status == IN_REVIEW:
        return _with(f"Your idea {t} is now in review by the CX council.", "Note", note)
    if status == ACCEPTED:
        return _with(f"Your idea {t} was accepted.", "Note", note)
    if status == IN_PROGRESS:
        return f"Work has started on your idea {t}."
    if status == SHIPPED:
        return _with(f"Your idea {t} shipped.", "What changed", note)
    if status == DECLINED:
        return _with(f"Your idea {t} was declined.", "Reason", note)
    if status == DUPLICATE:
        return f"Your idea {t} was merged into {_q(target)}; its votes now count there."
    label = STATUS_LABELS.get(status, status)
    return _with(f"Your idea {t} is now {label.lower()}.", "Note", note)


async def plan(event: dict) -> list[Audience]:
    """The audiences of one event (submitters first: a submitter who also
    voted gets the submitter's notice, once)."""
    kind = event["kind"]
    data = event["data"] or {}
    if isinstance(data, str):
        data = json.loads(data or "{}")
    idea = await _idea(event["idea"])
    if idea is None:
        return []
    idea_id, title, note = idea["id"], idea["title"], event["note"]
    status = event["status"]
    if kind == "action_assigned":
        rows = (
            await Action.select(Action.id, Action.title, Action.owner, Action.due_on)
            .where(Action.id == int(data.get("action_id") or 0))
            .run()
        )
        if not rows:
            return []
        action = rows[0]
        text = (
            f"You own a new action on {_q(title)}: “{_clip(action['title'], 200)}”, "
            f"due {action['due_on'].isoformat()}."
        )
        return [Audience("action_assigned", text, idea_id, users=[action["owner"]])]
    if kind == "reveal":
        reason = data.get("reason") or note
        text = _with(
            f"An admin revealed that you submitted {_q(title)}. "
            "This was recorded in the audit log.",
            "Reason",
            reason,
        )
        return [Audience("identity_revealed", text, idea_id, users=await submitter_ids(idea_id))]
    if kind != "status":
        return []
    submitters = await submitter_ids(idea_id)
    if data.get("answered"):
        actor = event["actor"]
        others = [u for u in submitters if actor is None or str(u) != str(actor)]
        return [
            Audience(
                "idea_status",
                f"The answer to the council's question on {_q(title)} was sent; "
                "the idea is back in review.",
                idea_id,
                users=others,
            ),
            Audience(
                "council_answer",
                f"The submitter answered the council's question on {_q(title)}; "
                "it is back in review.",
                idea_id,
                council=True,
            ),
        ]
    if status == NEEDS_INFO:
        question = await _question_text(idea_id, data) or note
        text = _with(
            f"The CX council has a question about your idea {_q(title)}. "
            "Answer it on the idea's page.",
            "Question",
            question,
        )
        return [Audience("idea_question", text, idea_id, users=submitters)]
    audiences = []
    if status == DUPLICATE:
        target = await _idea(int(data.get("target_idea_id") or idea["duplicate_of"] or 0))
        target_title = target["title"] if target else "another idea"
        audiences.append(
            Audience(
                "idea_status",
                _submitter_text(status, title, note, target_title),
                idea_id,
                users=submitters,
            )
        )
        audiences.append(
            Audience(
                "vote_merged",
                f"An idea you voted for, {_q(title)}, was merged into {_q(target_title)}; "
                "your vote now counts there.",
                idea_id,
                voters_of=idea_id,
                exclude_submitters_of=idea_id,
            )
        )
        return audiences
    audiences.append(
        Audience("idea_status", _submitter_text(status, title, note), idea_id, users=submitters)
    )
    if status == SHIPPED:
        text = _with(f"An idea you voted for shipped: {_q(title)}.", "What changed", note)
        audiences.append(Audience("vote_shipped", text, idea_id, voters_of=idea_id))
    elif status == DECLINED:
        text = _with(f"An idea you voted for was declined: {_q(title)}.", "Reason", note)
        audiences.append(Audience("vote_declined", text, idea_id, voters_of=idea_id))
    for audience in audiences:
        if audience.voters_of is not None:
            audience.exclude_submitters_of = idea_id
    return audiences


# -- the fan-out --------------------------------------------------------------------------

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
) -> int:
    """One set-based insert of notices for the users matching `where`;
    returns how many were new."""
    async with write_transaction():
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


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
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
    }
    inserted = 0
    if audience.council:
        inserted += await _insert(where="u.is_council", args=(), **common)
    users = list(dict.fromkeys(audience.users))
    for part in _chunks(users, min(chunk, ID_CHUNK)):
        marks = ", ".join("{}" for _ in part)
        inserted += await _insert(where=f"u.id IN ({marks})", args=part, **common)
    if audience.voters_of is not None:
        exclude = ""
        exclude_args: tuple = ()
        if audience.exclude_submitters_of is not None:
            exclude = ' AND u.id NOT IN (SELECT s."user" FROM submission s WHERE s.idea = {})'
            exclude_args = (audience.exclude_submitters_of,)
        vote_ids = [
            r["id"]
            for r in await Vote.select(Vote.id)
            .where(Vote.idea == audience.voters_of)
            .order_by(Vote.id)
            .run()
        ]
        for number, part in enumerate(_chunks(vote_ids, chunk)):
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
    return inserted


@dataclass
class Delivery:
    """What delivering one event did (for the job's log line)."""

    event_id: int
    outcome: str
    kind: str = ""
    recipients: int = 0
    inserted: int = 0
    mail_ids: list[int] = field(default_factory=list)


async def pending_mail(where) -> list[int]:
    rows = (
        await Notification.select(Notification.id)
        .where(where, Notification.email_status == "pending")
        .order_by(Notification.id)
        .run()
    )
    return [r["id"] for r in rows]


async def deliver_event(event_id: int, *, chunk: int = 1000, pause_s: float = 0.0) -> Delivery:
    """Create every notice of one event (idempotent), then mark it dispatched.
    Returns the ids of notices whose e-mail is still to send."""
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
                Event.update({Event.dispatched_at: utcnow()})
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


async def unsent_mail(older_than: dt.datetime, limit: int) -> list[int]:
    """Notices whose e-mail is still pending (a lost job, a Redis outage)."""
    rows = (
        await Notification.select(Notification.id)
        .where(Notification.email_status == "pending", Notification.created_at <= older_than)
        .order_by(Notification.id)
        .limit(limit)
        .run()
    )
    return [r["id"] for r in rows]


# -- scheduled notices ------------------------------------------------------------------


@dataclass
class ScheduledRun:
    """What one scheduled job did for its period."""

    key: str
    outcome: str  # "done", "already" (period done before), "not_due"
    notices: int = 0
    mail_ids: list[int] = field(default_factory=list)


async def _period_done(key: str) -> bool:
    return await JobRun.exists().where(JobRun.key == key).run()


async def _finish_period(key: str) -> None:
    async with write_transaction():
        await JobRun.insert(JobRun(key=key)).on_conflict(action="DO NOTHING").run()


async def _reminder_hour() -> int:
    """The hour (UTC) reminders and the digest go out: the `digest_hour` setting."""
    return await get_setting("digest_hour")


async def send_sla_reminders(now: dt.datetime | None = None) -> ScheduledRun:
    """Once a day: tell every council member how many ideas are still `new`
    past the triage SLA."""
    now = now or utcnow()
    key = f"sla:{now.date().isoformat()}"
    if now.hour < await _reminder_hour():
        return ScheduledRun(key, "not_due")
    if await _period_done(key):
        return ScheduledRun(key, "already")
    sla_days = await get_setting("triage_sla_days")
    cutoff = now - dt.timedelta(days=sla_days)
    late = await Idea.count().where(Idea.status == "new", Idea.created_at < cutoff).run()
    inserted = 0
    prefix = f"{key}:user:"
    if late:
        ideas = "1 idea is" if late == 1 else f"{late} ideas are"
        text = (
            f"{ideas} still new after the {sla_days}-day triage SLA. "
            "Put them on the agenda of the next triage session."
        )
        inserted = await fan_out(
            Audience("council_sla", text, None, council=True),
            event_id=None,
            key_prefix=prefix,
            now=now,
        )
    await _finish_period(key)
    return ScheduledRun(
        key, "done", inserted, await pending_mail(Notification.dedup_key.like(f"{prefix}%"))
    )


async def send_action_reminders(now: dt.datetime | None = None) -> ScheduledRun:
    """Once a day: owners of actions due within DUE_SOON_DAYS (once per due
    date) and of overdue actions (once per week) are reminded."""
    now = now or utcnow()
    today = now.date()
    key = f"actions:{today.isoformat()}"
    if now.hour < await _reminder_hour():
        return ScheduledRun(key, "not_due")
    if await _period_done(key):
        return ScheduledRun(key, "already")
    rows = (
        await Action.select(
            Action.id,
            Action.title,
            Action.owner,
            Action.due_on,
            Action.idea,
            Action.idea.title.as_alias("idea_title"),
        )
        .where(Action.status != "done", Action.due_on <= today + dt.timedelta(days=DUE_SOON_DAYS))
        .order_by(Action.id)
        .run()
    )
    inserted = 0
    prefixes = []
    for action in rows:
        due = action["due_on"]
        what = f"“{_clip(action['title'], 200)}” on {_q(action['idea_title'])}"
        if due < today:
            kind = "action_overdue"
            text = f"Your action {what} was due {due.isoformat()} and is not done yet."
            prefix = f"overdue:{action['id']}:{iso_week(today)}:user:"
        else:
            kind = "action_due_soon"
            when = "today" if due == today else due.isoformat()
            text = f"Your action {what} is due {when}."
            prefix = f"due_soon:{action['id']}:{due.isoformat()}:user:"
        prefixes.append(prefix)
        inserted += await fan_out(
            Audience(kind, text, action["idea"], users=[action["owner"]]),
            event_id=None,
            key_prefix=prefix,
            now=now,
        )
    await _finish_period(key)
    mail_ids: list[int] = []
    for prefix in prefixes:
        mail_ids += await pending_mail(Notification.dedup_key.like(f"{prefix}%"))
    return ScheduledRun(key, "done", inserted, mail_ids)


# -- the weekly digest -------------------------------------------------------------------


async def digest_moment(now: dt.datetime) -> dt.datetime:
    """This week's digest time: the `digest_weekday` at `digest_hour` (UTC)."""
    weekday = await get_setting("digest_weekday")
    hour = await get_setting("digest_hour")
    monday = now.date() - dt.timedelta(days=now.weekday())
    day = monday + dt.timedelta(days=weekday)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


@dataclass
class DigestItem:
    idea_id: int
    title: str
    status: str
    at: dt.datetime
    mine: bool = False
    votes: int = 0


@dataclass
class DigestContent:
    updates: list[DigestItem]
    top_new: list[DigestItem]


async def _week_updates(since: dt.datetime, until: dt.datetime) -> dict[int, DigestItem]:
    """The latest public status change of each idea in the window."""
    rows = (
        await Event.select(
            Event.idea, Event.status, Event.created_at, Event.idea.title.as_alias("title")
        )
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
    latest: dict[int, DigestItem] = {}
    for r in rows:
        latest[r["idea"]] = DigestItem(r["idea"], r["title"], r["status"], r["created_at"])
    return latest


async def _top_new(since: dt.datetime, until: dt.datetime, limit: int = 5) -> list[DigestItem]:
    rows = (
        await Idea.select(Idea.id, Idea.title, Idea.status, Idea.created_at, Idea.votes)
        .where(
            Idea.created_at >= since,
            Idea.created_at < until,
            Idea.status.not_in([DECLINED, DUPLICATE]),
        )
        .order_by(Idea.votes, Idea.id, ascending=False)
        .limit(limit)
        .run()
    )
    return [
        DigestItem(r["id"], r["title"], r["status"], r["created_at"], votes=r["votes"])
        for r in rows
    ]


async def digest_for(user_id: Any, since: dt.datetime, until: dt.datetime) -> DigestContent:
    """One person's digest: their ideas' and voted ideas' changes, the top new ideas."""
    updates = await _week_updates(since, until)
    ids = list(updates)
    mine: set[int] = set()
    voted: set[int] = set()
    if ids:
        mine = {
            r["idea"]
            for r in await Submission.select(Submission.idea)
            .where(Submission.user == user_id, Submission.idea.is_in(ids))
            .run()
        }
        voted = {
            r["idea"]
            for r in await Vote.select(Vote.idea)
            .where(Vote.user == user_id, Vote.idea.is_in(ids))
            .run()
        }
    items = []
    for idea_id, item in updates.items():
        if idea_id in mine or idea_id in voted:
            item.mine = idea_id in mine
            items.append(item)
    return DigestContent(items, await _top_new(since, until))


def _digest_text(updates: int, new: int) -> str:
    parts = []
    if updates:
        parts.append(f"{updates} update{'s' if updates != 1 else ''} on ideas you follow")
    if new:
        parts.append(f"{new} new idea{'s' if new != 1 else ''} worth a look")
    return "Your weekly digest: " + " and ".join(parts) + "."


async def send_weekly_digest(now: dt.datetime | None = None) -> ScheduledRun:
    """Once a week, at the digest time or the first run after it: a digest
    for everyone who wants one and has something in it."""
    now = now or utcnow()
    moment = await digest_moment(now)
    key = f"digest:{iso_week(moment.date())}"
    if now < moment:
        return ScheduledRun(key, "not_due")
    if await _period_done(key):
        return ScheduledRun(key, "already")
    since = moment - dt.timedelta(days=7)
    updates = await _week_updates(since, moment)
    top_new = await _top_new(since, moment)
    followers: dict[Any, set[int]] = {}
    if updates:
        ids = list(updates)
        for r in (
            await Submission.select(Submission.user, Submission.idea)
            .where(Submission.idea.is_in(ids))
            .run()
        ):
            followers.setdefault(r["user"], set()).add(r["idea"])
        for r in await Vote.select(Vote.user, Vote.idea).where(Vote.idea.is_in(ids)).run():
            followers.setdefault(r["user"], set()).add(r["idea"])
    users = (
        await User.select(User.id)
        .where(User.active.eq(True), User.digest.eq(True))
        .order_by(User.id)
        .run()
    )
    prefix = f"{key}:user:"
    rows = []
    for u in users:
        followed = len(followers.get(u["id"], ()))
        if not followed and not top_new:
            continue
        rows.append(
            Notification(
                user=u["id"],
                event=None,
                idea=None,
                kind="weekly_digest",
                text=_digest_text(followed, len(top_new)),
                dedup_key=f"{prefix}{u['id']}",
                created_at=now,
                email_status="pending",
            )
        )
    inserted = 0
    for part in _chunks(rows, ID_CHUNK):
        async with write_transaction():
            done = (
                await Notification.insert(*part)
                .on_conflict(target=Notification.dedup_key, action="DO NOTHING")
                .returning(Notification.id)
                .run()
            )
        inserted += len(done)
    await _finish_period(key)
    return ScheduledRun(
        key, "done", inserted, await pending_mail(Notification.dedup_key.like(f"{prefix}%"))
    )


# -- e-mail -------------------------------------------------------------------------------


class NoticeGone(Exception):
    """The notice (or its recipient) no longer exists."""


class MailBookkeepingFailed(Exception):
    """The server accepted the message but `sent` could not be recorded:
    try the bookkeeping again later, never the send."""


#: pauses between tries of the `sent` bookkeeping after the server accepted
BOOKKEEPING_PAUSES_S = (0.2, 0.5, 1.0, 2.0)


async def mark_mail_sent(notification_id: int) -> None:
    await _mark_mail(notification_id, "sent")


async def _record_sent(notification_id: int) -> None:
    """`sent`, tried a few times (a database blip must not turn an accepted
    message into one sent again); MailBookkeepingFailed when it cannot."""
    for pause in (*BOOKKEEPING_PAUSES_S, None):
        try:
            await mark_mail_sent(notification_id)
            return
        except Exception as exc:
            if pause is None:
                raise MailBookkeepingFailed(str(exc)) from exc
            await asyncio.sleep(pause)


@dataclass
class MailResult:
    notification_id: int
    outcome: str  # "sent", "already", "skipped"
    kind: str = ""
    detail: str = ""


def _link(path: str) -> str:
    return get_settings().base_url + path


def _notice_link(kind: str, idea_id: int | None) -> str:
    if kind == "council_sla":
        return _link("/triage")
    if idea_id:
        return _link(f"/ideas/{idea_id}")
    return _link("/me/notifications")


async def compose(row: dict) -> mail.Mail:
    """The e-mail of one notice (one recipient). Raises MailPermanentError
    when a template is broken."""
    kind = row["kind"]
    settings = get_settings()
    context: dict[str, Any] = {
        "recipient_name": row["name"],
        "text": row["text"],
        "link": _notice_link(kind, row["idea"]),
        "inbox_url": _link("/me/notifications"),
        "settings_url": _link("/me/settings"),
    }
    subject = SUBJECTS.get(kind, "Touchpoint")
    if row["idea_title"]:
        subject = f"{subject}: {row['idea_title']}"
    if kind == "weekly_digest":
        until = await digest_moment(row["created_at"])
        content = await digest_for(row["user"], until - dt.timedelta(days=7), until)
        context["period"] = f"the week to {until.date().isoformat()}"
        context["updates"] = [
            {
                "title": i.title,
                "status_label": STATUS_LABELS.get(i.status, i.status),
                "day": i.at.date().isoformat(),
                "mine": i.mine,
                "link": _link(f"/ideas/{i.idea_id}"),
            }
            for i in content.updates
        ]
        context["top_new"] = [
            {"title": i.title, "votes": i.votes, "link": _link(f"/ideas/{i.idea_id}")}
            for i in content.top_new
        ]
        names = ["digest"]
    else:
        names = [kind, "notice"]
    subject = _clip(subject, 180)
    context["subject"] = subject
    text, html = mail.render(names, context)
    return mail.Mail(
        to=row["email"],
        subject=subject,
        text=text,
        html=html,
        message_id=mail.message_id_for(row["dedup_key"], settings),
    )


async def _mark_mail(notification_id: int, status: str, error: str = "") -> None:
    values: dict = {
        Notification.email_status: status,
        Notification.email_attempts: Notification.email_attempts + 1,
        Notification.email_error: _clip(error, 500),
    }
    if status == "sent":
        values[Notification.email_sent_at] = utcnow()
    async with write_transaction():
        await Notification.update(values).where(Notification.id == notification_id).run()


async def email_notice(
    notification_id: int, *, final: bool = False, on_accepted=None
) -> MailResult:
    """Send the e-mail of one notice, if it is still due.

    Re-checks at send time that the recipient is active. Records `sent` as
    soon as the server accepts the message. A temporary failure leaves the
    notice `pending` (or `failed` when `final`) and raises MailTemporaryError;
    a permanent one marks it `failed` and raises MailPermanentError;
    NoticeGone when the notice or its recipient was deleted.

    `on_accepted` is awaited as soon as the server accepted the message
    (before the bookkeeping), so a caller can remember it outside the
    database; MailBookkeepingFailed when `sent` could not be recorded.
    """
    rows = (
        await Notification.select(
            Notification.id,
            Notification.user,
            Notification.kind,
            Notification.text,
            Notification.idea,
            Notification.dedup_key,
            Notification.email_status,
            Notification.created_at,
            Notification.user.email.as_alias("email"),
            Notification.user.name.as_alias("name"),
            Notification.user.active.as_alias("active"),
            Notification.idea.title.as_alias("idea_title"),
        )
        .where(Notification.id == notification_id)
        .run()
    )
    if not rows or not rows[0]["email"]:
        raise NoticeGone(f"notice {notification_id} or its recipient no longer exists")
    row = rows[0]
    if row["email_status"] != "pending":
        return MailResult(notification_id, "already", row["kind"], row["email_status"])
    if not row["active"]:
        await _mark_mail(notification_id, "off", "recipient inactive at send time")
        return MailResult(notification_id, "skipped", row["kind"], "recipient inactive")
    try:
        message = await compose(row)
        await mail.send(message)
    except mail.MailPermanentError as exc:
        await _mark_mail(notification_id, "failed", str(exc))
        raise
    except mail.MailTemporaryError as exc:
        await _mark_mail(notification_id, "failed" if final else "pending", str(exc))
        raise
    if on_accepted is not None:
        await on_accepted()
    await _record_sent(notification_id)
    return MailResult(notification_id, "sent", row["kind"])
