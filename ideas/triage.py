"""Blind council triage: the queue, weekly sessions, decisions, questions.

Every status change goes through `lifecycle.check_transition` and writes one
Event (kind "status") in the same transaction, with the role label as actor
on the public timeline; which council member acted is kept on the event and
the agenda item and shown to council only, on the session page. Ideas are
always projected through `ideas.blind`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, StringConstraints

from ideas import clock, outbox, publish
from ideas.blind import (
    IDEA_COLUMNS,
    blind_idea,
    blind_ideas,
    mine_ids,
    original_submitter_ids,
    submitter_ids,
)
from ideas.board.ids import parse_id, parse_idea_id
from ideas.board.listing import check_limit, next_offset_cursor, offset_from_cursor
from ideas.board.view import idea_row
from ideas.db import write_transaction
from ideas.errors import Conflict, Forbidden, Invalid, NotFound, TransitionRefused
from ideas.lifecycle import (
    COUNCIL,
    IN_REVIEW,
    NEEDS_INFO,
    NEW,
    OUTCOME_STATUS,
    SUBMITTER,
    TOUCHPOINTS,
    allowed_moves,
    check_transition,
)
from ideas.org_settings import get_setting
from ideas.policy import AWAITING_TRIAGE, is_overdue
from ideas.policy import MERGE_TARGETS as VALID_MERGE_TARGETS
from ideas.schemas import IdeaOut, Page, Ref, Strict
from ideas.tables import (
    AgendaItem,
    Department,
    Event,
    Idea,
    Question,
    SessionAttendee,
    Submission,
    TriageSession,
    User,
    Vote,
)
from ideas.viewer import Viewer, require_role

COUNCIL_LABEL = "CX council"

QueueSort = Literal["votes", "age"]
Outcome = Literal["accept", "decline", "duplicate", "needs_info"]

#: a decline's note must say why, in at least this many characters
DECLINE_NOTE_MIN = 20

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
IdText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


# -- models in and out ------------------------------------------------------------


class QueueItem(IdeaOut):
    """An idea in the triage queue: the blind idea plus its age and SLA flag."""

    age_days: int
    sla_breached: bool


class SessionIn(Strict):
    held_on: dt.date
    attendee_ids: list[IdText]


class DecisionIn(Strict):
    session_id: IdText
    outcome: Outcome
    note: Note = ""
    owning_department_id: IdText | None = None
    duplicate_of: IdText | None = None
    question: ShortText | None = None


class AnswerIn(Strict):
    answer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


class Attendee(BaseModel):
    id: str
    name: str
    department: Ref
    #: the attendee confirmed attending (the member who opened it: at once)
    confirmed: bool = False


class AgendaEntry(BaseModel):
    position: int
    idea: IdeaOut
    #: accept / decline / duplicate / needs_info, or null while undecided here
    outcome: str | None
    #: the council member who decided (council only: sessions are council-only)
    decided_by: Ref | None
    decided_on: dt.date | None
    #: the decision's public note (as on the idea's timeline)
    note: str = ""


class DecisionOut(BaseModel):
    idea_id: str
    outcome: str
    decided_by: Ref
    decided_on: dt.date


class SessionOut(BaseModel):
    id: str
    held_on: dt.date
    opened_by: Ref
    attendees: list[Attendee]
    agenda: list[AgendaEntry]
    decisions: list[DecisionOut]


class SessionSummary(BaseModel):
    id: str
    held_on: dt.date
    attendees: int
    agenda: int
    decided: int


class QuestionOut(BaseModel):
    id: str
    question: str
    asked_on: dt.date
    answer: str
    answered_on: dt.date | None
    #: to the submitter only, while their answer waits for its batch: when
    #: the council will see it (PUBLISH_DELAY_MINUTES)
    visible_from: dt.datetime | None = None


# -- helpers ------------------------------------------------------------------------


def _age_days(submitted_on: dt.date, today: dt.date) -> int:
    return max((today - submitted_on).days, 0)


async def _department_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (
        await Department.select(Department.id, Department.name)
        .where(Department.id.is_in(list(ids)))
        .run()
    )
    return {r["id"]: r["name"] for r in rows}


def _published(now: dt.datetime):
    """Ideas others may see by `now` (ideas.publish)."""
    return Idea.published_at.is_null() | (Idea.published_at <= now)


# -- the queue ------------------------------------------------------------------------


async def queue(
    viewer: Viewer,
    *,
    sort: str = "votes",
    touchpoint: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[QueueItem]:
    """Ideas awaiting the council: `new` and `in_review` (answered ones among
    them are flagged `answered`), blind, with age in days and the SLA flag.

    `sla_breached`: `policy.is_overdue`, the product's one triage-SLA rule.
    """
    require_role(viewer, "council")
    limit = check_limit(limit)
    if sort not in ("votes", "age"):
        raise Invalid("sort", "must be one of votes, age")
    if touchpoint and touchpoint not in TOUCHPOINTS:
        raise Invalid("touchpoint", f"must be one of {', '.join(TOUCHPOINTS)}")
    offset = offset_from_cursor(cursor, "not a cursor for this queue")
    now = clock.now()
    await publish_due(now)
    query = Idea.select(*IDEA_COLUMNS, Idea.first_decided_at, Idea.created_at).where(
        Idea.status.is_in(sorted(AWAITING_TRIAGE)), _published(now)
    )
    if touchpoint:
        query = query.where(Idea.touchpoint == touchpoint)
    # oldest first by when the council could first see it: within one batch
    # (PUBLISH_DELAY_MINUTES) the order says nothing of who came first
    if sort == "votes":
        query = query.order_by(Idea.votes, ascending=False).order_by(
            Idea.submitted_on, Idea.published_at, Idea.id
        )
    else:
        query = query.order_by(Idea.submitted_on, Idea.published_at, Idea.id)
    rows = await query.offset(offset).limit(limit + 1).run()
    more = len(rows) > limit
    rows = rows[:limit]
    sla_days = await get_setting("triage_sla_days")
    now = clock.now()
    today = now.date()
    ideas = await blind_ideas(rows, viewer)
    items = []
    for row, idea in zip(rows, ideas, strict=True):
        age = _age_days(row["submitted_on"], today)
        items.append(
            QueueItem(
                **idea.model_dump(),
                age_days=age,
                sla_breached=is_overdue(
                    row["created_at"], row["status"], now, sla_days, row["first_decided_at"]
                ),
            )
        )
    next_cursor = next_offset_cursor(offset, limit, more)
    return Page[QueueItem](items=items, next_cursor=next_cursor)


# -- sessions ---------------------------------------------------------------------------


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


async def open_session(viewer: Viewer, held_on: dt.date, attendee_ids: list[str]) -> SessionOut:
    """Open a triage session: attendees (council members) must span the
    quorum of departments; the agenda takes the undecided `in_review` ideas,
    then the `new` ones (most votes, then oldest), up to `agenda_size`; the
    `new` ones move to `in_review`, each with its event, in one transaction."""
    require_role(viewer, "council")
    quorum = await get_setting("quorum_departments")
    agenda_size = await get_setting("agenda_size")
    now = clock.now()
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
                .where(Idea.status == NEW, _published(now))
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
    return await get_session(viewer, session.id)


async def list_sessions(viewer: Viewer, limit: int | None = None) -> list[SessionSummary]:
    """Sessions, latest first, with their counts."""
    require_role(viewer, "council")
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


async def get_session(viewer: Viewer, session_id: int | str) -> SessionOut:
    """A session's attendees, agenda (blind ideas) and decisions so far."""
    require_role(viewer, "council")
    sid = parse_id(session_id, "triage session")
    await publish_due()
    rows = (
        await TriageSession.select(
            TriageSession.id,
            TriageSession.held_on,
            TriageSession.opened_by,
            TriageSession.opened_by.name.as_alias("opener_name"),
        )
        .where(TriageSession.id == sid)
        .run()
    )
    if not rows:
        raise NotFound("no such triage session")
    session = rows[0]
    attendee_rows = (
        await SessionAttendee.select(
            SessionAttendee.user,
            SessionAttendee.user.name.as_alias("name"),
            SessionAttendee.user.department.as_alias("dept"),
            SessionAttendee.user.department.name.as_alias("dept_name"),
            SessionAttendee.confirmed_at,
        )
        .where(SessionAttendee.session == sid)
        .order_by(SessionAttendee.id)
        .run()
    )
    items = (
        await AgendaItem.select(
            AgendaItem.idea,
            AgendaItem.position,
            AgendaItem.outcome,
            AgendaItem.decided_by,
            AgendaItem.decided_by.name.as_alias("decider_name"),
            AgendaItem.decided_at,
        )
        .where(AgendaItem.session == sid)
        .order_by(AgendaItem.position)
        .run()
    )
    idea_rows = {}
    if items:
        for r in (
            await Idea.select(*IDEA_COLUMNS).where(Idea.id.is_in([i["idea"] for i in items])).run()
        ):
            idea_rows[r["id"]] = r
    ideas = {int(i.id): i for i in await blind_ideas([idea_rows[i["idea"]] for i in items], viewer)}
    notes: dict[tuple[int, str], str] = {}
    for e in (
        await Event.select(Event.idea, Event.status, Event.note)
        .where(Event.session == sid, Event.kind == "status", Event.actor_label == COUNCIL_LABEL)
        .order_by(Event.id)
        .run()
    ):
        notes[(e["idea"], e["status"])] = e["note"]
    agenda = []
    decisions = []
    for item in items:
        decided_by = (
            Ref(id=str(item["decided_by"]), name=item["decider_name"])
            if item["outcome"] and item["decided_by"]
            else None
        )
        decided_on = item["decided_at"].date() if item["decided_at"] else None
        agenda.append(
            AgendaEntry(
                position=item["position"],
                idea=ideas[item["idea"]],
                outcome=item["outcome"] or None,
                decided_by=decided_by,
                decided_on=decided_on if item["outcome"] else None,
                note=notes.get((item["idea"], OUTCOME_STATUS.get(item["outcome"], "")), ""),
            )
        )
        if item["outcome"] and decided_by and decided_on:
            decisions.append(
                DecisionOut(
                    idea_id=str(item["idea"]),
                    outcome=item["outcome"],
                    decided_by=decided_by,
                    decided_on=decided_on,
                )
            )
    return SessionOut(
        id=str(session["id"]),
        held_on=session["held_on"],
        opened_by=Ref(id=str(session["opened_by"]), name=session["opener_name"]),
        attendees=[
            Attendee(
                id=str(a["user"]),
                name=a["name"],
                department=Ref(id=str(a["dept"]), name=a["dept_name"]),
                confirmed=a["confirmed_at"] is not None,
            )
            for a in attendee_rows
        ],
        agenda=agenda,
        decisions=decisions,
    )


