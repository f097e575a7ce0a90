"""The e-mail of a notice: composed from the notice, its idea's blind
projection (`blind.IdeaText`) and the rule of how much a mail may say
(`policy.mail_detail`); sent at most once, with its bookkeeping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from ideas import blind, clock, mail, policy, unsubscribe
from ideas.blind import IdeaText
from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.notify.digest import digest_for, digest_moment
from ideas.notify.kinds import EMAIL_OPTIONAL, PRIVATE_SUBJECT, SUBJECTS, clip
from ideas.tables import Notification


class NoticeGone(Exception):
    """The notice (or its recipient) no longer exists."""


class MailBookkeepingFailed(Exception):
    """The server accepted the message but `sent` could not be recorded:
    try the bookkeeping again later, never the send."""


#: pauses between tries of the `sent` bookkeeping after the server accepted
BOOKKEEPING_PAUSES_S = (0.2, 0.5, 1.0, 2.0)


@dataclass
class MailResult:
    notification_id: int
    outcome: str  # "sent", "already", "skipped"
    kind: str = ""
    detail: str = ""


def _link(path: str) -> str:
    return get_settings().base_url + path


def _notice_link(kind: str, idea: IdeaText | None) -> str:
    if kind == "council_sla":
        return _link("/triage")
    if idea is not None:
        return _link(idea.path)
    return _link("/me/notifications")


async def compose(row: dict) -> mail.Mail:
    """The e-mail of one notice (one recipient), saying no more than
    `policy.mail_detail` allows for its kind. Raises MailPermanentError
    when a template is broken."""
    kind = row["kind"]
    settings = get_settings()
    context: dict[str, Any] = {
        "recipient_name": row["name"],
        "inbox_url": _link("/me/notifications"),
        "settings_url": _link("/me/settings"),
    }
    subject = SUBJECTS.get(kind, "Touchpoint")
    detail = policy.mail_detail(kind)
    if detail == policy.MAIL_DETAILED:
        idea = (await blind.idea_texts([row["idea"]])).get(row["idea"]) if row["idea"] else None
        if idea is not None:
            subject = f"{subject}: {idea.title}"
        context.update(text=row["text"], link=_notice_link(kind, idea))
        names = [kind, "notice"]
    elif detail == policy.MAIL_COUNTS:
        until = await digest_moment(row["created_at"])
        content = await digest_for(row["user"], until - dt.timedelta(days=7), until)
        context.update(
            period=f"the week to {until.date().isoformat()}",
            updates_count=len(content.updates),
            top_new_count=len(content.top_new),
        )
        names = ["digest"]
    else:
        # neither the idea, nor its link, nor that it is the recipient's
        subject = PRIVATE_SUBJECT
        names = ["private_notice"]
    subject = clip(subject, 180)
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
        Notification.email_error: clip(error, 500),
    }
    if status == "sent":
        values[Notification.email_sent_at] = clock.now()
    async with write_transaction():
        await Notification.update(values).where(Notification.id == notification_id).run()


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
