"""Batch decisions of a triage session: decline several agenda items with one
reason, in one transaction (each is the council's ordinary decline, so each
idea's submitter and voters hear of it as usual). If any of them cannot be
declined, none is."""

from __future__ import annotations

from collections.abc import Sequence

from ideas import policy
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Invalid
from ideas.schemas import IdeaOut
from ideas.triage.decisions import DecisionIn, decide

#: the most ideas one batch takes
MAX_BATCH = 100


async def decline_many(
    ctx: Context, session_id: str, idea_ids: Sequence[int], note: str
) -> list[IdeaOut]:
    policy.authorize(ctx.actor, "triage.session")
    ids = list(dict.fromkeys(int(i) for i in idea_ids))
    if not ids:
        raise Invalid("idea_ids", "select at least one idea to decline")
    if len(ids) > MAX_BATCH:
        raise Invalid("idea_ids", f"decline at most {MAX_BATCH} ideas at once")
    declined = []
    async with write_transaction():
        for idea_id in ids:
            decision = DecisionIn(session_id=str(session_id), outcome="decline", note=note)
            declined.append(await decide(ctx, idea_id, decision))
    return declined
