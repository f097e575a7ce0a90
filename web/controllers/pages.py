"""Staff pages: log-in, the board, submit, an idea, my ideas; and the HTMX
fragments they swap in.

Size: over 400 lines: one Litestar controller per area, whose handlers share
its guards and page helpers; the rules live in ideas/board/.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlparse

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Response, Template
from pydantic import ValidationError

from ideas import follows, inbox, roadmap
from ideas.board import listing, similar, submit, view, vote
from ideas.board.ids import parse_idea_id
from ideas.board.page import idea_page
from ideas.errors import DomainError, Invalid, RateLimited
from ideas.integrations import oidc
from ideas.leadership.periods import parse_period
from ideas.lifecycle import ACCEPTED, IN_PROGRESS, SHIPPED
from ideas.people import accounts
from ideas.schemas import IdeaIn
from ideas.viewer import Viewer
from web.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    end_session,
    public,
    session_data,
    staff,
    start_session,
)
from web.deps import Ctx, client_address, limiter_of
from web.errors import is_htmx

#: a likely twin in one of these is already under way: say so on the form
BEING_WORKED_ON = {
    ACCEPTED: "Already being worked on: vote for it to hear when it ships.",
    IN_PROGRESS: "Already being worked on: vote for it to hear when it ships.",
    SHIPPED: "Already shipped.",
}


def safe_next(target: str | None) -> str:
    """Only a local path: never another host (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        # Browsers read a backslash as a slash and drop tabs and newlines
        # from URLs, so both could turn "/…" into "//host": another site.
        return "/"
    return target


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=name,
        context={"request": request, "viewer": request.scope.get("user"), **context},
        status_code=status_code,
    )


#: how a form's fields are named in its error messages
FIELD_LABELS = {
    "title": "The title",
    "problem": "The problem",
    "proposal": "The proposal",
    "touchpoint": "The touchpoint",
    "body": "Your comment",
    "note": "The note",
    "answer": "Your answer",
    "question": "The question",
    "impact_metric": "The measure",
    "impact_before": "The value before",
    "impact_after": "The value after",
    "due_on": "The due date",
    "owner_id": "The owner",
    "email": "The email address",
    "name": "The name",
    "department_id": "The department",
    "held_on": "The session date",
    "attendee_ids": "The attendees",
    "outcome": "The decision",
    "owning_department_id": "The owning department",
    "duplicate_of": "The idea to merge into",
}


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field) or ("The " + field.replace("_", " "))


def human_message(field: str, err: dict) -> str:
    """One validation error as a sentence a person would write, naming the
    field (never Pydantic's own wording)."""
    label = field_label(field)
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        if least <= 1:
            return f"{label} cannot be empty."
        return f"{label} needs at least {least} characters."
    if kind == "string_too_long":
        return f"{label} can have at most {ctx.get('max_length')} characters."
    if kind in ("literal_error", "enum"):
        return f"Choose one of the options for {label[0].lower() + label[1:]}."
    if kind == "missing":
        return f"{label} is required."
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "decimal_parsing"):
        return f"{label} must be a number, like 140 or 12.5."
    if kind in ("finite_number",):
        return f"{label} must be an ordinary number."
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"{label} must be a date, like 2026-12-31."
    if kind in ("uuid_parsing", "uuid_type"):
        return f"{label}: choose a person from the list."
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "")
        words = {"greater_than": "more than", "greater_than_equal": "at least",
                 "less_than": "less than", "less_than_equal": "at most"}  # fmt: skip
        return f"{label} must be {words[kind]} {bound}."
    if kind == "extra_forbidden":
        return f"{label} is not part of this form."
    if kind == "value_error":
        reason = str(ctx.get("error") or err.get("msg", "")).removeprefix("Value error, ")
        return f"{label}: {reason.rstrip('.')}."
    return f"{label} is not valid."


def pydantic_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "form"
        errors.setdefault(field, human_message(field, err))
    return errors


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def form_errors(
    exc: Exception, friendly: dict[str, str] | None = None, *, detail_sentence: bool = False
) -> dict[str, str]:
    """Inline field errors for a refused HTML form: Pydantic errors per field
    (with `friendly` messages replacing those of the named fields), Invalid
    on its field, any other DomainError on "form" (as a sentence when
    `detail_sentence`); anything else is re-raised."""
    if isinstance(exc, ValidationError):
        errors = pydantic_errors(exc)
        for name, message in (friendly or {}).items():
            if name in errors:
                errors[name] = message
        return errors
    if isinstance(exc, Invalid):
        return {exc.field: _sentence(exc.reason)}
    if isinstance(exc, DomainError):
        return {"form": _sentence(exc.detail) if detail_sentence else exc.detail}
    raise exc


#: the board's status choice → list scope ("" is the default: open for votes)
BOARD_SCOPES = {
    "": "open",
    "closed": "closed",
    "any": "all",
    # the leaders' drill-down (links from /leaders)
    "triaged": "triaged",
    "accepted_on": "accepted_on",
}


