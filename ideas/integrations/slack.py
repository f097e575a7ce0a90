"""Slack: posts to a channel an admin chose (shipped ideas, the weekly
summary) and, in `slack_app`, the app's slash command, shortcut, modal and
link unfurls. Messages are Block Kit built with `slack_sdk.models` from a
delivery's envelope: only what the blind projection shows a staff member.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from ideas.config import get_settings


def client() -> WebClient:
    settings = get_settings()
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)


def escape(text: str) -> str:
    """Slack mrkdwn: &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def idea_url(idea_id: str) -> str:
    return f"{get_settings().base_url}/ideas/{idea_id}"


def _open_button(url: str, label: str = "Open in Touchpoint") -> ActionsBlock:
    return ActionsBlock(elements=[ButtonElement(text=label, url=url, action_id="open")])


def shipped_blocks(data: dict[str, Any]) -> list[Block]:
    idea = data["idea"]
    blocks: list[Block] = [HeaderBlock(text=f"Shipped: {idea['title']}"[:150])]
    if data.get("ship_note"):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=escape(data["ship_note"])[:2900])))
    facts = [f"*Votes:* {idea['votes']}"]
    impact = data.get("impact")
    if impact:
        facts.append(f"*{escape(impact['metric'])}:* {impact['before']:g} → {impact['after']:g}")
    names = [c["name"] for c in idea.get("credited_to") or []]
    if names:
        facts.append("*Thanks to:* " + escape(", ".join(names)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f) for f in facts]))
    blocks.append(_open_button(idea_url(idea["id"])))
    return blocks


def summary_blocks(data: dict[str, Any]) -> list[Block]:
    lines = [f"*{data['submitted']}* new ideas, *{len(data['shipped'])}* shipped."]
    if data["shipped"]:
        lines.append("*Shipped*")
        lines += [f"• <{idea_url(i['id'])}|{escape(i['title'])}>" for i in data["shipped"]]
    if data["top"]:
        lines.append("*Most wanted*")
        lines += [
            f"• <{idea_url(i['id'])}|{escape(i['title'])}> ({i['votes']} votes)"
            for i in data["top"]
        ]
    return [
        HeaderBlock(text=f"Touchpoint this week ({data['week']})"),
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:2900])),
        _open_button(f"{get_settings().base_url}/", "Open the board"),
    ]


def message_for(envelope: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks as JSON) of a channel post."""
    data = envelope["data"]
    if envelope["type"] == "summary.weekly":
        text, blocks = f"Touchpoint this week ({data['week']})", summary_blocks(data)
    else:
        text, blocks = f"Shipped: {data['idea']['title']}", shipped_blocks(data)
    return text, [b.to_dict() for b in blocks]


async def post_to_channel(channel: str, envelope: dict[str, Any], t: Any):
    """chat.postMessage as the bot; the answer in the shape of the delivery log."""
    from ideas.integrations.webhooks import Answer

    if not get_settings().slack_bot_token:
        return Answer(None, False, "SLACK_BOT_TOKEN is not set", 0)
    text, blocks = message_for(envelope)
    started = time.monotonic()
    try:
        response = await asyncio.wait_for(
            asyncio.to_thread(client().chat_postMessage, channel=channel, text=text, blocks=blocks),
            t.timeout_s,
        )
        status, ok, excerpt = response.status_code, True, "ok"
    except SlackApiError as exc:
        status, ok = exc.response.status_code, False
        excerpt = str(exc.response.get("error") or exc)[:500]
    except (TimeoutError, OSError) as exc:
        status, ok, excerpt = None, False, f"{type(exc).__name__}: {exc}"[:500]
    return Answer(status, ok, excerpt, int((time.monotonic() - started) * 1000))


# -- the Slack app: slash command, shortcut, modal, unfurls -----------------------------------

#: callback ids of the modal and the message shortcut (set in the Slack app's settings)
MODAL_CALLBACK = "touchpoint_submit_idea"
SHORTCUT_CALLBACK = "suggest_cx_idea"
NO_ACCESS = (
    "Touchpoint does not know a colleague with the e-mail address of your Slack account. "
    "Ask a Touchpoint admin to add you (Admin → People) with that address, then try again."
)


def verify(body: bytes, headers: dict[str, str]) -> bool:
    """Slack's request signature and timestamp (at most 5 minutes old),
    checked with slack_sdk's verifier; False when no signing secret is set."""
    from slack_sdk.signature import SignatureVerifier

    secret = get_settings().slack_signing_secret
    if not secret:
        return False
    return SignatureVerifier(secret).is_valid(
        body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
    )


