"""Scheduled notices, once per period: the daily triage-SLA reminder to the
council and the daily reminders to owners of actions due soon or overdue.

Each job takes the worker's context and reads the moment from `ctx.now`. A
period (`JobRun.key`, e.g. "sla:2026-03-02") is done once: a second run in
the same period, or a run before the reminder hour, does nothing. The
weekly digest (`ideas.notify.digest`) runs the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ideas import blind
from ideas.context import Context
from ideas.db import write_transaction
from ideas.notify.audiences import Audience
from ideas.notify.fanout import fan_out, pending_mail
from ideas.notify.kinds import clip
from ideas.org_settings import get_setting
from ideas.policy import overdue_where
from ideas.tables import Action, Idea, JobRun, Notification

#: an action is "due soon" this many days ahead
DUE_SOON_DAYS = 2


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class ScheduledRun:
    """What one scheduled job did for its period."""

    key: str
    outcome: str  # "done", "already" (period done before), "not_due"
    notices: int = 0
    mail_ids: list[int] = field(default_factory=list)


async def period_done(key: str) -> bool:
    return await JobRun.exists().where(JobRun.key == key).run()


async def finish_period(key: str) -> None:
    async with write_transaction():
        await JobRun.insert(JobRun(key=key)).on_conflict(action="DO NOTHING").run()


async def _reminder_hour() -> int:
    """The hour (UTC) reminders and the digest go out: the `digest_hour` setting."""
    return await get_setting("digest_hour")


async def send_sla_reminders(ctx: Context) -> ScheduledRun:
    """Once a day: tell every council member how many ideas are overdue for
    triage (`policy.is_overdue`)."""
    now = ctx.now
    key = f"sla:{now.date().isoformat()}"
    if now.hour < await _reminder_hour():
        return ScheduledRun(key, "not_due")
    if await period_done(key):
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
    await finish_period(key)
    return ScheduledRun(
        key, "done", inserted, await pending_mail(Notification.dedup_key.like(f"{prefix}%"))
    )


async def send_action_reminders(ctx: Context) -> ScheduledRun:
    """Once a day: owners of actions due within DUE_SOON_DAYS (once per due
    date) and of overdue actions (once per week) are reminded."""
    now = ctx.now
    today = now.date()
    key = f"actions:{today.isoformat()}"
    if now.hour < await _reminder_hour():
        return ScheduledRun(key, "not_due")
    if await period_done(key):
        return ScheduledRun(key, "already")
    rows = (
        await Action.select(Action.id, Action.title, Action.owner, Action.due_on, Action.idea)
        .where(Action.status != "done", Action.due_on <= today + dt.timedelta(days=DUE_SOON_DAYS))
        .order_by(Action.id)
        .run()
    )
    ideas = await blind.idea_texts(r["idea"] for r in rows)
    inserted = 0
    prefixes = []
    for action in rows:
        due = action["due_on"]
        what = f"“{clip(action['title'], 200)}” on {ideas[action['idea']].quoted}"
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
    await finish_period(key)
    mail_ids: list[int] = []
    for prefix in prefixes:
        mail_ids += await pending_mail(Notification.dedup_key.like(f"{prefix}%"))
    return ScheduledRun(key, "done", inserted, mail_ids)
