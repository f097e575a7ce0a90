"""Actions: council adds, edits and removes the actions an accepted or
in-progress idea needs; an action's owner (or council) moves it todo →
doing → done. The first action leaving `todo` moves an `accepted` idea to
`in_progress`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, StringConstraints

from ideas import policy, sql
from ideas.board.view import idea_row
from ideas.context import Actor, Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.lifecycle import (
    ACCEPTED,
    ACTION_OWNER,
    COUNCIL,
    IN_PROGRESS,
    check_transition,
)
from ideas.outbox import record_event
from ideas.policy import IN_DELIVERY as WORKING  # actions are added, edited, moved
from ideas.schemas import Strict
from ideas.tables import Action, Event, Idea, Notification, User
from ideas.text import visible

ACTION_STATUSES = ("todo", "doing", "done")
ActionStatus = Literal["todo", "doing", "done"]
ACTION_STATUS_LABELS = {"todo": "To do", "doing": "Doing", "done": "Done"}

TITLE_MIN, TITLE_MAX = 3, 200

ActionTitle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=TITLE_MIN, max_length=TITLE_MAX),
    AfterValidator(visible(TITLE_MIN)),
]
OwnerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


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


# -- checks shared by the delivery use cases ------------------------------------------


def check_role(actor: Actor, action: str) -> None:
    """403 unless the actor has one of the roles `action` needs: checked
    before anything is looked up, as the web's guard would; the permission's
    rule on the idea's facts is checked once they are known."""
    if not policy.roles_for(action) & frozenset(actor.roles):
        policy.authorize(actor, action)


def refuse_unless_working(status: str) -> None:
    """409 unless the idea is being delivered (accepted or in progress)."""
    if status not in WORKING:
        raise Conflict(
            f"actions change only while an idea is accepted or in progress; this one is '{status}'",
            {"current_status": status},
        )


async def locked_idea(idea_id: int) -> dict:
    """The idea's status row, locked for the transaction (`sql.locked`)."""
    rows = await sql.locked(Idea.select(Idea.id, Idea.status).where(Idea.id == idea_id)).run()
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


def action_out(row: dict, on: dt.date) -> ActionOut:
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


async def action_rows(*where) -> list[dict]:
    return await Action.select(*_ACTION_COLUMNS).where(*where).order_by(Action.id).run()


async def load_action(action_id: int, on: dt.date) -> ActionOut:
    """One action as of the day `on` (no permission check: for use cases)."""
    rows = await action_rows(Action.id == action_id)
    if not rows:
        raise NotFound("no such action")
    return action_out(rows[0], on)


async def get_action(ctx: Context, action_id: int) -> ActionOut:
    """One action with its status and owner."""
    policy.authorize(ctx.actor, "idea.view")
    return await load_action(action_id, ctx.now.date())


async def _start_work(ctx: Context, idea_id: int, status: str) -> None:
    """An action left `todo`: an `accepted` idea moves to `in_progress`, with
    its timeline event. Call inside the transaction holding the idea."""
    if status != ACCEPTED:
        return
    by = (
        COUNCIL
        if policy.allowed("delivery.as_council", frozenset(ctx.actor.roles))
        else ACTION_OWNER
    )
    move = check_transition(status, IN_PROGRESS, by)
    moved = (
        await Idea.update({Idea.status: IN_PROGRESS, Idea.updated_at: ctx.now})
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
            actor_id=ctx.actor.id,
        )


async def _assigned(ctx: Context, idea_id: int, action_id: int, status: str) -> None:
    """Tell the owner (through the worker) that an action is theirs."""
    await record_event(
        idea_id=idea_id,
        kind="action_assigned",
        status=status,
        actor_label="CX council",
        actor_id=ctx.actor.id,
        public=False,
        data={"action_id": action_id},
    )


PAST_DUE = (
    "the due date is in the past: choose today or a later date, "
    "or tick “It is already late” to keep it"
)


def _check_due(due_on: dt.date | None, allow_past: bool, today: dt.date) -> None:
    """A form asks before taking a due date in the past (the API takes it:
    integrations record work that is already late)."""
    if due_on is not None and not allow_past and due_on < today:
        raise Invalid("due_on", PAST_DUE)


# -- the use cases ---------------------------------------------------------------------


