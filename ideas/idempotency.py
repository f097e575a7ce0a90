"""`Idempotency-Key` on POST creates (docs/api.md, "Added in v1.1"): the same key
from the same caller on the same route within 24 hours answers what the first
request answered and creates nothing; the same key with another body is 422.

One row per (caller, route, key) in `idempotent_request`, found by an HMAC of
the three (the key itself is not stored). The answer is kept sealed with a
key stream derived from the Idempotency-Key, which only the client holds: a
row read from the database does not reveal, say, the bearer token a token
request answered.

A request claims its row before it runs (a second one with the same key
while the first runs is 409), stores its answer after when it succeeded, and
gives the row up when it was refused or failed (nothing was created, so a
retry, perhaps with a corrected body, runs again). A claim left by
a process that died mid-request is taken over after `STALE_CLAIM_S`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from ideas.pg import connection_lost
from ideas.tables import Event

TTL_S = 24 * 3600
STALE_CLAIM_S = 60
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Stored:
    body_digest: str
    status: int  # 0 while the first request runs
    content_type: str
    sealed: str
    created_epoch: float


def key_digest(secret: str, caller: str, route: str, key: str) -> str:
    message = "\n".join((caller, route, key)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _stream(secret: str, key: str, length: int) -> bytes:
    seed = hmac.new(secret.encode(), b"seal\n" + key.encode(), hashlib.sha256).digest()
    return hashlib.shake_256(seed).digest(length)


def _xor(data: bytes, stream: bytes) -> bytes:
    mixed = int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")
    return mixed.to_bytes(len(data), "big")


def seal(secret: str, key: str, content: bytes) -> str:
    return base64.b64encode(_xor(content, _stream(secret, key, len(content)))).decode()


def unseal(secret: str, key: str, sealed: str) -> bytes:
    raw = base64.b64decode(sealed)
    return _xor(raw, _stream(secret, key, len(raw)))


async def _query(sql: str, *args) -> list[dict]:
    return await Event.raw(sql, *args).run()


async def _again_if_lost(sql: str, *args) -> None:
    """A statement that may run twice (a DELETE or UPDATE by key): once more
    when the connection was lost under it."""
    try:
        await _query(sql, *args)
    except Exception as exc:
        if not connection_lost(exc):
            raise
        await _query(sql, *args)


async def claim(digest: str, body: str, now: float | None = None) -> Stored | None:
    """Claim the row for this request: None when it is ours (run the
    request), else what is stored (a finished answer, or a claim in flight)."""
    now = time.time() if now is None else now
    await _query("DELETE FROM idempotent_request WHERE created_epoch < {}", now - TTL_S)
    await _query(
        "DELETE FROM idempotent_request WHERE key_digest = {} AND status = 0 "
        "AND created_epoch < {}",
        digest,
        now - STALE_CLAIM_S,
    )
    inserted = await _query(
        "INSERT INTO idempotent_request (key_digest, body_digest, created_epoch) "
        "VALUES ({}, {}, {}) ON CONFLICT (key_digest) DO NOTHING RETURNING key_digest",
        digest,
        body,
        now,
    )
    if inserted:
        return None
    rows = await _query(
        "SELECT body_digest, status, content_type, sealed, created_epoch "
        "FROM idempotent_request WHERE key_digest = {}",
        digest,
    )
    if not rows:  # gone between the two statements (expired): try once more
        return await claim(digest, body, now)
    return Stored(**rows[0])


async def store(digest: str, status: int, content_type: str, sealed: str) -> None:
    await _again_if_lost(
        "UPDATE idempotent_request SET status = {}, content_type = {}, sealed = {} "
        "WHERE key_digest = {}",
        status,
        content_type,
        sealed,
        digest,
    )


async def release(digest: str) -> None:
    await _again_if_lost("DELETE FROM idempotent_request WHERE key_digest = {}", digest)
