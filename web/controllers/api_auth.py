"""API: tokens, the caller, departments."""

from __future__ import annotations

import dataclasses

from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody

from ideas.people import accounts, directory
from ideas.schemas import MeOut, Page, Ref, TokenIn, TokenOut
from web.auth import public, staff
from web.deps import Ctx, client_address, limiter_of
from web.errors import documented
from web.idempotency import IDEMPOTENT


class TokenController(Controller):
    path = "/api/v1/auth/token"
    tags = ["auth"]

    @post("/", guards=[public], status_code=201, responses=documented(401), opt=IDEMPOTENT)
    async def create_token(self, request: Request, ctx: Ctx, data: JSONBody[TokenIn]) -> TokenOut:
        """Exchange email and password for a bearer token."""
        limiter = limiter_of(request)
        await limiter.hit("token", client_address(request))
        # only failed password checks count against an account
        await limiter.refuse_past("login_account", data.email.strip().lower())
        viewer = await accounts.authenticate(data.email, data.password)
        if viewer is None:
            await limiter.count("login_account", data.email.strip().lower())
            raise NotAuthorizedException("wrong email or password, or the account is inactive")
        # the request began as a visitor's: from here on the person signed in acts
        signed_in = dataclasses.replace(ctx, actor=viewer)
        token = await accounts.create_token(signed_in)
        return TokenOut(token=token, user=await accounts.me(signed_in))

    @delete("/", guards=[staff], status_code=200)
    async def revoke_token(self, request: Request) -> dict:
        """Revoke the bearer token this call carries."""
        if request.scope.get("auth") != "token":
            raise NotAuthorizedException("send the token to revoke as the bearer token")
        token = request.headers["authorization"].partition(" ")[2].strip()
        await accounts.revoke_token(token)
        return {"revoked": True}


class MeController(Controller):
    path = "/api/v1"
    guards = [staff]
    tags = ["users"]

    @get("/me")
    async def me(self, ctx: Ctx) -> MeOut:
        return await accounts.me(ctx)

    @get("/departments")
    async def departments(self) -> Page[Ref]:
        return Page[Ref](items=await directory.department_refs(), next_cursor=None)


ROUTES = [TokenController, MeController]