async def _call(method: str, **kwargs: Any) -> Any:
    api = client()
    return await asyncio.to_thread(getattr(api, method), **kwargs)


async def person_for(slack_user_id: str):
    """The active Touchpoint person whose e-mail is the Slack user's confirmed
    e-mail (users.info), or None."""
    from ideas.tables import User
    from ideas.viewer import viewer_from_row

    try:
        info = await _call("users_info", user=slack_user_id)
    except SlackApiError:
        return None
    user = info.get("user") or {}
    email = ((user.get("profile") or {}).get("email") or "").strip().lower()
    if not email or user.get("is_email_confirmed") is False or user.get("deleted"):
        return None
    rows = (
        await User.select(
            User.id,
            User.name,
            User.email,
            User.department,
            User.is_council,
            User.is_leader,
            User.is_admin,
        )
        .where(User.email == email, User.active.eq(True))
        .run()
    )
    return viewer_from_row(rows[0]) if len(rows) == 1 else None


def idea_modal(title: str = "", problem: str = ""):
    """The modal of `/idea` and of the message shortcut (Block Kit)."""
    from slack_sdk.models.blocks import (
        InputBlock,
        Option,
        PlainTextInputElement,
        StaticSelectElement,
    )
    from slack_sdk.models.views import View

    from ideas.lifecycle import TOUCHPOINTS

    def text_input(block: str, label: str, value: str, multiline: bool, low: int, high: int):
        return InputBlock(
            block_id=block,
            label=label,
            element=PlainTextInputElement(
                action_id=block,
                initial_value=value[:high] or None,
                multiline=multiline,
                min_length=low,
                max_length=high,
            ),
        )

    return View(
        type="modal",
        callback_id=MODAL_CALLBACK,
        title="Suggest a CX idea",
        submit="Submit",
        close="Cancel",
        blocks=[
            text_input("title", "Title", title, False, 8, 140),
            text_input("problem", "The problem customers have", problem, True, 20, 3000),
            text_input("proposal", "Your proposal", "", True, 20, 3000),
            InputBlock(
                block_id="touchpoint",
                label="Where do customers meet this?",
                element=StaticSelectElement(
                    action_id="touchpoint",
                    options=[Option(value=t, label=t.capitalize()) for t in TOUCHPOINTS],
                ),
            ),
        ],
    )


async def open_modal(trigger_id: str, title: str = "", problem: str = "") -> None:
    await _call("views_open", trigger_id=trigger_id, view=idea_modal(title, problem))


async def slash_command(form: dict[str, str]) -> dict[str, Any] | None:
    """`/idea [title]`: the modal for a known colleague, else how to get access
    (an ephemeral answer only they see)."""
    if form.get("ssl_check"):
        return None  # Slack checking the certificate: nothing to do
    viewer = await person_for(form.get("user_id", ""))
    if viewer is None:
        return {"response_type": "ephemeral", "text": NO_ACCESS}
    await open_modal(form.get("trigger_id", ""), title=form.get("text", "").strip())
    return None


def _state_values(view: dict[str, Any]) -> dict[str, str]:
    out = {}
    for block, actions in ((view.get("state") or {}).get("values") or {}).items():
        for value in actions.values():
            if value.get("type") == "static_select":
                out[block] = ((value.get("selected_option") or {}).get("value")) or ""
            else:
                out[block] = value.get("value") or ""
    return out


async def interaction(
    payload: dict[str, Any], limit: Callable[[Any], Awaitable[None]] | None = None
) -> dict[str, Any] | None:
    """The message shortcut opens the modal prefilled with the message; the
    modal's submission creates the idea as the matched person (after
    `limit(viewer)`, the per-person rate limit of new ideas)."""
    kind = payload.get("type")
    user_id = (payload.get("user") or {}).get("id", "")
    if kind == "message_action" and payload.get("callback_id") == SHORTCUT_CALLBACK:
        viewer = await person_for(user_id)
        if viewer is None:
            await _call(
                "chat_postEphemeral",
                channel=(payload.get("channel") or {}).get("id", ""),
                user=user_id,
                text=NO_ACCESS,
            )
            return None
        text = ((payload.get("message") or {}).get("text") or "").strip()
        await open_modal(payload.get("trigger_id", ""), problem=text)
        return None
    view = payload.get("view") or {}
    if kind == "view_submission" and view.get("callback_id") == MODAL_CALLBACK:
        return await _submit(user_id, _state_values(view), limit)
    return None