async def merge_targets(limit: int = 200) -> list[Ref]:
    """Ideas a duplicate may point at (open ones only: never shipped,
    declined, duplicate or withdrawn), most voted first: titles only, for the
    decision form's picker."""
    rows = (
        await Idea.select(Idea.id, Idea.title)
        .where(Idea.status.is_in(sorted(VALID_MERGE_TARGETS)))
        .order_by(Idea.votes, Idea.id, ascending=False)
        .limit(limit)
        .run()
    )
    return [Ref(id=str(r["id"]), name=r["title"]) for r in rows]


class SessionView(BaseModel):
    """Everything the session page needs."""

    session: SessionOut
    #: the viewer is a listed attendee of this session
    attends: bool
    #: the viewer attends and confirmed it, so may decide in it (never on an
    #: idea of their own: the page marks those `idea.is_mine`)
    can_decide: bool
    #: confirmed attendees span this many departments; decisions need `quorum`
    confirmed_departments: int
    quorum: int
    departments: list[Ref]
    merge_targets: list[Ref]


async def session_view(viewer: Viewer, session_id: int | str) -> SessionView:
    session = await get_session(viewer, session_id)
    departments = (
        await Department.select(Department.id, Department.name).order_by(Department.name).run()
    )
    me = next((a for a in session.attendees if a.id == str(viewer.id)), None)
    return SessionView(
        session=session,
        attends=me is not None,
        can_decide=me is not None and me.confirmed,
        confirmed_departments=len({a.department.id for a in session.attendees if a.confirmed}),
        quorum=await get_setting("quorum_departments"),
        departments=[Ref(id=str(d["id"]), name=d["name"]) for d in departments],
        merge_targets=await merge_targets(),
    )


