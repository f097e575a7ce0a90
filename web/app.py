"""The Litestar application: `create_app()` wires plugins, templates, auth,
guards, error handling and the lifespan. Routes live in `web/controllers/`."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from arq.connections import ArqRedis
from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.asyncio import BlockingConnectionPool

from ideas import context, db, outbox, vector_index
from ideas.config import Settings, get_settings
from ideas.text import has_bidi_controls
from web import templating
from web.auth import (
    AuthMiddleware,
    add_security_headers,
    provide_viewer,
    public,
    run_guards_without_copies,
    session_store,
)
from web.bodies import MULTIPART_MAX_BYTES, BodyLimitMiddleware, carries_body
from web.controllers import ROUTE_HANDLERS
from web.deps import provide_context
from web.errors import EXCEPTION_HANDLERS, document_error_answers
from web.idempotency import IdempotencyMiddleware
from web.openapi import StrictModelsSchemaPlugin, forbid_nul_in_input
from web.ratelimit import RateLimiter, retry_after
from web.redisguard import RedisGuard, RedisUnavailable, guard_of
from web.responses import ModelResponse

log = logging.getLogger("touchpoint.web")

HERE = Path(__file__).resolve().parent


class UnitOfWorkMiddleware:
    """Every request is one unit of work (`ideas.context`): the caller (or
    the visitor) as its actor, one `now`, and the outbox events it records
    enqueued after the response (so after the commit). A failed enqueue only
    delays delivery (the workers' sweep catches up)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        actor = scope.get("user") or context.VISITOR
        async with context.unit_of_work(actor, transaction=False, flush=False) as ctx:
            await self.app(scope, receive, send)
        events = ctx.events
        state = scope["app"].state
        guard = guard_of(state) if events else None
        if guard is not None:
            # the app's Enqueuer sends concurrent requests' jobs together
            enqueuer = state.get("enqueuer")
            try:
                if enqueuer is not None:
                    await guard.run(lambda redis: enqueuer.flush(events, redis))
                else:
                    await guard.run(lambda redis: outbox.flush(events, redis, raise_errors=True))
            except RedisUnavailable as exc:
                log.warning("events %s not enqueued (%s); the sweep will", events, exc)


async def announce_retry_after(response: Response) -> Response:
    """Every 429 says when to try again (`Retry-After`), also the pages and
    forms that answer a refused attempt themselves."""
    if response.status_code == 429 and "retry-after" not in {k.lower() for k in response.headers}:
        response.headers["Retry-After"] = str(retry_after())
    return response


#: U+0000 as it arrives: raw, escaped in JSON (not after an escaped backslash), in a URL
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


async def refuse_nul_characters(request: Request) -> None:
    """PostgreSQL cannot store U+0000 in text, so no input may carry it: a
    malformed request (400) on either engine, for every route, before any
    handler sees it."""
    scope = request.scope
    found = b"%00" in scope.get("raw_path", b"") or b"%00" in scope.get("query_string", b"")
    found = found or "\x00" in scope["path"]
    if not found and request.method not in ("GET", "HEAD", "OPTIONS") and carries_body(scope):
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/"):
            # streamed, not kept as a body: read the (kept) form; an uploaded
            # file is the handler's to decode and check
            form = await request.form()
            found = any("\x00" in v for _, v in form.multi_items() if isinstance(v, str))
        else:
            body = await request.body()
            found = (
                b"\x00" in body
                or (kind.startswith("application/x-www-form-urlencoded") and b"%00" in body)
                or ("json" in kind and _JSON_NUL.search(body) is not None)
            )
    if found:
        raise ValidationException(detail="text must not contain NUL characters (U+0000)")
    await refuse_bidi_controls(request)


#: U+202A–U+202E and U+2066–U+2069 as they arrive: escaped in JSON, in a URL
_JSON_BIDI = re.compile(rb"(?<!\\)(?:\\\\)*\\u(?:202[a-eA-E]|206[6-9])")
_URL_BIDI = re.compile(rb"%E2%80%A[A-E]|%E2%81%A[6-9]", re.IGNORECASE)


async def refuse_bidi_controls(request: Request) -> None:
    """No text anywhere may carry a bidirectional embedding, override or
    isolate (they make a title or a name display as something else: issue
    13, ideas/text.py): a malformed request (400), for every route, before
    any handler sees it."""
    scope = request.scope
    raw = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
    found = _URL_BIDI.search(raw) is not None or has_bidi_controls(scope["path"])
    if not found and request.method not in ("GET", "HEAD", "OPTIONS") and carries_body(scope):
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/"):
            form = await request.form()
            found = any(has_bidi_controls(v) for _, v in form.multi_items() if isinstance(v, str))
        else:
            body = await request.body()
            found = has_bidi_controls(body.decode("utf-8", "replace"))
            if kind.startswith("application/x-www-form-urlencoded"):
                found = found or _URL_BIDI.search(body) is not None
            if "json" in kind:
                found = found or _JSON_BIDI.search(body) is not None
    if found:
        raise ValidationException(
            detail="text must not contain bidirectional control characters "
            "(U+202A–U+202E, U+2066–U+2069)"
        )


#: Redis connections a web process may hold at once (requests beyond wait for one)
REDIS_MAX_CONNECTIONS = 64


def make_redis(url: str | None) -> ArqRedis | None:
    """A lazily connecting client (no ping at start), so the app starts and
    serves while Redis is down.

    Its pool is redis-py's BlockingConnectionPool: the default pool of
    redis-py 5.3 (arq 0.28 needs redis < 6) holds one lock per process while
    it checks a connection before each command, and with hiredis that check
    waits a turn of the event loop -- so under load every Redis call of a
    process queued behind the others', one per turn. In the benchmark's
    create run the enqueue after a commit then passed the 500 ms deadline,
    the guard skipped Redis for 5 s and the cycle began again (p99 ~420 ms);
    this pool checks connections outside its lock (redis-py issue #3692)."""
    if not url:
        return None
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=None,  # waiting for a connection is bounded by the guard's deadline
        socket_connect_timeout=1,
        socket_timeout=2,
    )
    return ArqRedis.from_pool(pool)  # the client owns the pool: aclose() closes it


