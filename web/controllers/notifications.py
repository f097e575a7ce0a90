"""Notifications: the inbox (API and page), the unread badge, and the
e-mail preferences page. Everyone sees and changes only their own."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Response, Template
from pydantic import BaseModel, ConfigDict

from ideas import inbox, policy
from ideas.context import Context
from ideas.inbox import MarkedOut, NoticeOut, NotificationSettings
from ideas.notify.kinds import EMAIL_OPTIONAL
from ideas.schemas import LIMIT_MAX, Page
from web.auth import staff
from web.controllers.pages import page
from web.deps import Ctx
from web.errors import is_htmx

Limit = Annotated[int, QueryParameter(ge=1, le=LIMIT_MAX, description="page size (default 25)")]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]


class NotificationSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: kinds to receive by e-mail; every other optional kind is switched off
    email_on: list[str]
    digest: bool


class NotificationsApi(Controller):
    path = "/api/v1/me"
    guards = [staff]
    tags = ["notifications"]

    @get("/notifications")
    async def list_notifications(
        self,
        ctx: Ctx,
        limit: Limit = 25,
        cursor: Cursor = None,
        unread: FromQuery[bool] = False,
    ) -> Page[NoticeOut]:
        """Your notices, newest first: `{id, at, idea_id, kind, text, read}`."""
        return await inbox.list_notices(ctx, limit=limit, cursor=cursor, unread_only=unread)

    @post("/notifications/{notice_id:str}/read", status_code=200)
    async def mark_read(self, ctx: Ctx, notice_id: FromPath[str]) -> NoticeOut:
        """Mark one of your notices read (another person's answers 404)."""
        return await inbox.mark_read(ctx, notice_id)

    @post("/notifications/read-all", status_code=200)
    async def mark_all_read(self, ctx: Ctx) -> MarkedOut:
        """Mark all your notices read."""
        return await inbox.mark_all_read(ctx)

    @get("/notification-settings")
    async def get_settings(self, ctx: Ctx) -> NotificationSettings:
        """Which notices you get by e-mail, and whether you get the weekly digest."""
        return await inbox.get_settings(ctx)

    @put("/notification-settings")
    async def put_settings(
        self, ctx: Ctx, data: JSONBody[NotificationSettingsIn]
    ) -> NotificationSettings:
        return await inbox.save_settings(ctx, data.email_on, data.digest)


class InboxPages(Controller):
    path = "/"
    guards = [staff]
    include_in_schema = False

    @get("/me/notifications")
    async def inboxpage(
        self,
        request: Request,
        ctx: Ctx,
        cursor: Cursor = None,
    ) -> Template:
        result = await inbox.list_notices(ctx, limit=50, cursor=cursor)
        context = {
            "notices": result.items,
            "next_cursor": result.next_cursor,
            "unread": await inbox.unread_count(ctx),
            "first_page": not cursor,
        }
        if is_htmx(request) and request.headers.get("hx-target") == "notice-list":
            return page(request, "_notice_list.html", **context)
        return page(request, "notifications.html", **context)

    @post("/me/notifications/{notice_id:str}/read")
    async def mark_read(
        self, request: Request, ctx: Ctx, notice_id: FromPath[str]
    ) -> Template | Response:
        notice = await inbox.mark_read(ctx, notice_id)
        if is_htmx(request):
            return page(
                request,
                "_notice.html",
                notice=notice,
                badge_oob=await inbox.unread_count(ctx),
            )
        return Redirect(path="/me/notifications", status_code=303)

    @post("/me/notifications/read-all")
    async def mark_all_read(self, request: Request, ctx: Ctx) -> Template | Response:
        await inbox.mark_all_read(ctx)
        if is_htmx(request):
            result = await inbox.list_notices(ctx, limit=50)
            return page(
                request,
                "_notice_list.html",
                notices=result.items,
                next_cursor=result.next_cursor,
                unread=0,
                first_page=True,
                oob_unread=0,
            )
        return Redirect(path="/me/notifications", status_code=303)

    @get("/fragments/unread")
    async def unread_badge(self, request: Request, ctx: Ctx) -> Template:
        """The header badge: the unread count, or nothing at all when 0."""
        return page(request, "_unread.html", unread=await inbox.unread_count(ctx))

    @get("/me/settings")
    async def settingspage(self, request: Request, ctx: Ctx) -> Template:
        prefs = await inbox.get_settings(ctx)
        return _settings_page(request, ctx, prefs, saved=False)

    @post("/me/settings")
    async def save_settings(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Template:
        # kinds not offered on this person's form (council notices, to
        # anyone outside the council) are left on
        offered = _offered(ctx)
        email_on = [k for k in EMAIL_OPTIONAL if data.get(f"email_{k}") == "on" or k not in offered]
        prefs = await inbox.save_settings(ctx, email_on, data.get("digest") == "on")
        return _settings_page(request, ctx, prefs, saved=True)


def _offered(ctx: Context) -> frozenset[str]:
    """The e-mail switches the settings page offers the person (the policy's
    `offers_email_choice`)."""
    roles = frozenset(ctx.actor.roles)
    return frozenset(k for k in EMAIL_OPTIONAL if policy.offers_email_choice(k, roles))


def _settings_page(
    request: Request, ctx: Context, prefs: NotificationSettings, saved: bool
) -> Template:
    return page(
        request, "notification_settings.html", prefs=prefs, offered=_offered(ctx), saved=saved
    )


ROUTES = [NotificationsApi, InboxPages]
