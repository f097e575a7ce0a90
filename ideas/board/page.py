"""An idea's own page: the idea as the reader may see it, its public
timeline, what shipped (note and impact) and the ideas merged into it — in
three statements (the row with the viewer's facts and the ship columns, the
timeline, the merged ideas)."""

from __future__ import annotations

from dataclasses import dataclass

from ideas import clock, policy
from ideas.blind import IdeaText, blind_rows
from ideas.board.view import merged_into, public_events, row_with_facts
from ideas.context import Context
from ideas.delivery.shipping import ImpactOut, impact_of
from ideas.lifecycle import SHIPPED
from ideas.schemas import EventOut, IdeaOut

#: what shipped, read with the idea's row
_SHIP_COLUMNS = ", ship_note, impact_metric, impact_before, impact_after"


@dataclass(frozen=True)
class IdeaPage:
    idea: IdeaOut
    events: list[EventOut]
    #: empty (and no impact) unless the idea shipped
    ship_note: str
    impact: ImpactOut | None
    merged: list[IdeaText]


async def idea_page(ctx: Context, idea_id: int) -> IdeaPage:
    """Everything the idea's page shows (404 while not published, but to its
    submitters)."""
    policy.authorize(ctx.actor, "idea.view")
    now = clock.now()
    row = await row_with_facts(idea_id, ctx.actor, now, _SHIP_COLUMNS)
    shipped = row["status"] == SHIPPED
    return IdeaPage(
        idea=blind_rows([row], ctx.actor, now)[0],
        events=await public_events(idea_id),
        ship_note=row["ship_note"] if shipped else "",
        impact=impact_of(row["impact_metric"], row["impact_before"], row["impact_after"])
        if shipped
        else None,
        merged=await merged_into(idea_id),
    )
