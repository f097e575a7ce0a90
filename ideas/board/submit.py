"""A new idea: `new`, linked to its submitter; the worker indexes it for
similar-search (ideas.term_index)."""

from __future__ import annotations

from ideas import participation, policy, publish, term_index, vector_index
from ideas.blind import blind_idea
from ideas.board.ids import random_id
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Forbidden
from ideas.schemas import IdeaIn, IdeaOut
from ideas.tables import Follow, Idea, Submission


async def submit_idea(ctx: Context, data: IdeaIn) -> IdeaOut:
    """Create an idea as `new`, linked to its submitter in `Submission`."""
    policy.authorize(ctx.actor, "idea.submit")
    viewer = ctx.person
    if viewer is None:
        raise Forbidden("an idea is submitted by a person")
    now = ctx.now
    async with write_transaction():
        idea = Idea(
            id=await random_id(Idea),
            title=data.title,
            problem=data.problem,
            proposal=data.proposal,
            touchpoint=data.touchpoint,
            status="new",
            votes=0,
            created_at=now,
            updated_at=now,
            submitted_on=now.date(),
            # others see it with everything else of its window (ideas.publish)
            published_at=publish.visible_from(now),
        )
        await idea.save().run()
        await Submission.insert(Submission(idea=idea.id, user=viewer.id, role="submitter")).run()
        # the submitter follows their own idea (new comments); one click stops it
        await Follow.insert(Follow(idea=idea.id, user=viewer.id)).run()
        term_index.ask_for_terms(idea.id)  # written by the worker (ideas.term_index)
        await vector_index.mark_for_embedding(idea.id, now)
        await participation.record_viewer(viewer, now)
    return await blind_idea(await idea_row(idea.id), viewer)
