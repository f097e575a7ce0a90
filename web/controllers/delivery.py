"""Delivery: actions, shipping and credit — the API, the pages (My actions,
the council's Delivery board, Shipped) and the idea page's fragments.

Size: over 400 lines: one Litestar controller per area, whose handlers share
its path prefix and guards; the rules live in ideas/delivery/.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter, URLEncodedBody
from litestar.plugins.htmx import ClientRefresh
from litestar.response import Redirect, Response, Template
from pydantic import ValidationError

from ideas.board.ids import parse_id, parse_idea_id
from ideas.delivery import actions, credit, proposals, shipping, views
from ideas.delivery.actions import ActionIn, ActionOut, ActionPatch
from ideas.delivery.credit import CreditIn
from ideas.delivery.proposals import ChangesIn
from ideas.delivery.shipping import ShipIn
from ideas.errors import Invalid
from ideas.schemas import IdeaOut, Page
from ideas.viewer import Viewer
from web.auth import council, staff
from web.controllers.pages import form_errors, idea_oob, page, safe_next
from web.deps import Ctx
from web.errors import is_htmx
from web.idempotency import IDEMPOTENT

_PREFIX = re.compile(r"^[a-z0-9-]{1,40}$")


def _form_values(data: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {n: (data.get(n) or "").strip() for n in names}


def _without_blanks(values: dict[str, str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v != ""}


FRIENDLY = {
    "due_on": "The due date must be a date, like 2026-12-31.",
    "owner_id": "Choose the owner: type a name, then pick a person.",
}


async def _panel(
    request: Request,
    ctx: Ctx,
    idea_id: int,
    status_code: int = 200,
    **context: Any,
) -> Response | Template:
    """The idea page's actions section for this viewer (empty when nothing)."""
    panel = await views.actions_panel(ctx, idea_id)
    if panel is None:
        return Response("", status_code=200, media_type="text/html")
    shown = context.pop("shown_status", None)
    if shown and shown != panel.idea.status and is_htmx(request):
        return ClientRefresh()  # the idea moved on: the whole page changes
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("ship_errors", {})
    if panel.proposal and not context.get("ship_values"):
        # the council's ship form starts from the owner's draft
        context["ship_values"] = {
            k: ""
            if panel.proposal.get(k) is None
            else f"{panel.proposal[k]:g}"
            if isinstance(panel.proposal.get(k), float)
            else str(panel.proposal[k])
            for k in ("note", "impact_metric", "impact_before", "impact_after")
        }
    context.setdefault("ship_values", {})
    return page(
        request,
        "_actions.html",
        status_code=status_code,
        panel=panel,
        labels=actions.ACTION_STATUS_LABELS,
        **context,
    )


def _back(data: dict[str, str], default: str) -> str:
    target = data.get("back")
    return safe_next(target) if target else default


class DeliveryApi(Controller):
    path = "/api/v1"
    guards = [staff]
    tags = ["delivery"]

    @post("/ideas/{idea_id:str}/actions", status_code=201, guards=[council], opt=IDEMPOTENT)
    async def add_action(
        self, ctx: Ctx, idea_id: FromPath[str], data: JSONBody[ActionIn]
    ) -> ActionOut:
        """Add an action (council) to an accepted or in-progress idea; its owner is told."""
        return await actions.add_action(ctx, parse_idea_id(idea_id), data)

    @get("/ideas/{idea_id:str}/actions")
    async def list_actions(self, ctx: Ctx, idea_id: FromPath[str]) -> Page[ActionOut]:
        """An idea's actions with status, due date and owner (name, department)."""
        items = await actions.list_actions(ctx, parse_idea_id(idea_id))
        return Page[ActionOut](items=items, next_cursor=None)

    @patch("/actions/{action_id:str}")
    async def update_action(
        self,
        ctx: Ctx,
        action_id: FromPath[str],
        data: JSONBody[ActionPatch],
    ) -> ActionOut:
        """Move an action (`status`: its owner or council; the first to leave
        `todo` moves the idea to `in_progress`) or edit it (council)."""
        return await actions.update_action(ctx, parse_id(action_id, "action"), data)

    @delete("/actions/{action_id:str}", status_code=204, guards=[council])
    async def remove_action(self, ctx: Ctx, action_id: FromPath[str]) -> None:
        """Remove an action (council) while its idea is accepted or in progress."""
        await actions.remove_action(ctx, parse_id(action_id, "action"))

    @post("/ideas/{idea_id:str}/ship", status_code=200, guards=[council])
    async def ship(self, ctx: Ctx, idea_id: FromPath[str], data: JSONBody[ShipIn]) -> IdeaOut:
        """Ship (council): `409` unless there is an action and every action is done."""
        return await shipping.ship(ctx, parse_idea_id(idea_id), data)

    @post("/ideas/{idea_id:str}/ship-proposal", status_code=200)
    async def propose_ship(
        self, ctx: Ctx, idea_id: FromPath[str], data: JSONBody[ShipIn]
    ) -> IdeaOut:
        """An owner of one of the idea's actions proposes shipping it (every
        action done): a draft note and impact for the council."""
        return await proposals.propose(ctx, parse_idea_id(idea_id), data)

    @put("/ideas/{idea_id:str}/credit")
    async def set_credit(
        self, ctx: Ctx, idea_id: FromPath[str], data: JSONBody[CreditIn]
    ) -> IdeaOut:
        """The submitter's (or a co-submitter's) own credit choice; shown once shipped."""
        return await credit.set_credit(ctx, parse_idea_id(idea_id), data.credit)

    @get("/me/actions")
    async def my_actions(self, ctx: Ctx) -> Page[ActionOut]:
        """The caller's actions: overdue first, then by due date, done last."""
        items = [m.action for m in await views.my_actions(ctx)]
        return Page[ActionOut](items=items, next_cursor=None)


