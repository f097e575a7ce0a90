"""One idea as its reader sees it: its row, its JSON, its public timeline."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ideas import clock, policy, publish
from ideas.blind import (
    IDEA_SQL_COLUMNS,
    TEXT_COLUMNS,
    IdeaText,
    blind_rows,
    facts_columns,
    idea_text,
    original_submitter_ids,
)
from ideas.context import Context
from ideas.errors import NotFound
from ideas.lifecycle import DUPLICATE, NEW, WITHDRAWN
from ideas.policy import WITHDRAWABLE
from ideas.schemas import EventOut, IdeaOut
from ideas.tables import Event, Idea, Submission, WaitingEdit
from ideas.viewer import Viewer


async def idea_row(idea_id: int, viewer: Viewer | None = None) -> dict:
    """The idea's row; with `viewer`, an idea not yet published
    (PUBLISH_DELAY_MINUTES) is 'no such idea' to anyone but its submitters."""
    # plain SQL: every idea page and fragment starts here
    rows = await Idea.raw(f"SELECT {IDEA_SQL_COLUMNS} FROM idea WHERE id = {{}}", idea_id).run()
    if not rows:
        raise NotFound("no such idea")
    row = rows[0]
    if viewer is not None and publish.is_pending(row["published_at"], clock.now()):
        own = (
            await Submission.exists()
            .where(Submission.idea == idea_id, Submission.user == viewer.id)
            .run()
        )
        if not own:
            raise NotFound("no such idea")
    return row


def published_sql(viewer: Viewer | None, now: dt.datetime) -> tuple[str, list]:
    """SQL condition (on table `idea`): published by `now`, or (with a
    viewer) one of the viewer's own. `now` is a parameter, not a literal:
    the statement's text stays the same from one request to the next, so
    the driver's prepared statement is reused (a literal made every board
    query, vote and search a new statement to parse and plan)."""
    clause = "(idea.published_at IS NULL OR idea.published_at <= {}"
    if viewer is None:
        return clause + ")", [now]
    return clause + ' OR idea.id IN (SELECT idea FROM submission WHERE "user" = {}))', [
        now,
        str(viewer.id),
    ]


async def row_with_facts(idea_id: int, viewer: Viewer, now: dt.datetime, columns: str = "") -> dict:
    """The idea's row with the viewer's facts about it (`blind.facts_columns`)
    and any further `columns` of the idea, in one statement; an idea not yet
    published is 'no such idea' to anyone but its submitters."""
    facts, args = facts_columns(viewer, now)
    rows = await Idea.raw(
        f"SELECT {IDEA_SQL_COLUMNS}{columns}{facts} FROM idea WHERE id = {{}}", *args, idea_id
    ).run()
    if not rows or (publish.is_pending(rows[0]["published_at"], now) and not rows[0]["f_mine"]):
        raise NotFound("no such idea")
    row = rows[0]
    if row["f_mine"] and viewer.id is not None:
        if viewer.id not in set(await original_submitter_ids(idea_id)):
            # a co-submitter by merge: no edit, no withdrawal (ideas.editing)
            return {**row, "f_co_submitter": True}
        # the viewer's own edit, which others see from its batch
        waiting = await waiting_edit(idea_id, viewer.id)
        if waiting is not None:
            changes = still_applicable(waiting[0], row["status"])
            if changes:
                row = {**row, **changes, "edit_publish_at": waiting[1]}
    return row


def still_applicable(changes: dict, status: str) -> dict:
    """What of a held edit its batch will still apply to an idea now at
    `status` (ideas.editing.publish_due_changes): the text while the idea is
    `new`, a withdrawal while the idea may be withdrawn -- a decision since
    stands, and the editor is not shown a change that will not happen."""
    kept = {k: v for k, v in changes.items() if k != "status"} if status == NEW else {}
    if changes.get("status") == WITHDRAWN and status in WITHDRAWABLE:
        kept["status"] = WITHDRAWN
    return kept


def edit_fields(stored: Any) -> dict:
    """A stored edit's fields (Piccolo reads JSON as text)."""
    return json.loads(stored) if isinstance(stored, str) else dict(stored)


async def waiting_edit(idea_id: int, editor: Any) -> tuple[dict, dt.datetime] | None:
    """The changes `editor` made to the idea that others do not see yet, and
    from when they will (``None``: none waiting)."""
    rows = (
        await WaitingEdit.select(WaitingEdit.changes, WaitingEdit.publish_at)
        .where(WaitingEdit.idea == idea_id, WaitingEdit.editor == editor)
        .order_by(WaitingEdit.id)
        .run()
    )
    if not rows:
        return None
    changes: dict = {}
    for r in rows:
        changes.update(edit_fields(r["changes"]))
    return changes, max(r["publish_at"] for r in rows)


async def get_idea(ctx: Context, idea_id: int) -> IdeaOut:
    """One idea as the actor may see it (404 while not published, but to its submitters)."""
    policy.authorize(ctx.actor, "idea.view")
    now = clock.now()
    return blind_rows([await row_with_facts(idea_id, ctx.actor, now)], ctx.actor, now)[0]


async def merged_into(idea_id: int) -> list[IdeaText]:
    """The ideas merged into this one (duplicates pointing at it), oldest
    first, as the projection shows an idea to anyone (`blind.IdeaText`)."""
    rows = (
        await Idea.select(*TEXT_COLUMNS)
        .where(Idea.duplicate_of == idea_id, Idea.status == DUPLICATE)
        .order_by(Idea.id)
        .run()
    )
    return [idea_text(r) for r in rows]


# -- timeline ----------------------------------------------------------------


async def idea_events(ctx: Context, idea_id: int) -> list[EventOut]:
    """The public timeline: role labels only, never a person. To a person,
    an idea not yet published is 'no such idea' unless they submitted it
    (as its page is): a 200 would tell that the id exists."""
    policy.authorize(ctx.actor, "idea.view")
    if ctx.person is not None:
        await idea_row(idea_id, ctx.person)
    events = await public_events(idea_id)
    if not events and not await Idea.raw("SELECT 1 FROM idea WHERE id = {}", idea_id).run():
        raise NotFound("no such idea")  # (an idea without a timeline yet is fine)
    return events


async def public_events(idea_id: int) -> list[EventOut]:
    """The idea's public timeline, oldest first (the caller may see the idea)."""
    rows = await Event.raw(
        "SELECT created_at, status, note, actor_label FROM event "
        "WHERE idea = {} AND public = {} ORDER BY id",
        idea_id,
        True,
    ).run()
    return [
        EventOut(at=r["created_at"], status=r["status"], note=r["note"], actor=r["actor_label"])
        for r in rows
    ]


async def events_for(idea_ids: list[int]) -> dict[int, list[EventOut]]:
    """Public timelines of several ideas at once (My ideas)."""
    if not idea_ids:
        return {}
    rows = (
        await Event.select(
            Event.idea, Event.created_at, Event.status, Event.note, Event.actor_label
        )
        .where(Event.idea.is_in(idea_ids), Event.public.eq(True))
        .order_by(Event.id)
        .run()
    )
    out: dict[int, list[EventOut]] = {i: [] for i in idea_ids}
    for r in rows:
        out[r["idea"]].append(
            EventOut(at=r["created_at"], status=r["status"], note=r["note"], actor=r["actor_label"])
        )
    return out
