"""What the triage modules share: the council's label on the public
timeline, "published by now", and the council member a use case acts as."""

from __future__ import annotations

import datetime as dt

from ideas.context import Context
from ideas.errors import Forbidden
from ideas.tables import Idea
from ideas.viewer import Viewer

#: how the council acts on the public timeline (which member: council only)
COUNCIL_LABEL = "CX council"


def published_by(now: dt.datetime):
    """Ideas others may see by `now` (ideas.publish)."""
    return Idea.published_at.is_null() | (Idea.published_at <= now)


def member_of(ctx: Context) -> Viewer:
    """The person acting: sessions and decisions are taken by a council
    member, never by the system."""
    person = ctx.person
    if person is None:
        raise Forbidden(f"a council member acts here, not the {ctx.actor.label}")
    return person
