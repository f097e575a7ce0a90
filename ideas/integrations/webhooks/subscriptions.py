"""The endpoints admins subscribe (webhooks, Slack and Teams channels): make,
list, switch on and off, rotate a secret, read the delivery log, send again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ideas import audit, policy
from ideas.config import get_settings
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.integrations import ssrf
from ideas.integrations.webhooks.events import CHAT_EVENTS, EVENTS, KINDS
from ideas.integrations.webhooks.signing import new_secret
from ideas.tables import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

# -- admin: endpoints ---------------------------------------------------------------------


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    events: list[str] = Field(max_length=len(EVENTS))


class WebhookOut(BaseModel):
    id: str
    kind: str
    url: str
    events: list[str]
    active: bool
    failures: int
    disabled_reason: str


class WebhookCreated(WebhookOut):
    """Answered once, when an endpoint is made or its secret rotated."""

    secret: str


class AttemptOut(BaseModel):
    id: str
    delivery_id: str
    event_id: str
    event: str
    attempted_at: dt.datetime
    status_code: int | None
    ok: bool
    latency_ms: int
    response_excerpt: str


def _endpoint_out(row: dict, secret: str | None = None) -> WebhookOut:
    fields = dict(
        id=str(row["id"]),
        kind=row["kind"],
        url=row["url"],
        events=list(row["events"] or []),
        active=row["active"],
        failures=row["failures"],
        disabled_reason=row["disabled_reason"],
    )
    return WebhookCreated(**fields, secret=secret) if secret else WebhookOut(**fields)


def _check_url(url: str, field: str = "url") -> str:
    url = (url or "").strip()
    if not url:
        raise Invalid(field, "give the URL to post to")
    if len(url) > 2000:
        raise Invalid(field, "at most 2000 characters")
    try:
        ssrf.check_literal(url, get_settings().webhook_allowed_hosts)
    except ssrf.Refused as exc:
        raise Invalid(field, str(exc)) from None
    return url


def _check_events(events: Sequence[str], kind: str) -> list[str]:
    allowed = EVENTS if kind == "webhook" else CHAT_EVENTS
    if not events:
        raise Invalid("events", f"choose at least one of {', '.join(allowed)}")
    unknown = [e for e in events if e not in allowed]
    if unknown:
        raise Invalid("events", f"unknown event {unknown[0]!r}; known: {', '.join(allowed)}")
    return [e for e in allowed if e in set(events)]


def parse_endpoint_id(raw: str | int) -> int:
    try:
        value = int(str(raw))
        if not 0 < value < 2**31:
            raise ValueError
        return value
    except ValueError:
        raise NotFound("no such webhook") from None


async def create_endpoint(
    ctx: Context, url: str, events: Sequence[str], kind: str = "webhook"
) -> WebhookOut:
    """A new endpoint (admins); a webhook's secret is in the answer, and only there."""
    policy.authorize(ctx.actor, "admin.manage")
    if kind not in KINDS:
        raise Invalid("kind", f"one of {', '.join(KINDS)}")
    if kind == "slack":
        url = (url or "").strip()
        if not url or len(url) > 80 or not url.replace("-", "").replace("_", "").isalnum():
            raise Invalid("channel", "give the Slack channel id, e.g. C0123456789")
    else:
        url = _check_url(url)
    if kind != "webhook" and not events:
        events = list(CHAT_EVENTS)
    events = _check_events(events, kind)
    secret = new_secret() if kind == "webhook" else ""
    async with write_transaction():
        endpoint = WebhookEndpoint(
            kind=kind, url=url, events=events, active=True, secret=secret, created_at=ctx.now
        )
        await endpoint.save().run()
        await audit.record(ctx.actor, f"{kind}.create", url, {"events": events})
    row = await _endpoint_row(endpoint.id)
    return _endpoint_out(row, secret if kind == "webhook" else None)


async def _endpoint_row(endpoint_id: int) -> dict:
    rows = (
        await WebhookEndpoint.select()
        .where(WebhookEndpoint.id == endpoint_id)
        .output(load_json=True)
        .run()
    )
    if not rows:
        raise NotFound("no such webhook")
    return rows[0]


async def list_endpoints(ctx: Context, kind: str | None = "webhook") -> list[WebhookOut]:
    policy.authorize(ctx.actor, "admin.manage")
    query = WebhookEndpoint.select().output(load_json=True).order_by(WebhookEndpoint.id)
    if kind:
        query = query.where(WebhookEndpoint.kind == kind)
    return [_endpoint_out(r) for r in await query.run()]


