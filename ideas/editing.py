"""The submitter's second thoughts: edit an idea while it is `new` (before
any triage), withdraw it before any decision; and a comment's author edits
it for COMMENT_EDIT_MINUTES, or deletes it (shown as "deleted").

An edited idea goes through the similarity index (its terms and the
document frequencies, in the edit's transaction) and the blind projection
like a new submission. The council sees that, and on which day, it was
edited; nobody sees a time finer than the day. What others already see
changes only with a publish batch (ideas.publish): an edit of a published
idea waits in `idea_edit` and a "Submitter" comment is deleted from the
next batch on (`publish_due_changes`, the worker's minute job), and is
edited only until its own batch.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints

from ideas import policy, publish, vector_index
from ideas.blind import author_label, original_submitter_ids
from ideas.board.ids import parse_id
from ideas.board.similar import index_terms
from ideas.board.view import edit_fields, get_idea, idea_row
from ideas.comments import BODY_MAX, COMMENT_EDIT_MINUTES, CommentOut, batched, editable
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.lifecycle import NEW, SUBMITTER, WITHDRAWN, check_transition
from ideas.outbox import record_event
from ideas.policy import Facts
from ideas.schemas import IdeaOut, LongText, Strict, Title, Touchpoint
from ideas.tables import Comment, Idea, WaitingEdit


class IdeaEdit(Strict):
    """What the submitter may change while the idea is `new` (any subset)."""

    title: Title | None = None
    problem: LongText | None = None
    proposal: LongText | None = None
    touchpoint: Touchpoint | None = None


async def _own(ctx: Context, action: str, idea_id: int) -> None:
    """Anyone but the idea's submitter is refused `action` (403, whatever the
    idea's status) -- a co-submitter too: a merge gives credit and notices,
    not the idea (a council member merging a throwaway idea of his into
    someone's would else rewrite or withdraw it). The status is checked in
    the write's transaction (`_in_time`)."""
    await idea_row(idea_id)
    own = ctx.actor.id is not None and ctx.actor.id in set(await original_submitter_ids(idea_id))
    if not own:
        policy.authorize(ctx.actor, action, Facts(is_own=False))


def _in_time(ctx: Context, action: str, status: str, refusal: str) -> None:
    """The submitter acting at a status the permission does not allow: 409."""
    if not policy.allowed(action, frozenset(ctx.actor.roles), Facts(status=status, is_own=True)):
        raise Conflict(refusal, {"current_status": status})


async def edit_idea(ctx: Context, idea_id: int, data: IdeaEdit) -> IdeaOut:
    """Change a `new` idea (409 once triage has started). Others see the
    change from the next batch (ideas.publish) once they can see the idea at
    all: at once, the text changing would date the submitter's edit to the
    minute. Its editor sees it at once (`view.row_with_facts`)."""
    viewer, now = ctx.actor, ctx.now
    await _own(ctx, "idea.edit", idea_id)
    changes = data.model_dump(exclude_none=True)
    if not changes:
        raise Invalid("title", "change at least one of title, problem, proposal or touchpoint")
    async with write_transaction():
        rows = await Idea.select(Idea.status, Idea.published_at).where(Idea.id == idea_id).run()
        current = rows[0]
        _in_time(
            ctx,
            "idea.edit",
            current["status"],
            "an idea can be edited only while it is new, before the council takes it up",
        )
        shown_at = publish.visible_from(now)
        if shown_at <= now or publish.is_pending(current["published_at"], now):
            # no batches, or nobody else sees the idea yet: the edit is the idea
            await _apply_edit(idea_id, changes, now, visible=shown_at <= now, while_new=True)
        else:
            await _hold_edit(idea_id, viewer.id, changes, shown_at)
    return await get_idea(ctx, idea_id)


async def _apply_edit(
    idea_id: int, changes: dict, at: dt.datetime, visible: bool, while_new: bool = False
) -> None:
    """Write an edit into the idea (inside a transaction), dated `at`: the
    similar-search terms again, and the vector pending, as at submission
    (`while_new`: only if the idea is still `new`, a decision not having
    come in between)."""
    rows = await Idea.select(Idea.title, Idea.problem).where(Idea.id == idea_id).run()
    if not rows:
        return  # the idea went away meanwhile
    current = rows[0]
    values = {getattr(Idea, k): v for k, v in changes.items()}
    values[Idea.edited_at] = at
    values[Idea.updated_at] = at
    update = Idea.update(values).where(Idea.id == idea_id)
    if while_new:
        update = update.where(Idea.status == NEW)
    if not await update.returning(Idea.id).run():
        return
    if visible and ("title" in changes or "problem" in changes):
        # the similar-search terms, as at submission (title and problem); an
        # idea not yet published has none (ideas.term_index: from its batch)
        await index_terms(
            idea_id,
            changes.get("title", current["title"]),
            changes.get("problem", current["problem"]),
        )
    if changes.keys() & {"title", "problem", "proposal"}:
        # embedded again by the worker, like a new submission
        await vector_index.mark_for_embedding(idea_id, at, visible=visible)


async def _hold_edit(idea_id: int, editor: Any, changes: dict, shown_at: dt.datetime) -> None:
    """Keep an edit for its batch, merged into the editor's edit already
    waiting for the same batch, if any."""
    waiting = (
        await WaitingEdit.select(WaitingEdit.id, WaitingEdit.changes)
        .where(
            WaitingEdit.idea == idea_id,
            WaitingEdit.editor == editor,
            WaitingEdit.publish_at == shown_at,
        )
        .run()
    )
    if waiting:
        merged = {**edit_fields(waiting[0]["changes"]), **changes}
        await (
            WaitingEdit.update({WaitingEdit.changes: merged})
            .where(WaitingEdit.id == waiting[0]["id"])
            .run()
        )
    else:
        await WaitingEdit.insert(
            WaitingEdit(idea=idea_id, editor=editor, changes=changes, publish_at=shown_at)
        ).run()


async def publish_due_changes(ctx: Context) -> int:
    """Apply the edits and withdrawals whose batch has come, oldest first,
    each dated its batch's moment, and delete the "Submitter" comments whose deletion waited
    for it (the worker's `publish_batches`, every minute). An edit is
    applied only if the idea is still `new`: once the council has taken it
    up (or it was withdrawn or merged), its decision and its voters stand on
    the text they saw, and the edit is dropped -- as an edit then would be
    refused."""
    due = (
        await WaitingEdit.select(
            WaitingEdit.id,
            WaitingEdit.idea,
            WaitingEdit.editor,
            WaitingEdit.changes,
            WaitingEdit.publish_at,
        )
        .where(WaitingEdit.publish_at <= ctx.now)
        .order_by(WaitingEdit.publish_at, WaitingEdit.id)
        .run()
    )
    for r in due:
        async with write_transaction():
            gone = (
                await WaitingEdit.delete()
                .where(WaitingEdit.id == r["id"])
                .returning(WaitingEdit.id)
                .run()
            )
            if gone:  # not applied by another worker meanwhile
                changes = edit_fields(r["changes"])
                withdrawn = changes.pop("status", None) == WITHDRAWN
                if changes:
                    await _apply_edit(r["idea"], changes, r["publish_at"], True, while_new=True)
                if withdrawn:
                    at = r["publish_at"]
                    await _apply_withdrawal(r["idea"], r["editor"], at, at)
    deleted = await Comment.raw(
        "UPDATE comment SET deleted_at = delete_at, delete_at = NULL "
        "WHERE delete_at <= {} RETURNING id",
        ctx.now,
    ).run()
    return len(due) + len(deleted)


async def withdraw(ctx: Context, idea_id: int) -> IdeaOut:
    """Take the idea back before any decision: `withdrawn`, votes frozen,
    voters and followers told -- at the batch's moment (ideas.publish), like
    a submitter's answer. Once others see the idea, the withdrawal waits for
    the next batch (`idea_edit`, applied by `publish_due_changes`): its
    status, its timeline's event, the notices and the mail's `Date:` all
    come then, so none of them tells the minute the submitter acted. The
    submitter sees it withdrawn at once."""
    viewer, now = ctx.actor, ctx.now
    await _own(ctx, "idea.withdraw", idea_id)
    async with write_transaction():
        rows = await Idea.select(Idea.status, Idea.published_at).where(Idea.id == idea_id).run()
        status = rows[0]["status"]
        _in_time(
            ctx,
            "idea.withdraw",
            status,
            "an idea can be withdrawn only before the council decides on it",
        )
        check_transition(status, WITHDRAWN, SUBMITTER)
        shown_at = publish.visible_from(now)
        if shown_at <= now or publish.is_pending(rows[0]["published_at"], now):
            await _apply_withdrawal(idea_id, viewer.id, now, shown_at)
        else:
            await _hold_edit(idea_id, viewer.id, {"status": WITHDRAWN}, shown_at)
    return await get_idea(ctx, idea_id)


async def _apply_withdrawal(
    idea_id: int, submitter: Any, at: dt.datetime, told_at: dt.datetime
) -> None:
    """Withdraw the idea (inside a transaction) if its status still allows
    it, its event dated `told_at` (the batch's moment)."""
    rows = await Idea.select(Idea.status).where(Idea.id == idea_id).run()
    if not rows or not policy.allowed(
        "idea.withdraw", frozenset({"staff"}), Facts(status=rows[0]["status"], is_own=True)
    ):
        return  # decided (or merged) meanwhile: the decision stands
    status = rows[0]["status"]
    move = check_transition(status, WITHDRAWN, SUBMITTER)
    moved = await (
        Idea.update({Idea.status: WITHDRAWN, Idea.answered: False, Idea.updated_at: at})
        .where(Idea.id == idea_id, Idea.status == status)
        .returning(Idea.id)
        .run()
    )
    if not moved:
        return  # a decision came in between (PostgreSQL, read committed): it stands
    await record_event(
        idea_id=idea_id,
        kind="status",
        status=WITHDRAWN,
        note="The submitter withdrew this idea.",
        actor_label=move.actor_label,
        actor_id=submitter,
        created_at=told_at,
    )


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
            Comment.delete_at,
            Comment.published_at,
            Comment.by_co_submitter,
        )
        .where(Comment.id == number)
        .run()
    )
    if not rows:
        raise NotFound("no such comment")
    row = rows[0]
    is_author = str(row["author"]) == str(ctx.actor.id)
    policy.authorize(ctx.actor, "comment.change", Facts(is_own=is_author))
    if row["deleted_at"] is not None or row["delete_at"] is not None:
        raise Conflict("this comment was deleted")
    return row


