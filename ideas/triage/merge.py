"""Merging a duplicate into its target (votes once per person, an exact
recount, the duplicate's submitters made co-submitters) and the picker of
ideas a duplicate may point at."""

from __future__ import annotations

import datetime as dt

from ideas import blind
from ideas.context import Actor
from ideas.errors import Conflict
from ideas.policy import MERGE_TARGETS as VALID_MERGE_TARGETS
from ideas.schemas import Ref
from ideas.tables import Idea, Submission, Vote


async def merge_into(duplicate_id: int, target_id: int, now: dt.datetime) -> None:
    """Move the duplicate's votes to the target, one per person (the unique
    (idea, user) index decides), recount the target exactly, and make the
    duplicate's submitters co-submitters of the target. Nobody votes for an
    idea of their own: votes of the target's submitters are not moved, and
    the new co-submitters' votes on the target are dropped. The duplicate
    keeps its vote rows (its voters are told of the merge) but counts 0."""
    own = 'SELECT s."user" FROM submission s WHERE s.idea = {} OR s.idea = {}'
    await Vote.raw(
        'INSERT INTO vote (idea, "user", created_at) '
        f'SELECT {{}}, "user", created_at FROM vote WHERE idea = {{}} AND "user" NOT IN ({own}) '
        "ON CONFLICT DO NOTHING",
        target_id,
        duplicate_id,
        target_id,
        duplicate_id,
    ).run()
    await Vote.raw(
        'DELETE FROM vote WHERE idea = {} AND "user" IN '
        '(SELECT s."user" FROM submission s WHERE s.idea = {})',
        target_id,
        duplicate_id,
    ).run()
    open_targets = ", ".join(f"'{s}'" for s in sorted(VALID_MERGE_TARGETS))
    recounted = await Idea.raw(
        "UPDATE idea SET votes = (SELECT COUNT(*) FROM vote WHERE vote.idea = idea.id), "
        f"updated_at = {{}} WHERE id = {{}} AND status IN ({open_targets}) RETURNING id",
        now,
        target_id,
    ).run()
    if not recounted:
        raise Conflict(
            "the target idea was closed meanwhile; choose another",
            {"duplicate_of": str(target_id)},
        )
    await Submission.raw(
        'INSERT INTO submission (idea, "user", role, credit, created_at) '
        "SELECT {}, \"user\", 'co_submitter', NULL, {} FROM submission WHERE idea = {} "
        "ON CONFLICT DO NOTHING",
        target_id,
        now,
        duplicate_id,
    ).run()


async def merge_targets(viewer: Actor, limit: int = 200) -> list[Ref]:
    """Ideas a duplicate may point at (open ones only: never shipped,
    declined, duplicate or withdrawn), most voted first, for the decision
    form's picker: each named by its title as the blind projection shows it
    to `viewer` (the picker never reads an idea row itself)."""
    rows = (
        await Idea.select(*blind.IDEA_COLUMNS)
        .where(Idea.status.is_in(sorted(VALID_MERGE_TARGETS)))
        .order_by(Idea.votes, Idea.id, ascending=False)
        .limit(limit)
        .run()
    )
    return [Ref(id=idea.id, name=idea.title) for idea in await blind.blind_ideas(rows, viewer)]
