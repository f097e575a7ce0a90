"""A triage session as the council reads it: its attendees, its agenda of
blind ideas with the decisions taken (which member decided: council only),
and the session page's view (may the viewer decide here, the pickers)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from ideas import policy
from ideas.blind import IDEA_COLUMNS, blind_ideas
from ideas.board.ids import parse_id
from ideas.context import Context
from ideas.errors import NotFound
from ideas.lifecycle import OUTCOME_STATUS
from ideas.org_settings import get_setting
from ideas.schemas import IdeaOut, Ref
from ideas.tables import AgendaItem, Department, Event, Idea, SessionAttendee, TriageSession
from ideas.triage.common import COUNCIL_LABEL
from ideas.triage.merge import merge_targets
from ideas.triage.questions import publish_due


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


async def get_session(ctx: Context, session_id: int | str) -> SessionOut:
    """A session's attendees, agenda (blind ideas) and decisions so far."""
    policy.authorize(ctx.actor, "triage.session")
    sid = parse_id(session_id, "triage session")
    await publish_due(ctx)
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
    # a confirmed attendee decides here (`idea.can.decide`, ideas.policy)
    confirmed = any(
        str(a["user"]) == str(ctx.actor.id) and a["confirmed_at"] is not None for a in attendee_rows
    )
    agenda = [idea_rows[i["idea"]] for i in items]
    blind = await blind_ideas(agenda, ctx.actor, attends=confirmed)
    ideas = {int(i.id): i for i in blind}
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


async def session_view(ctx: Context, session_id: int | str) -> SessionView:
    session = await get_session(ctx, session_id)
    departments = (
        await Department.select(Department.id, Department.name).order_by(Department.name).run()
    )
    me = next((a for a in session.attendees if a.id == str(ctx.actor.id)), None)
    return SessionView(
        session=session,
        attends=me is not None,
        can_decide=policy.allowed(
            "triage.decide_in_session",
            frozenset(ctx.actor.roles),
            policy.Facts(attends=me is not None and me.confirmed),
        ),
        confirmed_departments=len({a.department.id for a in session.attendees if a.confirmed}),
        quorum=await get_setting("quorum_departments"),
        departments=[Ref(id=str(d["id"]), name=d["name"]) for d in departments],
        merge_targets=await merge_targets(ctx.actor),
    )
