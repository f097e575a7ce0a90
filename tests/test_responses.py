"""`web.responses.ModelResponse`: a pydantic model's JSON written by
pydantic-core in one step is the same bytes as Litestar's own rendering
(`model_dump(mode="json")`, then msgspec), and the API answers with it."""

from __future__ import annotations

import datetime as dt

from litestar import Response
from litestar.serialization import get_serializer

from ideas.board.listing import list_ideas
from ideas.schemas import Credit, Ref, VoteOut
from tests.factories import ctx_for, submit
from tests.notify_helpers import vote
from web.responses import ModelResponse

JSON = "application/json"


def litestars_hook(app):
    """The serializer Litestar gives a route's response: the pydantic plugin's."""
    for route in app.routes:
        if route.path == "/api/v1/ideas":
            (handler,) = [h for h in route.route_handlers if "GET" in h.http_methods]
            return get_serializer(handler.resolve_type_encoders())
    raise AssertionError("no /api/v1/ideas route")


async def test_the_same_bytes_as_litestars_rendering(app, personas):
    hook = litestars_hook(app)

    def both(model) -> tuple[bytes, bytes]:
        ours = ModelResponse(content=None).render(model, JSON, hook)
        litestars = Response(content=None).render(model, JSON, hook)
        return ours, litestars

    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    first = await submit(alice, title="Café receipts in «French» — and 日本語 too")
    await submit(alice, title='Quotes " and \\ backslashes\nand a newline')
    await vote(bob, first)
    for viewer in (alice.viewer, bob.viewer):
        page = await list_ideas(ctx_for(viewer), sort="new", limit=25)
        assert len(page.items) >= 2
        ours, litestars = both(page)
        assert ours == litestars
    card = page.items[0]
    # dates, moments, nested models, empty and filled lists, None
    filled = card.model_copy(
        update={
            "edited_on": dt.date(2026, 11, 2),
            "visible_from": dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC),
            "owning_department": Ref(id="7", name="Billing & Co"),
            "credited_to": [Credit(name="Ana", department="Sales")],
        }
    )
    for model in (filled, VoteOut(votes=3, voted=True)):
        ours, litestars = both(model)
        assert ours == litestars


async def test_the_api_answers_through_it(app, personas):
    alice = await personas.get("alice_support")
    await submit(alice, title="Answer through pydantic-core")
    answer = await alice.api().get("/api/v1/ideas?sort=new&limit=5")
    assert answer.status_code == 200
    page = await list_ideas(ctx_for(alice.viewer), sort="new", limit=5)
    assert answer.content == ModelResponse(content=None).render(page, JSON)
    assert app.response_class is ModelResponse
