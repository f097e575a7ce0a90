"""Delivery: the actions an accepted idea needs, shipping it, and credit.

Council adds, edits and removes actions; an action's owner (or council)
moves it todo → doing → done. The first action leaving `todo` moves an
`accepted` idea to `in_progress`; shipping needs at least one action, all
done, and a ship note. Submitters choose credit for themselves; the choice
shows (name and department, never the title) only once the idea ships.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, StringConstraints

from ideas import clock, figures
from ideas.blind import IDEA_COLUMNS, blind_idea, blind_ideas
from ideas.board.listing import next_offset_cursor, offset_from_cursor
from ideas.board.view import idea_row
from ideas.db import is_postgres, write_transaction
from ideas.errors import Conflict, Forbidden, Invalid, NotFound
from ideas.lifecycle import (
    ACCEPTED,
    ACTION_OWNER,
    COUNCIL,
    IN_PROGRESS,
    SHIPPED,
    check_transition,
)
from ideas.outbox import record_event
from ideas.policy import IN_DELIVERY as WORKING  # actions are added, edited, moved
from ideas.schemas import IdeaOut, Page, Strict
from ideas.tables import Action, Event, Idea, Notification, Submission, User
from ideas.text import visible
from ideas.viewer import Viewer, require_role

ACTION_STATUSES = ("todo", "doing", "done")
ActionStatus = Literal["todo", "doing", "done"]
ACTION_STATUS_LABELS = {"todo": "To do", "doing": "Doing", "done": "Done"}

TITLE_MIN, TITLE_MAX = 3, 200
SHIP_NOTE_MIN, SHIP_NOTE_MAX = 20, 5000
METRIC_MAX = 120

ActionTitle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=TITLE_MIN, max_length=TITLE_MAX),
    AfterValidator(visible(TITLE_MIN)),
]
OwnerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


# -- models in and out ----------------------------------------------------------


class ActionIn(Strict):
    title: ActionTitle
    owner_id: OwnerId
    due_on: dt.date


class ActionPatch(Strict):
    """`status` by the owner or council; the other fields by council only."""

    status: ActionStatus | None = None
    title: ActionTitle | None = None
    owner_id: OwnerId | None = None
    due_on: dt.date | None = None


class ShipIn(Strict):
    note: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=SHIP_NOTE_MIN, max_length=SHIP_NOTE_MAX
        ),
    ]
    impact_metric: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=METRIC_MAX)
    ] = ""
    impact_before: float | None = None
    impact_after: float | None = None


class CreditIn(Strict):
    credit: bool


class OwnerOut(BaseModel):
    """An action's owner: a person doing work, never the idea's submitter link."""

    id: str
    name: str
    department: str


class ActionOut(BaseModel):
    id: str
    idea_id: str
    title: str
    status: str
    due_on: dt.date
    overdue: bool
    done_on: dt.date | None = None
    owner: OwnerOut


class ImpactOut(BaseModel):
    metric: str
    before: float
    after: float
    #: e.g. "invoice calls per week: 140 → 60"
    summary: str


class ShippedOut(BaseModel):
    idea: IdeaOut
    shipped_on: dt.date
    ship_note: str
    impact: ImpactOut | None


class PersonOut(BaseModel):
    """A directory entry for the owner picker: carries no idea."""

    id: str
    name: str
    department: str


@dataclass
class BoardIdea:
    idea: IdeaOut
    actions: list[ActionOut]
    done: int
    total: int
    overdue: int
    owners: list[str] = field(default_factory=list)
    #: an owner's pending proposal to ship (the draft), or None
    proposal: dict | None = None


@dataclass
class CreditState:
    """The viewer's own credit choice on an idea they (co-)submitted."""

    idea_id: str
    #: None = not chosen yet (anonymous)
    credit: bool | None
    shipped: bool
    co_submitter: bool


# -- helpers ------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.6g}"


def impact_of(metric: str, before: float | None, after: float | None) -> ImpactOut | None:
    if not metric or before is None or after is None:
        return None
    return ImpactOut(
        metric=metric,
        before=before,
        after=after,
        summary=f"{metric}: {_number(before)} → {_number(after)}",
    )


def _refuse_unless_working(status: str) -> None:
    if status not in WORKING:
        raise Conflict(
            f"actions change only while an idea is accepted or in progress; this one is '{status}'",
            {"current_status": status},
        )


