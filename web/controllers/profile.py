"""The caller's own account: the profile page `/me` (who I am, my password,
my API tokens, sign out everywhere) and the token API of docs/api.md (v1.1)."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Response, Template

from ideas.context import Context
from ideas.errors import Invalid
from ideas.people import accounts
from ideas.people.accounts import TokenInfo
from ideas.schemas import Page
from ideas.viewer import Viewer
from web.auth import SESSION_COOKIE, staff
from web.controllers.pages import form_errors, page
from web.deps import Ctx


class MyTokensApi(Controller):
    path = "/api/v1/me/tokens"
    guards = [staff]
    tags = ["auth"]

    @get("/")
    async def list_my_tokens(self, ctx: Ctx) -> Page[TokenInfo]:
        """Your working API tokens: `{id, name, created_on, last_used_on, expires_on}`."""
        return Page[TokenInfo](items=await accounts.list_tokens(ctx), next_cursor=None)

    @delete("/{token_id:str}", status_code=204)
    async def revoke_my_token(self, ctx: Ctx, token_id: FromPath[str]) -> None:
        """Revoke one of your tokens (another person's answers 404)."""
        await accounts.revoke_own_token(ctx, token_id)

    @delete("/", status_code=204)
    async def revoke_my_tokens(self, ctx: Ctx) -> None:
        """Revoke every token of yours, the one making this call included."""
        await accounts.revoke_own_tokens(ctx)


async def _profile(
    request: Request,
    ctx: Context,
    status_code: int = 200,
    new_token: accounts.NewToken | None = None,
    errors: dict[str, str] | None = None,
    saved: str = "",
) -> Template:
    me = await accounts.me(ctx)
    break_glass = await accounts.is_break_glass(ctx.actor.id)
    settings = request.app.state.settings
    return page(
        request,
        "profile.html",
        status_code=status_code,
        me=me,
        tokens=await accounts.list_tokens(ctx),
        new_token=new_token,
        errors=errors or {},
        saved=saved,
        has_password=await accounts.has_password(ctx),
        passwords_apply=accounts.passwords_apply(break_glass),
        sso=settings.oidc,
        token_days=settings.api_token_days,
    )


class ProfilePages(Controller):
    path = "/me"
    guards = [staff]
    include_in_schema = False

    @get("/")
    async def profile(self, request: Request, ctx: Ctx) -> Template:
        return await _profile(request, ctx)

    @post("/password")
    async def change_password(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Template:
        try:
            await accounts.change_password(
                ctx,
                data.get("current_password", ""),
                data.get("password", ""),
                data.get("password_again", ""),
                keep_session=request.cookies.get(SESSION_COOKIE),
            )
        except Invalid as exc:
            return await _profile(request, ctx, 400, errors=form_errors(exc))
        return await _profile(request, ctx, saved="password")

    @post("/tokens")
    async def create_token(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Template:
        """A new token, shown on this answer only."""
        try:
            new = await accounts.create_named_token(ctx, data.get("name", ""))
        except Invalid as exc:
            return await _profile(request, ctx, 400, errors=form_errors(exc))
        return await _profile(request, ctx, 201, new_token=new)

    @post("/tokens/{token_id:str}/revoke")
    async def revoke_token(self, ctx: Ctx, token_id: FromPath[str]) -> Response:
        await accounts.revoke_own_token(ctx, token_id)
        return Redirect(path="/me", status_code=303)

    @post("/tokens/revoke-all")
    async def revoke_tokens(self, ctx: Ctx) -> Response:
        await accounts.revoke_own_tokens(ctx)
        return Redirect(path="/me", status_code=303)

    @post("/sign-out-everywhere")
    async def sign_out_everywhere(self, viewer: NamedDependency[Viewer]) -> Response:
        """End every browser session of mine, this one included (tokens stay:
        revoke them above)."""
        await accounts.end_sessions(viewer.id)
        response = Redirect(path="/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


ROUTES = [MyTokensApi, ProfilePages]
