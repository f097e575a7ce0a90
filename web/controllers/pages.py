"""Staff pages: log-in, the board, submit, an idea, my ideas; and the HTMX
fragments they swap in."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Response, Template
from pydantic import ValidationError

from ideas import people, services
from ideas.errors import DomainError, Invalid, RateLimited
from ideas.integrations import oidc
from ideas.lifecycle import OPEN_FOR_VOTES
from ideas.schemas import IdeaIn
from ideas.viewer import Viewer
from web.app import client_address, limiter_of
from web.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    end_session,
    public,
    session_data,
    staff,
    start_session,
)
from web.errors import is_htmx


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


def pydantic_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "form"
        message = err["msg"]
        if err["type"] == "string_too_short":
            message = f"Must be at least {err['ctx']['min_length']} characters."
        elif err["type"] == "string_too_long":
            message = f"Must be at most {err['ctx']['max_length']} characters."
        elif err["type"] == "literal_error":
            message = "Choose one of the options."
        elif err["type"] == "missing":
            message = "Required."
        errors.setdefault(field, message)
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
            await limiter.hit("login_account", email.lower())
        except RateLimited as exc:
            return login_page(
                request,
                status_code=429,
                next=target,
                email=email,
                error=f"Too many attempts. Try again in {exc.retry_after} seconds.",
            )
        viewer = await people.authenticate(email, password)
        if viewer is None:
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
        viewer: NamedDependency[Viewer],
        sort: FromQuery[str] = "top",
        status: FromQuery[str | None] = None,
        touchpoint: FromQuery[str | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Template:
        try:
            result = await services.list_ideas(
                viewer,
                status=status or None,
                touchpoint=touchpoint or None,
                q=q,
                sort=sort,
                cursor=cursor,
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
            "q": q or "",
            "error": error,
            "open_for_votes": OPEN_FOR_VOTES,
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
        viewer: NamedDependency[Viewer],
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
            await limiter_of(request).hit("idea", str(viewer.id))
        except RateLimited as exc:
            errors = {"form": f"Too many ideas at once. Try again in {exc.retry_after} seconds."}
            return page(request, "idea_new.html", status_code=429, values=values, errors=errors)
        idea = await services.submit_idea(viewer, idea_in)
        return Redirect(path=f"/ideas/{idea.id}", status_code=303)

    @get("/fragments/similar")
    async def similar_fragment(
        self,
        request: Request,
        viewer: NamedDependency[Viewer],
        title: Annotated[str, QueryParameter(max_length=300)] = "",
    ) -> Template:
        items = await services.similar_ideas(viewer, title) if len(title.strip()) >= 4 else []
        return page(request, "_similar.html", similar=items, open_for_votes=OPEN_FOR_VOTES)

    @get("/ideas/{idea_id:str}")
    async def idea_page(
        self, request: Request, viewer: NamedDependency[Viewer], idea_id: FromPath[str]
    ) -> Template:
        number = services.parse_idea_id(idea_id)
        idea = await services.get_idea(viewer, number)
        events = await services.idea_events(number)
        return page(request, "idea.html", idea=idea, events=events, open_for_votes=OPEN_FOR_VOTES)

    @post("/ideas/{idea_id:str}/vote")
    async def toggle_vote(
        self,
        request: Request,
        viewer: NamedDependency[Viewer],
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        """The vote button: `action=vote|unvote`; answers the button itself
        to HTMX, or goes back to the page without JavaScript."""
        number = services.parse_idea_id(idea_id)
        await limiter_of(request).hit("vote", str(viewer.id))
        if data.get("action") == "unvote":
            result = await services.unvote(viewer, number)
        else:
            result = await services.vote(viewer, number)
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

    @get("/me/ideas")
    async def my_ideas(self, request: Request, viewer: NamedDependency[Viewer]) -> Template:
        result = await services.list_ideas(viewer, sort="new", limit=100, mine_only=True)
        timelines = await services.events_for([int(i.id) for i in result.items])
        return page(
            request,
            "my_ideas.html",
            my_ideas=result.items,
            timelines={str(k): v for k, v in timelines.items()},
            open_for_votes=OPEN_FOR_VOTES,
        )


ROUTES = [LoginController, StaffPages]
