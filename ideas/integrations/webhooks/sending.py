"""Sending one delivery once: through the SSRF guard, with a timeout and a
cap on the answer read; retried with exponential back-off, the endpoint
switched off (and admins told) after `disable_after` failures in a row."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

from ideas import clock
from ideas.config import get_settings
from ideas.db import write_transaction
from ideas.integrations import ssrf
from ideas.integrations.webhooks.signing import sign_headers
from ideas.tables import (
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

#: characters of an answer kept in the delivery log
EXCERPT = 500


@dataclass(frozen=True)
class Tuning:
    """Delivery knobs (TOUCHPOINT_WEBHOOK_*, checked in ideas/config.py)."""

    timeout_s: float = 10.0
    max_response_bytes: int = 64 * 1024
    retry_base_s: float = 30.0
    retry_cap_s: float = 3600.0
    max_attempts: int = 12
    disable_after: int = 25


def tuning() -> Tuning:
    w = get_settings().worker
    return Tuning(
        timeout_s=w.webhook_timeout_s,
        max_response_bytes=w.webhook_max_response_bytes,
        retry_base_s=w.webhook_retry_base_s,
        retry_cap_s=w.webhook_retry_cap_s,
        max_attempts=w.webhook_max_attempts,
        disable_after=w.webhook_disable_after,
    )


def backoff(attempts: int, t: Tuning) -> float:
    return min(t.retry_cap_s, t.retry_base_s * 2 ** max(0, attempts - 1))


# -- sending ----------------------------------------------------------------------------------


@dataclass
class Answer:
    """What one attempt got back."""

    status_code: int | None
    ok: bool
    excerpt: str
    latency_ms: int


@dataclass
class AttemptResult:
    delivery_id: int
    outcome: str  # delivered, retry, failed, skipped, already, not_due, gone
    attempts: int = 0
    retry_at: dt.datetime | None = None
    status_code: int | None = None
    disabled: bool = False


async def post_checked(
    url: str,
    body: bytes,
    headers: dict[str, str],
    t: Tuning,
    resolver: ssrf.Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Answer:
    """POST through the SSRF guard: to the address checked (https: the URL's
    host name in SNI and in the certificate check), no redirects followed,
    the whole exchange within `t.timeout_s`, at most `t.max_response_bytes`
    of the answer read. `verify`: the trusted CAs (tests bring their own)."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = await ssrf.resolve(url, get_settings().webhook_allowed_hosts, resolver)
    except ssrf.Refused as exc:
        return Answer(None, False, f"refused: {exc}", took())
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    all_headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": "Touchpoint-Webhooks/1",
        **headers,
    }
    try:
        async with asyncio.timeout(t.timeout_s):
            async with httpx.AsyncClient(
                timeout=t.timeout_s, follow_redirects=False, trust_env=False, verify=verify
            ) as client:
                request = client.build_request(
                    "POST",
                    target.connect_url,
                    content=body,
                    headers=all_headers,
                    extensions=extensions,
                )
                response = await client.send(request, stream=True)
                try:
                    read = bytearray()
                    async for chunk in response.aiter_raw():
                        read += chunk
                        if len(read) >= t.max_response_bytes:
                            break
                finally:
                    await response.aclose()
    except TimeoutError:
        return Answer(None, False, f"timed out after {t.timeout_s:g} s", took())
    except httpx.HTTPError as exc:
        return Answer(None, False, f"{type(exc).__name__}: {exc}"[:EXCERPT], took())
    excerpt = bytes(read[: EXCERPT * 4]).decode("utf-8", "replace")[:EXCERPT]
    ok = 200 <= response.status_code < 300
    return Answer(response.status_code, ok, excerpt, took())


async def _send(delivery: dict, t: Tuning, resolver, now: dt.datetime) -> Answer:
    kind = delivery["kind"]
    if kind == "webhook":
        headers = sign_headers(
            delivery["secret"], delivery["message_id"], delivery["payload"], clock.now()
        )
        return await post_checked(
            delivery["url"], delivery["payload"].encode(), headers, t, resolver
        )
    envelope_ = json.loads(delivery["payload"])
    if kind == "teams":
        from ideas.integrations import teams

        body = json.dumps(teams.message_for(envelope_)).encode()
        return await post_checked(delivery["url"], body, {}, t, resolver)
    from ideas.integrations import slack

    return await slack.post_to_channel(delivery["url"], envelope_, t)


