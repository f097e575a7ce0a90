"""Pydantic models in and out of the domain (hand-written, not generated)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PrivateAttr, StringConstraints

from ideas.text import visible

Touchpoint = Literal[
    "awareness", "purchase", "onboarding", "product", "support", "billing", "renewal", "other"
]
Status = Literal[
    "new",
    "in_review",
    "needs_info",
    "accepted",
    "in_progress",
    "shipped",
    "declined",
    "duplicate",
    "withdrawn",
]
Role = Literal["staff", "council", "leader", "admin"]
T = TypeVar("T")

#: lengths count visible characters, and no bidi control is accepted (ideas.text)
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=8, max_length=140),
    AfterValidator(visible(8)),
]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=20, max_length=5000),
    AfterValidator(visible(20)),
]


def to_day(at: dt.datetime) -> dt.datetime:
    """Midnight UTC of `at`'s day. Times of things on an idea (events,
    comments) are given to the day, never finer: an exact time would let a
    reader match a "Submitter" comment or an answer to who was at work then."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    at = at.astimezone(dt.UTC)
    return dt.datetime(at.year, at.month, at.day, tzinfo=dt.UTC)


#: an ISO 8601 UTC date-time, truncated to midnight of its day
DayTime = Annotated[dt.datetime, AfterValidator(to_day)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdeaIn(Strict):
    title: Title
    problem: LongText
    proposal: LongText
    touchpoint: Touchpoint


class Ref(BaseModel):
    id: str
    name: str


class Credit(BaseModel):
    name: str
    department: str


@dataclass(frozen=True)
class Can:
    """What the viewer may do to one idea, answered by `ideas.policy`'s
    PERMISSIONS on the idea's facts (filled by the projection): the pages
    read these instead of deciding from roles or statuses. Not part of the
    JSON API (an `IdeaOut` private attribute, never serialised)."""

    #: vote or take the vote back (an open idea, not one's own)
    vote: bool = False
    #: the idea takes votes at all (closed ones show their status instead)
    takes_votes: bool = False
    #: the submitter edits it (while new)
    edit: bool = False
    #: the submitter withdraws it (before any decision)
    withdraw: bool = False
    #: decide on it in the triage session at hand
    decide: bool = False
    #: the council's tools on it (its likely duplicates)
    triage: bool = False
    #: an admin reveals who submitted it
    reveal: bool = False
    #: see the day of its last edit (the submitter and the council)
    see_edited: bool = False


def built(model: type[BaseModel], values: dict, private: dict | None = None) -> BaseModel:
    """An instance of `model` from `values`, which name every one of its
    fields with values already of the field's type, and its private
    attributes: what `model_construct` makes, at a quarter of its cost (it
    resolves defaults and private attributes field by field; the board
    builds 25 cards a request). Pydantic's own slots are set here, so its
    version is pinned and tests/test_projection_marker.py compares the two."""
    instance = model.__new__(model)
    setattr_ = object.__setattr__
    setattr_(instance, "__dict__", values)
    setattr_(instance, "__pydantic_fields_set__", set(values))
    setattr_(instance, "__pydantic_extra__", None)
    setattr_(instance, "__pydantic_private__", private)
    return instance


class IdeaOut(BaseModel):
    """An idea as one viewer may see it: built only by `ideas.blind`."""

    #: what the viewer may do to it; for templates, never in the JSON
    _can: Can = PrivateAttr(default_factory=Can)

    @property
    def can(self) -> Can:
        return self._can

    id: str
    title: str
    problem: str
    proposal: str
    touchpoint: str
    status: str
    votes: int
    voted: bool
    submitted_on: dt.date
    owning_department: Ref | None
    duplicate_of: str | None
    is_mine: bool
    credited_to: list[Credit]
    #: the council's open question was answered and awaits review
    answered: bool = False
    #: comments on it (deleted ones not counted)
    comments: int = 0
    #: the caller follows it (told of new comments and status changes)
    following: bool = False
    #: the day the submitter last edited it: shown to council and the submitter only
    edited_on: dt.date | None = None
    #: to its author only, while others cannot see it yet: when they will
    #: (PUBLISH_DELAY_MINUTES); null otherwise
    visible_from: dt.datetime | None = None
    #: to the submitter who edited or withdrew it, while others still see it
    #: as it was: when they will see the edit or withdrawal (the next batch);
    #: null otherwise
    edit_visible_from: dt.datetime | None = None


class VoteOut(BaseModel):
    votes: int
    voted: bool


class EventOut(BaseModel):
    at: DayTime
    status: str
    note: str
    actor: str


class TokenIn(Strict):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class MeOut(BaseModel):
    id: str
    name: str
    email: str
    title: str
    department: Ref
    roles: list[str]


class TokenOut(BaseModel):
    token: str
    user: MeOut


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    redis: str
    #: jobs waiting on the default and index queues (not the mail queue)
    queue_depth: int | None = None
    oldest_undelivered_event_age_s: float | None = None
    #: worker jobs that failed (logged and counted by the workers), by job name
    failed_jobs: dict[str, int] | None = None
    #: admins only: how similar ideas are ranked in this process ("semantic",
    #: "lexical (model unavailable: ...)", or "not loaded yet")
    similar_search: str | None = None


SortName = Literal["top", "new", "trending", "discussed"]

#: how many most-recent days count for the "trending" sort
TRENDING_DAYS = 14

LIMIT_DEFAULT = 25
LIMIT_MAX = 100
