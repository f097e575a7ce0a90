"""Who hears what: the notices an event brings, reminders, the weekly digest,
and the e-mail of each notice.

- The submitter and co-submitters hear of every status change of their idea
  and the decline reason; the council's question goes to the submitter only
  (a co-submitter by merge hears that the idea needs information).
- Voters (subscribed by voting) and followers hear when the idea is
  accepted, work starts, it ships, is declined, withdrawn or merged (their
  notice names the target and carries the duplicate's id). Being told of
  acceptance and of progress can be switched off, notice and e-mail.
- Followers (the submitter follows their own idea) hear of new comments,
  batched: while such a notice is unread, more comments add none.
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

from ideas import clock, mail, unsubscribe
from ideas.blind import original_submitter_ids, submitter_ids
from ideas.config import get_settings
from ideas.db import is_postgres, write_transaction
from ideas.lifecycle import (
    ACCEPTED,
    DECLINED,
    DUPLICATE,
    IN_PROGRESS,
    IN_REVIEW,
    NEEDS_INFO,
    SHIPPED,
    STATUS_LABELS,
    WITHDRAWN,
)
from ideas.org_settings import get_setting
from ideas.policy import overdue_where
from ideas.tables import Action, Event, Idea, JobRun, Notification, Question, Submission, User, Vote

log = logging.getLogger("touchpoint.notify")

#: notice kinds → what the person is told about (settings page, e-mail opt-out)
KINDS: dict[str, str] = {
    "idea_status": "A status change of an idea you submitted",
    "idea_question": "A question from the CX council about your idea",
    "vote_accepted": "An idea you voted for or follow was accepted",
    "vote_in_progress": "Work started on an idea you voted for or follow",
    "vote_shipped": "An idea you voted for or follow shipped",
    "vote_declined": "An idea you voted for or follow was declined",
    "vote_withdrawn": "An idea you voted for or follow was withdrawn",
    "vote_merged": "An idea you voted for or follow was merged into another",
    "idea_comments": "New comments on an idea you follow",
    "action_assigned": "An action is assigned to you",
    "action_removed": "An action of yours was removed",
    "action_due_soon": "An action of yours is due soon",
    "action_overdue": "An action of yours is overdue",
    "council_answer": "A submitter answered the council's question (council)",
    "council_ship_proposed": "An action owner proposes shipping an idea (council)",
    "action_ship_changes": "The council asks for changes before shipping an idea you work on",
    "council_sla": "Ideas past the triage SLA (council)",
    "identity_revealed": "An admin revealed that you submitted an idea",
    "admin_reveal": "Another admin revealed who submitted an idea (admin)",
    "weekly_digest": "Your weekly digest",
    "webhook_disabled": "An outgoing webhook or chat channel was switched off (admins)",
}

#: kinds whose switch in the settings stops the notice itself, not only its e-mail
NOTICE_OPTIONAL = ("vote_accepted", "vote_in_progress", "idea_comments")

#: kinds whose e-mail names no idea (a submitter may receive them about their
#: own idea): a generic subject and text, a link to the inbox
GENERIC_MAIL = frozenset({"idea_comments"})
GENERIC_SUBJECT = "You have an update in Touchpoint"

#: kinds whose e-mail a person may switch off (the digest has its own switch;
#: being told of an identity reveal cannot be switched off)
EMAIL_OPTIONAL = tuple(
    k for k in KINDS if k not in ("identity_revealed", "admin_reveal", "weekly_digest")
)

SUBJECTS: dict[str, str] = {
    "idea_status": "Update on your idea",
    "idea_question": "A question about your idea",
    "vote_accepted": "Accepted",
    "vote_in_progress": "Work started",
    "vote_shipped": "Shipped",
    "vote_declined": "Declined",
    "vote_withdrawn": "Withdrawn",
    "idea_comments": GENERIC_SUBJECT,
    "vote_merged": "Merged",
    "action_assigned": "New action for you",
    "action_removed": "Action removed",
    "action_due_soon": "Action due soon",
    "action_overdue": "Action overdue",
    "council_answer": "Answer received",
    "council_ship_proposed": "Proposed to ship",
    "action_ship_changes": "Changes asked before shipping",
    "council_sla": "Ideas past the triage SLA",
    "identity_revealed": "Who submitted your idea was revealed",
    "admin_reveal": "A submitter was revealed",
    "weekly_digest": "Your week in Touchpoint",
    "webhook_disabled": "A webhook was switched off",
}

#: kinds whose e-mail may name the idea: about work given to the recipient
#: (an action they own) or the council's own queue, never about an idea the
#: recipient submitted or voted for. Every other notice's e-mail is the
#: generic `PRIVATE_SUBJECT` with a link to the inbox, so that whoever reads
#: mail logs or gateways cannot pair an address with an idea (issue 13,
#: docs/threat-model.md channel 6); the details are behind log-in.
DETAILED_MAIL_KINDS = frozenset(
    {"action_assigned", "action_due_soon", "action_overdue", "council_answer", "council_sla"}
)
PRIVATE_SUBJECT = "You have an update in Touchpoint"

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


def reveal_text(title: str, reason: str) -> str:
    """The in-app notice to a revealed submitter (behind log-in)."""
    return _with(
        f"An admin revealed that you submitted {_q(title)}. This was recorded in the audit log.",
        "Reason",
        reason,
    )


def admin_reveal_text(admin_name: str, idea_id: int, reason: str, at: dt.datetime) -> str:
    """The notice to every other admin of a reveal."""
    return _with(
        f"{admin_name} revealed who submitted idea {idea_id} on {at.date().isoformat()}. "
        "The submitter has been told; the audit log has the entry.",
        "Reason",
        reason,
    )


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
    #: everyone following this idea (submitters of `exclude_submitters_of` excepted)
    followers_of: int | None = None
    #: never this person (the one who acted)
    exclude_user: Any = None
    #: one unread notice of this kind per idea and person: no new one while it is unread
    batch: bool = False


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
        # written in the reveal's own transaction (ideas.reveal); this finds
        # them there and adds nothing
        text = reveal_text(title, data.get("reason") or note)
        return [Audience("identity_revealed", text, idea_id, users=await submitter_ids(idea_id))]
    if kind == "action_removed":
        if not data.get("owner"):
            return []
        text = (
            f"The CX council removed your action “{_clip(data.get('title', ''), 200)}” "
            f"on {_q(title)}: it is no longer yours to do."
        )
        return [Audience("action_removed", text, idea_id, users=[data["owner"]])]
    if kind == "ship_proposed":
        return [
            Audience(
                "council_ship_proposed",
                f"An action owner proposes shipping {_q(title)}: every action is done. "
                "Ship it or ask for changes on the delivery board.",
                idea_id,
                council=True,
                exclude_user=event["actor"],
            )
        ]
    if kind == "ship_changes":
        owners = await Action.select(Action.owner).where(Action.idea == idea_id).run()
        return [
            Audience(
                "action_ship_changes",
                _with(
                    f"The CX council asks for changes before shipping {_q(title)}.",
                    "What to change",
                    note,
                ),
                idea_id,
                users=[r["owner"] for r in owners],
            )
        ]
    if kind == "comment":
        return [
            Audience(
                "idea_comments",
                f"New comments on {_q(title)}.",
                idea_id,
                followers_of=idea_id,
                exclude_user=event["actor"],
                batch=True,
            )
        ]
    if kind != "status":
        return []
    submitters = await submitter_ids(idea_id)
    if status == WITHDRAWN:
        actor = event["actor"]
        others = [u for u in submitters if actor is None or str(u) != str(actor)]
        text = f"An idea you voted for or follow was withdrawn by its submitter: {_q(title)}."
        return [
            Audience("idea_status", f"Your idea {_q(title)} was withdrawn.", idea_id, users=others),
            Audience(
                "vote_withdrawn",
                text,
                idea_id,
                voters_of=idea_id,
                followers_of=idea_id,
                exclude_submitters_of=idea_id,
            ),
        ]
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
        # the question goes to who wrote the idea; a co-submitter (by merge)
        # hears of the status only: they never answer for the submitter
        writers = await original_submitter_ids(idea_id)
        co = [u for u in submitters if u not in set(writers)]
        audiences = [Audience("idea_question", text, idea_id, users=writers)]
        if co:
            audiences.append(
                Audience("idea_status", _submitter_text(status, title, ""), idea_id, users=co)
            )
        return audiences
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
                followers_of=idea_id,
                exclude_submitters_of=idea_id,
            )
        )
        return audiences
    audiences.append(
        Audience("idea_status", _submitter_text(status, title, note), idea_id, users=submitters)
    )
    if status == ACCEPTED:
        text = _with(f"An idea you voted for or follow was accepted: {_q(title)}.", "Note", note)
        audiences.append(Audience("vote_accepted", text, idea_id, voters_of=idea_id))
    elif status == IN_PROGRESS:
        text = f"Work started on an idea you voted for or follow: {_q(title)}."
        audiences.append(Audience("vote_in_progress", text, idea_id, voters_of=idea_id))
    elif status == SHIPPED:
        text = _with(f"An idea you voted for shipped: {_q(title)}.", "What changed", note)
        audiences.append(Audience("vote_shipped", text, idea_id, voters_of=idea_id))
    elif status == DECLINED:
        text = _with(f"An idea you voted for was declined: {_q(title)}.", "Reason", note)
        audiences.append(Audience("vote_declined", text, idea_id, voters_of=idea_id))
    for audience in audiences:
        if audience.voters_of is not None:
            audience.exclude_submitters_of = idea_id
            audience.followers_of = idea_id
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
    async with write_transaction():
        if batch and is_postgres():
            # two comment events delivered at once must not both find "no unread
            # notice" and both insert: one batch per idea at a time (SQLite's
            # writes are serialised already)
            await Notification.raw(
                "SELECT pg_advisory_xact_lock({})", BATCH_LOCK_BASE + int(idea_id or 0)
            ).run()
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


#: advisory-lock keys of batched notices: this base plus the idea's id (ids < 2**31)
BATCH_LOCK_BASE = 0x7470_0000_0000


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
    for part in _chunks(users, min(chunk, ID_CHUNK)):
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
    if audience.followers_of is not None:
        # followers are few next to voters: one statement
        where = 'u.id IN (SELECT f."user" FROM idea_follow f WHERE f.idea = {})' + exclude + but
        inserted += await _insert(
            where=where, args=(audience.followers_of, *exclude_args, *but_args), **common
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


async def not_yet(event_id: int, now: dt.datetime | None = None) -> bool:
    """The event is dated in the future (a submitter's withdrawal waits for
    its batch, ideas.publish): nothing of it is delivered before that moment;
    the outbox sweep (`undispatched_events`) brings it back from then."""
    rows = await Event.select(Event.created_at).where(Event.id == event_id).run()
    if not rows:
        return False
    at = rows[0]["created_at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at > (now or clock.now())


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
    """Once a day: tell every council member how many ideas are overdue for
    triage (`policy.is_overdue`)."""
    now = now or clock.now()
    key = f"sla:{now.date().isoformat()}"
    if now.hour < await _reminder_hour():
        return ScheduledRun(key, "not_due")
    if await _period_done(key):
        return ScheduledRun(key, "already")
    sla_days = await get_setting("triage_sla_days")
    late = await Idea.count().where(overdue_where(now, sla_days)).run()
    inserted = 0
    prefix = f"{key}:user:"
    if late:
        ideas = "1 idea is" if late == 1 else f"{late} ideas are"
        text = (
            f"{ideas} still awaiting triage after the {sla_days}-day triage SLA. "
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
    now = now or clock.now()
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
            # new ideas of the week as others could see them: by when they
            # were published (PUBLISH_DELAY_MINUTES), not when written
            (Idea.published_at.is_null() & (Idea.created_at >= since) & (Idea.created_at < until))
            | ((Idea.published_at >= since) & (Idea.published_at < until)),
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


def _digest_text(
    updates: int,
    new: int,
    changed: Sequence[tuple[str, str]] = (),
    fresh: Sequence[str] = (),
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
        text += (
            " Updates: "
            + "; ".join(f"{_q(t)}: {STATUS_LABELS.get(s, s)}" for t, s in changed[:5])
            + "."
        )
    if fresh:
        text += " New: " + ", ".join(_q(t) for t in fresh[:5]) + "."
    return _clip(text)


async def send_weekly_digest(now: dt.datetime | None = None) -> ScheduledRun:
    """Once a week, at the digest time or the first run after it: a digest
    for everyone who wants one and has something in it."""
    now = now or clock.now()
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
        followed_ids = sorted(followers.get(u["id"], ()))
        followed = len(followed_ids)
        if not followed and not top_new:
            continue
        changed = [(updates[i].title, updates[i].status) for i in followed_ids]
        rows.append(
            Notification(
                user=u["id"],
                event=None,
                idea=None,
                kind="weekly_digest",
                text=_digest_text(followed, len(top_new), changed, [i.title for i in top_new]),
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
    if kind == "council_ship_proposed":
        return _link("/delivery")
    if kind == "webhook_disabled":
        return _link("/admin/webhooks")
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
    if kind in GENERIC_MAIL:
        # a submitter may be among the recipients: the mail names no idea
        context["text"] = "There are new comments on an idea you follow."
        context["link"] = context["inbox_url"]
    elif row["idea_title"] and kind in DETAILED_MAIL_KINDS:
        subject = f"{subject}: {row['idea_title']}"
    if kind not in DETAILED_MAIL_KINDS and kind != "weekly_digest":
        # neither the idea, nor its link, nor that it is the recipient's
        subject = PRIVATE_SUBJECT
        context["link"] = context["inbox_url"]
        names = ["private_notice"]
    elif kind == "weekly_digest":
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
    if kind == "weekly_digest":
        # the ideas a person submitted or voted for are theirs to read behind
        # log-in, and so are the week's top ideas (a submitter's own idea is
        # often among them): the mail only counts them
        context["updates_count"] = len(context["updates"])
        context["top_new_count"] = len(context["top_new"])
        context["updates"] = context["top_new"] = []
    subject = _clip(subject, 180)
    context["subject"] = subject
    # one click switches this kind of mail off (the reveal notice cannot be)
    unsubscribe_url = ""
    if kind in EMAIL_OPTIONAL or kind == "weekly_digest":
        unsubscribe_url = unsubscribe.url_for(row["user"], kind)
    context["unsubscribe_url"] = unsubscribe_url
    text, html = mail.render(names, context)
    return mail.Mail(
        to=row["email"],
        subject=subject,
        text=text,
        html=html,
        message_id=mail.message_id_for(row["dedup_key"], settings),
        unsubscribe_url=unsubscribe_url,
        # dated when its notice was made, not when a worker sent it: a notice
        # of a submitter's answer is made at its batch's moment
        # (ideas.publish), so the header tells no more than the batch
        date=row["created_at"],
    )


async def _mark_mail(notification_id: int, status: str, error: str = "") -> None:
    values: dict = {
        Notification.email_status: status,
        Notification.email_attempts: Notification.email_attempts + 1,
        Notification.email_error: _clip(error, 500),
    }
    if status == "sent":
        values[Notification.email_sent_at] = clock.now()
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
