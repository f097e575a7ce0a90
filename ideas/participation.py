"""The participation ledger (`Participation`): that a person took part in a
quarter, under the department they belonged to when they did.

Written by the services in the same moment as the vote or idea; read only by
`ideas.leadership`, which publishes participation for closed quarters only
(see its module doc and docs/threat-model.md).
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from ideas import clock
from ideas.tables import Participation, Submission, User, Vote


def quarter_label_of(at: dt.datetime | dt.date) -> str:
    if isinstance(at, dt.datetime) and at.tzinfo is not None:
        at = at.astimezone(dt.UTC)
    return f"{at.year:04d}-Q{(at.month - 1) // 3 + 1}"


async def record(user_id: UUID, department_id: int, at: dt.datetime) -> None:
    """That `user_id`, of `department_id`, took part at `at` (idempotent)."""
    await Participation.raw(
        'INSERT INTO participation ("user", department, quarter, created_at) '
        "VALUES ({}, {}, {}, {}) ON CONFLICT DO NOTHING",
        user_id,
        department_id,
        quarter_label_of(at),
        at,
    ).run()


async def record_viewer(viewer, at: dt.datetime) -> None:
    """`record` for the viewer, under their department (read with the viewer
    on every request, so a move applies from the next request on)."""
    await record(viewer.id, viewer.department_id, at)


async def backfill() -> None:
    """Fill the ledger from existing votes and submissions, under each
    person's current department (what the migration does; tests that write
    rows straight into the tables use it too)."""
    users = {r["id"]: r["department"] for r in await User.select(User.id, User.department).run()}
    seen = set()
    for r in await Vote.select(Vote.user, Vote.created_at).run():
        seen.add((r["user"], users[r["user"]], quarter_label_of(r["created_at"])))
    for r in (
        await Submission.select(Submission.user, Submission.idea.created_at.as_alias("at"))
        .where(Submission.role == "submitter")
        .run()
    ):
        seen.add((r["user"], users[r["user"]], quarter_label_of(r["at"])))
    for user, department, quarter in sorted(seen, key=str):
        await Participation.raw(
            'INSERT INTO participation ("user", department, quarter, created_at) '
            "VALUES ({}, {}, {}, {}) ON CONFLICT DO NOTHING",
            user,
            department,
            quarter,
            clock.now(),
        ).run()
