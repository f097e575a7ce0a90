"""Route guards get the route handler itself, not a copy
(`web.auth.run_guards_without_copies`): safe only while no guard reads or
changes its handler argument -- every guard of every route names it `_`."""

from __future__ import annotations

import inspect

from litestar.handlers.base import BaseRouteHandler

from web.app import create_app
from web.auth import _authorize_connection


def _guards_of_every_route(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", None) or [route.route_handler]:
            yield handler, handler.resolve_guards()


def test_every_guard_leaves_its_handler_argument_alone():
    app = create_app()
    seen = set()
    for handler, guards in _guards_of_every_route(app):
        for guard in guards:
            params = list(inspect.signature(guard).parameters)
            assert len(params) == 2 and params[1] == "_", (guard, handler)
            seen.add(guard.__name__)
    assert {"public", "staff", "council", "admin", "scim_client"} <= seen


async def test_a_guard_is_given_the_handler_itself():
    app = create_app()
    assert BaseRouteHandler.authorize_connection is _authorize_connection
    given = []

    async def spy(connection, handler):
        given.append(handler)

    handler = next(h for h, guards in _guards_of_every_route(app) if guards)
    handler._resolved_guards = [spy]
    await handler.authorize_connection(object())
    assert given == [handler]
