"""A new idea: `new`, linked to its submitter; the worker indexes it for
similar-search (ideas.term_index)."""

from __future__ import annotations

from functools import cache

from ideas import participation, policy, publish, sql, term_index, vector_index
from ideas.blind import blind_new_idea
from ideas.board.ids import random_candidate, random_id
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
    fields = dict(
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
    pending = publish.is_pending(fields["published_at"], now)
    one_statement = sql.submit_statement()
    if one_statement is not None:
        row = {"id": None, **_idea_defaults(frozenset(fields)), **fields}
        created = []
        while not created:  # a random id already taken: another one
            row["id"] = random_candidate()
            created = await Idea.raw(
                one_statement,
                row["id"],
                row["title"],
                row["problem"],
                row["proposal"],
                row["touchpoint"],
                now,
                now,
                row["submitted_on"],
                row["published_at"],
                viewer.id,
                now,
                viewer.id,
                now,
                viewer.id,
                viewer.department_id,
                participation.quarter_label_of(now),
                now,
            ).run()
        # its row was written above
        vector_index.asked_for_embedding(row["id"], now, visible=not pending)
    else:
        async with write_transaction():
            idea = Idea(id=await random_id(Idea), **fields)
            await idea.save().run()
            await Submission.insert(
                Submission(idea=idea.id, user=viewer.id, role="submitter", created_at=now)
            ).run()
            # the submitter follows their own idea (new comments); one click stops it
            await Follow.insert(Follow(idea=idea.id, user=viewer.id)).run()
            await vector_index.mark_for_embedding(idea.id, now, visible=not pending)
            await participation.record_viewer(viewer, now)
        row = idea.to_dict()
    term_index.ask_for_terms(row["id"])  # written by the worker (ideas.term_index)
    return blind_new_idea(row, viewer)


@cache
def _idea_defaults(set_here: frozenset[str]) -> dict:
    """The columns of a new idea that `submit_idea` does not set (nor its id),
    with Piccolo's defaults, read once: building a Table instance and its
    dict per create was a sixth of the request's CPU in process."""
    return {k: v for k, v in Idea().to_dict().items() if k not in set_here and k != "id"}
