"""The `Idempotency-Key` header on POST creates (ideas/idempotency.py keeps
the answers). A route takes part by saying so in its options:
`@post(..., opt=IDEMPOTENT)`; this middleware does the rest.

It runs after `AuthMiddleware` (the caller is known: a person's id, or
"anonymous" on the token route, whose body then carries the credentials) and
after `BodyLimitMiddleware` (the body is read and capped)."""

from __future__ import annotations

import logging

from litestar.exceptions import ClientException, HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ideas import idempotency
from ideas.config import get_settings

log = logging.getLogger("touchpoint.web")

IDEMPOTENT = {"idempotent": True}
HEADER = b"idempotency-key"


class KeyReused(ClientException):
    status_code = 422


class KeyInFlight(HTTPException):
    status_code = 409


def _key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == HEADER:
            return value.decode("latin-1").strip()
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        key = _key(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        if key is None or handler is None or not handler.opt.get("idempotent"):
            await self.app(scope, receive, send)
            return
        if not key or len(key) > idempotency.MAX_KEY_LENGTH:
            raise ClientException(
                detail=f"Idempotency-Key: 1 to {idempotency.MAX_KEY_LENGTH} characters"
            )
        secret = get_settings().secret_key
        viewer = scope.get("user")
        caller = str(viewer.id) if viewer is not None else "anonymous"
        route = f"POST {scope['path']}"
        digest = idempotency.key_digest(secret, caller, route, key)
        message = await receive()
        body = message.get("body", b"") if message["type"] == "http.request" else b""
        stored = await idempotency.claim(digest, idempotency.body_digest(body))
        if stored is not None:
            if stored.body_digest != idempotency.body_digest(body):
                raise KeyReused(detail="Idempotency-Key: already used with another body")
            if stored.status == 0:
                raise KeyInFlight(
                    detail="Idempotency-Key: the first request with this key is still running"
                )
            await _replay(send, stored, idempotency.unseal(secret, key, stored.sealed))
            return

        status = 0
        content_type = ""
        chunks: list[bytes] = []

        async def record(out: Message) -> None:
            nonlocal status, content_type
            if out["type"] == "http.response.start":
                status = out["status"]
                for name, value in out.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif out["type"] == "http.response.body":
                chunks.append(out.get("body", b""))
            await send(out)

        async def first() -> Message:
            nonlocal message
            if message is not None:
                out, message = message, None
                return out
            return await receive()

        try:
            await self.app(scope, first, record)
        except BaseException:
            await _quietly(idempotency.release(digest))
            raise
        # the answer is out: bookkeeping that fails now is logged, never raised
        if not 200 <= status < 300:
            # a refusal or a failure created nothing: a retry (perhaps with a
            # corrected body) runs again
            await _quietly(idempotency.release(digest))
            return
        sealed = idempotency.seal(secret, key, b"".join(chunks))
        await _quietly(idempotency.store(digest, status, content_type, sealed))


async def _quietly(step) -> None:
    """Run a bookkeeping step; a failure leaves a claim that expires after
    `STALE_CLAIM_S` (until then a retry with the key is 409)."""
    try:
        await step
    except Exception as exc:
        log.warning("Idempotency-Key bookkeeping failed: %r", exc)


async def _replay(send: Send, stored: idempotency.Stored, content: bytes) -> None:
    headers = [(b"idempotent-replayed", b"true"), (b"content-length", str(len(content)).encode())]
    if stored.content_type:
        headers.append((b"content-type", stored.content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": content, "more_body": False})
