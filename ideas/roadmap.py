"""The roadmap: what is being done, for all staff. Ideas accepted, in
progress and recently shipped, filterable by touchpoint and owning
department, each through the blind projection (never a submitter)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from ideas import policy
from ideas.blind import IDEA_COLUMNS, blind_ideas
from ideas.board.ids import parse_id
from ideas.context import Context
from ideas.errors import Invalid
from ideas.lifecycle import ACCEPTED, IN_PROGRESS, SHIPPED, TOUCHPOINTS
from ideas.schemas import IdeaOut, Ref
from ideas.tables import Action, Department, Idea

#: shipped ideas stay on the roadmap this many days
RECENT_SHIPPED_DAYS = 90
#: ideas per column at most (the busiest first)
COLUMN_LIMIT = 100


class RoadmapItem(BaseModel):
    idea: IdeaOut
    actions_done: int = 0
    actions_total: int = 0


class RoadmapColumn(BaseModel):
    status: str
    items: list[RoadmapItem]


class Roadmap(BaseModel):
    columns: list[RoadmapColumn]
    #: departments that own something on the roadmap (for the filter)
    departments: list[Ref]
    touchpoint: str | None = None
    department: str | None = None


async def roadmap(
    ctx: Context,
    *,
    touchpoint: str | None = None,
    department: str | None = None,
) -> Roadmap:
    """The roadmap's three columns as `ctx.now` sees them (shipped within
    RECENT_SHIPPED_DAYS), for any member of staff."""
    policy.authorize(ctx.actor, "roadmap.read")
    viewer, now = ctx.actor, ctx.now
    if touchpoint and touchpoint not in TOUCHPOINTS:
        raise Invalid("touchpoint", f"must be one of {', '.join(TOUCHPOINTS)}")
    department_id = parse_id(department, "department", "department") if department else None
    since = now - dt.timedelta(days=RECENT_SHIPPED_DAYS)
    on_map = (Idea.status.is_in(sorted(policy.IN_DELIVERY))) | (
        (Idea.status == SHIPPED) & (Idea.shipped_at >= since)
    )
    owners = (
        await Idea.select(Idea.owning_department)
        .where(on_map, Idea.owning_department.is_not_null())
        .distinct()
        .run()
    )
    owner_ids = sorted({r["owning_department"] for r in owners})
    departments = []
    if owner_ids:
        rows = (
            await Department.select(Department.id, Department.name)
            .where(Department.id.is_in(owner_ids))
            .order_by(Department.name)
            .run()
        )
        departments = [Ref(id=str(r["id"]), name=r["name"]) for r in rows]
    columns = []
    for status in (ACCEPTED, IN_PROGRESS, SHIPPED):
        query = Idea.select(*IDEA_COLUMNS).where(Idea.status == status)
        if status == SHIPPED:
            query = query.where(Idea.shipped_at >= since).order_by(Idea.shipped_at, ascending=False)
        else:
            query = query.order_by(Idea.votes, ascending=False)
        if touchpoint:
            query = query.where(Idea.touchpoint == touchpoint)
        if department_id:
            query = query.where(Idea.owning_department == department_id)
        rows = await query.order_by(Idea.id, ascending=False).limit(COLUMN_LIMIT).run()
        ideas = await blind_ideas(rows, viewer)
        progress: dict[int, tuple[int, int]] = {}
        if status == IN_PROGRESS and rows:
            for a in (
                await Action.select(Action.idea, Action.status)
                .where(Action.idea.is_in([r["id"] for r in rows]))
                .run()
            ):
                done, total = progress.get(a["idea"], (0, 0))
                progress[a["idea"]] = (done + (a["status"] == "done"), total + 1)
        columns.append(
            RoadmapColumn(
                status=status,
                items=[
                    RoadmapItem(
                        idea=i,
                        actions_done=progress.get(int(i.id), (0, 0))[0],
                        actions_total=progress.get(int(i.id), (0, 0))[1],
                    )
                    for i in ideas
                ],
            )
        )
    return Roadmap(
        columns=columns,
        departments=departments,
        touchpoint=touchpoint,
        department=str(department_id) if department_id else None,
    )


__all__ = ["Roadmap", "RoadmapColumn", "RoadmapItem", "RECENT_SHIPPED_DAYS", "roadmap"]