async def _locked_idea(idea_id: int) -> dict:
    """The idea's status row, locked for the transaction on PostgreSQL (SQLite's
    write transaction already holds the database's write lock)."""
    query = Idea.select(Idea.id, Idea.status).where(Idea.id == idea_id)
    if is_postgres():
        query = query.lock_rows()
    rows = await query.run()
    if not rows:
        raise NotFound("no such idea")
    return rows[0]


async def _active_owner(raw: str) -> UUID:
    """An active user's id from a body field; anything else is a 422 on owner_id."""
    try:
        uid = UUID(str(raw).strip())
    except ValueError:
        raise Invalid("owner_id", f"no active user with id {raw!r}") from None
    found = await User.exists().where(User.id == uid, User.active.eq(True)).run()
    if not found:
        raise Invalid("owner_id", f"no active user with id {raw!r}")
    return uid


_ACTION_COLUMNS = (
    Action.id,
    Action.idea,
    Action.title,
    Action.status,
    Action.due_on,
    Action.done_at,
    Action.owner,
    Action.owner.name.as_alias("owner_name"),
    Action.owner.department.name.as_alias("owner_department"),
)


def _action_out(row: dict, on: dt.date) -> ActionOut:
    done_at = row["done_at"]
    return ActionOut(
        id=str(row["id"]),
        idea_id=str(row["idea"]),
        title=row["title"],
        status=row["status"],
        due_on=row["due_on"],
        overdue=row["status"] != "done" and row["due_on"] < on,
        done_on=done_at.date() if isinstance(done_at, dt.datetime) else None,
        owner=OwnerOut(
            id=str(row["owner"]), name=row["owner_name"], department=row["owner_department"]
        ),
    )


async def _action_rows(*where) -> list[dict]:
    return await Action.select(*_ACTION_COLUMNS).where(*where).order_by(Action.id).run()


async def get_action(action_id: int) -> ActionOut:
    rows = await _action_rows(Action.id == action_id)
    if not rows:
        raise NotFound("no such action")
    return _action_out(rows[0], clock.today())


async def _start_work(viewer: Viewer, idea_id: int, status: str) -> None:
    """An action left `todo`: an `accepted` idea moves to `in_progress`, with
    its timeline event. Call inside the transaction holding the idea."""
    if status != ACCEPTED:
        return
    by = COUNCIL if viewer.is_council else ACTION_OWNER
    move = check_transition(status, IN_PROGRESS, by)
    moved = (
        await Idea.update({Idea.status: IN_PROGRESS, Idea.updated_at: clock.now()})
        .where(Idea.id == idea_id, Idea.status == ACCEPTED)
        .returning(Idea.id)
        .run()
    )
    if moved:
        await record_event(
            idea_id=idea_id,
            kind="status",
            status=IN_PROGRESS,
            note="Work has started on this idea.",
            actor_label=move.actor_label,
            actor_id=viewer.id,
        )


async def _assigned(viewer: Viewer, idea_id: int, action_id: int, status: str) -> None:
    """Tell the owner (through the worker) that an action is theirs."""
    await record_event(
        idea_id=idea_id,
        kind="action_assigned",
        status=status,
        actor_label="CX council",
        actor_id=viewer.id,
        public=False,
        data={"action_id": action_id},
    )


# -- actions ------------------------------------------------------------------------


PAST_DUE = (
    "the due date is in the past: choose today or a later date, "
    "or tick “It is already late” to keep it"
)


def _check_due(due_on: dt.date | None, allow_past: bool) -> None:
    """A form asks before taking a due date in the past (the API takes it:
    integrations record work that is already late)."""
    if due_on is not None and not allow_past and due_on < clock.today():
        raise Invalid("due_on", PAST_DUE)


async def add_action(
    viewer: Viewer, idea_id: int, data: ActionIn, allow_past: bool = True
) -> ActionOut:
    """Council adds an action to an accepted or in-progress idea."""
    require_role(viewer, "council")
    _check_due(data.due_on, allow_past)
    async with write_transaction():
        idea = await _locked_idea(idea_id)
        _refuse_unless_working(idea["status"])
        owner = await _active_owner(data.owner_id)
        action = Action(
            idea=idea_id,
            title=data.title,
            owner=owner,
            due_on=data.due_on,
            status="todo",
            created_at=clock.now(),
        )
        await action.save().run()
        await _assigned(viewer, idea_id, action.id, idea["status"])
    return await get_action(action.id)