async def attend(viewer: Viewer, session_id: int | str) -> SessionOut:
    """A listed attendee confirms attending the session (idempotent): until
    confirmed attendees span the quorum, the session takes no decisions, so
    nobody can hold a session alone by listing colleagues who are not there."""
    require_role(viewer, "council")
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
                SessionAttendee.update({SessionAttendee.confirmed_at: clock.now()})
                .where(SessionAttendee.id == rows[0]["id"])
                .run()
            )
    return await get_session(viewer, sid)


class SessionsOverview(BaseModel):
    """The sessions page: past sessions and the attendee picker."""

    sessions: list[SessionSummary]
    members: list[Attendee]
    #: how many departments the attendees must span
    quorum: int


async def sessions_overview(viewer: Viewer) -> SessionsOverview:
    return SessionsOverview(
        sessions=await list_sessions(viewer),
        members=await council_directory(),
        quorum=await get_setting("quorum_departments"),
    )


# -- decisions --------------------------------------------------------------------------


async def _session_for_decision(viewer: Viewer, raw_session_id: str, idea_id: int) -> int:
    """The session a decision is taken in: the viewer attends it and
    confirmed it, and its confirmed attendees who may decide this idea (its
    submitter and co-submitters excepted) span the quorum of departments."""
    sid = parse_id(raw_session_id, "triage session", "session_id")
    if not await TriageSession.exists().where(TriageSession.id == sid).run():
        raise Invalid("session_id", f"no triage session with id {raw_session_id!r}")
    attendees = (
        await SessionAttendee.select(
            SessionAttendee.user,
            SessionAttendee.user.department.as_alias("dept"),
            SessionAttendee.confirmed_at,
        )
        .where(SessionAttendee.session == sid)
        .run()
    )
    me = next((a for a in attendees if str(a["user"]) == str(viewer.id)), None)
    if me is None:
        raise Forbidden("only an attendee of this session may decide in it")
    if me["confirmed_at"] is None:
        raise Conflict(
            "confirm that you attend this session before deciding in it",
            {"confirmed": False},
        )
    quorum = await get_setting("quorum_departments")
    own = {str(u) for u in await submitter_ids(idea_id)}
    departments = {
        a["dept"] for a in attendees if a["confirmed_at"] is not None and str(a["user"]) not in own
    }
    if len(departments) < quorum:
        # the same words whether attendees are missing or some may not decide
        # this idea: which attendee is its submitter is not said
        raise Conflict(
            f"this session cannot decide this idea yet: it needs confirmed attendees who may "
            f"decide it from at least {quorum} departments",
            {"needed": quorum},
        )
    return sid


