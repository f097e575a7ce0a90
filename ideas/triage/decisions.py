"""Council decisions on an `in_review` idea, taken in a session the member
attends and confirmed: accept, decline, duplicate (ideas.triage.merge) or
needs_info (a question for the submitter). Each is one status move through
`lifecycle.check_transition` with one Event, and one agenda decision record
(which member decided: council only, on the session page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import StringConstraints

from ideas import outbox, policy
from ideas.blind import blind_idea, mine_ids, submitter_ids
from ideas.board.ids import parse_id, parse_idea_id
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Forbidden, Invalid, NotFound, TransitionRefused
from ideas.lifecycle import COUNCIL, OUTCOME_STATUS, allowed_moves, check_transition
from ideas.org_settings import get_setting
from ideas.policy import MERGE_TARGETS as VALID_MERGE_TARGETS
from ideas.policy import Facts
from ideas.schemas import IdeaOut, Strict
from ideas.tables import AgendaItem, Department, Idea, Question, SessionAttendee, TriageSession
from ideas.triage.common import member_of
from ideas.triage.merge import merge_into
from ideas.viewer import Viewer

Outcome = Literal["accept", "decline", "duplicate", "needs_info"]

#: a decline's note must say why, in at least this many characters
DECLINE_NOTE_MIN = 20

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
IdText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class DecisionIn(Strict):
    session_id: IdText
    outcome: Outcome
    note: Note = ""
    owning_department_id: IdText | None = None
    duplicate_of: IdText | None = None
    question: ShortText | None = None


async def _department_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (
        await Department.select(Department.id, Department.name)
        .where(Department.id.is_in(list(ids)))
        .run()
    )
    return {r["id"]: r["name"] for r in rows}


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


async def _record_agenda_decision(
    session_id: int, idea_id: int, outcome: str, viewer: Viewer, now: dt.datetime
) -> None:
    """Mark the idea's agenda item decided (by whom, when); an idea decided
    in a session whose agenda did not carry it joins the agenda at its end."""
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


async def decide(ctx: Context, idea_id: int, data: DecisionIn) -> IdeaOut:
    """Take a council decision on an `in_review` idea, in a session the
    actor attends: accept (an owning department), decline (a note of 20+
    characters), duplicate (an open target, not itself; votes move once per
    person) or needs_info (a question for the submitter)."""
    policy.authorize(ctx.actor, "triage.session")
    viewer = member_of(ctx)
    target_status = OUTCOME_STATUS[data.outcome]
    now = ctx.now
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
        # the checks above say why in the product's words; the table agrees
        policy.authorize(viewer, "triage.decide", Facts(status=current, attends=True))
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
            await merge_into(idea_id, event_data["target_idea_id"], now)
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