async def _tell_admins(endpoint: dict, now: dt.datetime) -> None:
    """A notice (and its e-mail) to every active admin: the endpoint is off."""
    text = (
        f"The {endpoint['kind']} endpoint {endpoint['url'][:200]} was switched off after "
        f"{endpoint['failures']} failed deliveries in a row. Check it and switch it on "
        "again on the admin pages."
    )
    key = f"webhook_disabled:{endpoint['id']}:{now.isoformat()}:user:"
    await Notification.raw(
        'INSERT INTO notification ("user", event, idea, kind, text, dedup_key, created_at, '
        "email_status, email_attempts, email_error) "
        "SELECT u.id, NULL, NULL, 'webhook_disabled', {}, {} || CAST(u.id AS TEXT), {}, "
        "'pending', 0, '' FROM tp_user u WHERE u.active AND u.is_admin "
        "ON CONFLICT (dedup_key) DO NOTHING",
        text,
        key,
        now,
    ).run()


async def attempt_delivery(
    delivery_id: int,
    *,
    now: dt.datetime | None = None,
    t: Tuning | None = None,
    resolver: ssrf.Resolver | None = None,
) -> AttemptResult:
    """Send one delivery once, log the attempt and decide what comes next."""
    t = t or tuning()
    now = now or clock.now()
    rows = (
        await WebhookDelivery.select(
            WebhookDelivery.id,
            WebhookDelivery.message_id,
            WebhookDelivery.payload,
            WebhookDelivery.state,
            WebhookDelivery.attempts,
            WebhookDelivery.due_at,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.endpoint.as_alias("endpoint_id"),
            WebhookDelivery.endpoint.kind.as_alias("kind"),
            WebhookDelivery.endpoint.url.as_alias("url"),
            WebhookDelivery.endpoint.secret.as_alias("secret"),
            WebhookDelivery.endpoint.active.as_alias("active"),
        )
        .where(WebhookDelivery.id == delivery_id)
        .run()
    )
    if not rows:
        return AttemptResult(delivery_id, "gone")
    d = rows[0]
    if d["state"] != "pending":
        return AttemptResult(delivery_id, "already", d["attempts"])
    if not d["active"]:
        async with write_transaction():
            await (
                WebhookDelivery.update({WebhookDelivery.state: "skipped"})
                .where(WebhookDelivery.id == delivery_id)
                .run()
            )
        return AttemptResult(delivery_id, "skipped", d["attempts"])
    if d["due_at"] > now:
        return AttemptResult(delivery_id, "not_due", d["attempts"], retry_at=d["due_at"])
    answer = await _send(d, t, resolver, now)
    attempts = d["attempts"] + 1
    done_at = clock.now()
    disabled = False
    async with write_transaction():
        if not await WebhookDelivery.exists().where(WebhookDelivery.id == delivery_id).run():
            return AttemptResult(delivery_id, "gone", attempts, status_code=answer.status_code)
        await WebhookAttempt.insert(
            WebhookAttempt(
                delivery=delivery_id,
                endpoint=d["endpoint_id"],
                attempted_at=done_at,
                status_code=answer.status_code,
                ok=answer.ok,
                latency_ms=answer.latency_ms,
                response_excerpt=answer.excerpt,
            )
        ).run()
        values: dict[Any, Any] = {WebhookDelivery.attempts: attempts}
        if answer.ok:
            values.update(
                {WebhookDelivery.state: "delivered", WebhookDelivery.delivered_at: done_at}
            )
            values[WebhookDelivery.next_attempt_at] = None
            await (
                WebhookEndpoint.update({WebhookEndpoint.failures: 0})
                .where(WebhookEndpoint.id == d["endpoint_id"])
                .run()
            )
            outcome, retry_at = "delivered", None
        else:
            retry_at = now + dt.timedelta(seconds=backoff(attempts, t))
            if attempts >= t.max_attempts:
                values[WebhookDelivery.state] = "failed"
                values[WebhookDelivery.next_attempt_at] = None
                outcome, retry_at = "failed", None
            else:
                values[WebhookDelivery.next_attempt_at] = retry_at
                outcome = "retry"
            rows = await WebhookEndpoint.raw(
                "UPDATE webhook_endpoint SET failures = failures + 1 WHERE id = {} "
                "RETURNING id, kind, url, failures, active",
                d["endpoint_id"],
            ).run()
            endpoint = rows[0] if rows else None
            if endpoint and endpoint["active"] and endpoint["failures"] >= t.disable_after:
                await (
                    WebhookEndpoint.update(
                        {
                            WebhookEndpoint.active: False,
                            WebhookEndpoint.disabled_reason: (
                                f"switched off after {endpoint['failures']} failures in a row"
                            ),
                        }
                    )
                    .where(WebhookEndpoint.id == d["endpoint_id"])
                    .run()
                )
                await _tell_admins(endpoint, done_at)
                disabled = True
        await WebhookDelivery.update(values).where(WebhookDelivery.id == delivery_id).run()
    return AttemptResult(
        delivery_id, outcome, attempts, retry_at, answer.status_code, disabled=disabled
    )
