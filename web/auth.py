"""Who is calling: browser sessions (in the database) and API tokens, and the
role guards every route carries."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures.cookie import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.stores.base import Store
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ideas import clock, policy
from ideas.people import accounts
from ideas.tables import BrowserSession
from ideas.viewer import ROLES, Viewer, viewer_from_row

SESSION_COOKIE = "tp_session"
SESSION_MAX_AGE = 14 * 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class PiccoloStore(Store):
    """A Litestar store over the BrowserSession table, so a Redis outage
    never logs anyone out."""

    async def set(
        self,
        key: str,
        value: str | bytes,
        expires_in: int | dt.timedelta | None = None,
        user_id: UUID | None = None,
    ):
        """Store `value` under `key`; `user_id` names the person signed in
        with it (the domain ends a person's sessions by it)."""
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(expires_in, int):
            expires_in = dt.timedelta(seconds=expires_in)
        expires_at = clock.now() + expires_in if expires_in else None
        row = BrowserSession(key=key, value=value, expires_at=expires_at, user_id=user_id)
        await (
            BrowserSession.insert(row)
            .on_conflict(
                target=BrowserSession.key,
                action="DO UPDATE",
                values=[BrowserSession.value, BrowserSession.expires_at, BrowserSession.user_id],
            )
            .run()
        )

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        # plain SQL: this runs on every page request
        rows = await BrowserSession.raw(
            "SELECT value, expires_at FROM browser_session WHERE key = {}", key
        ).run()
        if not rows:
            return None
        expires_at = rows[0]["expires_at"]
        if expires_at is not None and expires_at <= clock.now():
            await self.delete(key)
            return None
        return rows[0]["value"].encode()

    async def delete(self, key: str) -> None:
        await BrowserSession.delete().where(BrowserSession.key == key).run()

    async def delete_all(self) -> None:
        await BrowserSession.delete(force=True).run()

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        rows = (
            await BrowserSession.select(BrowserSession.expires_at)
            .where(BrowserSession.key == key)
            .run()
        )
        if not rows or rows[0]["expires_at"] is None:
            return None
        return int((rows[0]["expires_at"] - clock.now()).total_seconds())


session_store = PiccoloStore()


async def start_session(
    viewer: Viewer, old_session_id: str | None, extra: dict[str, str] | None = None
) -> str:
    """A fresh session id for a log-in (the old one, if any, is dropped).
    `extra` is kept with it, e.g. the ID token a single sign-on logout needs."""
    if old_session_id:
        await session_store.delete(old_session_id)
    session_id = secrets.token_urlsafe(32)
    value = {"user_id": str(viewer.id), **(extra or {})}
    await session_store.set(
        session_id, json.dumps(value), expires_in=SESSION_MAX_AGE, user_id=viewer.id
    )
    return session_id


async def session_data(session_id: str | None) -> dict:
    """What the session holds (empty when there is none)."""
    raw = await session_store.get(session_id) if session_id else None
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


SESSION_VIEWER_SQL = (
    f"SELECT s.expires_at, {accounts.VIEWER_SQL} FROM browser_session s "
    "JOIN tp_user u ON u.id = s.user_id WHERE s.key = {} AND u.active"
)


async def session_viewer(session_id: str) -> Viewer | None:
    """The active user of an unexpired browser session, in one query (every
    page request asks)."""
    rows = await BrowserSession.raw(SESSION_VIEWER_SQL, session_id).run()
    if not rows:
        return None  # no such session, or its user is inactive
    expires_at = rows[0]["expires_at"]
    if expires_at is not None and expires_at <= clock.now():
        await session_store.delete(session_id)
        return None
    return viewer_from_row(rows[0])


async def end_session(session_id: str | None) -> None:
    if session_id:
        viewer_cache.forget(("session", session_id))
        await session_store.delete(session_id)


#: how long (seconds) a process may keep answering a credential (an API token,
#: a browser session) with the person it found for it, without asking the
#: database again: a deactivation, a role change, a revoked token or a logout
#: in another process takes effect within this window (docs/security.md)
VIEWER_CACHE_SECONDS = 5.0
#: entries kept at most (all are dropped when full: a burst of new credentials
#: costs one database question each, as without the cache)
VIEWER_CACHE_SIZE = 20_000


class ViewerCache:
    """Credential -> (the person it names, until when this process may
    believe it). Keyed by the credential itself, never by the person: one
    caller's entry can never answer another credential."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[tuple[str, str], tuple[Viewer, float]] = {}

    def get(self, key: tuple[str, str], now: float) -> Viewer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._entries[key]
            return None
        return entry[0]

    def put(self, key: tuple[str, str], viewer: Viewer, now: float) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= VIEWER_CACHE_SIZE:
            self._entries.clear()
        self._entries[key] = (viewer, now + self.seconds)

    def forget(self, key: tuple[str, str]) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


viewer_cache = ViewerCache(VIEWER_CACHE_SECONDS)


async def _cached(kind: str, credential: str, lookup) -> Viewer | None:
    """The person of a credential: from this process's cache while fresh,
    else from the database (`lookup`), remembered for VIEWER_CACHE_SECONDS."""
    key = (kind, credential)
    now = clock.now().timestamp()
    viewer = viewer_cache.get(key, now)
    if viewer is None:
        viewer = await lookup(credential)
        if viewer is not None:
            viewer_cache.put(key, viewer, now)
    return viewer


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
            return ""
    return None


def _cookie(scope: Scope, key: str) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == key:
                    return v
    return None


CSRF_COOKIE = "tp_csrf"
#: paths Litestar's CSRF check leaves alone (web/app.py excludes them too)
NO_CSRF = ("/api/", "/health", "/schema", "/static/")


def session_csrf_token(secret: str, session_id: str) -> str:
    """The CSRF token of one browser session: derived from the session id,
    in the form Litestar's CSRF check accepts (64 hex characters and their
    HMAC), so a token from another session (or planted by someone who can
    set a cookie for the site) is refused."""
    from litestar.middleware.csrf import CSRF_SECRET_BYTES, generate_csrf_hash

    raw = hmac.new(secret.encode(), b"csrf\n" + session_id.encode(), hashlib.sha256)
    token = raw.hexdigest()[: CSRF_SECRET_BYTES * 2]
    return token + generate_csrf_hash(token=token, secret=secret)


def _with_cookie(scope: Scope, name: str, value: str) -> None:
    """Replace one cookie in the request's Cookie header (for what runs next)."""
    headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
    cookies = [
        part.strip()
        for k, v in scope["headers"]
        if k == b"cookie"
        for part in v.decode("latin-1").split(";")
        if part.strip() and not part.strip().startswith(f"{name}=")
    ]
    cookies.append(f"{name}={value}")
    headers.append((b"cookie", "; ".join(cookies).encode("latin-1")))
    scope["headers"] = headers


