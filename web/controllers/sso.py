"""Sign-in with OpenID Connect: `/auth/oidc/login` sends the browser to the
provider, `/auth/oidc/callback` takes it back (docs/api.md, v1.1).

The flow's secrets (state, nonce, PKCE verifier) wait server-side under the
state, for ten minutes and one use, bound to the browser that started the
flow by a cookie of its own (so nobody can finish a sign-in someone else
started). Both routes answer 404 while OpenID Connect is not configured.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from ideas import security
from ideas.config import OidcSettings
from ideas.errors import RateLimited
from ideas.integrations import oidc
from web.auth import SESSION_COOKIE, SESSION_MAX_AGE, public, session_store, start_session
from web.controllers.pages import page, safe_next
from web.deps import client_address, limiter_of

FLOW_COOKIE = "tp_oidc"
PENDING_PREFIX = "oidc-flow:"


def _settings(request: Request) -> OidcSettings:
    settings = request.app.state.settings.oidc
    if settings is None:
        raise NotFoundException("single sign-on is not configured")
    return settings


def redirect_uri(request: Request) -> str:
    return f"{request.app.state.settings.base_url}/auth/oidc/callback"


def refused(request: Request, settings: OidcSettings, detail: str, status: int) -> Template:
    response = page(
        request,
        "login.html",
        status_code=status,
        next="/",
        email="",
        error=detail,
        sso=settings,
        sso_only=request.app.state.settings.sso_only,
    )
    response.delete_cookie(FLOW_COOKIE, path="/auth/oidc")
    return response


class OidcController(Controller):
    path = "/auth/oidc"
    guards = [public]
    include_in_schema = False

    @get("/login")
    async def oidc_login(self, request: Request, next: FromQuery[str | None] = None) -> Response:
        """Start signing in at the provider (each start keeps a row for ten
        minutes: counted like a log-in attempt)."""
        settings = _settings(request)
        try:
            await limiter_of(request).hit("login", client_address(request))
        except RateLimited as exc:
            detail = f"Too many attempts. Try again in {exc.retry_after} seconds."
            return refused(request, settings, detail, 429)
        try:
            started = await oidc.start(settings, redirect_uri(request))
        except oidc.SignInRefused as exc:
            return refused(request, settings, exc.detail, exc.status)
        binding = secrets.token_urlsafe(32)
        pending = {
            "nonce": started.nonce,
            "code_verifier": started.code_verifier,
            "next": safe_next(next),
            "binding": security.digest(binding),
        }
        await session_store.set(
            PENDING_PREFIX + started.state,
            json.dumps(pending),
            expires_in=int(oidc.PENDING_TTL.total_seconds()),
        )
        response = Redirect(path=started.url, status_code=303)
        response.set_cookie(
            FLOW_COOKIE,
            binding,
            max_age=int(oidc.PENDING_TTL.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/auth/oidc",
        )
        return response

    @get("/callback")
    async def oidc_callback(
        self,
        request: Request,
        code: FromQuery[str | None] = None,
        flow_state: Annotated[str | None, QueryParameter(name="state")] = None,
        error: FromQuery[str | None] = None,
    ) -> Response:
        """The provider sends the browser back here with a code (or an error)."""
        settings = _settings(request)
        pending = None
        if flow_state and len(flow_state) <= 200:
            key = PENDING_PREFIX + flow_state
            raw = await session_store.get(key)
            if raw is not None:
                await session_store.delete(key)  # one use, whatever happens next
                pending = json.loads(raw)
        binding = request.cookies.get(FLOW_COOKIE) or ""
        if pending is None or not secrets.compare_digest(
            pending["binding"], security.digest(binding)
        ):
            return refused(
                request,
                settings,
                "This sign-in link is not valid (it was used already, expired, or was started "
                "elsewhere). Sign in again.",
                400,
            )
        if error or not code:
            return refused(
                request,
                settings,
                f"{settings.provider_name} did not sign you in ({(error or 'no code')[:60]}).",
                400,
            )
        try:
            claims, id_token = await oidc.claims_from_code(
                settings, code, redirect_uri(request), pending["code_verifier"], pending["nonce"]
            )
            viewer = await oidc.sign_in(settings, claims)
        except oidc.SignInRefused as exc:
            return refused(request, settings, exc.detail, exc.status)
        session_id = await start_session(
            viewer, request.cookies.get(SESSION_COOKIE), extra={"oidc_id_token": id_token}
        )
        response = Redirect(path=safe_next(pending["next"]), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/",
        )
        response.delete_cookie(FLOW_COOKIE, path="/auth/oidc")
        return response


ROUTES = [OidcController]
