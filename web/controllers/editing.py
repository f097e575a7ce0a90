"""Edit and withdraw an idea (its submitter), edit and delete a comment (its
author): the JSON routes of docs/api.md (v1.1) and the forms behind the pages."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect, Response, Template
from pydantic import ValidationError

from ideas import comments, editing
from ideas.board import view
from ideas.board.ids import parse_idea_id
from ideas.comments import CommentOut
from ideas.context import Context
from ideas.editing import CommentEdit, IdeaEdit
from ideas.errors import DomainError, Forbidden
from ideas.schemas import IdeaOut
from web.auth import staff
from web.controllers.pages import form_errors, page, pydantic_errors
from web.controllers.triage import _comment_views
from web.deps import Ctx
from web.errors import is_htmx

FIELDS = ("title", "problem", "proposal", "touchpoint")


class EditingApi(Controller):
    path = "/api/v1"
    guards = [staff]
    tags = ["ideas"]

    @post("/ideas/{idea_id:str}/withdraw", status_code=200)
    async def withdraw(self, ctx: Ctx, idea_id: FromPath[str]) -> IdeaOut:
        """The submitter withdraws their idea before any decision (409 after)."""
        return await editing.withdraw(ctx, parse_idea_id(idea_id))

    @patch("/comments/{comment_id:str}")
    async def edit_comment(
        self,
        ctx: Ctx,
        comment_id: FromPath[str],
        data: JSONBody[CommentEdit],
    ) -> CommentOut:
        """The author changes their comment, within 15 minutes of writing it."""
        return (await editing.edit_comment(ctx, comment_id, data)).comment

    @delete("/comments/{comment_id:str}", status_code=200)
    async def delete_comment(self, ctx: Ctx, comment_id: FromPath[str]) -> CommentOut:
        """The author deletes their comment: it shows as deleted."""
        return (await editing.delete_comment(ctx, comment_id)).comment


class EditingPages(Controller):
    path = "/"
    guards = [staff]
    include_in_schema = False

    @get("/ideas/{idea_id:str}/edit")
    async def edit_form(self, request: Request, ctx: Ctx, idea_id: FromPath[str]) -> Template:
        number = parse_idea_id(idea_id)
        idea = await view.get_idea(ctx, number)
        errors = {}
        if not idea.is_mine:
            raise Forbidden("only the idea's submitter may edit it")
        if not idea.can.edit:
            errors = {"form": "The CX council has taken this idea up: it can no longer be edited."}
        values = {k: getattr(idea, k) for k in FIELDS}
        return page(request, "idea_new.html", values=values, errors=errors, editing=str(number))

    @post("/ideas/{idea_id:str}/edit")
    async def edit_save(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        number = parse_idea_id(idea_id)
        values = {k: data.get(k, "") for k in FIELDS}
        try:
            changes = IdeaEdit(**values)
            await editing.edit_idea(ctx, number, changes)
        except ValidationError as exc:
            errors = pydantic_errors(exc)
            return page(
                request, "idea_new.html", status_code=422, values=values, errors=errors,
                editing=str(number),
            )  # fmt: skip
        except DomainError as exc:
            errors = form_errors(exc, detail_sentence=True)
            return page(
                request, "idea_new.html", status_code=exc.status, values=values, errors=errors,
                editing=str(number),
            )  # fmt: skip
        return Redirect(path=f"/ideas/{number}", status_code=303)

    @post("/ideas/{idea_id:str}/withdraw")
    async def withdraw(self, request: Request, ctx: Ctx, idea_id: FromPath[str]) -> Response:
        number = parse_idea_id(idea_id)
        await editing.withdraw(ctx, number)
        return Redirect(path=f"/ideas/{number}", status_code=303)

    async def _thread(self, request: Request, ctx: Context, idea_id: str, **extra) -> Template:
        number = int(idea_id)
        thread = await comments.comment_thread(ctx, number)
        return page(
            request,
            "_comments.html",
            idea_id=idea_id,
            comments=_comment_views(thread.comments),
            viewer_is_submitter=thread.viewer_is_submitter,
            can_comment_as_council=thread.can_comment_as_council,
            errors=extra.pop("errors", {}),
            body="",
            as_council=False,
            **extra,
        )

    @post("/comments/{comment_id:str}/edit")
    async def comment_edit(
        self,
        request: Request,
        ctx: Ctx,
        comment_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        try:
            changed = await editing.edit_comment(
                ctx, comment_id, CommentEdit(body=data.get("body") or "")
            )
        except ValidationError:
            return Response(
                content="Comment: write something, or delete the comment instead.",
                media_type="text/plain",
                status_code=422,
            )
        if is_htmx(request):
            return await self._thread(request, ctx, changed.idea_id)
        return Redirect(path=f"/ideas/{changed.idea_id}#comment-{comment_id}", status_code=303)

    @post("/comments/{comment_id:str}/delete")
    async def comment_delete(
        self, request: Request, ctx: Ctx, comment_id: FromPath[str]
    ) -> Response | Template:
        changed = await editing.delete_comment(ctx, comment_id)
        if is_htmx(request):
            return await self._thread(request, ctx, changed.idea_id)
        return Redirect(path=f"/ideas/{changed.idea_id}#idea-comments", status_code=303)


ROUTES = [EditingApi, EditingPages]
