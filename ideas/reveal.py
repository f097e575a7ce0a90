"""The audited reveal: the one way an admin learns who submitted an idea.

Only through an explicit action with a reason (20+ characters). The reveal is
written to the audit log (who revealed which idea, and why: never the
identity itself, so the log shows it to no one). In the reveal's own
transaction:

- every submitter and co-submitter gets their notice, whatever the state of
  their account (a deactivated person finds it in their inbox when they can
  log in again), so "the submitter has been told" is always true;
- every other admin is told that a reveal happened (by whom, which idea,
  why), whatever the submitter's state: the check depends on nobody's
  identity, so it is no oracle.

An admin who changed whether someone can log in (deactivate, reactivate)
within `QUIET_HOURS` cannot reveal: the deactivate–reveal–reactivate
sequence, which in the audit log would name the suspect to every admin,
cannot be made by one admin (docs/threat-model.md, channel 4). The rule
depends on the admin's own actions only, never on who the submitter is, so
its refusal tells nothing. (Deactivating someone after a reveal stays
possible: that is what a reveal for abuse is usually followed by.) The identity is returned
to be shown on that one screen and is stored nowhere else.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from ideas import blind, outbox, policy
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid
from ideas.tables import AuditLog, Notification, Submission, User
from ideas.viewer import Viewer

REASON_MIN = 20
REVEAL_ACTION = "identity_reveal"
#: actions that change whether a person can log in
LOGIN_STATE_ACTIONS = ("person.deactivate", "person.reactivate")
#: hours after an admin's change of someone's log-in state before the same
#: admin may reveal
QUIET_HOURS = 24


async def _acted_recently(actor, actions: tuple[str, ...], now: dt.datetime) -> bool:
    return await (
        AuditLog.exists()
        .where(
            AuditLog.actor == actor,
            AuditLog.action.is_in(list(actions)),
            AuditLog.created_at > now - dt.timedelta(hours=QUIET_HOURS),
        )
        .run()
    )


class RevealedPerson(BaseModel):
    name: str
    email: str
    title: str
    department: str
    #: "submitter", or "co_submitter" after a merge
    role: str


class RevealOut(BaseModel):
    idea_id: str
    idea_title: str
    people: list[RevealedPerson]


async def reveal_submitter(ctx: Context, idea_id: int, reason: str) -> RevealOut:
    """Reveal an idea's submitter(s) to an admin, audited and announced."""
    viewer = policy.authorize_person(ctx.actor, "admin.reveal")
    reason = (reason or "").strip()
    idea = await idea_row(idea_id)
    if len(reason) < REASON_MIN:
        raise Invalid("reason", f"give a reason of at least {REASON_MIN} characters")
    now = ctx.now
    if await _acted_recently(viewer.id, LOGIN_STATE_ACTIONS, now):
        raise Conflict(
            f"you deactivated or reactivated someone within the last {QUIET_HOURS} hours: "
            "a reveal must wait, or be made by another admin"
        )
    async with write_transaction():
        rows = (
            await Submission.select(
                Submission.role,
                Submission.user.name.as_alias("name"),
                Submission.user.email.as_alias("email"),
                Submission.user.title.as_alias("title"),
                Submission.user.department.name.as_alias("department"),
            )
            .where(Submission.idea == idea_id)
            .order_by(Submission.id)
            .run()
        )
        audit = AuditLog(
            actor=viewer.id,
            action=REVEAL_ACTION,
            target=f"idea:{idea_id}",
            details={"idea_id": str(idea_id), "reason": reason},
            created_at=now,
        )
        await audit.save().run()
        event_id = await outbox.record_event(
            idea_id=idea_id,
            kind="reveal",
            status=idea["status"],
            note=f"An administrator revealed who submitted this idea. Reason: {reason}",
            actor_label="Admin",
            actor_id=viewer.id,
            public=False,
            data={"audit_id": audit.id, "reason": reason},
        )
        await _tell_submitters(event_id, idea_id, reason, now)
        await _tell_other_admins(viewer, event_id, idea_id, reason, now)
    return RevealOut(
        idea_id=str(idea_id),
        # the title as the projection shows it to anyone
        idea_title=blind.idea_text(idea).title,
        people=[
            RevealedPerson(
                name=r["name"],
                email=r["email"],
                title=r["title"],
                department=r["department"],
                role=r["role"],
            )
            for r in rows
        ],
    )


async def _tell_submitters(event_id: int, idea_id: int, reason: str, now: dt.datetime) -> None:
    """The submitters' notices, written now, whatever their account's state;
    the worker's own fan-out for the event finds them there (same dedup key)
    and adds nothing."""
    from ideas.notify import fanout, kinds

    text = kinds.reveal_text((await blind.idea_texts([idea_id]))[idea_id], reason)
    users = await Submission.select(Submission.user).where(Submission.idea == idea_id).run()
    for user_id in dict.fromkeys(r["user"] for r in users):
        await (
            Notification.insert(
                Notification(
                    user=user_id,
                    event=event_id,
                    idea=idea_id,
                    kind="identity_revealed",
                    text=text,
                    dedup_key=f"{fanout.event_key(event_id)}{user_id}",
                    created_at=now,
                    email_status="pending",
                )
            )
            .on_conflict(target=Notification.dedup_key, action="DO NOTHING")
            .run()
        )


async def _tell_other_admins(
    viewer: Viewer, event_id: int, idea_id: int, reason: str, now: dt.datetime
) -> None:
    """Every other active admin is told of every reveal (never only of some:
    a notice that depended on the submitter's state would say something
    about the submitter)."""
    from ideas.notify import kinds

    text = kinds.admin_reveal_text(viewer.name, idea_id, reason, now)
    admins = (
        await User.select(User.id)
        .where(User.is_admin.eq(True), User.active.eq(True), User.id != viewer.id)
        .run()
    )
    for row in admins:
        await (
            Notification.insert(
                Notification(
                    user=row["id"],
                    event=event_id,
                    idea=None,
                    kind="admin_reveal",
                    text=text,
                    dedup_key=f"reveal:{event_id}:admin:{row['id']}",
                    created_at=now,
                    email_status="pending",
                )
            )
            .on_conflict(target=Notification.dedup_key, action="DO NOTHING")
            .run()
        )


__all__ = [
    "QUIET_HOURS",
    "REASON_MIN",
    "REVEAL_ACTION",
    "RevealOut",
    "reveal_submitter",
]