async def _move(idea_id: int, current: str, values: dict) -> None:
    """Apply a status change only if the idea is still in `current` (a
    concurrent decision loses with the lifecycle's 409)."""
    moved = (
        await Idea.update(values)
        .where(Idea.id == idea_id, Idea.status == current)
        .returning(Idea.id)
        .run()
    )
    if not moved:
        rows = await Idea.select(Idea.status).where(Idea.id == idea_id).run()
        now_status = rows[0]["status"] if rows else current
        wanted = values.get(Idea.status, current)
        raise TransitionRefused(now_status, wanted, allowed_moves(now_status))


async def _merge_into(duplicate_id: int, target_id: int, now: dt.datetime) -> None:
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


async def _record_agenda_decision(
    session_id: int, idea_id: int, outcome: str, viewer: Viewer, now: dt.datetime
) -> None:
    updated = (
        await AgendaItem.update(
            {
                AgendaItem.outcome: outcome,
                AgendaItem.decided_by: viewer.id,
                AgendaItem.decided_at: now,
            }
        )
        .where(AgendaItem.session == session_id, AgendaItem.idea == idea_id)
        .returning(AgendaItem.id)
        .run()
    )
    if updated:
        return
    last = (
        await AgendaItem.select(AgendaItem.position)
        .where(AgendaItem.session == session_id)
        .order_by(AgendaItem.position, ascending=False)
        .limit(1)
        .run()
    )
    position = (last[0]["position"] if last else 0) + 1
    await AgendaItem.insert(
        AgendaItem(
            session=session_id,
            idea=idea_id,
            position=position,
            outcome=outcome,
            decided_by=viewer.id,
            decided_at=now,
        )
    ).run()


