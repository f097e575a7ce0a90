"""One-click unsubscribe (RFC 8058): every notice e-mail carries
`List-Unsubscribe` with a signed link that switches that kind of e-mail off
for its recipient, and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.

The link is `<BASE_URL>/unsubscribe/<token>`: the recipient's id, a random
nonce made for that one mail, and an HMAC-SHA256 (under SECRET_KEY) of id,
nonce and kind, so nobody can switch someone else's mail off. The kind
itself is not in the token (the server finds it by checking the MAC against
each kind), and the nonce makes two mails' links differ: a mail's headers
must neither tell a reader that it is about the recipient's own idea nor
link one mail to another of the same kind. Tokens of the older form
(id and MAC, no nonce) are still accepted. It does not expire: a mail read
months later still works. The in-app notices stay; only the e-mail of that
kind stops. The pages behind the link never name the kind either (anyone who
saw the header can open them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid

from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.errors import NotFound
from ideas.notify.kinds import EMAIL_OPTIONAL, KINDS
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
    return [*EMAIL_OPTIONAL, DIGEST]


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_for(user_id, kind: str) -> str:
    """A fresh token each call: a random nonce is signed along, so no two
    mails carry the same link."""
    user = uuid.UUID(str(user_id))
    nonce = secrets.token_bytes(12)
    mac = _sign(user.bytes + b":" + nonce + b":" + kind.encode())
    return f"{_b64(user.bytes)}.{_b64(nonce)}.{mac}"


def url_for(user_id, kind: str) -> str:
    return f"{get_settings().base_url}/unsubscribe/{token_for(user_id, kind)}"


def read(token: str) -> tuple[uuid.UUID, str]:
    """(user id, kind) of a token this server signed; NotFound otherwise."""
    try:
        parts = token.split(".")
        if len(parts) == 3:  # id.nonce.mac
            body, nonce_text, signature = parts
            nonce = _unb64(nonce_text)
            if len(nonce) != 12:
                raise ValueError("nonce")
            salt = nonce + b":"
        elif len(parts) == 2:  # older links: id.mac
            body, signature = parts
            salt = b""
        else:
            raise ValueError("parts")
        user = uuid.UUID(bytes=_unb64(body))
    except (ValueError, TypeError):
        raise NotFound("no such unsubscribe link") from None
    for kind in _kinds():
        expected = _sign(user.bytes + b":" + salt + kind.encode())
        if hmac.compare_digest(signature.encode(), expected.encode()):
            return user, kind
    raise NotFound("no such unsubscribe link")


def _kind_label(kind: str) -> str:
    return KINDS.get(kind, kind)


async def describe(token: str) -> str:
    """What the link switches off, in words. Not for the public pages behind
    the link: whoever saw a mail's header can open them, and the kind would
    tell them the mail is about the recipient's own idea."""
    _user, kind = read(token)
    return _kind_label(kind)


async def apply(token: str) -> str:
    """Switch the token's kind of e-mail off for its recipient (idempotent);
    answers what was switched off, in words."""
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
