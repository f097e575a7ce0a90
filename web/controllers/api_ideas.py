"""API: ideas, votes, the timeline, the caller's own ideas."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from ideas import editing, follows
from ideas.board import listing, similar, submit, view, vote
from ideas.board.ids import parse_idea_id
from ideas.editing import IdeaEdit
from ideas.follows import FollowOut
from ideas.schemas import (
    LIMIT_MAX,
    EventOut,
    IdeaIn,
    IdeaOut,
    Page,
    SortName,
    Status,
    Touchpoint,
    VoteOut,
)
from web.auth import staff
from web.deps import Ctx, limiter_of
from web.idempotency import IDEMPOTENT

Limit = Annotated[int, QueryParameter(ge=1, le=LIMIT_MAX, description="page size (default 25)")]


class IdeasApi(Controller):
    path = "/api/v1"
    guards = [staff]
    tags = ["ideas"]

    @post("/ideas", status_code=201, opt=IDEMPOTENT)
    async def create_idea(self, request: Request, ctx: Ctx, data: JSONBody[IdeaIn]) -> IdeaOut:
        """Submit an idea; it starts as `new`."""
        await limiter_of(request).hit("idea", str(ctx.actor.id))
        return await submit.submit_idea(ctx, data)

    @get("/ideas")
    async def list_ideas(
        self,
        ctx: Ctx,
        status: FromQuery[Status | None] = None,
        touchpoint: FromQuery[Touchpoint | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        sort: FromQuery[SortName] = "top",
        limit: Limit = 25,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        mine: Annotated[
            Literal["ideas", "votes"] | None,
            QueryParameter(description="the caller's own ideas, or the ones they voted for"),
        ] = None,
    ) -> Page[IdeaOut]:
        """The board: filter, search, sort (default top; `discussed`: most
        comments first), cursor pagination."""
        return await listing.list_ideas(
            ctx,
            status=status,
            touchpoint=touchpoint,
            q=q,
            sort=sort,
            limit=limit,
            cursor=cursor,
            mine=mine,
        )

    @get("/ideas/similar")
    async def similar(
        self,
        ctx: Ctx,
        title: Annotated[str, QueryParameter(max_length=300)] = "",
        text: Annotated[str, QueryParameter(max_length=5000)] = "",
    ) -> Page[IdeaOut]:
        """Likely duplicates of a draft (at most 5, best first)."""
        items = await similar.similar_ideas(ctx, title, text)
        return Page[IdeaOut](items=items, next_cursor=None)

    @get("/ideas/{idea_id:str}")
    async def get_idea(self, ctx: Ctx, idea_id: FromPath[str]) -> IdeaOut:
        return await view.get_idea(ctx, parse_idea_id(idea_id))

    @patch("/ideas/{idea_id:str}")
    async def edit_idea(
        self, ctx: Ctx, idea_id: FromPath[str], data: JSONBody[IdeaEdit]
    ) -> IdeaOut:
        """The submitter changes their idea while it is `new` (409 after)."""
        return await editing.edit_idea(ctx, parse_idea_id(idea_id), data)

    @put("/ideas/{idea_id:str}/vote")
    async def vote(self, request: Request, ctx: Ctx, idea_id: FromPath[str]) -> VoteOut:
        """Vote (idempotent)."""
        await limiter_of(request).hit("vote", str(ctx.actor.id))
        return await vote.vote(ctx, parse_idea_id(idea_id))

    @delete("/ideas/{idea_id:str}/vote", status_code=200)
    async def unvote(self, request: Request, ctx: Ctx, idea_id: FromPath[str]) -> VoteOut:
        """Retract a vote (idempotent)."""
        await limiter_of(request).hit("vote", str(ctx.actor.id))
        return await vote.unvote(ctx, parse_idea_id(idea_id))

    @put("/ideas/{idea_id:str}/follow")
    async def follow(self, ctx: Ctx, idea_id: FromPath[str]) -> FollowOut:
        """Follow an idea: told of its new comments and status changes."""
        return await follows.follow(ctx, parse_idea_id(idea_id))

    @delete("/ideas/{idea_id:str}/follow", status_code=200)
    async def unfollow(self, ctx: Ctx, idea_id: FromPath[str]) -> FollowOut:
        """Stop following an idea."""
        return await follows.unfollow(ctx, parse_idea_id(idea_id))

    @get("/ideas/{idea_id:str}/events")
    async def events(self, ctx: Ctx, idea_id: FromPath[str]) -> Page[EventOut]:
        """The public timeline: role labels only."""
        items = await view.idea_events(ctx, parse_idea_id(idea_id))
        return Page[EventOut](items=items, next_cursor=None)

    @get("/me/ideas")
    async def my_ideas(
        self,
        ctx: Ctx,
        limit: Limit = 25,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Page[IdeaOut]:
        """The caller's own ideas (and co-submitted ones), any status."""
        return await listing.list_ideas(ctx, sort="new", limit=limit, cursor=cursor, mine_only=True)


ROUTES = [IdeasApi]