async def _submit(
    user_id: str, values: dict[str, str], limit: Callable[[Any], Awaitable[None]] | None
) -> dict[str, Any]:
    from pydantic import ValidationError

    from ideas import clock, context
    from ideas.board import submit
    from ideas.errors import RateLimited
    from ideas.schemas import IdeaIn

    viewer = await person_for(user_id)
    if viewer is None:
        return {"response_action": "errors", "errors": {"title": NO_ACCESS}}
    if limit is not None:
        try:
            await limit(viewer)
        except RateLimited as exc:
            return {"response_action": "errors", "errors": {"title": exc.detail}}
    try:
        data = IdeaIn(
            **{k: values.get(k, "") for k in ("title", "problem", "proposal", "touchpoint")}
        )
    except ValidationError as exc:
        errors = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "title"
            errors.setdefault(field, err["msg"])
        return {"response_action": "errors", "errors": errors}
    # the person acts, in the request's unit of work (its moment, its outbox)
    idea = await submit.submit_idea(context.make(viewer, now=clock.now()), data)
    from slack_sdk.models.blocks import SectionBlock as Section
    from slack_sdk.models.views import View

    done = View(
        type="modal",
        title="Idea submitted",
        close="Close",
        blocks=[
            Section(
                text=MarkdownTextObject(
                    text=f"Thanks! <{idea_url(idea.id)}|{escape(idea.title)}> is on the board. "
                    "Nobody but you sees that it is yours."
                )
            )
        ],
    )
    return {"response_action": "update", "view": done.to_dict()}


def idea_id_in(url: str) -> int | None:
    """The idea id of a Touchpoint idea URL (BASE_URL/ideas/<id>), else None."""
    base = get_settings().base_url + "/ideas/"
    if not url.startswith(base):
        return None
    rest = url[len(base) :].split("?", 1)[0].split("#", 1)[0].strip("/")
    return int(rest) if rest.isdigit() and 0 < int(rest) < 2**31 else None


def unfurl_blocks(idea: dict[str, Any]) -> list[dict[str, Any]]:
    """Title, status and votes: nothing else of an idea goes into an unfurl."""
    from ideas.lifecycle import STATUS_LABELS

    status = STATUS_LABELS.get(idea["status"], idea["status"])
    return [
        SectionBlock(text=MarkdownTextObject(text=f"*{escape(idea['title'])}*")).to_dict(),
        ContextBlock(
            elements=[
                MarkdownTextObject(text=f"*Status:* {escape(status)}"),
                MarkdownTextObject(text=f"*Votes:* {idea['votes']}"),
            ]
        ).to_dict(),
    ]


async def event(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Events API: the URL check, and link unfurls of idea URLs: only for a
    sharer matched to an active Touchpoint person, and only of ideas others
    may already see (a pending idea unfurls nothing, ideas.publish)."""
    from ideas import clock
    from ideas.integrations.webhooks import staff_ideas

    if payload.get("type") == "url_verification":
        return {"challenge": payload.get("challenge", "")}
    inner = payload.get("event") or {}
    if payload.get("type") != "event_callback" or inner.get("type") != "link_shared":
        return None
    links = {
        link.get("url", ""): idea_id_in(link.get("url", "")) for link in inner.get("links") or []
    }
    wanted = {u: i for u, i in links.items() if i is not None}
    if not wanted:
        return None
    sharer = str(inner.get("user") or "")
    if not sharer or await person_for(sharer) is None:
        return None  # not a colleague: an idea link says nothing to them
    ideas = await staff_ideas(list(wanted.values()), published_by=clock.now())
    unfurls = {u: {"blocks": unfurl_blocks(ideas[i])} for u, i in wanted.items() if i in ideas}
    if unfurls:
        await _call(
            "chat_unfurl",
            channel=inner.get("channel", ""),
            ts=inner.get("message_ts", ""),
            unfurls=unfurls,
        )
    return None
