"""The audited reveal: the one way an admin learns who submitted an idea.

Only through an explicit action with a reason (20+ characters). The reveal is
written to the audit log (who revealed which idea, and why: never the
identity itself, so the log shows it to no one), and a private event tells
the submitter in-app. The identity is returned to be shown on that one
screen and is stored nowhere else.
"""

from __future__ import annotations

from pydantic import BaseModel

from ideas import clock, outbox
from ideas.db import write_transaction
from ideas.errors import Forbidden, Invalid
from ideas.services import idea_row
from ideas.tables import AuditLog, Submission
from ideas.viewer import Viewer

REASON_MIN = 20
REVEAL_ACTION = "identity_reveal"


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


async def reveal_submitter(viewer: Viewer, idea_id: int, reason: str) -> RevealOut:
    """Reveal an idea's submitter(s) to an admin, audited and announced."""
    if not viewer.is_admin:
        raise Forbidden("only an admin may reveal who submitted an idea")
    reason = (reason or "").strip()
    idea = await idea_row(idea_id)
    if len(reason) < REASON_MIN:
        raise Invalid("reason", f"give a reason of at least {REASON_MIN} characters")
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
            created_at=clock.now(),
        )
        await audit.save().run()
        await outbox.record_event(
            idea_id=idea_id,
            kind="reveal",
            status=idea["status"],
            note=f"An administrator revealed who submitted this idea. Reason: {reason}",
            actor_label="Admin",
            actor_id=viewer.id,
            public=False,
            data={"audit_id": audit.id, "reason": reason},
        )
    return RevealOut(
        idea_id=str(idea_id),
        idea_title=idea["title"],
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


__all__ = ["REASON_MIN", "REVEAL_ACTION", "RevealOut", "reveal_submitter"]
