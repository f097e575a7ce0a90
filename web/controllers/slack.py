"""Requests from Slack: the slash command, interactions (shortcut, modal)
and the Events API (URL check, link unfurls).

Anyone on the internet can reach these URLs, so every request must carry
Slack's signature over its exact body and a fresh timestamp (checked with
slack_sdk's verifier): a missing, stale or wrong one is 401, before anything
is read. The Slack user acts as the Touchpoint person with their confirmed
e-mail address; the domain checks that, not the route.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from litestar import Controller, MediaType, Request, post
from litestar.response import Response

from ideas.integrations import slack
from web.auth import public
from web.deps import limiter_of


def _refused() -> Response:
    return Response(
        {"status_code": 401, "detail": "missing, stale or wrong Slack signature"},
        status_code=401,
        media_type=MediaType.JSON,
    )


def _answer(body: dict[str, Any] | None) -> Response:
    if body is None:
        return Response(b"", status_code=200, media_type=MediaType.TEXT)
    return Response(body, status_code=200, media_type=MediaType.JSON)


async def _verified_form(request: Request) -> tuple[bytes, dict[str, str]] | None:
    body = await request.body()
    if not slack.verify(body, {k.lower(): v for k, v in request.headers.items()}):
        return None
    return body, dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class SlackRequests(Controller):
    path = "/integrations/slack"
    guards = [public]
    include_in_schema = False

    @post("/commands", status_code=200)
    async def commands(self, request: Request) -> Response:
        verified = await _verified_form(request)
        if verified is None:
            return _refused()
        return _answer(await slack.slash_command(verified[1]))

    @post("/interactions", status_code=200)
    async def interactions(self, request: Request) -> Response:
        verified = await _verified_form(request)
        if verified is None:
            return _refused()
        try:
            payload = json.loads(verified[1].get("payload") or "{}")
        except ValueError:
            return Response({"detail": "payload is not JSON"}, status_code=400)
        limiter = limiter_of(request)

        async def limit(viewer) -> None:
            await limiter.hit("idea", str(viewer.id))

        return _answer(await slack.interaction(payload, limit))

    @post("/events", status_code=200)
    async def events(self, request: Request) -> Response:
        body = await request.body()
        if not slack.verify(body, {k.lower(): v for k, v in request.headers.items()}):
            return _refused()
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return Response({"detail": "body is not JSON"}, status_code=400)
        return _answer(await slack.event(payload))


ROUTES = [SlackRequests]
