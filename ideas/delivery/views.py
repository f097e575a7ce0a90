"""What each person sees of delivery: the idea page's actions section, My
actions, the council's delivery board, and the owner picker."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from ideas import policy, sql
from ideas.blind import IDEA_COLUMNS, blind_idea, blind_ideas
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.delivery.actions import (
    WORKING,
    ActionOut,
    action_out,
    action_rows,
    check_role,
    load_action,
)
from ideas.delivery.proposals import parse_proposal
from ideas.errors import Forbidden
from ideas.schemas import IdeaOut
from ideas.tables import Action, Idea, User
from ideas.viewer import Viewer


def _person(ctx: Context) -> Viewer:
    """The person acting: these views are someone's own."""
    policy.authorize(ctx.actor, "idea.view")
    if ctx.person is None:
        raise Forbidden("this is shown to a person signed in")
    return ctx.person


def _proposal(raw) -> dict | None:
    """An owner's pending proposal to ship (the draft), as a dict, or None."""
    draft = parse_proposal(raw)
    return draft.model_dump() if draft else None


# -- My actions --------------------------------------------------------------------------


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


async def _ideas_by_id(viewer: Viewer, ids: set[int]) -> dict[str, IdeaOut]:
    if not ids:
        return {}
    rows = await Idea.select(*IDEA_COLUMNS).where(Idea.id.is_in(list(ids))).run()
    return {i.id: i for i in await blind_ideas(rows, viewer)}


async def my_actions(ctx: Context) -> list[MyAction]:
    """What the person owns: overdue first, then by due date; done ones last."""
    viewer = _person(ctx)
    on = ctx.now.date()
    actions = [action_out(r, on) for r in await action_rows(Action.owner == viewer.id)]
    ideas = await _ideas_by_id(viewer, {int(a.idea_id) for a in actions})
    actions.sort(key=_my_order)
    return [MyAction(action=a, idea=ideas[a.idea_id]) for a in actions if a.idea_id in ideas]


async def my_action(ctx: Context, action_id: int) -> MyAction:
    """One action in the shape of the My actions list (for its HTMX row)."""
    viewer = _person(ctx)
    action = await load_action(action_id, ctx.now.date())
    ideas = await _ideas_by_id(viewer, {int(action.idea_id)})
    return MyAction(action=action, idea=ideas[action.idea_id])


# -- the idea page's actions section ------------------------------------------------------


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


async def actions_panel(ctx: Context, idea_id: int) -> ActionsPanel | None:
    """The idea page's actions section, or None when there is nothing to show."""
    viewer = _person(ctx)
    idea = await blind_idea(await idea_row(idea_id), viewer)
    on = ctx.now.date()
    actions = [action_out(r, on) for r in await action_rows(Action.idea == idea_id)]
    working = idea.status in WORKING
    if not working and not actions:
        return None
    done = sum(a.status == "done" for a in actions)
    movable = (
        {
            a.id
            for a in actions
            if policy.allowed(
                "delivery.move_action",
                viewer.roles,
                policy.Facts(status=idea.status, is_owner=a.owner.id == str(viewer.id)),
            )
        }
        if working
        else set()
    )
    all_done = bool(actions) and done == len(actions)
    raw = (await Idea.select(Idea.ship_proposal).where(Idea.id == idea_id).run())[0]
    proposal = _proposal(raw["ship_proposal"]) if working else None
    owner = any(a.owner.id == str(viewer.id) for a in actions)
    plans = policy.allowed("delivery.plan", viewer.roles, policy.Facts(status=idea.status))
    return ActionsPanel(
        idea=idea,
        actions=actions,
        manage=plans,
        movable=movable,
        can_ship=all_done
        and policy.allowed("delivery.ship", viewer.roles, policy.Facts(status=idea.status)),
        done=done,
        total=len(actions),
        can_propose=working
        and all_done
        and proposal is None
        and policy.allowed("delivery.propose", viewer.roles, policy.Facts(is_owner=owner)),
        proposal=proposal,
    )


# -- the council's delivery board ---------------------------------------------------------


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


async def delivery_board(ctx: Context) -> list[BoardIdea]:
    """Accepted and in-progress ideas with progress, owners and overdue work;
    proposals to ship first, then ideas with overdue actions."""
    policy.authorize(ctx.actor, "delivery.board")
    viewer = _person(ctx)
    rows = (
        await Idea.select(*IDEA_COLUMNS)
        .where(Idea.status.is_in(sorted(policy.IN_DELIVERY)))
        .order_by(Idea.id)
        .run()
    )
    ideas = await blind_ideas(rows, viewer)
    on = ctx.now.date()
    proposals = {}
    if ideas:
        for r in (
            await Idea.select(Idea.id, Idea.ship_proposal)
            .where(Idea.id.is_in([int(i.id) for i in ideas]))
            .run()
        ):
            draft = _proposal(r["ship_proposal"])
            if draft:
                proposals[str(r["id"])] = draft
    by_idea: dict[str, list[ActionOut]] = {i.id: [] for i in ideas}
    if ideas:
        for r in await action_rows(Action.idea.is_in([int(i.id) for i in ideas])):
            by_idea[str(r["idea"])].append(action_out(r, on))
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


# -- the owner picker --------------------------------------------------------------------


class PersonOut(BaseModel):
    """A directory entry for the owner picker: carries no idea."""

    id: str
    name: str
    department: str


async def search_people(ctx: Context, q: str, limit: int = 8) -> list[PersonOut]:
    """Active people whose name matches: a directory (name, department) that
    carries no idea, for choosing an action's owner (council)."""
    check_role(ctx.actor, "delivery.plan")
    words = [w for w in q.replace("%", " ").replace("_", " ").split() if w][:4]
    if not words:
        return []
    query = User.select(User.id, User.name, User.department.name.as_alias("department")).where(
        User.active.eq(True)
    )
    for word in words:
        query = query.where(sql.name_contains(User.name, f"%{word[:60]}%"))
    rows = await query.order_by(User.name).limit(limit).run()
    return [PersonOut(id=str(r["id"]), name=r["name"], department=r["department"]) for r in rows]