async def _action_and_idea(action_id: int) -> tuple[dict, dict]:
    rows = (
        await Action.select(Action.id, Action.idea, Action.owner, Action.status, Action.due_on)
        .where(Action.id == action_id)
        .run()
    )
    if not rows:
        raise NotFound("no such action")
    return rows[0], await _locked_idea(rows[0]["idea"])


async def update_action(
    viewer: Viewer, action_id: int, data: ActionPatch, allow_past: bool = True
) -> ActionOut:
    """Move an action (its owner or council) and/or edit it (council only)."""
    edits = {name for name in ("title", "owner_id", "due_on") if getattr(data, name) is not None}
    if data.status is None and not edits:
        raise Invalid("status", "give a status (or, as council, a title, owner_id or due_on)")
    async with write_transaction():
        action, idea = await _action_and_idea(action_id)
        if edits:
            require_role(viewer, "council")
        elif not (viewer.is_council or action["owner"] == viewer.id):
            raise Forbidden("only the action's owner or the council may move it")
        _refuse_unless_working(idea["status"])
        if data.due_on != action["due_on"]:
            _check_due(data.due_on, allow_past)
        values: dict = {}
        if data.title is not None:
            values[Action.title] = data.title
        if data.due_on is not None:
            values[Action.due_on] = data.due_on
        new_owner = None
        if data.owner_id is not None:
            new_owner = await _active_owner(data.owner_id)
            values[Action.owner] = new_owner
        if data.status is not None and data.status != action["status"]:
            values[Action.status] = data.status
            values[Action.done_at] = clock.now() if data.status == "done" else None
        if values:
            await Action.update(values).where(Action.id == action_id).run()
        if new_owner is not None and new_owner != action["owner"]:
            await _assigned(viewer, idea["id"], action_id, idea["status"])
        if data.status is not None and data.status != "todo":
            await _start_work(viewer, idea["id"], idea["status"])
    return await get_action(action_id)


async def update_action_status(viewer: Viewer, action_id: int, status: str) -> ActionOut:
    """The owner or council moves an action; anyone else gets 403."""
    if status not in ACTION_STATUSES:
        raise Invalid("status", f"must be one of {', '.join(ACTION_STATUSES)}")
    return await update_action(viewer, action_id, ActionPatch(status=status))


async def edit_action(
    viewer: Viewer,
    action_id: int,
    *,
    title: str | None = None,
    owner_id: str | None = None,
    due_on: dt.date | None = None,
    allow_past: bool = True,
) -> ActionOut:
    """Council edits an action's title, owner or due date."""
    require_role(viewer, "council")
    if title is None and owner_id is None and due_on is None:
        raise Invalid("title", "nothing to change")
    return await update_action(
        viewer, action_id, ActionPatch(title=title, owner_id=owner_id, due_on=due_on), allow_past
    )


async def remove_action(viewer: Viewer, action_id: int) -> str:
    """Council removes an action; answers the idea's id. Its owner is told,
    and their "You own a new action" notice says it was removed."""
    require_role(viewer, "council")
    async with write_transaction():
        action, idea = await _action_and_idea(action_id)
        _refuse_unless_working(idea["status"])
        title = (await Action.select(Action.title).where(Action.id == action_id).run())[0]
        await Action.delete().where(Action.id == action_id).run()
        await record_event(
            idea_id=idea["id"],
            kind="action_removed",
            actor_label="CX council",
            actor_id=viewer.id,
            public=False,
            data={"action_id": action_id, "owner": str(action["owner"]), "title": title["title"]},
        )
        # the assignment notice must not keep saying the action is theirs
        assigned = (
            await Event.select(Event.id, Event.data)
            .where(Event.idea == idea["id"], Event.kind == "action_assigned")
            .output(load_json=True)
            .run()
        )
        ids = [e["id"] for e in assigned if (e["data"] or {}).get("action_id") == action_id]
        if ids:
            await (
                Notification.update(
                    {Notification.text: Notification.text + " (This action was later removed.)"}
                )
                .where(
                    Notification.event.is_in(ids),
                    Notification.kind == "action_assigned",
                    Notification.text.not_like("%(This action was later removed.)"),
                )
                .run()
            )
    return str(action["idea"])


