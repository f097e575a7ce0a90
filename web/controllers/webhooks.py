"""Outgoing webhooks and chat channels: the admin API and the admin pages.

Admins only (the guard on each controller; the domain checks the role too).
A webhook's secret is shown once: in the answer that makes it and in the
one that rotates it, never in a list, a redirect or a log.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from ideas.config import get_settings
from ideas.context import Context
from ideas.errors import Invalid
from ideas.integrations import webhooks
from ideas.integrations.webhooks import AttemptOut, WebhookCreated, WebhookIn, WebhookOut
from ideas.schemas import Page
from web.auth import admin
from web.controllers.pages import page
from web.deps import Ctx
from web.idempotency import IDEMPOTENT

log = logging.getLogger("touchpoint.web")

NOTICES = {
    "deleted": "Removed.",
    "on": "Switched on: deliveries start again.",
    "off": "Switched off: nothing is sent to it until it is switched on again.",
    "again": "Queued to be sent again, with the same message id.",
}

KIND_LABELS = {"webhook": "Webhook", "slack": "Slack channel", "teams": "Teams channel"}


class WebhooksApi(Controller):
    path = "/api/v1/webhooks"
    guards = [admin]
    tags = ["webhooks"]

    @post("/", status_code=201, opt=IDEMPOTENT)
    async def create_webhook(self, ctx: Ctx, data: JSONBody[WebhookIn]) -> WebhookCreated:
        """A new webhook; its signing secret is in this answer only."""
        made = await webhooks.create_endpoint(ctx, data.url, data.events)
        assert isinstance(made, WebhookCreated)
        return made

    @get("/")
    async def list_webhooks(self, ctx: Ctx) -> Page[WebhookOut]:
        """Every webhook, without secrets."""
        items = await webhooks.list_endpoints(ctx, "webhook")
        return Page[WebhookOut](items=items, next_cursor=None)

    @delete("/{webhook_id:str}", status_code=204)
    async def delete_webhook(self, ctx: Ctx, webhook_id: FromPath[str]) -> None:
        """Remove a webhook and its delivery log."""
        await webhooks.delete_endpoint(ctx, webhook_id)

    @get("/{webhook_id:str}/deliveries")
    async def deliveries(self, ctx: Ctx, webhook_id: FromPath[str]) -> Page[AttemptOut]:
        """The delivery log, newest attempt first (the last 100)."""
        items = await webhooks.list_attempts(ctx, webhook_id)
        return Page[AttemptOut](items=items, next_cursor=None)


def _page(request: Request, name: str, status_code: int = 200, **extra: Any) -> Template:
    return page(
        request,
        name,
        status_code=status_code,
        section="webhooks",
        notice=NOTICES.get(request.query_params.get("notice", "")),
        kind_labels=KIND_LABELS,
        **extra,
    )


def _see(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


async def _enqueue(request: Request, delivery_id: int, attempts: int) -> None:
    redis = request.app.state.get("redis")
    if redis is None:
        return
    try:
        await redis.enqueue_job(
            webhooks.DELIVER_WEBHOOK,
            delivery_id,
            _job_id=webhooks.job_id(delivery_id, attempts) + ":again",
        )
    except Exception as exc:  # the sweep sends it when Redis is back
        log.warning("enqueue of webhook delivery %s failed (%s)", delivery_id, exc)


class WebhookPages(Controller):
    path = "/admin/webhooks"
    guards = [admin]
    include_in_schema = False

    async def _list(
        self, request: Request, ctx: Context, status_code: int = 200, **extra: Any
    ) -> Template:
        settings = get_settings()
        extra.setdefault("errors", {})
        extra.setdefault("values", {})
        return _page(
            request,
            "admin_webhooks.html",
            status_code=status_code,
            endpoints=await webhooks.list_endpoints(ctx, None),
            events=webhooks.EVENTS,
            chat_events=webhooks.CHAT_EVENTS,
            slack_ready=bool(settings.slack_bot_token and settings.slack_signing_secret),
            **extra,
        )

    @get("/")
    async def index(self, request: Request, ctx: Ctx) -> Template:
        return await self._list(request, ctx)

    @post("/")
    async def create(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Template:
        kind = data.get("kind", "webhook")
        events = [e for e in webhooks.EVENTS if data.get(f"event:{e}") == "on"]
        if kind != "webhook":
            events = list(webhooks.CHAT_EVENTS)
        try:
            made = await webhooks.create_endpoint(ctx, data.get("url", ""), events, kind)
        except Invalid as exc:
            return await self._list(
                request,
                ctx,
                status_code=422,
                errors={exc.field: exc.reason[:1].upper() + exc.reason[1:] + "."},
                values={"kind": kind, "url": data.get("url", ""), "events": events},
            )
        return await self._detail(request, ctx, made.id, created=made)

    async def _detail(
        self, request: Request, ctx: Context, endpoint_id: str, **extra: Any
    ) -> Template:
        endpoint = await webhooks.get_endpoint(ctx, endpoint_id)
        return _page(
            request,
            "admin_webhook.html",
            endpoint=endpoint,
            attempts=await webhooks.list_attempts(ctx, endpoint.id),
            **extra,
        )

    @get("/{endpoint_id:str}")
    async def detail(self, request: Request, ctx: Ctx, endpoint_id: FromPath[str]) -> Template:
        return await self._detail(request, ctx, endpoint_id)

    @post("/{endpoint_id:str}/rotate")
    async def rotate(self, request: Request, ctx: Ctx, endpoint_id: FromPath[str]) -> Template:
        made = await webhooks.rotate_secret(ctx, endpoint_id)
        return await self._detail(request, ctx, made.id, created=made, rotated=True)

    @post("/{endpoint_id:str}/active")
    async def set_active(
        self,
        ctx: Ctx,
        endpoint_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Redirect:
        on = data.get("active", "") in ("on", "1", "true", "yes")
        endpoint = await webhooks.set_active(ctx, endpoint_id, on)
        return _see(f"/admin/webhooks/{endpoint.id}?notice={'on' if on else 'off'}")

    @post("/{endpoint_id:str}/delete")
    async def remove(self, ctx: Ctx, endpoint_id: FromPath[str]) -> Redirect:
        await webhooks.delete_endpoint(ctx, endpoint_id)
        return _see("/admin/webhooks?notice=deleted")

    @post("/deliveries/{delivery_id:str}/again")
    async def send_again(self, request: Request, ctx: Ctx, delivery_id: FromPath[str]) -> Redirect:
        endpoint_id, attempts = await webhooks.send_again(ctx, delivery_id)
        await _enqueue(request, int(delivery_id), attempts)
        return _see(f"/admin/webhooks/{endpoint_id}?notice=again")


ROUTES = [WebhooksApi, WebhookPages]
