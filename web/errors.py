"""One place that maps errors to answers: JSON for the API, pages (or
fragments) for the browser."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Litestar, MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from pydantic import BaseModel

from ideas.errors import DomainError, RateLimited
from ideas.pg import connection_lost

#: what a 503 for an unreachable database tells the client to wait
DATABASE_RETRY_AFTER_S = 2

log = logging.getLogger("touchpoint.web")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.startswith("/schema")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _json(status: int, detail: str, extra=None, headers: dict | None = None) -> Response:
    return Response(
        {"status_code": status, "detail": detail, "extra": extra},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def error_answer(request: Request, status: int, detail: str, extra=None, headers=None) -> Response:
    if is_api(request):
        return _json(status, detail, extra, headers)
    if is_htmx(request):
        return Response(detail, status_code=status, media_type=MediaType.TEXT, headers=headers)
    return Template(
        template_name="error.html",
        context={"status": status, "detail": detail, "request": request},
        status_code=status,
        headers=headers,
    )


def on_domain_error(request: Request, exc: DomainError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_answer(request, exc.status, exc.detail, exc.extra, headers)


def on_not_authorized(request: Request, exc: NotAuthorizedException) -> Response:
    if is_api(request):
        return _json(401, exc.detail or "not logged in", None, {"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = f"/login?next={quote(target, safe='')}"
    if is_htmx(request):
        return Response("", status_code=401, headers={"HX-Redirect": login})
    return Redirect(path=login, status_code=303)


def on_forbidden(request: Request, exc: PermissionDeniedException) -> Response:
    return error_answer(request, 403, exc.detail or "not allowed for your role")


#: errors listed in one answer; the rest are counted
MAX_ERRORS_LISTED = 10


def on_validation(request: Request, exc: ValidationException) -> Response:
    """Name the field in the message, not only in `extra`; list the first few
    errors and count the rest (a body of a thousand unknown keys gets a short
    answer)."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    more = max(len(extra) - MAX_ERRORS_LISTED, 0)
    extra = extra[:MAX_ERRORS_LISTED]
    fields = [e for e in extra if isinstance(e, dict) and e.get("key")]
    if fields:
        parts = [f"{e['key']}: {e.get('message', 'invalid')}" for e in fields]
        detail = "Validation failed: " + "; ".join(parts)
        if more:
            detail += f"; and {more} more"
        return error_answer(request, 400, detail, extra)
    return error_answer(request, 400, exc.detail or "malformed request", extra or None)


def on_http(request: Request, exc: HTTPException) -> Response:
    return error_answer(
        request, exc.status_code, exc.detail, getattr(exc, "extra", None), exc.headers
    )


def on_not_found(request: Request, exc: NotFoundException) -> Response:
    return error_answer(request, 404, "not found")


def on_crash(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RecursionError):
        # a body nested deeper than the parser goes (web/bodies.py refuses most first)
        return error_answer(request, 400, "the body is nested too deeply")
    if connection_lost(exc):
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return error_answer(
            request,
            503,
            "the database is unavailable for a moment; try again",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_answer(request, HTTP_500_INTERNAL_SERVER_ERROR, "internal error")


EXCEPTION_HANDLERS = {
    DomainError: on_domain_error,
    NotAuthorizedException: on_not_authorized,
    PermissionDeniedException: on_forbidden,
    ValidationException: on_validation,
    NotFoundException: on_not_found,
    HTTPException: on_http,
    Exception: on_crash,
}


# -- the error answers, documented in the OpenAPI description ---------------------


class ErrorOut(BaseModel):
    """Every error answer of the API (Litestar's shape)."""

    status_code: int
    detail: str
    #: for validation errors, `[{"key": field, "message": reason}]`
    extra: Any = None


ERROR_MEANINGS = {
    400: "Malformed request or invalid parameters (the field is named).",
    401: "No credentials, or a bad or revoked token (`WWW-Authenticate: Bearer`).",
    403: "Not allowed for your role.",
    404: "No such thing, or not yours to see (the two answer alike).",
    409: "Not allowed in the current state; nothing changed.",
    422: "Invalid input: an unknown id or a value the rules refuse (the field is named).",
    429: "Too many requests; `Retry-After` says how many seconds to wait.",
}

#: guards that let anyone in; every other guard can answer 401
OPEN_GUARDS = frozenset({"public"})
#: guards that check a role; they can answer 403
ROLE_GUARDS = frozenset({"council", "admin", "leader_or_admin"})


def documented(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` for a handler: these error answers, in the error shape."""
    return {
        status: ResponseSpec(
            data_container=ErrorOut, description=ERROR_MEANINGS[status], generate_examples=False
        )
        for status in statuses
    }


#: handler arguments that are not request parameters
NOT_PARAMETERS = frozenset({"self", "request", "data", "viewer", "state", "scope", "headers"})


def error_statuses(handler: HTTPRouteHandler, path_parameters: set[str]) -> set[int]:
    """The error answers an API route can give, read from what it is: its
    guards (401, 403), its path parameters (403, 404: not yours, or no such
    thing), whether it changes something (409, 422, 429: a change may be
    refused by a state rule, an input rule or a rate limit), and whether it
    takes query parameters (422: a cursor or period it does not know)."""
    guards = {getattr(g, "__name__", "") for g in handler.resolve_guards()}
    statuses = {400}
    if guards - OPEN_GUARDS:
        statuses.add(401)
    if guards & ROLE_GUARDS:
        statuses.add(403)
    if path_parameters:
        statuses |= {403, 404}
    if handler.http_methods - {"GET", "HEAD"}:
        statuses |= {422, 429} if guards <= OPEN_GUARDS else {403, 409, 422, 429}
    elif set(handler.parsed_fn_signature.parameters) - NOT_PARAMETERS - path_parameters:
        statuses.add(422)
    return statuses


def document_error_answers(app: Litestar) -> None:
    """Put the error answers of every API route in the OpenAPI description
    (once, at start-up, before the description is first built). A handler's
    own `responses=` wins."""
    for route in app.routes:
        if not route.path.startswith("/api/"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or "OPTIONS" in handler.http_methods:
                continue
            own = dict(handler.responses or {})
            statuses = error_statuses(handler, set(route.path_parameters))
            handler.responses = {**documented(*sorted(statuses)), **own}
