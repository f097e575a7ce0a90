"""The council's triage sessions: the attendee picker (council directory),
opening a session (a quorum of departments; the agenda takes the waiting
ideas), the list of sessions, and confirming attendance."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, StringConstraints

from ideas import outbox, policy
from ideas.board.ids import parse_id
from ideas.board.listing import check_limit
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Forbidden, Invalid, NotFound
from ideas.lifecycle import COUNCIL, IN_REVIEW, NEW, check_transition
from ideas.org_settings import get_setting
from ideas.schemas import Ref, Strict
from ideas.tables import AgendaItem, Idea, SessionAttendee, TriageSession, User
from ideas.triage.agenda import Attendee, SessionOut, get_session
from ideas.triage.common import COUNCIL_LABEL, member_of, published_by

IdText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class SessionIn(Strict):
    held_on: dt.date
    attendee_ids: list[IdText]


class SessionSummary(BaseModel):
    id: str
    held_on: dt.date
    attendees: int
    agenda: int
    decided: int


class SessionsOverview(BaseModel):
    """The sessions page: past sessions and the attendee picker."""

    sessions: list[SessionSummary]
    members: list[Attendee]
    #: how many departments the attendees must span
    quorum: int


async def council_directory() -> list[Attendee]:
    """Active council members with their department: the attendee picker."""
    rows = (
        await User.select(
            User.id, User.name, User.department, User.department.name.as_alias("dept_name")
        )
        .where(User.is_council.eq(True), User.active.eq(True))
        .order_by(User.name)
        .run()
    )
    return [
        Attendee(
            id=str(r["id"]),
            name=r["name"],
            department=Ref(id=str(r["department"]), name=r["dept_name"]),
        )
        for r in rows
    ]


async def _check_attendees(raw_ids: list[str]) -> list[dict]:
    """The attendee rows, each an active council member, or Invalid naming
    `attendee_ids`."""
    if not raw_ids:
        raise Invalid("attendee_ids", "choose the council members who attend")
    ids: list[UUID] = []
    for raw in raw_ids:
        try:
            uid = UUID(str(raw))
        except ValueError:
            raise Invalid("attendee_ids", f"no council member with id {raw!r}") from None
        if uid not in ids:
            ids.append(uid)
    rows = (
        await User.select(User.id, User.department)
        .where(User.id.is_in(ids), User.is_council.eq(True), User.active.eq(True))
        .run()
    )
    found = {r["id"] if isinstance(r["id"], UUID) else UUID(str(r["id"])) for r in rows}
    missing = [str(u) for u in ids if u not in found]
    if missing:
        raise Invalid(
            "attendee_ids",
            f"not active council members: {', '.join(missing)}",
        )
    return rows


async def open_session(ctx: Context, held_on: dt.date, attendee_ids: list[str]) -> SessionOut:
    """Open a triage session: attendees (council members) must span the
    quorum of departments; the agenda takes the undecided `in_review` ideas,
    then the `new` ones (most votes, then oldest), up to `agenda_size`; the
    `new` ones move to `in_review`, each with its event, in one transaction."""
    policy.authorize(ctx.actor, "triage.session")
    viewer = member_of(ctx)
    quorum = await get_setting("quorum_departments")
    agenda_size = await get_setting("agenda_size")
    now = ctx.now
    async with write_transaction():
        attendees = await _check_attendees(attendee_ids)
        departments = {r["department"] for r in attendees}
        if len(departments) < quorum:
            raise Conflict(
                f"the attendees span {len(departments)} "
                f"{'department' if len(departments) == 1 else 'departments'}; "
                f"a session needs council members from at least {quorum} departments",
                {"departments": len(departments), "needed": quorum},
            )
        session = TriageSession(held_on=held_on, opened_by=viewer.id, created_at=now)
        await session.save().run()
        await SessionAttendee.insert(
            *[
                SessionAttendee(
                    session=session.id,
                    user=r["id"],
                    # the member who opens the session is confirmed at once;
                    # every other attendee confirms for themselves (attend)
                    confirmed_at=now if str(r["id"]) == str(viewer.id) else None,
                )
                for r in attendees
            ]
        ).run()
        carried = (
            await Idea.select(Idea.id)
            .where(Idea.status == IN_REVIEW)
            .order_by(Idea.votes, ascending=False)
            .order_by(Idea.submitted_on, Idea.published_at, Idea.id)
            .limit(agenda_size)
            .run()
        )
        agenda = [r["id"] for r in carried]
        fresh: list[int] = []
        room = agenda_size - len(agenda)
        if room > 0:
            candidates = (
                await Idea.select(Idea.id)
                .where(Idea.status == NEW, published_by(now))
                .order_by(Idea.votes, ascending=False)
                .order_by(Idea.submitted_on, Idea.published_at, Idea.id)
                .limit(room)
                .run()
            )
            ids = [r["id"] for r in candidates]
            if ids:
                check_transition(NEW, IN_REVIEW, COUNCIL)
                moved = (
                    await Idea.update({Idea.status: IN_REVIEW, Idea.updated_at: now})
                    .where(Idea.id.is_in(ids), Idea.status == NEW)
                    .returning(Idea.id)
                    .run()
                )
                moved_ids = {r["id"] for r in moved}
                fresh = [i for i in ids if i in moved_ids]
        agenda += fresh
        if agenda:
            await AgendaItem.insert(
                *[
                    AgendaItem(session=session.id, idea=idea_id, position=pos, outcome="")
                    for pos, idea_id in enumerate(agenda, start=1)
                ]
            ).run()
        for idea_id in fresh:
            await outbox.record_event(
                idea_id=idea_id,
                kind="status",
                status=IN_REVIEW,
                note=f"On the agenda of the council's triage session of {held_on.isoformat()}.",
                actor_label=COUNCIL_LABEL,
                actor_id=viewer.id,
                session_id=session.id,
                data={},
            )
    return await get_session(ctx, session.id)


async def list_sessions(ctx: Context, limit: int | None = None) -> list[SessionSummary]:
    """Sessions, latest first, with their counts."""
    policy.authorize(ctx.actor, "triage.session")
    limit = check_limit(limit or 100)
    sessions = (
        await TriageSession.select(TriageSession.id, TriageSession.held_on)
        .order_by(TriageSession.held_on, TriageSession.id, ascending=False)
        .limit(limit)
        .run()
    )
    ids = [s["id"] for s in sessions]
    if not ids:
        return []
    attendees: dict[int, int] = {}
    for r in (
        await SessionAttendee.select(SessionAttendee.session)
        .where(SessionAttendee.session.is_in(ids))
        .run()
    ):
        attendees[r["session"]] = attendees.get(r["session"], 0) + 1
    agenda: dict[int, int] = {}
    decided: dict[int, int] = {}
    for r in (
        await AgendaItem.select(AgendaItem.session, AgendaItem.outcome)
        .where(AgendaItem.session.is_in(ids))
        .run()
    ):
        agenda[r["session"]] = agenda.get(r["session"], 0) + 1
        if r["outcome"]:
            decided[r["session"]] = decided.get(r["session"], 0) + 1
    return [
        SessionSummary(
            id=str(s["id"]),
            held_on=s["held_on"],
            attendees=attendees.get(s["id"], 0),
            agenda=agenda.get(s["id"], 0),
            decided=decided.get(s["id"], 0),
        )
        for s in sessions
    ]


async def sessions_overview(ctx: Context) -> SessionsOverview:
    return SessionsOverview(
        sessions=await list_sessions(ctx),
        members=await council_directory(),
        quorum=await get_setting("quorum_departments"),
    )


async def attend(ctx: Context, session_id: int | str) -> SessionOut:
    """A listed attendee confirms attending the session (idempotent): until
    confirmed attendees span the quorum, the session takes no decisions, so
    nobody can hold a session alone by listing colleagues who are not there."""
    policy.authorize(ctx.actor, "triage.session")
    viewer = member_of(ctx)
    sid = parse_id(session_id, "triage session")
    if not await TriageSession.exists().where(TriageSession.id == sid).run():
        raise NotFound("no such triage session")
    async with write_transaction():
        rows = (
            await SessionAttendee.select(SessionAttendee.id, SessionAttendee.confirmed_at)
            .where(SessionAttendee.session == sid, SessionAttendee.user == viewer.id)
            .run()
        )
        if not rows:
            raise Forbidden("only a listed attendee of this session may confirm attending it")
        if rows[0]["confirmed_at"] is None:
            await (
                SessionAttendee.update({SessionAttendee.confirmed_at: ctx.now})
                .where(SessionAttendee.id == rows[0]["id"])
                .run()
            )
    return await get_session(ctx, sid)