async def _load_model_then_freeze() -> object:
    """The similar-ideas model, loaded; then what it brought (numpy,
    onnxruntime, the tokenizer: some 10,000 objects loaded after the
    lifespan's own freeze) joins the frozen objects too: every full
    collection scanned them again (half of its 16,000 objects, 11 ms a
    collection under the bench's load)."""
    embedder = await vector_index.load_embedder()
    gc.freeze()
    return embedder


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    run_guards_without_copies()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.open_pool()
        redis = make_redis(settings.redis_url)
        app.state.redis = redis
        app.state.redis_guard = RedisGuard(redis)
        app.state.limiter = RateLimiter(redis, guard=app.state.redis_guard)
        enqueuer = app.state.enqueuer = outbox.Enqueuer()
        # load the similar-ideas model now, off the event loop, rather than on
        # the first search (~1 s); not awaited, so start-up does not wait
        preload = app.state.similar_preload = (
            asyncio.ensure_future(_load_model_then_freeze()) if settings.similar_semantic else None
        )
        # Everything loaded so far lives as long as the process: keep it out of
        # the collector's way, so a full collection scans only per-request
        # garbage (the p99 of the API under load halved in the benchmark).
        gc.freeze()
        try:
            yield
        finally:
            if preload is not None and preload.done():
                preload.result()
            await enqueuer.close()
            if redis is not None:
                await redis.aclose()
            await db.close_pool()

    static = create_static_files_router(
        path="/static", directories=[HERE / "static"], guards=[public], include_in_schema=False
    )
    app = Litestar(
        route_handlers=[*ROUTE_HANDLERS, static],
        middleware=[
            AuthMiddleware,
            BodyLimitMiddleware,
            IdempotencyMiddleware,
            UnitOfWorkMiddleware,
        ],
        request_max_body_size=max(settings.request_max_bytes, MULTIPART_MAX_BYTES),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="tp_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            header_name="x-csrftoken",
            # Litestar searches these patterns anywhere in the path: anchor them
            # /unsubscribe/: RFC 8058 one-click POSTs from mail clients (a signed token)
            exclude=[
                "^/api/",
                "^/scim/",
                "^/health$",
                "^/schema(/|$)",
                "^/unsubscribe/",
                "^/integrations/slack/",
            ],
        ),
        template_config=TemplateConfig(
            directory=HERE / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=templating.configure,
        ),
        # the plain request: the plugin's HTMXRequest keeps an HTMXDetails
        # that points back at it, a cycle per request that left every
        # request's objects to the cyclic collector (is_htmx reads the header)
        request_class=Request,
        response_class=ModelResponse,
        plugins=[HTMXPlugin(), StrictModelsSchemaPlugin()],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=refuse_nul_characters,
        after_request=announce_retry_after,
        before_send=[add_security_headers],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Touchpoint API",
            version="1.0.0",
            description="The CX idea pipeline. The contract: docs/api.md in the repository.",
            path="/schema",
            # the machine-readable description only: the browsable viewers
            # load scripts from a CDN and inline, which our CSP refuses
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        ),
        stores={"sessions": session_store},
        dependencies={"viewer": Provide(provide_viewer), "ctx": Provide(provide_context)},
        state=State({"settings": settings, "redis": None}),
        debug=False,
    )
    document_error_answers(app)
    forbid_nul_in_input(app.openapi_schema)
    return app