async def get_endpoint(ctx: Context, endpoint_id: str | int) -> WebhookOut:
    policy.authorize(ctx.actor, "admin.manage")
    return _endpoint_out(await _endpoint_row(parse_endpoint_id(endpoint_id)))


async def delete_endpoint(ctx: Context, endpoint_id: str | int) -> None:
    policy.authorize(ctx.actor, "admin.manage")
    row = await _endpoint_row(parse_endpoint_id(endpoint_id))
    async with write_transaction():
        await WebhookEndpoint.delete().where(WebhookEndpoint.id == row["id"]).run()
        await audit.record(ctx.actor, f"{row['kind']}.delete", row["url"])


async def rotate_secret(ctx: Context, endpoint_id: str | int) -> WebhookOut:
    """A new secret, shown once; the old one stops signing at once."""
    policy.authorize(ctx.actor, "admin.manage")
    row = await _endpoint_row(parse_endpoint_id(endpoint_id))
    if row["kind"] != "webhook":
        raise Conflict("only webhooks have a signing secret")
    secret = new_secret()
    async with write_transaction():
        await (
            WebhookEndpoint.update({WebhookEndpoint.secret: secret})
            .where(WebhookEndpoint.id == row["id"])
            .run()
        )
        await audit.record(ctx.actor, "webhook.rotate", row["url"])
    return _endpoint_out(await _endpoint_row(row["id"]), secret)


async def set_active(ctx: Context, endpoint_id: str | int, active: bool) -> WebhookOut:
    """Switch an endpoint on (its failure count starts again) or off."""
    policy.authorize(ctx.actor, "admin.manage")
    row = await _endpoint_row(parse_endpoint_id(endpoint_id))
    values: dict[Any, Any] = {WebhookEndpoint.active: active, WebhookEndpoint.disabled_reason: ""}
    if active:
        values[WebhookEndpoint.failures] = 0
    async with write_transaction():
        await WebhookEndpoint.update(values).where(WebhookEndpoint.id == row["id"]).run()
        await audit.record(
            ctx.actor, f"{row['kind']}.{'activate' if active else 'deactivate'}", row["url"]
        )
    return _endpoint_out(await _endpoint_row(row["id"]))


async def list_attempts(ctx: Context, endpoint_id: str | int, limit: int = 100) -> list[AttemptOut]:
    """The delivery log of one endpoint, newest first."""
    policy.authorize(ctx.actor, "admin.manage")
    row = await _endpoint_row(parse_endpoint_id(endpoint_id))
    rows = (
        await WebhookAttempt.select(
            WebhookAttempt.id,
            WebhookAttempt.delivery,
            WebhookAttempt.delivery.message_id.as_alias("message_id"),
            WebhookAttempt.delivery.event.as_alias("event"),
            WebhookAttempt.attempted_at,
            WebhookAttempt.status_code,
            WebhookAttempt.ok,
            WebhookAttempt.latency_ms,
            WebhookAttempt.response_excerpt,
        )
        .where(WebhookAttempt.endpoint == row["id"])
        .order_by(WebhookAttempt.id, ascending=False)
        .limit(limit)
        .run()
    )
    return [
        AttemptOut(
            id=str(r["id"]),
            delivery_id=str(r["delivery"]),
            event_id=r["message_id"],
            event=r["event"],
            attempted_at=r["attempted_at"],
            status_code=r["status_code"],
            ok=r["ok"],
            latency_ms=r["latency_ms"],
            response_excerpt=r["response_excerpt"],
        )
        for r in rows
    ]


async def send_again(ctx: Context, delivery_id: str | int) -> tuple[str, int]:
    """Make a delivery due again (same message, same id); returns its
    endpoint's id and its attempts so far (for the job id)."""
    policy.authorize(ctx.actor, "admin.manage")
    try:
        did = int(str(delivery_id))
        if not 0 < did < 2**31:
            raise ValueError
    except ValueError:
        raise NotFound("no such delivery") from None
    async with write_transaction():
        rows = (
            await WebhookDelivery.select(
                WebhookDelivery.id,
                WebhookDelivery.attempts,
                WebhookDelivery.endpoint,
                WebhookDelivery.endpoint.url.as_alias("url"),
            )
            .where(WebhookDelivery.id == did)
            .run()
        )
        if not rows:
            raise NotFound("no such delivery")
        await (
            WebhookDelivery.update(
                {WebhookDelivery.state: "pending", WebhookDelivery.next_attempt_at: ctx.now}
            )
            .where(WebhookDelivery.id == did)
            .run()
        )
        await audit.record(ctx.actor, "webhook.send_again", rows[0]["url"], {"delivery": did})
    return str(rows[0]["endpoint"]), rows[0]["attempts"]
