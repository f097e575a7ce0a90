"""GET /health: is the database up, is Redis up — and, for admins only, how
far behind delivery is.

Anyone may ask whether the service is up; the queue depth, the age of the
oldest undelivered event and the failed jobs change with what people do, so
they are shown to admins only (issue 13.16: an anonymous activity oracle).
Each part has its own short deadline and they run at once, so the answer
comes within a second whatever Redis or the database does.
"""

from __future__ import annotations

import asyncio

from litestar import Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from ideas import clock, embedding, policy
from ideas.outbox import INDEX_QUEUE, JOB_STATS_KEY
from ideas.schemas import HealthOut
from ideas.tables import Event
from web.auth import public
from web.redisguard import RedisUnavailable, guard_of

#: the database part's deadline (Redis has its own, REDIS_DEADLINE_MS)
DATABASE_DEADLINE_S = 0.8


async def _database(details: bool) -> tuple[str, float | None]:
    try:
        async with asyncio.timeout(DATABASE_DEADLINE_S):
            if not details:
                await Event.raw("SELECT 1").run()
                return "ok", None
            rows = (
                await Event.select(Event.created_at)
                .where(Event.dispatched_at.is_null())
                .order_by(Event.id)
                .limit(1)
                .run()
            )
    except Exception as exc:
        return f"error: {type(exc).__name__}", None
    oldest = (clock.now() - rows[0]["created_at"]).total_seconds() if rows else None
    return "ok", oldest


async def _redis(request: Request, details: bool) -> tuple[str, int | None, dict | None]:
    guard = guard_of(request.app.state)
    if guard is None:
        return "not configured", None, None

    async def ask(redis):
        await redis.ping()
        if not details:
            return None, None
        # deliveries and scheduled jobs, and the indexing jobs' own queue
        depth = await redis.zcard("arq:queue") + await redis.zcard(INDEX_QUEUE)
        return depth, await redis.hgetall(JOB_STATS_KEY)

    try:
        depth, stats = await guard.run(ask)
    except RedisUnavailable as exc:
        return f"error: {exc}", None, None
    failed = None
    if stats is not None:
        failed = {}
        for field, value in stats.items():
            name = field.decode() if isinstance(field, bytes) else str(field)
            job, _, outcome = name.rpartition(":")
            if outcome == "failed":
                failed[job] = int(value)
    return "ok", depth, failed


@get(
    "/health",
    guards=[public],
    tags=["ops"],
    responses={503: ResponseSpec(HealthOut, description="The database is down.")},
)
async def health(request: Request) -> Response[HealthOut]:
    """Up or down for anyone; the delivery backlog for admins."""
    viewer = request.scope.get("user")
    # the backlog and job figures are the admins' (policy row admin.manage)
    details = viewer is not None and policy.allowed("admin.manage", viewer.roles)
    (database, oldest), (redis_state, depth, failed) = await asyncio.gather(
        _database(details), _redis(request, details)
    )
    ok = database == "ok" and redis_state in ("ok", "not configured")
    body = HealthOut(status="ok" if ok else "degraded", database=database, redis=redis_state)
    if details:
        body.queue_depth = depth
        body.oldest_undelivered_event_age_s = oldest
        body.failed_jobs = failed
        body.similar_search = similar_search_state()
    else:  # up or down, and no more (an error's name says nothing about activity)
        body.database = "ok" if database == "ok" else "error"
        body.redis = redis_state if redis_state in ("ok", "not configured") else "error"
    return Response(body, status_code=200 if database == "ok" else 503)


def similar_search_state() -> str:
    """How this process ranks similar ideas (admins see it on /health)."""
    state = embedding.status()
    if state == "ok":
        return "semantic"
    if state == "not loaded":
        return "not loaded yet"
    return f"lexical (model {state})"


ROUTES = [health]
