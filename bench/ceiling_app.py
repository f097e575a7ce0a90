"""The framework's ceiling: a bare Litestar app answering a constant.

Served exactly like Touchpoint in the benchmark (uvicorn, 2 workers, uvloop,
httptools, no access log), so the ratio of an endpoint to this route is what
the application's own work costs on top of the framework and the server.
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"pong": "ok"}


def create_app() -> Litestar:
    return Litestar(route_handlers=[ping], debug=False, openapi_config=None)