async def idea_oob(ctx: Ctx, number: int, timeline: bool = True) -> dict[str, Any]:
    """What `_idea_oob.html` needs to refresh an idea's status, timeline and
    credit banner out of band, after an HTMX answer that changed them."""
    return {
        "oob_idea": await view.get_idea(ctx, number),
        "oob_events": await view.idea_events(ctx, number) if timeline else None,
    }


def login_page(request: Request, status_code: int = 200, **context: Any) -> Template:
    settings = request.app.state.settings
    return page(
        request,
        "login.html",
        status_code=status_code,
        sso=settings.oidc,
        sso_only=settings.sso_only,
        **context,
    )


class LoginController(Controller):
    path = "/"
    include_in_schema = False

    @get("/login", guards=[public])
    async def login_form(self, request: Request, next: FromQuery[str | None] = None) -> Template:
        return login_page(request, next=safe_next(next), error=None, email="")

    @post("/login", guards=[public])
    async def login(
        self, request: Request, data: URLEncodedBody[dict[str, str]]
    ) -> Response | Template:
        email = (data.get("email") or "").strip()
        password = data.get("password") or ""
        target = safe_next(data.get("next"))
        limiter = limiter_of(request)
        try:
            await limiter.hit("login", client_address(request))
            # only failed password checks count against an account
            await limiter.refuse_past("login_account", email.lower())
        except RateLimited as exc:
            return login_page(
                request,
                status_code=429,
                next=target,
                email=email,
                error=f"Too many attempts. Try again in {exc.retry_after} seconds.",
            )
        viewer = await accounts.authenticate(email, password)
        if viewer is None:
            await limiter.count("login_account", email.lower())
            return login_page(
                request,
                status_code=400,
                next=target,
                email=email,
                error="Wrong email or password, or the account is inactive.",
            )
        await limiter.reset("login_account", email.lower())
        session_id = await start_session(viewer, request.cookies.get(SESSION_COOKIE))
        response = Redirect(path=target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/",
        )
        return response

    @post("/logout", guards=[staff])
    async def logout(self, request: Request) -> Response:
        """End the session; after a single sign-on, also at the provider when
        it offers RP-initiated logout."""
        session_id = request.cookies.get(SESSION_COOKIE)
        settings = request.app.state.settings
        target = "/login"
        if settings.oidc is not None:
            id_token = (await session_data(session_id)).get("oidc_id_token")
            if id_token:
                target = (
                    await oidc.logout_url(settings.oidc, id_token, f"{settings.base_url}/login")
                    or target
                )
        await end_session(session_id)
        response = Redirect(path=target, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


class StaffPages(Controller):
    path = "/"
    guards = [staff]
    include_in_schema = False

    @get("/")
    async def board(
        self,
        request: Request,
        ctx: Ctx,
        sort: FromQuery[str] = "top",
        status: FromQuery[str | None] = None,
        touchpoint: FromQuery[str | None] = None,
        mine: FromQuery[str | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        owner: Annotated[str | None, QueryParameter(max_length=80)] = None,
        submitted: Annotated[str | None, QueryParameter(max_length=10)] = None,
        shipped: Annotated[str | None, QueryParameter(max_length=10)] = None,
    ) -> Template:
        # the board opens on what can still be voted on; closed ideas are one
        # choice away ("closed", "any" or one status)
        scope = BOARD_SCOPES.get(status or "", "all")
        drill = {k: v for k, v in (("owner", owner), ("submitted", submitted),
                                   ("shipped", shipped)) if v}  # fmt: skip
        try:
            windows = {}
            for name in ("submitted", "shipped"):
                if drill.get(name):
                    period = parse_period(drill[name])
                    if period.start is not None:
                        windows[name] = period
            result = await listing.list_ideas(
                ctx,
                status=None if (status or "") in BOARD_SCOPES else status,
                scope=scope,
                touchpoint=touchpoint or None,
                mine=mine or None,
                q=q,
                sort=sort,
                cursor=cursor,
                owner=owner or None,
                submitted_between=(
                    (windows["submitted"].start.date(), windows["submitted"].end.date())
                    if "submitted" in windows
                    else None
                ),
                shipped_between=(
                    (windows["shipped"].start, windows["shipped"].end)
                    if "shipped" in windows
                    else None
                ),
            )
            error = None
        except DomainError as exc:
            result, error = None, exc.detail
        context = {
            "page_ideas": result.items if result else [],
            "next_cursor": result.next_cursor if result else None,
            "sort": sort,
            "status": status or "",
            "touchpoint": touchpoint or "",
            "mine": mine or "",
            "drill": drill,
            "drill_query": "".join(f"&{k}={quote(v)}" for k, v in drill.items()),
            "q": q or "",
            "error": error,
        }
        if is_htmx(request) and request.headers.get("hx-target") == "idea-list":
            return page(request, "_idea_list.html", **context)
        return page(request, "board.html", **context)

    @get("/ideas/new")
    async def new_idea_form(self, request: Request) -> Template:
        return page(request, "idea_new.html", values={}, errors={})

    @post("/ideas/new")
    async def submit_idea(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        values = {k: data.get(k, "") for k in ("title", "problem", "proposal", "touchpoint")}
        try:
            idea_in = IdeaIn(**values)
        except ValidationError as exc:
            return page(
                request,
                "idea_new.html",
                status_code=422,
                values=values,
                errors=pydantic_errors(exc),
            )
        try:
            await limiter_of(request).hit("idea", str(ctx.actor.id))
        except RateLimited as exc:
            errors = {"form": f"Too many ideas at once. Try again in {exc.retry_after} seconds."}
            return page(request, "idea_new.html", status_code=429, values=values, errors=errors)
        idea = await submit.submit_idea(ctx, idea_in)
        return Redirect(path=f"/ideas/{idea.id}", status_code=303)

    @get("/fragments/similar")
    async def similar_fragment(
        self,
        request: Request,
        ctx: Ctx,
        title: Annotated[str, QueryParameter(max_length=300)] = "",
        problem: Annotated[str, QueryParameter(max_length=5000)] = "",
    ) -> Template:
        # the draft's title, and its problem once the form has one
        enough = len(title.strip()) >= 4 or len(problem.strip()) >= 20
        items = await similar.similar_ideas(ctx, title, problem) if enough else []
        return page(
            request,
            "_similar.html",
            similar=items,
            being_worked_on=BEING_WORKED_ON,
        )

    @get("/ideas/{idea_id:str}")
    async def idea_page(
        self,
        request: Request,
        viewer: NamedDependency[Viewer],
        ctx: Ctx,
        idea_id: FromPath[str],
        notice: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template:
        shown = await idea_page(ctx, parse_idea_id(idea_id))
        if notice:
            # opened from a notice: that notice is read (the viewer's own only)
            await inbox.mark_read_quietly(ctx, notice)
        return page(
            request,
            "idea.html",
            idea=shown.idea,
            events=shown.events,
            ship_note=shown.ship_note,
            impact=shown.impact,
            merged=shown.merged,
        )

    @post("/ideas/{idea_id:str}/vote")
    async def toggle_vote(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        """The vote button: `action=vote|unvote`; answers the button itself
        to HTMX, or goes back to the page without JavaScript."""
        number = parse_idea_id(idea_id)
        await limiter_of(request).hit("vote", str(ctx.actor.id))
        if data.get("action") == "unvote":
            result = await vote.unvote(ctx, number)
        else:
            result = await vote.vote(ctx, number)
        if is_htmx(request):
            return HTMXTemplate(
                template_name="_vote_button.html",
                context={
                    "request": request,
                    "idea_id": str(number),
                    "votes": result.votes,
                    "voted": result.voted,
                    "can_vote": True,
                },
            )
        return Redirect(path=safe_next(data.get("back") or f"/ideas/{number}"), status_code=303)

    @post("/ideas/{idea_id:str}/follow")
    async def toggle_follow(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        """Follow or stop following (`action=follow|unfollow`): one click,
        from the idea's page or a notice."""
        number = parse_idea_id(idea_id)
        if data.get("action") == "unfollow":
            result = await follows.unfollow(ctx, number)
        else:
            result = await follows.follow(ctx, number)
        if is_htmx(request):
            return page(
                request,
                "_follow_button.html",
                idea_id=str(number),
                following=result.following,
                back=safe_next(data.get("back")),
                title=None,
                done=True,
            )
        return Redirect(path=safe_next(data.get("back") or f"/ideas/{number}"), status_code=303)

    @get("/roadmap")
    async def roadmap_page(
        self,
        request: Request,
        ctx: Ctx,
        touchpoint: Annotated[str | None, QueryParameter(max_length=20)] = None,
        department: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template:
        """Accepted, in progress and recently shipped ideas, for all staff."""
        status_code, error, result = 200, None, None
        try:
            result = await roadmap.roadmap(
                ctx, touchpoint=touchpoint or None, department=department or None
            )
        except Invalid as exc:
            status_code, error = 422, f"{exc.field.capitalize()}: {exc.reason}."
            result = await roadmap.roadmap(ctx)
        return page(
            request,
            "roadmap.html",
            status_code=status_code,
            roadmap=result,
            error=error,
            recent_days=roadmap.RECENT_SHIPPED_DAYS,
        )

    @get("/me/ideas")
    async def my_ideas(self, request: Request, ctx: Ctx) -> Template:
        result = await listing.list_ideas(ctx, sort="new", limit=100, mine_only=True)
        timelines = await view.events_for([int(i.id) for i in result.items])
        return page(
            request,
            "my_ideas.html",
            my_ideas=result.items,
            timelines={str(k): v for k, v in timelines.items()},
        )


ROUTES = [LoginController, StaffPages]