async def list_actions(idea_id: int) -> list[ActionOut]:
    """An idea's actions with status and owner (name, department)."""
    await idea_row(idea_id)
    on = clock.today()
    return [_action_out(r, on) for r in await _action_rows(Action.idea == idea_id)]


def _my_order(a: ActionOut) -> tuple:
    if a.status == "done":
        return (2, -(a.done_on or a.due_on).toordinal(), int(a.id))
    return (0 if a.overdue else 1, a.due_on.toordinal(), int(a.id))


@dataclass
class MyAction:
    action: ActionOut
    idea: IdeaOut

    @property
    def movable(self) -> bool:
        return self.idea.status in WORKING


async def my_actions(viewer: Viewer) -> list[MyAction]:
    """What the viewer owns: overdue first, then by due date; done ones last."""
    on = clock.today()
    actions = [_action_out(r, on) for r in await _action_rows(Action.owner == viewer.id)]
    ideas = await _ideas_by_id(viewer, {int(a.idea_id) for a in actions})
    actions.sort(key=_my_order)
    return [MyAction(action=a, idea=ideas[a.idea_id]) for a in actions if a.idea_id in ideas]


async def my_action(viewer: Viewer, action_id: int) -> MyAction:
    """One action in the shape of the My actions list (for its HTMX row)."""
    action = await get_action(action_id)
    ideas = await _ideas_by_id(viewer, {int(action.idea_id)})
    return MyAction(action=action, idea=ideas[action.idea_id])


async def _ideas_by_id(viewer: Viewer, ids: set[int]) -> dict[str, IdeaOut]:
    if not ids:
        return {}
    rows = await Idea.select(*IDEA_COLUMNS).where(Idea.id.is_in(list(ids))).run()
    return {i.id: i for i in await blind_ideas(rows, viewer)}


@dataclass
class ActionsPanel:
    """What one viewer sees of an idea's actions on its page."""

    idea: IdeaOut
    actions: list[ActionOut]
    #: council, while the idea is accepted or in progress: add, edit, remove
    manage: bool
    #: ids of the actions this viewer may move now
    movable: set[str]
    #: council, and every action (one at least) is done
    can_ship: bool
    done: int
    total: int
    #: an action owner, every action done, no proposal pending: may propose shipping
    can_propose: bool = False
    #: a pending proposal to ship: {"note", "impact_metric", "impact_before", "impact_after"}
    proposal: dict | None = None


async def actions_panel(viewer: Viewer, idea_id: int) -> ActionsPanel | None:
    """The idea page's actions section, or None when there is nothing to show."""
    idea = await blind_idea(await idea_row(idea_id), viewer)
    on = clock.today()
    actions = [_action_out(r, on) for r in await _action_rows(Action.idea == idea_id)]
    working = idea.status in WORKING
    if not working and not actions:
        return None
    done = sum(a.status == "done" for a in actions)
    movable = (
        {a.id for a in actions if viewer.is_council or a.owner.id == str(viewer.id)}
        if working
        else set()
    )
    all_done = bool(actions) and done == len(actions)
    raw = (await Idea.select(Idea.ship_proposal).where(Idea.id == idea_id).run())[0]
    proposal = raw["ship_proposal"]
    if isinstance(proposal, str):
        proposal = json.loads(proposal or "{}")
    proposal = proposal if working and proposal and proposal.get("note") else None
    owner = any(a.owner.id == str(viewer.id) for a in actions)
    return ActionsPanel(
        idea=idea,
        actions=actions,
        manage=working and viewer.is_council,
        movable=movable,
        can_ship=working and viewer.is_council and all_done,
        done=done,
        total=len(actions),
        can_propose=working and all_done and owner and proposal is None,
        proposal=proposal,
    )


# -- the delivery board -----------------------------------------------------------