async def edit_comment(ctx: Context, comment_id: str | int, data: CommentEdit) -> CommentChanged:
    viewer, now = ctx.actor, ctx.now
    row = await _own_comment(ctx, comment_id)
    if not editable(row, now):
        raise Conflict(
            f"a comment can be edited for {COMMENT_EDIT_MINUTES} minutes after writing, "
            "and one shown as Submitter only until colleagues see it"
        )
    async with write_transaction():
        await (
            Comment.update({Comment.body: data.body, Comment.edited_at: now})
            .where(Comment.id == row["id"], Comment.deleted_at.is_null())
            .run()
        )
    out = CommentOut(
        id=str(row["id"]),
        at=row["created_at"],
        author=author_label(
            row["by_submitter"], row["as_council"], viewer.name, row["by_co_submitter"]
        ),
        body=data.body,
        edited=True,
        mine=True,
    )
    return CommentChanged(comment=out, idea_id=str(row["idea"]))


async def delete_comment(ctx: Context, comment_id: str | int) -> CommentChanged:
    """Delete one's comment (shown as "deleted"). A comment shown as
    "Submitter" (or "Co-submitter") that others see already is deleted from
    the next batch on (ideas.publish; the worker's minute job): vanishing at
    once would tell the minute its author acted. Its author sees it deleted
    at once."""
    now = ctx.now
    row = await _own_comment(ctx, comment_id)
    shown_at = publish.visible_from(now)
    anonymous = batched(row)
    async with write_transaction():
        if anonymous and shown_at > now and not publish.is_pending(row["published_at"], now):
            change = {Comment.delete_at: shown_at}
        else:
            change = {Comment.deleted_at: now}
        await Comment.update(change).where(Comment.id == row["id"]).run()
    out = CommentOut(id=str(row["id"]), at=row["created_at"], author="", body="", deleted=True)
    return CommentChanged(comment=out, idea_id=str(row["idea"]))


__all__ = [
    "COMMENT_EDIT_MINUTES",
    "CommentEdit",
    "IdeaEdit",
    "delete_comment",
    "edit_comment",
    "edit_idea",
    "publish_due_changes",
    "withdraw",
]