async def decide(viewer: Viewer, idea_id: int, data: DecisionIn) -> IdeaOut:
    """Take a council decision on an `in_review` idea, in a session the
    viewer attends: accept (an owning department), decline (a note of 20+
    characters), duplicate (an open target, not itself; votes move once per
    person) or needs_info (a question for the submitter)."""
    require_role(viewer, "council")
    target_status = OUTCOME_STATUS[data.outcome]
    now = clock.now()
    async with write_transaction():
        # an unknown idea is 404 whatever the body says (the path is checked first)
        rows = await Idea.select(Idea.status, Idea.first_decided_at).where(Idea.id == idea_id).run()
        if not rows:
            raise NotFound("no such idea")
        # nobody judges their own idea: neither its submitter nor a co-submitter
        if idea_id in await mine_ids(viewer, [idea_id]):
            raise Forbidden("this is your idea: another council member decides it")
        session_id = await _session_for_decision(viewer, data.session_id, idea_id)
        current = rows[0]["status"]
        move = check_transition(current, target_status, COUNCIL)
        values: dict = {
            Idea.status: target_status,
            Idea.answered: False,
            Idea.updated_at: now,
        }
        if rows[0]["first_decided_at"] is None:
            values[Idea.first_decided_at] = now
        note = data.note
        event_data: dict = {}
        question_text = (data.question or "").strip()
        if data.outcome == "accept":
            if not data.owning_department_id:
                raise Invalid("owning_department_id", "choose the department that will own it")
            try:
                dept_id = int(data.owning_department_id)
            except ValueError:
                dept_id = 0
            names = await _department_names({dept_id}) if dept_id > 0 else {}
            if dept_id not in names:
                raise Invalid(
                    "owning_department_id",
                    f"no department with id {data.owning_department_id!r}",
                )
            values[Idea.owning_department] = dept_id
            values[Idea.accepted_at] = now
            note = note or f"Accepted; {names[dept_id]} owns it."
            event_data = {"owning_department_id": dept_id}
        elif data.outcome == "decline":
            if len(note) < DECLINE_NOTE_MIN:
                raise Invalid(
                    "note",
                    f"say why it is declined, in at least {DECLINE_NOTE_MIN} characters",
                )
        elif data.outcome == "duplicate":
            if not data.duplicate_of:
                raise Invalid("duplicate_of", "name the idea this one duplicates")
            target_id = parse_idea_id(data.duplicate_of, "duplicate_of")
            targets = await Idea.select(Idea.status).where(Idea.id == target_id).run()
            if not targets:
                raise Invalid("duplicate_of", f"no idea with id {data.duplicate_of!r}")
            if target_id == idea_id:
                raise Conflict(
                    "an idea cannot be a duplicate of itself", {"duplicate_of": str(target_id)}
                )
            # merging into an idea of one's own brings it votes: not one's call
            if target_id in await mine_ids(viewer, [target_id]):
                raise Forbidden("the target is your idea: another council member decides")
            if targets[0]["status"] not in VALID_MERGE_TARGETS:
                raise Conflict(
                    f"the target idea is '{targets[0]['status']}'; merge into an open idea "
                    "(not shipped, declined, a duplicate or withdrawn)",
                    {"duplicate_of": str(target_id), "target_status": targets[0]["status"]},
                )
            values[Idea.duplicate_of] = target_id
            values[Idea.votes] = 0
            note = note or f"Merged into idea {target_id}; its votes moved there."
            event_data = {"target_idea_id": target_id}
        else:  # needs_info
            if not question_text:
                raise Invalid("question", "ask the submitter a question")
            note = note or "The council asked the submitter for more information."
        await _move(idea_id, current, values)
        if data.outcome == "duplicate":
            await _merge_into(idea_id, event_data["target_idea_id"], now)
        if data.outcome == "needs_info":
            question = Question(
                idea=idea_id, session=session_id, question=question_text, asked_at=now
            )
            await question.save().run()
            event_data = {"question_id": question.id}
        await _record_agenda_decision(session_id, idea_id, data.outcome, viewer, now)
        await outbox.record_event(
            idea_id=idea_id,
            kind="status",
            status=target_status,
            note=note,
            actor_label=move.actor_label,
            actor_id=viewer.id,
            session_id=session_id,
            data=event_data,
        )
    return await blind_idea(await idea_row(idea_id), viewer)


