"""GET /health: is the database up, is Redis up, how far behind is delivery."""

from __future__ import annotations

from litestar import Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from ideas import clock, embedding
from ideas.notify import JOB_STATS_KEY
from ideas.schemas import HealthOut
from ideas.tables import Event
from web.auth import public


@get(
    "/health",
    guards=[public],
    tags=["ops"],
    responses={503: ResponseSpec(HealthOut, description="The database is down.")},
)
async def health(request: Request) -> Response[HealthOut]:
    database = "ok"
    oldest_age = None
    try:
        rows = (
            await Event.select(Event.created_at)
            .where(Event.dispatched_at.is_null())
            .order_by(Event.id)
            .limit(1)
            .run()
        )
        if rows:
            oldest_age = (clock.now() - rows[0]["created_at"]).total_seconds()
    except Exception as exc:
        database = f"error: {type(exc).__name__}"
    redis_state = "not configured"
    depth = None
    failed = None
    redis = request.app.state.get("redis")
    if redis is not None:
        try:
            await redis.ping()
            depth = await redis.zcard("arq:queue")
            stats = await redis.hgetall(JOB_STATS_KEY)
            failed = {}
            for field, value in stats.items():
                name = field.decode() if isinstance(field, bytes) else str(field)
                job, _, outcome = name.rpartition(":")
                if outcome == "failed":
                    failed[job] = int(value)
            redis_state = "ok"
        except Exception as exc:
            redis_state = f"error: {type(exc).__name__}"
    ok = database == "ok" and redis_state in ("ok", "not configured")
    viewer = request.scope.get("user")
    similar_search = None
    if viewer is not None and getattr(viewer, "is_admin", False):
        similar_search = similar_search_state()
    body = HealthOut(
        status="ok" if ok else "degraded",
        database=database,
        redis=redis_state,
        queue_depth=depth,
        oldest_undelivered_event_age_s=oldest_age,
        failed_jobs=failed,
        similar_search=similar_search,
    )
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
