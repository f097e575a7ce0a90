"""Credit: the submitter and each co-submitter choose, for themselves,
whether their name is shown on the idea once it ships (name and department,
never the title). A choice made before shipping is kept."""

from __future__ import annotations

from dataclasses import dataclass

from ideas import figures, policy
from ideas.blind import blind_idea
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.db import write_transaction
from ideas.lifecycle import SHIPPED
from ideas.schemas import IdeaOut, Strict
from ideas.tables import Submission


class CreditIn(Strict):
    credit: bool


@dataclass
class CreditState:
    """The viewer's own credit choice on an idea they (co-)submitted."""

    idea_id: str
    #: None = not chosen yet (anonymous)
    credit: bool | None
    shipped: bool
    co_submitter: bool


async def set_credit(ctx: Context, idea_id: int, credit: bool) -> IdeaOut:
    """The submitter or a co-submitter chooses credit, each for themselves.
    A choice made before shipping is kept and shows once the idea ships."""
    async with write_transaction():
        await idea_row(idea_id)
        changed = (
            await Submission.update({Submission.credit: credit})
            .where(Submission.idea == idea_id, Submission.user == ctx.actor.id)
            .returning(Submission.id)
            .run()
        )
        # nothing changed unless it is the actor's own idea
        policy.authorize(ctx.actor, "idea.credit", policy.Facts(is_own=bool(changed)))
        await figures.bump()  # the leaderboard counts credited submitters
    return await blind_idea(await idea_row(idea_id), ctx.actor)


async def credit_state(ctx: Context, idea_id: int) -> CreditState | None:
    """The person's own choice on an idea they (co-)submitted that is heading
    for shipping or has shipped; None for anyone else or any other idea."""
    row = await idea_row(idea_id)
    if ctx.person is None or row["status"] not in policy.ACCEPTED_OR_LATER:
        return None
    rows = (
        await Submission.select(Submission.credit, Submission.role)
        .where(Submission.idea == idea_id, Submission.user == ctx.person.id)
        .order_by(Submission.id)
        .run()
    )
    if not rows:
        return None
    return CreditState(
        idea_id=str(idea_id),
        credit=rows[0]["credit"],
        shipped=row["status"] == SHIPPED,
        co_submitter=all(r["role"] != "submitter" for r in rows),
    )
