"""`ideas.schemas.built` makes the board's cards without `model_construct`
(a quarter of its cost) by setting pydantic's own slots: it must make the
same object, or a pydantic upgrade silently changes the JSON."""

from __future__ import annotations

import datetime as dt
import uuid

from ideas import blind
from ideas.schemas import Can, Credit, IdeaOut, Ref, built
from ideas.viewer import Viewer

ROW = {
    "id": 123456789,
    "title": "Show the delivery window",
    "problem": "Customers call to ask when",
    "proposal": "Print it on the confirmation",
    "touchpoint": "delivery",
    "status": "accepted",
    "votes": 7,
    "submitted_on": dt.date(2026, 11, 2),
    "owning_department": 3,
    "duplicate_of": None,
    "answered": True,
    "edited_at": dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC),
    "published_at": dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC),
}


def test_a_card_is_the_object_model_construct_makes():
    viewer = Viewer(
        id=uuid.UUID(int=1),
        name="Bo Council",
        email="bo@example.com",
        department_id=1,
        roles=frozenset({"staff", "council"}),
    )
    credits = [Credit.model_construct(name="Ann Lee", department="Support")]
    card = blind._card(
        ROW,
        viewer,
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        voted=True,
        mine=False,
        following=True,
        comments=2,
        department="Logistics",
        credits=credits,
    )
    expected = IdeaOut.model_construct(
        id="123456789",
        title=ROW["title"],
        problem=ROW["problem"],
        proposal=ROW["proposal"],
        touchpoint="delivery",
        status="accepted",
        votes=7,
        voted=True,
        submitted_on=dt.date(2026, 11, 2),
        owning_department=Ref.model_construct(id="3", name="Logistics"),
        duplicate_of=None,
        is_mine=False,
        credited_to=credits,
        answered=True,
        comments=2,
        following=True,
        edited_on=dt.date(2026, 11, 3),  # council sees the day of the last edit
        visible_from=None,
        edit_visible_from=None,
    )
    expected._can = blind.can(frozenset({"staff", "council"}), "accepted", False)
    assert set(card.__dict__) == set(IdeaOut.model_fields)  # every field, nothing else
    assert card == expected
    assert card.model_dump_json() == expected.model_dump_json()
    assert card.model_fields_set == expected.model_fields_set
    assert card.can == expected.can and card.can.triage and not card.can.edit
    card.title = "Changed"  # still a model one can set fields on (the marker test does)
    assert card.title == "Changed"


def test_built_sets_the_private_attributes_it_is_given():
    made = built(IdeaOut, dict(IdeaOut.model_construct().__dict__), {"_can": Can(vote=True)})
    assert made.can == Can(vote=True)
