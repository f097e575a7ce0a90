"""An action owner proposes shipping: when every action of an idea is done,
an owner of one of them drafts the ship note and the measured impact; the
council is told, and ships (starting from the draft) or asks for changes
(the owners are told, with the council's note)."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from ideas import policy
from ideas.blind import blind_idea
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.db import write_transaction
from ideas.delivery.actions import WORKING, check_role
from ideas.delivery.shipping import ShipIn, check_impact
from ideas.errors import Conflict
from ideas.outbox import record_event
from ideas.schemas import IdeaOut, Strict
from ideas.tables import Action, Idea


class ShipProposal(BaseModel):
    note: str
    impact_metric: str = ""
    impact_before: float | None = None
    impact_after: float | None = None


class ChangesIn(Strict):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]


def parse_proposal(raw) -> ShipProposal | None:
    """The stored draft (JSON text on SQLite), or None when there is none."""
    if isinstance(raw, str):
        raw = json.loads(raw or "{}")
    if not raw or not raw.get("note"):
        return None
    return ShipProposal(**raw)


async def proposal_of(idea_id: int) -> ShipProposal | None:
    rows = await Idea.select(Idea.ship_proposal).where(Idea.id == idea_id).run()
    return parse_proposal(rows[0]["ship_proposal"]) if rows else None


async def _all_done(idea_id: int) -> tuple[list[dict], bool]:
    actions = await Action.select(Action.owner, Action.status).where(Action.idea == idea_id).run()
    return actions, bool(actions) and all(a["status"] == "done" for a in actions)


async def propose(ctx: Context, idea_id: int, data: ShipIn) -> IdeaOut:
    """An owner of one of the idea's actions drafts the ship: every action
    must be done; the council is told."""
    metric, before, after = check_impact(data)
    async with write_transaction():
        row = await idea_row(idea_id)
        actions, done = await _all_done(idea_id)
        is_owner = any(str(a["owner"]) == str(ctx.actor.id) for a in actions)
        policy.authorize(ctx.actor, "delivery.propose", policy.Facts(is_owner=is_owner))
        if row["status"] not in WORKING:
            raise Conflict(
                f"only an idea being delivered can be proposed for shipping; this one is "
                f"'{row['status']}'",
                {"current_status": row["status"]},
            )
        if not done:
            raise Conflict("every action must be done before proposing to ship")
        draft = {"note": data.note.strip(), "impact_metric": metric,
                 "impact_before": before, "impact_after": after}  # fmt: skip
        await Idea.update({Idea.ship_proposal: draft}).where(Idea.id == idea_id).run()
        await record_event(
            idea_id=idea_id, kind="ship_proposed", actor_id=ctx.actor.id, public=False
        )
    return await blind_idea(await idea_row(idea_id), ctx.actor)


async def ask_changes(ctx: Context, idea_id: int, data: ChangesIn) -> IdeaOut:
    """The council sends the draft back: the proposal is cleared and the
    action owners are told what to change."""
    check_role(ctx.actor, "delivery.ship")
    async with write_transaction():
        await idea_row(idea_id)
        if await proposal_of(idea_id) is None:
            raise Conflict("nobody has proposed shipping this idea")
        await Idea.update({Idea.ship_proposal: {}}).where(Idea.id == idea_id).run()
        await record_event(
            idea_id=idea_id,
            kind="ship_changes",
            note=data.note,
            actor_label="CX council",
            actor_id=ctx.actor.id,
            public=False,
        )
    return await blind_idea(await idea_row(idea_id), ctx.actor)


__all__ = ["ChangesIn", "ShipProposal", "ask_changes", "parse_proposal", "proposal_of", "propose"]