async def add_action(
    ctx: Context, idea_id: int, data: ActionIn, allow_past: bool = True
) -> ActionOut:
    """Council adds an action to an accepted or in-progress idea."""
    check_role(ctx.actor, "delivery.plan")
    _check_due(data.due_on, allow_past, ctx.now.date())
    async with write_transaction():
        idea = await locked_idea(idea_id)
        refuse_unless_working(idea["status"])
        policy.authorize(ctx.actor, "delivery.plan", policy.Facts(status=idea["status"]))
        owner = await _active_owner(data.owner_id)
        action = Action(
            idea=idea_id,
            title=data.title,
            owner=owner,
            due_on=data.due_on,
            status="todo",
            created_at=ctx.now,
        )
        await action.save().run()
        await _assigned(ctx, idea_id, action.id, idea["status"])
    return await load_action(action.id, ctx.now.date())


async def _action_and_idea(action_id: int) -> tuple[dict, dict]:
    rows = (
        await Action.select(Action.id, Action.idea, Action.owner, Action.status, Action.due_on)
        .where(Action.id == action_id)
        .run()
    )
    if not rows:
        raise NotFound("no such action")
    return rows[0], await locked_idea(rows[0]["idea"])


async def update_action(
    ctx: Context, action_id: int, data: ActionPatch, allow_past: bool = True
) -> ActionOut:
    """Move an action (its owner or council) and/or edit it (council only)."""
    edits = {name for name in ("title", "owner_id", "due_on") if getattr(data, name) is not None}
    if data.status is None and not edits:
        raise Invalid("status", "give a status (or, as council, a title, owner_id or due_on)")
    async with write_transaction():
        action, idea = await _action_and_idea(action_id)
        if edits:
            check_role(ctx.actor, "delivery.plan")
        else:
            facts = policy.Facts(status=idea["status"], is_owner=action["owner"] == ctx.actor.id)
            policy.authorize(ctx.actor, "delivery.move_action", facts)
        refuse_unless_working(idea["status"])
        if edits:
            policy.authorize(ctx.actor, "delivery.plan", policy.Facts(status=idea["status"]))
        if data.due_on != action["due_on"]:
            _check_due(data.due_on, allow_past, ctx.now.date())
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
            values[Action.done_at] = ctx.now if data.status == "done" else None
        if values:
            await Action.update(values).where(Action.id == action_id).run()
        if new_owner is not None and new_owner != action["owner"]:
            await _assigned(ctx, idea["id"], action_id, idea["status"])
        if data.status is not None and data.status != "todo":
            await _start_work(ctx, idea["id"], idea["status"])
    return await load_action(action_id, ctx.now.date())


async def update_action_status(ctx: Context, action_id: int, status: str) -> ActionOut:
    """The owner or council moves an action; anyone else gets 403."""
    if status not in ACTION_STATUSES:
        raise Invalid("status", f"must be one of {', '.join(ACTION_STATUSES)}")
    return await update_action(ctx, action_id, ActionPatch(status=status))


async def edit_action(
    ctx: Context,
    action_id: int,
    *,
    title: str | None = None,
    owner_id: str | None = None,
    due_on: dt.date | None = None,
    allow_past: bool = True,
) -> ActionOut:
    """Council edits an action's title, owner or due date."""
    check_role(ctx.actor, "delivery.plan")
    if title is None and owner_id is None and due_on is None:
        raise Invalid("title", "nothing to change")
    return await update_action(
        ctx, action_id, ActionPatch(title=title, owner_id=owner_id, due_on=due_on), allow_past
    )


async def remove_action(ctx: Context, action_id: int) -> str:
    """Council removes an action; answers the idea's id. Its owner is told,
    and their "You own a new action" notice says it was removed."""
    check_role(ctx.actor, "delivery.plan")
    async with write_transaction():
        action, idea = await _action_and_idea(action_id)
        refuse_unless_working(idea["status"])
        policy.authorize(ctx.actor, "delivery.plan", policy.Facts(status=idea["status"]))
        title = (await Action.select(Action.title).where(Action.id == action_id).run())[0]
        await Action.delete().where(Action.id == action_id).run()
        await record_event(
            idea_id=idea["id"],
            kind="action_removed",
            actor_label="CX council",
            actor_id=ctx.actor.id,
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


async def list_actions(ctx: Context, idea_id: int) -> list[ActionOut]:
    """An idea's actions with status and owner (name, department)."""
    policy.authorize(ctx.actor, "idea.view")
    await idea_row(idea_id)
    on = ctx.now.date()
    return [action_out(r, on) for r in await action_rows(Action.idea == idea_id)]
