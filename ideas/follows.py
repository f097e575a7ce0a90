"""Following an idea: told of its new comments and of its status changes.

Anyone may follow an idea without voting; the submitter follows their own
from the moment they submit it, and one click stops it. Who follows an idea
is never shown to anyone (the submitter is among them): only the caller's
own `following`.
"""

from __future__ import annotations

from pydantic import BaseModel

from ideas import policy
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.db import write_transaction
from ideas.tables import Follow


class FollowOut(BaseModel):
    following: bool


async def start(user_id, idea_id: int) -> None:
    """Follow (idempotent); call inside a transaction or on its own."""
    await Follow.raw(
        'INSERT INTO idea_follow (idea, "user") VALUES ({}, {}) ON CONFLICT DO NOTHING',
        idea_id,
        str(user_id),
    ).run()


async def follow(ctx: Context, idea_id: int) -> FollowOut:
    viewer = ctx.actor
    policy.authorize(viewer, "idea.follow")
    # with the viewer: an idea not yet published is 'no such idea' to others
    await idea_row(idea_id, viewer)
    async with write_transaction():
        await start(viewer.id, idea_id)
    return FollowOut(following=True)


async def unfollow(ctx: Context, idea_id: int) -> FollowOut:
    viewer = ctx.actor
    policy.authorize(viewer, "idea.follow")
    await idea_row(idea_id, viewer)
    async with write_transaction():
        await Follow.delete().where(Follow.idea == idea_id, Follow.user == viewer.id).run()
    return FollowOut(following=False)


__all__ = ["FollowOut", "follow", "unfollow", "start"]
