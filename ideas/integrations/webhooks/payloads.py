"""What a delivery carries: the idea as the least-privileged staff reader
sees it through the blind projection (`ideas.blind`), never a submitter,
their department or a time finer than the release window."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from ideas.blind import IDEA_COLUMNS, blind_ideas
from ideas.publish import is_pending
from ideas.tables import (
    Idea,
)
from ideas.viewer import Viewer

#: the least-privileged reader: a staff member who voted for nothing and submitted nothing
STAFF_READER = Viewer(
    id=UUID(int=0), name="Staff", email="staff@invalid", department_id=0, roles=frozenset({"staff"})
)


# -- payloads ----------------------------------------------------------------------------------


def _idea_json(idea) -> dict[str, Any]:
    data = idea.model_dump(mode="json")
    # the reader's own facts mean nothing to a channel
    data.pop("voted", None)
    data.pop("is_mine", None)
    return data


async def staff_ideas(
    idea_ids: Sequence[int], published_by: dt.datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Ideas as the least-privileged reader sees them, by id; with
    `published_by`, only those others may see at that time (ideas.publish)."""
    if not idea_ids:
        return {}
    rows = await Idea.select(*IDEA_COLUMNS).where(Idea.id.is_in(list(set(idea_ids)))).run()
    if published_by is not None:
        shown = {
            r["id"]
            for r in await Idea.select(Idea.id, Idea.published_at)
            .where(Idea.id.is_in(list(set(idea_ids))))
            .run()
            if not is_pending(r["published_at"], published_by)
        }
        rows = [r for r in rows if r["id"] in shown]
    ideas = await blind_ideas(rows, STAFF_READER)
    return {int(i.id): _idea_json(i) for i in ideas}


async def shipped_extra(idea_id: int) -> dict[str, Any]:
    """What a shipped post adds: the public ship note and the impact."""
    rows = (
        await Idea.select(Idea.ship_note, Idea.impact_metric, Idea.impact_before, Idea.impact_after)
        .where(Idea.id == idea_id)
        .run()
    )
    if not rows:
        return {}
    r = rows[0]
    impact = None
    if r["impact_metric"] and r["impact_before"] is not None and r["impact_after"] is not None:
        impact = {
            "metric": r["impact_metric"],
            "before": r["impact_before"],
            "after": r["impact_after"],
        }
    return {"ship_note": r["ship_note"], "impact": impact}


def envelope(event: str, at: dt.datetime, data: dict[str, Any]) -> str:
    """The body of every delivery: {"type", "timestamp", "data"}."""
    body = {"type": event, "timestamp": at.astimezone(dt.UTC).isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