# -- questions ----------------------------------------------------------------------------


async def is_submitter(viewer: Viewer, idea_id: int) -> bool:
    """Is the viewer this idea's submitter or a co-submitter ("is it mine")?"""
    return idea_id in await mine_ids(viewer, [idea_id])


async def wrote_idea(viewer: Viewer, idea_id: int) -> bool:
    """Did the viewer write this idea (role "submitter")? A co-submitter by
    merge did not: they never answer for, nor read the questions to, the
    idea's submitter."""
    return viewer.id in set(await original_submitter_ids(idea_id))


async def answer_question(viewer: Viewer, idea_id: int, answer: str) -> IdeaOut:
    """The submitter (never a co-submitter by merge) answers the council's
    open question: `needs_info` → `in_review`, flagged answered for the queue.

    The answer is published with its batch (PUBLISH_DELAY_MINUTES): until
    then only the submitter sees it ("visible to colleagues from HH:MM"),
    the idea stays `needs_info` for everyone else, and no event, notice or
    mail exists; `publish_due` makes the move at the batch's moment, dated
    to it. Its exact time is never stored."""
    answer = (answer or "").strip()
    now = clock.now()
    at = publish.visible_from(now)
    async with write_transaction():
        rows = await Idea.select(Idea.status).where(Idea.id == idea_id).run()
        if not rows:
            raise NotFound("no such idea")
        if not await wrote_idea(viewer, idea_id):
            raise Forbidden("only the idea's submitter may answer the council's question")
        current = rows[0]["status"]
        move = check_transition(current, IN_REVIEW, SUBMITTER)
        if not answer:
            raise Invalid("answer", "write an answer to the council's question")
        if len(answer) > 5000:
            raise Invalid("answer", "must be at most 5000 characters")
        open_questions = (
            await Question.select(Question.id, Question.session)
            .where(Question.idea == idea_id, Question.answered_at.is_null())
            .order_by(Question.id, ascending=False)
            .limit(1)
            .run()
        )
        if not open_questions:
            raise Conflict("there is no open question on this idea")
        question = open_questions[0]
        await (
            Question.update(
                {Question.answer: answer, Question.answered_at: at, Question.publish_at: at}
            )
            .where(Question.id == question["id"])
            .run()
        )
        if at <= now:  # no delay: published at once
            await _publish_answer(question["id"], idea_id, question["session"], at, move)
    return await blind_idea(await idea_row(idea_id), viewer)


