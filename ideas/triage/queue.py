"""The council's triage queue: the ideas awaiting a decision, blind, with
their age and the SLA flag (`policy.is_overdue`, the product's one rule)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ideas import policy
from ideas.blind import IDEA_COLUMNS, blind_ideas
from ideas.board.listing import check_limit, next_offset_cursor, offset_from_cursor
from ideas.context import Context
from ideas.errors import Invalid
from ideas.lifecycle import TOUCHPOINTS
from ideas.org_settings import get_setting
from ideas.policy import AWAITING_TRIAGE, is_overdue
from ideas.schemas import IdeaOut, Page
from ideas.tables import Idea
from ideas.triage.common import published_by
from ideas.triage.questions import publish_due

QueueSort = Literal["votes", "age"]


class QueueItem(IdeaOut):
    """An idea in the triage queue: the blind idea plus its age and SLA flag."""

    age_days: int
    sla_breached: bool


def _age_days(submitted_on: dt.date, today: dt.date) -> int:
    return max((today - submitted_on).days, 0)


async def queue(
    ctx: Context,
    *,
    sort: str = "votes",
    touchpoint: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[QueueItem]:
    """Ideas awaiting the council: `new` and `in_review` (answered ones among
    them are flagged `answered`), blind, with age in days and the SLA flag.

    `sla_breached`: `policy.is_overdue`, the product's one triage-SLA rule.
    """
    policy.authorize(ctx.actor, "triage.queue")
    limit = check_limit(limit)
    if sort not in ("votes", "age"):
        raise Invalid("sort", "must be one of votes, age")
    if touchpoint and touchpoint not in TOUCHPOINTS:
        raise Invalid("touchpoint", f"must be one of {', '.join(TOUCHPOINTS)}")
    offset = offset_from_cursor(cursor, "not a cursor for this queue")
    now = ctx.now
    await publish_due(ctx)
    query = Idea.select(*IDEA_COLUMNS, Idea.first_decided_at, Idea.created_at).where(
        Idea.status.is_in(sorted(AWAITING_TRIAGE)), published_by(now)
    )
    if touchpoint:
        query = query.where(Idea.touchpoint == touchpoint)
    # oldest first by when the council could first see it: within one batch
    # (PUBLISH_DELAY_MINUTES) the order says nothing of who came first
    if sort == "votes":
        query = query.order_by(Idea.votes, ascending=False).order_by(
            Idea.submitted_on, Idea.published_at, Idea.id
        )
    else:
        query = query.order_by(Idea.submitted_on, Idea.published_at, Idea.id)
    rows = await query.offset(offset).limit(limit + 1).run()
    more = len(rows) > limit
    rows = rows[:limit]
    sla_days = await get_setting("triage_sla_days")
    today = now.date()
    ideas = await blind_ideas(rows, ctx.actor)
    items = []
    for row, idea in zip(rows, ideas, strict=True):
        items.append(
            QueueItem(
                **idea.model_dump(),
                age_days=_age_days(row["submitted_on"], today),
                sla_breached=is_overdue(
                    row["created_at"], row["status"], now, sla_days, row["first_decided_at"]
                ),
            )
        )
    next_cursor = next_offset_cursor(offset, limit, more)
    return Page[QueueItem](items=items, next_cursor=next_cursor)