async def delivery_board(viewer: Viewer) -> list[BoardIdea]:
    """Accepted and in-progress ideas with progress, owners and overdue work;
    ideas with overdue actions first."""
    require_role(viewer, "council")
    rows = (
        await Idea.select(*IDEA_COLUMNS)
        .where(Idea.status.is_in([ACCEPTED, IN_PROGRESS]))
        .order_by(Idea.id)
        .run()
    )
    ideas = await blind_ideas(rows, viewer)
    on = clock.today()
    proposals = {}
    if ideas:
        for r in (
            await Idea.select(Idea.id, Idea.ship_proposal)
            .where(Idea.id.is_in([int(i.id) for i in ideas]))
            .run()
        ):
            draft = r["ship_proposal"]
            if isinstance(draft, str):
                draft = json.loads(draft or "{}")
            if draft and draft.get("note"):
                proposals[str(r["id"])] = draft
    by_idea: dict[str, list[ActionOut]] = {i.id: [] for i in ideas}
    if ideas:
        for r in await _action_rows(Action.idea.is_in([int(i.id) for i in ideas])):
            by_idea[str(r["idea"])].append(_action_out(r, on))
    board = []
    for idea in ideas:
        actions = sorted(by_idea[idea.id], key=lambda a: (a.status == "done", a.due_on, int(a.id)))
        owners: list[str] = []
        for a in actions:
            if a.owner.name not in owners:
                owners.append(a.owner.name)
        board.append(
            BoardIdea(
                idea=idea,
                actions=actions,
                done=sum(a.status == "done" for a in actions),
                total=len(actions),
                overdue=sum(a.overdue for a in actions),
                owners=owners,
                proposal=proposals.get(idea.id),
            )
        )
    # proposals to ship first (a decision waits), then overdue work
    board.sort(key=lambda b: (b.proposal is None, b.overdue == 0, b.total == 0, int(b.idea.id)))
    return board


# -- shipping ----------------------------------------------------------------------


def _check_impact(data: ShipIn) -> tuple[str, float | None, float | None]:
    metric = data.impact_metric.strip()
    before, after = data.impact_before, data.impact_after
    if not metric and before is None and after is None:
        return "", None, None
    if not metric:
        raise Invalid("impact_metric", "name the measure (e.g. 'invoice calls per week')")
    if before is None:
        raise Invalid("impact_before", "give the value before the change")
    if after is None:
        raise Invalid("impact_after", "give the value after the change")
    for name, value in (("impact_before", before), ("impact_after", after)):
        if value != value or abs(value) > 1e15:
            raise Invalid(name, "must be a finite number")
    return metric, before, after


async def ship(viewer: Viewer, idea_id: int, data: ShipIn) -> IdeaOut:
    """Council ships an in-progress idea whose actions (one at least) are all
    done, with a note on what changed for customers."""
    require_role(viewer, "council")
    note = data.note.strip()
    if len(note) < SHIP_NOTE_MIN:
        raise Invalid("note", f"say what changed for customers in {SHIP_NOTE_MIN}+ characters")
    metric, before, after = _check_impact(data)
    async with write_transaction():
        idea = await _locked_idea(idea_id)
        status = idea["status"]
        if status == SHIPPED:
            raise Conflict("this idea has already shipped", {"current_status": status})
        statuses = [
            r["status"]
            for r in await Action.select(Action.status).where(Action.idea == idea_id).run()
        ]
        if status in WORKING:
            if not statuses:
                raise Conflict(
                    "shipping needs at least one action, all done; this idea has none",
                    {"current_status": status, "open_actions": 0, "actions": 0},
                )
            still_open = sum(s != "done" for s in statuses)
            if still_open:
                raise Conflict(
                    f"shipping needs every action done; {still_open} still open",
                    {"current_status": status, "open_actions": still_open},
                )
        move = check_transition(status, SHIPPED, COUNCIL)
        now = clock.now()
        await (
            Idea.update(
                {
                    Idea.status: SHIPPED,
                    Idea.shipped_at: now,
                    Idea.ship_note: note,
                    Idea.impact_metric: metric,
                    Idea.impact_before: before,
                    Idea.impact_after: after,
                    Idea.updated_at: now,
                    # an owner's proposal, if any, is settled by the ship
                    Idea.ship_proposal: {},
                }
            )
            .where(Idea.id == idea_id)
            .run()
        )
        await record_event(
            idea_id=idea_id,
            kind="status",
            status=SHIPPED,
            note=note,
            actor_label=move.actor_label,
            actor_id=viewer.id,
        )
    return await blind_idea(await idea_row(idea_id), viewer)


async def shipped_details(idea_id: int) -> tuple[str, ImpactOut | None]:
    """A shipped idea's note and measured impact (for its own page)."""
    rows = (
        await Idea.select(
            Idea.status, Idea.ship_note, Idea.impact_metric, Idea.impact_before, Idea.impact_after
        )
        .where(Idea.id == idea_id)
        .run()
    )
    if not rows or rows[0]["status"] != SHIPPED:
        return "", None
    r = rows[0]
    return r["ship_note"], impact_of(r["impact_metric"], r["impact_before"], r["impact_after"])


