"""Votes: add and retract, exact under concurrency (the unique (idea, user)
index decides, and the counter moves only on a real change). On PostgreSQL
each is one SQL statement when it changes something (the vote, its counter
and the participation ledger together)."""

from __future__ import annotations

from ideas import participation, policy, publish, sql
from ideas.board.view import idea_row, published_sql
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Forbidden, NotFound
from ideas.policy import OPEN_FOR_VOTES
from ideas.schemas import VoteOut
from ideas.tables import Idea, Submission, Vote
from ideas.viewer import Viewer


def _voter(ctx: Context) -> Viewer:
    """The person voting: the role part of "idea.vote" here, its rule on the
    idea's status in the SQL (a closed idea is a 409 conflict, not a 403)."""
    policy.authorize_attempt(ctx.actor, "idea.vote")
    if ctx.person is None:
        raise Forbidden("a vote is a person's")
    return ctx.person


async def _vote_state(ctx: Context, viewer: Viewer, idea_id: int) -> tuple[str, int, bool]:
    rows = (
        await Idea.select(Idea.status, Idea.votes, Idea.published_at)
        .where(Idea.id == idea_id)
        .run()
    )
    if not rows:
        raise NotFound("no such idea")
    if publish.is_pending(rows[0]["published_at"], ctx.now):
        await idea_row(idea_id, viewer)  # not yet published: no such idea to others
    voted = await Vote.exists().where(Vote.idea == idea_id, Vote.user == viewer.id).run()
    return rows[0]["status"], rows[0]["votes"], voted


def _refuse_closed(status: str) -> None:
    if status not in OPEN_FOR_VOTES:
        raise Conflict(f"ideas that are '{status}' take no votes", {"current_status": status})


async def _refuse_own(viewer: Viewer, idea_id: int) -> None:
    """Nobody votes for an idea they submitted or co-submitted (409). The
    refusal writes nothing, so nobody else can tell it happened."""
    own = (
        await Submission.exists()
        .where(Submission.idea == idea_id, Submission.user == viewer.id)
        .run()
    )
    if own:
        raise Conflict("you cannot vote for your own idea", {"own_idea": True})


_OPEN_SQL = ", ".join(f"'{s}'" for s in sorted(OPEN_FOR_VOTES))


async def vote(ctx: Context, idea_id: int) -> VoteOut:
    """Add the actor's vote (idempotent)."""
    viewer = _voter(ctx)
    now = ctx.now
    published, published_args = published_sql(None, now)
    one_statement = sql.vote_statement(_OPEN_SQL, published)
    if one_statement is not None:
        rows = await Idea.raw(
            one_statement,
            viewer.id,
            now,
            idea_id,
            *published_args,
            viewer.id,
            viewer.id,
            viewer.department_id,
            participation.quarter_label_of(now),
            now,
        ).run()
        if rows:
            return VoteOut(votes=rows[0]["votes"], voted=True)
        status, votes, voted = await _vote_state(ctx, viewer, idea_id)
        _refuse_closed(status)
        await _refuse_own(viewer, idea_id)
        return VoteOut(votes=votes, voted=voted)
    async with write_transaction():
        status, votes, voted = await _vote_state(ctx, viewer, idea_id)
        _refuse_closed(status)
        await _refuse_own(viewer, idea_id)
        if voted:
            return VoteOut(votes=votes, voted=True)
        inserted = await Vote.raw(
            'INSERT INTO vote (idea, "user", created_at) VALUES ({}, {}, {}) '
            "ON CONFLICT DO NOTHING RETURNING id",
            idea_id,
            str(viewer.id),
            now,
        ).run()
        if inserted:
            rows = await Idea.raw(
                "UPDATE idea SET votes = votes + 1 WHERE id = {} RETURNING votes", idea_id
            ).run()
            votes = rows[0]["votes"]
            await participation.record_viewer(viewer, now)
        return VoteOut(votes=votes, voted=True)


async def unvote(ctx: Context, idea_id: int) -> VoteOut:
    """Retract the actor's vote (idempotent)."""
    viewer = _voter(ctx)
    one_statement = sql.unvote_statement(_OPEN_SQL)
    if one_statement is not None:
        rows = await Idea.raw(
            one_statement,
            idea_id,
            viewer.id,
            idea_id,
        ).run()
        if rows:
            return VoteOut(votes=rows[0]["votes"], voted=False)
        status, votes, voted = await _vote_state(ctx, viewer, idea_id)
        _refuse_closed(status)
        return VoteOut(votes=votes, voted=voted)
    async with write_transaction():
        status, votes, voted = await _vote_state(ctx, viewer, idea_id)
        _refuse_closed(status)
        if not voted:
            return VoteOut(votes=votes, voted=False)
        deleted = await Vote.raw(
            'DELETE FROM vote WHERE idea = {} AND "user" = {} RETURNING id',
            idea_id,
            str(viewer.id),
        ).run()
        if deleted:
            rows = await Idea.raw(
                "UPDATE idea SET votes = votes - 1 WHERE id = {} RETURNING votes", idea_id
            ).run()
            votes = rows[0]["votes"]
        return VoteOut(votes=votes, voted=False)
