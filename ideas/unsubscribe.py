"""One-click unsubscribe (RFC 8058): every notice e-mail carries
`List-Unsubscribe` with a signed link that switches that kind of e-mail off
for its recipient, and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.

The link is `<BASE_URL>/unsubscribe/<token>`: the recipient's id and an
HMAC-SHA256 (under SECRET_KEY) of their id and the kind, so nobody can
switch someone else's mail off. The kind itself is not in the token (the
server finds it by checking the MAC against each kind): a mail's headers
must not tell a reader that it is about the recipient's own idea. It does
not expire: a mail read months later still works. The in-app notices stay;
only the e-mail of that kind stops.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.errors import NotFound
from ideas.tables import User

#: the digest's switch (User.digest), beside the per-kind ones (User.email_off)
DIGEST = "weekly_digest"


def _sign(payload: bytes) -> str:
    key = get_settings().secret_key.encode()
    mac = hmac.new(key, b"unsubscribe:" + payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _kinds() -> list[str]:
    from ideas.notify import EMAIL_OPTIONAL

    return [*EMAIL_OPTIONAL, DIGEST]


def token_for(user_id, kind: str) -> str:
    user = uuid.UUID(str(user_id))
    return f"{_b64(user.bytes)}.{_sign(user.bytes + b':' + kind.encode())}"


def url_for(user_id, kind: str) -> str:
    return f"{get_settings().base_url}/unsubscribe/{token_for(user_id, kind)}"


def read(token: str) -> tuple[uuid.UUID, str]:
    """(user id, kind) of a token this server signed; NotFound otherwise."""
    try:
        body, signature = token.split(".", 1)
        user = uuid.UUID(bytes=base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        raise NotFound("no such unsubscribe link") from None
    for kind in _kinds():
        if hmac.compare_digest(signature, _sign(user.bytes + b":" + kind.encode())):
            return user, kind
    raise NotFound("no such unsubscribe link")


def _kind_label(kind: str) -> str:
    from ideas.notify import KINDS

    return KINDS.get(kind, kind)


async def describe(token: str) -> str:
    """What the link switches off, in words (for the confirmation page)."""
    _user, kind = read(token)
    return _kind_label(kind)


async def apply(token: str) -> str:
    """Switch the token's kind of e-mail off for its recipient (idempotent);
    answers what was switched off, in words."""
    from ideas.notify import EMAIL_OPTIONAL

    user_id, kind = read(token)
    async with write_transaction():
        rows = await User.select(User.email_off).where(User.id == user_id).run()
        if not rows:
            raise NotFound("no such unsubscribe link")
        if kind == DIGEST:
            await User.update({User.digest: False}).where(User.id == user_id).run()
        elif kind in EMAIL_OPTIONAL:
            off = rows[0]["email_off"]
            if isinstance(off, str):
                off = json.loads(off or "[]")
            off = [k for k in off or [] if isinstance(k, str)]
            if kind not in off:
                await User.update({User.email_off: [*off, kind]}).where(User.id == user_id).run()
        else:
            raise NotFound("no such unsubscribe link")
    return _kind_label(kind)


__all__ = ["DIGEST", "apply", "describe", "read", "token_for", "url_for"]