async def shipped_feed(
    viewer: Viewer, limit: int = 20, cursor: str | None = None
) -> Page[ShippedOut]:
    """Recently shipped ideas, newest first: ship note, impact, owning
    department, and the names of those who opted in to credit."""
    offset = offset_from_cursor(cursor, "not a cursor for this list")
    rows = (
        await Idea.select(
            *IDEA_COLUMNS,
            Idea.shipped_at,
            Idea.ship_note,
            Idea.impact_metric,
            Idea.impact_before,
            Idea.impact_after,
        )
        .where(Idea.status == SHIPPED)
        .order_by(Idea.shipped_at, Idea.id, ascending=False)
        .offset(offset)
        .limit(limit + 1)
        .run()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    ideas = await blind_ideas(rows, viewer)
    items = [
        ShippedOut(
            idea=idea,
            shipped_on=(r["shipped_at"] or clock.now()).date(),
            ship_note=r["ship_note"],
            impact=impact_of(r["impact_metric"], r["impact_before"], r["impact_after"]),
        )
        for idea, r in zip(ideas, rows, strict=True)
    ]
    next_cursor = next_offset_cursor(offset, limit, more)
    return Page[ShippedOut](items=items, next_cursor=next_cursor)


# -- credit -----------------------------------------------------------------------


async def set_credit(viewer: Viewer, idea_id: int, credit: bool) -> IdeaOut:
    """The submitter or a co-submitter chooses credit, each for themselves.
    A choice made before shipping is kept and shows once the idea ships."""
    async with write_transaction():
        await idea_row(idea_id)
        changed = (
            await Submission.update({Submission.credit: credit})
            .where(Submission.idea == idea_id, Submission.user == viewer.id)
            .returning(Submission.id)
            .run()
        )
        if not changed:
            raise Forbidden("only the idea's submitter (or a co-submitter) chooses credit")
        await figures.bump()  # the leaderboard counts credited submitters
    return await blind_idea(await idea_row(idea_id), viewer)


async def credit_state(viewer: Viewer, idea_id: int) -> CreditState | None:
    """The viewer's own choice on an idea they (co-)submitted that is heading
    for shipping or has shipped; None for anyone else or any other idea."""
    row = await idea_row(idea_id)
    if row["status"] not in (ACCEPTED, IN_PROGRESS, SHIPPED):
        return None
    rows = (
        await Submission.select(Submission.credit, Submission.role)
        .where(Submission.idea == idea_id, Submission.user == viewer.id)
        .order_by(Submission.id)
        .run()
    )
    if not rows:
        return None
    return CreditState(
        idea_id=str(idea_id),
        credit=rows[0]["credit"],
        shipped=row["status"] == SHIPPED,
        co_submitter=all(r["role"] != "submitter" for r in rows),
    )


# -- the owner picker ----------------------------------------------------------------


async def search_people(q: str, limit: int = 8) -> list[PersonOut]:
    """Active people whose name matches: a directory (name, department) that
    carries no idea, for choosing an action's owner."""
    words = [w for w in q.replace("%", " ").replace("_", " ").split() if w][:4]
    if not words:
        return []
    query = User.select(User.id, User.name, User.department.name.as_alias("department")).where(
        User.active.eq(True)
    )
    postgres = is_postgres()
    for word in words:
        pattern = f"%{word[:60]}%"
        # SQLite's LIKE already ignores ASCII case (and has no ILIKE)
        query = query.where(User.name.ilike(pattern) if postgres else User.name.like(pattern))
    rows = await query.order_by(User.name).limit(limit).run()
    return [PersonOut(id=str(r["id"]), name=r["name"], department=r["department"]) for r in rows]


__all__ = [
    "ACTION_STATUSES",
    "ACTION_STATUS_LABELS",
    "ActionIn",
    "ActionOut",
    "ActionPatch",
    "BoardIdea",
    "CreditIn",
    "CreditState",
    "MyAction",
    "PersonOut",
    "ShipIn",
    "ShippedOut",
    "ActionsPanel",
    "actions_panel",
    "add_action",
    "credit_state",
    "delivery_board",
    "edit_action",
    "list_actions",
    "my_actions",
    "remove_action",
    "search_people",
    "set_credit",
    "ship",
    "shipped_feed",
    "update_action",
    "update_action_status",
]
