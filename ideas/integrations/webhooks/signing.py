"""Standard Webhooks signing: an endpoint's secret and each attempt's headers."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from standardwebhooks.webhooks import Webhook


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign_headers(secret: str, message_id: str, payload: str, at: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt (signed now, same id)."""
    signature = Webhook(secret).sign(message_id, at, payload)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
