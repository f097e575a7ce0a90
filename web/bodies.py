"""Hostile request bodies cost little: a size cap, a nesting cap and a cap
on the number of JSON members, checked before any parser or model sees the
body, and (for callers who are not logged in) a rate limit counted before
the body is even read.

A refusal is raised as an exception, so `web/errors.py` answers it like any
other error (JSON for the API, a page or fragment for the browser).
"""

from __future__ import annotations

import re

import msgspec
from litestar.exceptions import ClientException, ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ideas.config import get_settings

#: deepest JSON nesting any route accepts (our inputs are two or three deep)
MAX_JSON_DEPTH = 32
#: most JSON members (object keys plus array items, all levels) in one body
MAX_JSON_MEMBERS = 5000
#: multipart uploads (the people CSV, up to 2 MB) may be this much larger
MULTIPART_MAX_BYTES = 3 * 1024 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = frozenset(b"[{")


class PayloadTooLarge(ClientException):
    status_code = 413


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests deeper than `limit` (brackets inside
    strings do not count). Linear in the body, without parsing it."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # nearly every body: too few brackets to nest that deep
    skeleton = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in skeleton:
        if byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def json_members(value: object, limit: int) -> int:
    """How many object keys and array items `value` holds at every level,
    counting no further than `limit` + 1."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, dict):
            total += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            total += len(item)
            stack.extend(item)
    return total


def check_json(body: bytes) -> None:
    """Refuse (400) a JSON body nested too deep or holding too many members."""
    if json_depth_exceeds(body):
        raise ValidationException(
            detail=f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted"
        )
    # each member needs a comma, a colon or a bracket: few of them, few members
    if body.count(b",") + body.count(b":") < MAX_JSON_MEMBERS:
        return
    try:
        value = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        raise ValidationException(detail="malformed JSON") from None
    if json_members(value, MAX_JSON_MEMBERS) > MAX_JSON_MEMBERS:
        raise ValidationException(
            detail=f"a body may hold at most {MAX_JSON_MEMBERS} fields and items in all"
        )


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def carries_body(scope: Scope) -> bool:
    """The request says it has a body (a length above 0, or chunks): a PUT
    or DELETE without one (a vote) is not read at all."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


class BodyLimitMiddleware:
    """Reads a request's body once, within the size cap, checks it, and hands
    the same bytes to the app. Runs after `AuthMiddleware` (which reads no
    body), so a caller who is not logged in is rate limited first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        kind = _header(scope, b"content-type").lower()
        multipart = kind.startswith("multipart/")
        cap = max(settings.request_max_bytes, MULTIPART_MAX_BYTES) if multipart else None
        cap = cap or settings.request_max_bytes
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > cap:
            raise PayloadTooLarge(detail=f"the body is larger than {cap} bytes")
        if scope.get("user") is None:
            # before reading a byte: anonymous bodies (log-in, token, reset
            # forms) cost at most this many parses a minute per address
            limiter = scope["app"].state.get("limiter")
            if limiter is not None:
                client = scope.get("client")
                await limiter.hit("anonymous", client[0] if client else "unknown")
        if multipart or not carries_body(scope):
            # multipart is streamed (Litestar caps it); a request without a
            # body (a vote, a follow) is not read at all
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise PayloadTooLarge(detail=f"the body is larger than {cap} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # JSON routes parse whatever arrives, whatever its declared type
        if body and ("json" in kind or body.lstrip()[:1] in (b"[", b"{")):
            check_json(body)
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
