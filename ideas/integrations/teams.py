"""Microsoft Teams: Adaptive Cards posted to a channel through a Teams
Workflows webhook URL ("Post to a channel when a webhook request is
received"). Cards are built from a delivery's envelope, so they carry only
what the blind projection shows a staff member: shipped ideas (note, impact,
names of those who opted in to credit) and the weekly summary.
"""

from __future__ import annotations

from typing import Any

from ideas.config import get_settings

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def idea_url(idea_id: str) -> str:
    return f"{get_settings().base_url}/ideas/{idea_id}"


def _credits(idea: dict[str, Any]) -> str:
    names = [c["name"] for c in idea.get("credited_to") or []]
    return ", ".join(names)


def shipped_card(data: dict[str, Any]) -> dict[str, Any]:
    idea = data["idea"]
    body: list[dict[str, Any]] = [
        _text("Shipped", size="Small", weight="Bolder", color="Good"),
        _text(idea["title"], size="Large", weight="Bolder"),
    ]
    if data.get("ship_note"):
        body.append(_text(data["ship_note"]))
    facts = [{"title": "Votes", "value": str(idea["votes"])}]
    impact = data.get("impact")
    if impact:
        facts.append(
            {"title": impact["metric"], "value": f"{impact['before']:g} → {impact['after']:g}"}
        )
    credits = _credits(idea)
    if credits:
        facts.append({"title": "Thanks to", "value": credits})
    body.append({"type": "FactSet", "facts": facts})
    return _card(body, [("Open in Touchpoint", idea_url(idea["id"]))])


def summary_card(data: dict[str, Any]) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        _text(f"Touchpoint this week ({data['week']})", size="Large", weight="Bolder"),
        _text(f"{data['submitted']} new ideas; {len(data['shipped'])} shipped."),
    ]
    if data["shipped"]:
        body.append(_text("Shipped", weight="Bolder"))
        body += [_text(f"- {i['title']} ({i['votes']} votes)") for i in data["shipped"]]
    if data["top"]:
        body.append(_text("Most wanted", weight="Bolder"))
        body += [_text(f"- {i['title']} ({i['votes']} votes)") for i in data["top"]]
    return _card(body, [("Open the board", f"{get_settings().base_url}/")])


def _card(body: list[dict[str, Any]], links: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": t, "url": u} for t, u in links],
    }


def card_for(envelope: dict[str, Any]) -> dict[str, Any]:
    if envelope["type"] == "summary.weekly":
        return summary_card(envelope["data"])
    return shipped_card(envelope["data"])


def message_for(envelope: dict[str, Any]) -> dict[str, Any]:
    """The body a Workflows webhook takes: a message with one card attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card_for(envelope),
            }
        ],
    }
