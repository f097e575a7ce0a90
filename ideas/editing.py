"""The submitter's second thoughts: edit an idea while it is `new` (before
any triage), withdraw it before any decision; and a comment's author edits
it for COMMENT_EDIT_MINUTES, or deletes it (shown as "deleted").

An edited idea goes through the similarity index (its terms and the
document frequencies, in the edit's transaction) and the blind projection
like a new submission. The council sees that, and on which day, it was
edited; nobody sees a time finer than the day.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from ideas import policy, publish, vector_index
from ideas.blind import author_label, blind_idea, submitter_ids
from ideas.board.ids import parse_id
from ideas.board.similar import index_terms
from ideas.board.view import idea_row
from ideas.comments import BODY_MAX, COMMENT_EDIT_MINUTES, CommentOut
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.lifecycle import NEW, SUBMITTER, WITHDRAWN, check_transition
from ideas.outbox import record_event
from ideas.policy import Facts
from ideas.schemas import IdeaOut, LongText, Strict, Title, Touchpoint
from ideas.tables import Comment, Idea


class IdeaEdit(Strict):
    """What the submitter may change while the idea is `new` (any subset)."""

    title: Title | None = None
    problem: LongText | None = None
    proposal: LongText | None = None
    touchpoint: Touchpoint | None = None


async def _own(ctx: Context, action: str, idea_id: int) -> None:
    """Anyone but the idea's submitter (or a co-submitter) is refused `action`
    (403, whatever the idea's status); the status is checked in the write's
    transaction (`_in_time`)."""
    await idea_row(idea_id)
    own = ctx.actor.id is not None and ctx.actor.id in set(await submitter_ids(idea_id))
    if not own:
        policy.authorize(ctx.actor, action, Facts(is_own=False))


def _in_time(ctx: Context, action: str, status: str, refusal: str) -> None:
    """The submitter acting at a status the permission does not allow: 409."""
    if not policy.allowed(action, frozenset(ctx.actor.roles), Facts(status=status, is_own=True)):
        raise Conflict(refusal, {"current_status": status})


async def edit_idea(ctx: Context, idea_id: int, data: IdeaEdit) -> IdeaOut:
    """Change a `new` idea (409 once triage has started)."""
    viewer, now = ctx.actor, ctx.now
    await _own(ctx, "idea.edit", idea_id)
    changes = data.model_dump(exclude_none=True)
    if not changes:
        raise Invalid("title", "change at least one of title, problem, proposal or touchpoint")
    async with write_transaction():
        rows = await Idea.select(Idea.status, Idea.title, Idea.problem).where(Idea.id == idea_id)
        current = rows[0]
        _in_time(
            ctx,
            "idea.edit",
            current["status"],
            "an idea can be edited only while it is new, before the council takes it up",
        )
        values = {getattr(Idea, k): v for k, v in changes.items()}
        values[Idea.edited_at] = now
        values[Idea.updated_at] = now
        await Idea.update(values).where(Idea.id == idea_id, Idea.status == NEW).run()
        if "title" in changes or "problem" in changes:
            # the similar-search terms, as at submission (title and problem)
            await index_terms(
                idea_id,
                changes.get("title", current["title"]),
                changes.get("problem", current["problem"]),
            )
        if changes.keys() & {"title", "problem", "proposal"}:
            # embedded again by the worker, like a new submission
            await vector_index.mark_for_embedding(idea_id, now)
    return await blind_idea(await idea_row(idea_id), viewer)


async def withdraw(ctx: Context, idea_id: int) -> IdeaOut:
    """Take the idea back before any decision: `withdrawn`, votes frozen,
    voters and followers told -- at the batch's moment (ideas.publish), like
    a submitter's answer: the event is dated then and delivered only from
    then (notify.fanout.deliver_event), so neither the notices nor the mail's
    `Date:` tell the minute the submitter acted."""
    viewer, now = ctx.actor, ctx.now
    await _own(ctx, "idea.withdraw", idea_id)
    async with write_transaction():
        rows = await Idea.select(Idea.status).where(Idea.id == idea_id).run()
        status = rows[0]["status"]
        _in_time(
            ctx,
            "idea.withdraw",
            status,
            "an idea can be withdrawn only before the council decides on it",
        )
        move = check_transition(status, WITHDRAWN, SUBMITTER)
        await (
            Idea.update({Idea.status: WITHDRAWN, Idea.answered: False, Idea.updated_at: now})
            .where(Idea.id == idea_id, Idea.status == status)
            .run()
        )
        await record_event(
            idea_id=idea_id,
            kind="status",
            status=WITHDRAWN,
            note="The submitter withdrew this idea.",
            actor_label=move.actor_label,
            actor_id=viewer.id,
            created_at=publish.visible_from(now),
        )
    return await blind_idea(await idea_row(idea_id), viewer)


# -- comments ------------------------------------------------------------------------------

CommentBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=BODY_MAX)
]


class CommentEdit(Strict):
    body: CommentBody


class CommentChanged(BaseModel):
    comment: CommentOut
    idea_id: str


async def _own_comment(ctx: Context, comment_id: str | int) -> dict:
    number = parse_id(comment_id, "comment")
    rows = (
        await Comment.select(
            Comment.id,
            Comment.idea,
            Comment.author,
            Comment.body,
            Comment.as_council,
            Comment.by_submitter,
            Comment.created_at,
            Comment.edited_at,
            Comment.deleted_at,
        )
        .where(Comment.id == number)
        .run()
    )
    if not rows:
        raise NotFound("no such comment")
    row = rows[0]
    is_author = str(row["author"]) == str(ctx.actor.id)
    policy.authorize(ctx.actor, "comment.change", Facts(is_own=is_author))
    if row["deleted_at"] is not None:
        raise Conflict("this comment was deleted")
    return row


def can_edit(created_at: dt.datetime, now: dt.datetime) -> bool:
    return now - created_at <= dt.timedelta(minutes=COMMENT_EDIT_MINUTES)


async def edit_comment(ctx: Context, comment_id: str | int, data: CommentEdit) -> CommentChanged:
    viewer, now = ctx.actor, ctx.now
    row = await _own_comment(ctx, comment_id)
    if not can_edit(row["created_at"], now):
        raise Conflict(f"a comment can be edited for {COMMENT_EDIT_MINUTES} minutes after writing")
    async with write_transaction():
        await (
            Comment.update({Comment.body: data.body, Comment.edited_at: now})
            .where(Comment.id == row["id"], Comment.deleted_at.is_null())
            .run()
        )
    out = CommentOut(
        id=str(row["id"]),
        at=row["created_at"],
        author=author_label(row["by_submitter"], row["as_council"], viewer.name),
        body=data.body,
        edited=True,
        mine=True,
    )
    return CommentChanged(comment=out, idea_id=str(row["idea"]))


async def delete_comment(ctx: Context, comment_id: str | int) -> CommentChanged:
    now = ctx.now
    row = await _own_comment(ctx, comment_id)
    async with write_transaction():
        await Comment.update({Comment.deleted_at: now}).where(Comment.id == row["id"]).run()
    out = CommentOut(id=str(row["id"]), at=row["created_at"], author="", body="", deleted=True)
    return CommentChanged(comment=out, idea_id=str(row["idea"]))


__all__ = [
    "COMMENT_EDIT_MINUTES",
    "CommentEdit",
    "IdeaEdit",
    "can_edit",
    "delete_comment",
    "edit_comment",
    "edit_idea",
    "withdraw",
]