class DeliveryPages(Controller):
    path = "/"
    guards = [staff]
    include_in_schema = False

    # -- pages ----------------------------------------------------------------------

    @get("/me/actions")
    async def my_actions(self, request: Request, ctx: Ctx) -> Template:
        items = await views.my_actions(ctx)
        return page(request, "my_actions.html", items=items, labels=actions.ACTION_STATUS_LABELS)

    @get("/delivery", guards=[council])
    async def delivery_board(self, request: Request, ctx: Ctx) -> Template:
        board = await views.delivery_board(ctx)
        return page(request, "delivery_board.html", board=board)

    @get("/shipped")
    async def shipped(
        self,
        request: Request,
        ctx: Ctx,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Template:
        feed = await shipping.shipped_feed(ctx, cursor=cursor)
        return page(request, "shipped.html", items=feed.items, next_cursor=feed.next_cursor)

    @get("/fragments/people", guards=[council])
    async def owner_options(
        self,
        request: Request,
        ctx: Ctx,
        q: Annotated[str, QueryParameter(max_length=120)] = "",
        prefix: Annotated[str, QueryParameter(max_length=40)] = "owner",
    ) -> Template:
        """The owner picker's choices: people by name (a directory, no idea)."""
        prefix = prefix if _PREFIX.match(prefix) else "owner"
        people = await views.search_people(ctx, q) if len(q.strip()) >= 2 else []
        return page(request, "_actions_people.html", people=people, prefix=prefix, q=q.strip())

    # -- the idea page's actions section -----------------------------------------------

    @get("/fragments/ideas/{idea_id:str}/actions")
    async def actions_fragment(
        self, request: Request, ctx: Ctx, idea_id: FromPath[str]
    ) -> Response | Template:
        return await _panel(request, ctx, parse_idea_id(idea_id))

    @post("/ideas/{idea_id:str}/actions", guards=[council], status_code=200)
    async def add_action_form(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        number = parse_idea_id(idea_id)
        values = _form_values(data, ("title", "owner_id", "due_on"))
        try:
            action_in = ActionIn(**values)
            await actions.add_action(ctx, number, action_in, allow_past=data.get("past_ok") == "1")
        except ValidationError as exc:
            errors = form_errors(exc, FRIENDLY)
        except Invalid as exc:
            errors = form_errors(exc)
        else:
            if is_htmx(request):
                return await _panel(request, ctx, number, shown_status=data.get("shown_status"))
            return Redirect(path=_back(data, f"/ideas/{number}"), status_code=303)
        if not is_htmx(request):
            first = next(iter(errors.items()))
            raise Invalid(first[0], first[1])
        return await _panel(request, ctx, number, errors=errors, values=values, open_add=True)

    @post("/actions/{action_id:str}/status", status_code=200)
    async def move_action_form(
        self,
        request: Request,
        ctx: Ctx,
        action_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        """One-click status change, from My actions (`view=row`) or the idea page."""
        number = parse_id(action_id, "action")
        action = await actions.update_action_status(ctx, number, data.get("status", ""))
        if not is_htmx(request):
            return Redirect(path=_back(data, f"/ideas/{action.idea_id}"), status_code=303)
        if data.get("view") == "row":
            item = await views.my_action(ctx, number)
            return page(
                request, "_actions_row.html", item=item, labels=actions.ACTION_STATUS_LABELS
            )
        return await _panel(
            request, ctx, int(action.idea_id), shown_status=data.get("shown_status")
        )

    @post("/actions/{action_id:str}/edit", guards=[council], status_code=200)
    async def edit_action_form(
        self,
        request: Request,
        ctx: Ctx,
        action_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        number = parse_id(action_id, "action")
        values = _form_values(data, ("title", "owner_id", "due_on"))
        try:
            patch_in = ActionPatch(**_without_blanks(values))
            action = await actions.edit_action(
                ctx,
                number,
                title=patch_in.title,
                owner_id=patch_in.owner_id,
                due_on=patch_in.due_on,
                allow_past=data.get("past_ok") == "1",
            )
        except ValidationError as exc:
            errors = form_errors(exc, FRIENDLY)
        except Invalid as exc:
            errors = form_errors(exc)
        else:
            if is_htmx(request):
                return await _panel(request, ctx, int(action.idea_id))
            return Redirect(path=_back(data, f"/ideas/{action.idea_id}"), status_code=303)
        if not is_htmx(request):
            first = next(iter(errors.items()))
            raise Invalid(first[0], first[1])
        current = await actions.get_action(ctx, number)
        return await _panel(
            request,
            ctx,
            int(current.idea_id),
            edit_errors={current.id: errors},
            edit_values={current.id: values},
        )

    @post("/actions/{action_id:str}/remove", guards=[council], status_code=200)
    async def remove_action_form(
        self,
        request: Request,
        ctx: Ctx,
        action_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        idea_id = await actions.remove_action(ctx, parse_id(action_id, "action"))
        if is_htmx(request):
            return await _panel(request, ctx, int(idea_id))
        return Redirect(path=_back(data, f"/ideas/{idea_id}"), status_code=303)

    @post("/ideas/{idea_id:str}/ship", guards=[council], status_code=200)
    async def ship_form(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        number = parse_idea_id(idea_id)
        values = _form_values(data, ("note", "impact_metric", "impact_before", "impact_after"))
        try:
            ship_in = ShipIn(**_without_blanks(values))
            await shipping.ship(ctx, number, ship_in)
        except ValidationError as exc:
            errors = form_errors(exc, FRIENDLY)
            if "note" in errors and "characters" in errors["note"]:
                errors["note"] = "Say what changed for customers in 20 characters or more."
        except Invalid as exc:
            errors = form_errors(exc)
        else:
            if is_htmx(request):
                return ClientRefresh()
            return Redirect(path=f"/ideas/{number}", status_code=303)
        if not is_htmx(request):
            first = next(iter(errors.items()))
            raise Invalid(first[0], first[1])
        return await _panel(request, ctx, number, ship_errors=errors, ship_values=values)

    # -- an owner proposes shipping; the council ships or asks for changes ---------

    @post("/ideas/{idea_id:str}/propose-ship", status_code=200)
    async def propose_ship_form(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        """An action owner drafts the ship note and impact once all is done."""
        number = parse_idea_id(idea_id)
        values = _form_values(data, ("note", "impact_metric", "impact_before", "impact_after"))
        try:
            await proposals.propose(ctx, number, ShipIn(**_without_blanks(values)))
        except ValidationError as exc:
            errors = form_errors(exc, FRIENDLY)
            if "note" in errors and "characters" in errors["note"]:
                errors["note"] = "Say what changed for customers in 20 characters or more."
        except Invalid as exc:
            errors = form_errors(exc)
        else:
            if is_htmx(request):
                return await _panel(request, ctx, number, proposed=True)
            return Redirect(path=f"/ideas/{number}", status_code=303)
        if not is_htmx(request):
            first = next(iter(errors.items()))
            raise Invalid(first[0], first[1])
        return await _panel(request, ctx, number, ship_errors=errors, ship_values=values)

    @post("/ideas/{idea_id:str}/ship-changes", guards=[council], status_code=200)
    async def ship_changes_form(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response:
        """The council sends a proposal back with what to change."""
        number = parse_idea_id(idea_id)
        try:
            await proposals.ask_changes(ctx, number, ChangesIn(note=data.get("note") or ""))
        except ValidationError:
            raise Invalid("note", "say what should change, in 10 characters or more") from None
        return Redirect(path=_back(data, "/delivery"), status_code=303)

    # -- credit ----------------------------------------------------------------------

    @get("/fragments/ideas/{idea_id:str}/credit")
    async def credit_fragment(
        self, request: Request, ctx: Ctx, idea_id: FromPath[str]
    ) -> Response | Template:
        state = await credit.credit_state(ctx, parse_idea_id(idea_id))
        if state is None:
            return Response("", status_code=200, media_type="text/html")
        return page(request, "_credit.html", state=state)

    @post("/ideas/{idea_id:str}/credit", status_code=200)
    async def credit_form(
        self,
        request: Request,
        ctx: Ctx,
        viewer: NamedDependency[Viewer],
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        number = parse_idea_id(idea_id)
        choice = data.get("credit", "")
        if choice not in ("yes", "no"):
            raise Invalid("credit", "choose 'yes' or 'no'")
        await credit.set_credit(ctx, number, choice == "yes")
        if is_htmx(request):
            state = await credit.credit_state(ctx, number)
            if state is None:
                return Response("", status_code=200, media_type="text/html")
            # the "Credited to…" banner changes with the choice (once shipped)
            return page(
                request,
                "_credit.html",
                state=state,
                saved=True,
                **await idea_oob(ctx, number, False),
            )
        return Redirect(path=_back(data, f"/ideas/{number}"), status_code=303)


ROUTES = [DeliveryApi, DeliveryPages]
