"""What controllers take from the request beyond their parameters: the
unit of work (`ctx`), the rate limiter, the caller's address. Kept apart
from `web.app`, which imports the controllers."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from ideas import context
from web.ratelimit import RateLimiter

#: a handler's `ctx: Ctx` parameter: the request's unit of work
#: (a frozen dataclass, handed over as is, not validated field by field)
Ctx = NamedDependency[SkipValidation[context.Context]]


async def provide_context() -> context.Context:
    """The request's unit of work (opened by `UnitOfWorkMiddleware`)."""
    ctx = context.current()
    assert ctx is not None, "UnitOfWorkMiddleware opens a context for every request"
    return ctx


def limiter_of(request: Request) -> RateLimiter:
    return request.app.state.limiter


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
