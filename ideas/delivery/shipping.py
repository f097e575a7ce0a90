"""Shipping: council ships an idea whose actions (one at least) are all
done, with a note on what changed for customers and, optionally, a measured
impact; the Shipped feed shows them, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from ideas import policy
from ideas.blind import IDEA_COLUMNS, blind_idea, blind_ideas
from ideas.board.listing import next_offset_cursor, offset_from_cursor
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.db import write_transaction
from ideas.delivery.actions import WORKING, check_role, locked_idea
from ideas.errors import Conflict, Invalid
from ideas.lifecycle import COUNCIL, SHIPPED, check_transition
from ideas.outbox import record_event
from ideas.schemas import IdeaOut, Page, Strict
from ideas.tables import Action, Idea

SHIP_NOTE_MIN, SHIP_NOTE_MAX = 20, 5000
METRIC_MAX = 120


class ShipIn(Strict):
    note: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=SHIP_NOTE_MIN, max_length=SHIP_NOTE_MAX
        ),
    ]
    impact_metric: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=METRIC_MAX)
    ] = ""
    impact_before: float | None = None
    impact_after: float | None = None


class ImpactOut(BaseModel):
    metric: str
    before: float
    after: float
    #: e.g. "invoice calls per week: 140 → 60"
    summary: str


class ShippedOut(BaseModel):
    idea: IdeaOut
    shipped_on: dt.date
    ship_note: str
    impact: ImpactOut | None


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.6g}"


def impact_of(metric: str, before: float | None, after: float | None) -> ImpactOut | None:
    if not metric or before is None or after is None:
        return None
    return ImpactOut(
        metric=metric,
        before=before,
        after=after,
        summary=f"{metric}: {_number(before)} → {_number(after)}",
    )


def check_impact(data: ShipIn) -> tuple[str, float | None, float | None]:
    """The measured impact of a ship (or its proposal): none, or all three parts."""
    metric = data.impact_metric.strip()
    before, after = data.impact_before, data.impact_after
    if not metric and before is None and after is None:
        return "", None, None
    if not metric:
        raise Invalid("impact_metric", "name the measure (e.g. 'invoice calls per week')")
    if before is None:
        raise Invalid("impact_before", "give the value before the change")
    if after is None:
        raise Invalid("impact_after", "give the value after the change")
    for name, value in (("impact_before", before), ("impact_after", after)):
        if value != value or abs(value) > 1e15:
            raise Invalid(name, "must be a finite number")
    return metric, before, after


async def ship(ctx: Context, idea_id: int, data: ShipIn) -> IdeaOut:
    """Council ships an in-progress idea whose actions (one at least) are all
    done, with a note on what changed for customers."""
    check_role(ctx.actor, "delivery.ship")
    note = data.note.strip()
    if len(note) < SHIP_NOTE_MIN:
        raise Invalid("note", f"say what changed for customers in {SHIP_NOTE_MIN}+ characters")
    metric, before, after = check_impact(data)
    async with write_transaction():
        idea = await locked_idea(idea_id)
        status = idea["status"]
        if status == SHIPPED:
            raise Conflict("this idea has already shipped", {"current_status": status})
        statuses = [
            r["status"]
            for r in await Action.select(Action.status).where(Action.idea == idea_id).run()
        ]
        if status in WORKING:
            if not statuses:
                raise Conflict(
                    "shipping needs at least one action, all done; this idea has none",
                    {"current_status": status, "open_actions": 0, "actions": 0},
                )
            still_open = sum(s != "done" for s in statuses)
            if still_open:
                raise Conflict(
                    f"shipping needs every action done; {still_open} still open",
                    {"current_status": status, "open_actions": still_open},
                )
        move = check_transition(status, SHIPPED, COUNCIL)
        policy.authorize(ctx.actor, "delivery.ship", policy.Facts(status=status))
        await (
            Idea.update(
                {
                    Idea.status: SHIPPED,
                    Idea.shipped_at: ctx.now,
                    Idea.ship_note: note,
                    Idea.impact_metric: metric,
                    Idea.impact_before: before,
                    Idea.impact_after: after,
                    Idea.updated_at: ctx.now,
                    # an owner's proposal, if any, is settled by the ship
                    Idea.ship_proposal: {},
                }
            )
            .where(Idea.id == idea_id)
            .run()
        )
        await record_event(
            idea_id=idea_id,
            kind="status",
            status=SHIPPED,
            note=note,
            actor_label=move.actor_label,
            actor_id=ctx.actor.id,
        )
    return await blind_idea(await idea_row(idea_id), ctx.actor)


async def shipped_feed(
    ctx: Context, limit: int = 20, cursor: str | None = None
) -> Page[ShippedOut]:
    """Recently shipped ideas, newest first: ship note, impact, owning
    department, and the names of those who opted in to credit."""
    policy.authorize(ctx.actor, "idea.view")
    offset = offset_from_cursor(cursor, "not a cursor for this list")
    rows = (
        await Idea.select(
            *IDEA_COLUMNS,
            Idea.shipped_at,
            Idea.ship_note,
            Idea.impact_metric,
            Idea.impact_before,
            Idea.impact_after,
        )
        .where(Idea.status == SHIPPED)
        .order_by(Idea.shipped_at, Idea.id, ascending=False)
        .offset(offset)
        .limit(limit + 1)
        .run()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    ideas = await blind_ideas(rows, ctx.actor)
    items = [
        ShippedOut(
            idea=idea,
            shipped_on=(r["shipped_at"] or ctx.now).date(),
            ship_note=r["ship_note"],
            impact=impact_of(r["impact_metric"], r["impact_before"], r["impact_after"]),
        )
        for idea, r in zip(ideas, rows, strict=True)
    ]
    next_cursor = next_offset_cursor(offset, limit, more)
    return Page[ShippedOut](items=items, next_cursor=next_cursor)