async def _publish_answer(
    question_id: int, idea_id: int, session_id: int | None, at: dt.datetime, move=None
) -> bool:
    """Publish one answer (inside a transaction): the idea goes back to
    review, flagged answered, with its event dated `at` (the batch's moment).
    False when the idea left `needs_info` meanwhile (nothing to move)."""
    move = move or check_transition(NEEDS_INFO, IN_REVIEW, SUBMITTER)
    cleared = (
        await Question.update({Question.publish_at: None})
        .where(Question.id == question_id, Question.publish_at.is_not_null())
        .returning(Question.id)
        .run()
    )
    if not cleared:
        return False  # published by someone else meanwhile
    moved = (
        await Idea.update({Idea.status: IN_REVIEW, Idea.answered: True, Idea.updated_at: at})
        .where(Idea.id == idea_id, Idea.status == NEEDS_INFO)
        .returning(Idea.id)
        .run()
    )
    if not moved:
        return False
    writers = await original_submitter_ids(idea_id)
    await outbox.record_event(
        idea_id=idea_id,
        kind="status",
        status=IN_REVIEW,
        note="The submitter answered the council's question.",
        actor_label=move.actor_label,
        actor_id=writers[0] if writers else None,
        session_id=session_id,
        data={"answered": True, "question_id": question_id},
        created_at=at,
    )
    return True


async def publish_due(now: dt.datetime | None = None) -> int:
    """Publish every answer whose batch has come (PUBLISH_DELAY_MINUTES):
    run by the workers every minute, and before the council reads its queue
    or a session. Returns how many were published."""
    now = now or clock.now()
    due = (
        await Question.select(Question.id, Question.idea, Question.session, Question.publish_at)
        .where(Question.publish_at.is_not_null(), Question.publish_at <= now)
        .order_by(Question.publish_at, Question.id)
        .limit(500)
        .run()
    )
    published = 0
    for q in due:
        async with write_transaction():
            published += await _publish_answer(q["id"], q["idea"], q["session"], q["publish_at"])
    return published


class QuestionThread(BaseModel):
    """The council's questions on one idea, as one viewer may see them."""

    idea_id: str
    questions: list[QuestionOut]
    #: the viewer submitted (or co-submitted) the idea
    is_submitter: bool
    #: the idea awaits the viewer's answer
    can_answer: bool


async def question_thread(viewer: Viewer, idea_id: int) -> QuestionThread | None:
    """The council's questions on an idea and their answers, for the
    submitter and the council; None for anyone else (co-submitters by merge
    included). Neither side is named: the council asks, the submitter answers."""
    mine = await wrote_idea(viewer, idea_id)
    if not (viewer.is_council or mine):
        await idea_row(idea_id)
        return None
    await publish_due()
    idea = await idea_row(idea_id)
    rows = (
        await Question.select(
            Question.id,
            Question.question,
            Question.asked_at,
            Question.answer,
            Question.answered_at,
            Question.publish_at,
        )
        .where(Question.idea == idea_id)
        .order_by(Question.id)
        .run()
    )
    questions = []
    for r in rows:
        pending = r["publish_at"] is not None
        if pending and not mine:  # an answer waiting for its batch: not there yet
            r = {**r, "answer": "", "answered_at": None}
        questions.append(
            QuestionOut(
                id=str(r["id"]),
                question=r["question"],
                asked_on=r["asked_at"].date(),
                answer=r["answer"] or "",
                answered_on=r["answered_at"].date() if r["answered_at"] else None,
                visible_from=r["publish_at"] if pending and mine else None,
            )
        )
    return QuestionThread(
        idea_id=str(idea_id),
        questions=questions,
        is_submitter=mine,
        can_answer=mine
        and idea["status"] == NEEDS_INFO
        and any(q.answered_on is None for q in questions),
    )


__all__ = [
    "AgendaEntry",
    "AnswerIn",
    "Attendee",
    "DecisionIn",
    "QueueItem",
    "QuestionOut",
    "SessionIn",
    "SessionOut",
    "SessionSummary",
    "answer_question",
    "attend",
    "council_directory",
    "decide",
    "get_session",
    "is_submitter",
    "list_sessions",
    "merge_targets",
    "open_session",
    "session_view",
    "sessions_overview",
    "SessionView",
    "SessionsOverview",
    "queue",
    "question_thread",
    "QuestionThread",
]