def bind_csrf_to_session(scope: Scope, send: Send, session_id: str) -> Send:
    """A logged-in browser's CSRF token is its session's (issue 13.17).

    A change whose CSRF cookie is not the session's is refused (403) before
    Litestar's check (which only compares the cookie with the form field or
    header). A page read with another cookie gets the session's: the request
    carries it from here on, and the answer sets it."""
    settings = scope["app"].state.settings
    expected = session_csrf_token(settings.secret_key, session_id)
    if _cookie(scope, CSRF_COOKIE) == expected:
        return send
    if scope["method"] not in SAFE_METHODS:
        raise PermissionDeniedException("CSRF token verification failed: not this session's")
    _with_cookie(scope, CSRF_COOKIE, expected)
    cookie = Cookie(
        key=CSRF_COOKIE,
        value=expected,
        path="/",
        secure=settings.secure_cookies,
        httponly=False,
        samesite="lax",
    ).to_header(header="")

    async def send_with_cookie(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            message["headers"] = [*message["headers"], (b"set-cookie", cookie.encode("latin-1"))]
        await send(message)

    return send_with_cookie


class AuthMiddleware:
    """Puts the caller (a Viewer, or None) in `scope["user"]`.

    API calls that change something authenticate by bearer token only (the
    API takes no CSRF token); GET API calls also accept the browser session
    so pages can link to exports; HTML routes use the session only.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        viewer: Viewer | None = None
        auth: str | None = None
        is_api = path.startswith("/api/")
        # /health takes a token too: monitoring reads its details as an admin
        token = _bearer(scope) if is_api or path == "/health" else None
        if token:
            viewer = await _cached("token", token, accounts.viewer_by_token)
            auth = "token" if viewer else None
        elif token is None and (not is_api or method in SAFE_METHODS):
            session_id = _cookie(scope, SESSION_COOKIE)
            if session_id:
                viewer = await _cached("session", session_id, session_viewer)
                auth = "session" if viewer else None
                if viewer is not None and not path.startswith(NO_CSRF):
                    send = bind_csrf_to_session(scope, send, session_id)
        scope["user"] = viewer
        scope["auth"] = auth
        await self.app(scope, receive, send)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def security_headers(path: str, authenticated: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    if authenticated or not path.startswith("/static/"):
        headers.append((b"cache-control", b"private, no-store"))
    return headers


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook: on every answer, also those made outside the
    route's middleware (a refused CSRF token, an unknown path)."""
    if message["type"] == "http.response.start":
        ours = security_headers(scope["path"], authenticated=scope.get("user") is not None)
        names = {name for name, _ in ours}
        kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
        message["headers"] = kept + ours


# -- guards -------------------------------------------------------------------


def current_viewer(connection: ASGIConnection[Any, Any, Any, Any]) -> Viewer:
    viewer = connection.scope.get("user")
    if viewer is None:
        raise NotAuthorizedException("log in first (a session or a bearer token)")
    return viewer


# Guards are coroutines: Litestar runs a plain-function guard in a worker
# thread (sync_to_thread), a thread hop on every request.


async def _authorize_connection(self: BaseRouteHandler, connection: ASGIConnection) -> None:
    """The route's guards, each given the route handler itself. Litestar's
    own `authorize_connection` hands every guard a copy of the handler (in
    case a guard changes it): a shallow copy of a large object on every
    request, 5 % of a vote's time in process. Touchpoint's guards never read
    their handler argument (they name it `_`; tests/test_guards_no_copy.py
    checks every route's)."""
    for guard in self.resolve_guards():
        await guard(connection, self)


def run_guards_without_copies() -> None:
    """Install `_authorize_connection` (once per process; `create_app`)."""
    BaseRouteHandler.authorize_connection = _authorize_connection  # type: ignore[method-assign]


async def public(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Anyone, logged in or not: the login page, health, static files."""


async def staff(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    current_viewer(connection)


def _role_guard(name: str, action: str):
    """A guard letting through the roles that `policy.PERMISSIONS` gives
    `action` (the domain checks the idea's facts itself)."""
    roles = policy.roles_for(action)
    needs = " or ".join(r for r in ROLES if r in roles)

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        viewer = current_viewer(connection)
        if not roles & viewer.roles:
            raise PermissionDeniedException(f"this needs the {needs} role")

    guard.__name__ = name
    guard.roles = roles  # type: ignore[attr-defined]
    return guard


council = _role_guard("council", "triage.queue")
admin = _role_guard("admin", "admin.manage")
leader_or_admin = _role_guard("leader_or_admin", "leaders.view")


async def provide_viewer(request: Request) -> Viewer:
    return current_viewer(request)
