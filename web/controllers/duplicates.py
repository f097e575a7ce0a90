"""Likely duplicates on the council's pages (ideas.duplicates): the groups of
the queue and of a session's agenda, the merge of a whole group, and the
"possible duplicates" panel of an idea."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from pydantic import ValidationError

from ideas import duplicates
from ideas.board import view
from ideas.board.ids import parse_idea_id
from ideas.errors import DomainError
from ideas.lifecycle import IN_REVIEW
from ideas.policy import AWAITING_TRIAGE
from ideas.schemas import IdeaOut
from ideas.triage.batch import decline_many
from web.auth import council
from web.controllers.pages import form_errors, page
from web.deps import Ctx


def _row(idea: IdeaOut) -> dict:
    return {
        "id": int(idea.id),
        "title": idea.title,
        "problem": idea.problem,
        "votes": idea.votes,
        "submitted_on": idea.submitted_on,
    }


async def groups_among(ideas: list[IdeaOut]) -> list[dict]:
    """Display groups: the target's idea first, then the others, each with
    its score against the group (the best link it has inside it)."""
    by_id = {int(i.id): i for i in ideas}
    out = []
    for group in await duplicates.groups_of([_row(i) for i in ideas]):
        best = {
            m: max(s for (a, b), s in group.scores.items() if m in (a, b)) for m in group.members
        }
        out.append(
            {
                "target": by_id[group.target],
                "others": [(by_id[m], best[m]) for m in group.members[1:]],
                "member_ids": group.members,
                "score": group.score,
            }
        )
    return out


async def queue_groups(items: list[IdeaOut]) -> list[dict]:
    return await groups_among([i for i in items if i.status in AWAITING_TRIAGE])


async def agenda_groups(session: Any) -> list[dict]:
    """Groups among a session's undecided agenda items."""
    return await groups_among(
        [e.idea for e in session.agenda if not e.outcome and e.idea.status == IN_REVIEW]
    )


async def agenda_context(session: Any) -> dict[str, Any]:
    """The session page's groups, and each member's suggested target (the
    keyboard's "merge into the suggested target")."""
    groups = await agenda_groups(session)
    targets = {str(m): str(g["target"].id) for g in groups for m in g["member_ids"][1:]}
    return {"dup_groups": groups, "suggested_targets": targets}


class DuplicatePages(Controller):
    path = "/triage"
    guards = [council]
    include_in_schema = False

    @post("/sessions/{session_id:str}/merge-group")
    async def merge_group_form(
        self,
        request: Request,
        ctx: Ctx,
        session_id: FromPath[str],
    ) -> Redirect | Template:
        """One action: every other member of a group merged into its target."""
        form = await request.form()
        raw_target = str(form.get("target_id") or "").strip()
        raw_members = [str(v) for v in form.getall("member_ids")] if "member_ids" in form else []
        try:
            target = parse_idea_id(raw_target, "target_id")
            members = [parse_idea_id(m, "member_ids") for m in raw_members]
            merged = await duplicates.merge_group(ctx, session_id, target, members)
        except DomainError as exc:
            return page(
                request,
                "error.html",
                status_code=exc.status,
                status=exc.status,
                detail=f"{str(exc.detail).rstrip('.')}. Nothing was merged",
            )
        return Redirect(
            path=f"/triage/sessions/{session_id}?merged={len(merged)}#agenda-{target}",
            status_code=303,
        )

    @post("/sessions/{session_id:str}/batch-decline")
    async def batch_decline_form(
        self, request: Request, ctx: Ctx, session_id: FromPath[str]
    ) -> Redirect | Template:
        """Decline the selected agenda items with one reason (all or none)."""
        form = await request.form()
        raw_ids = [str(v) for v in form.getall("idea_ids")] if "idea_ids" in form else []
        note = str(form.get("note") or "").strip()
        try:
            ids = [parse_idea_id(i, "idea_ids") for i in raw_ids]
            declined = await decline_many(ctx, session_id, ids, note)
        except (DomainError, ValidationError) as exc:
            status = exc.status if isinstance(exc, DomainError) else 422
            detail = exc.detail if isinstance(exc, DomainError) else form_errors(exc)
            if isinstance(detail, dict):
                detail = "; ".join(f"{k}: {v}" for k, v in detail.items())
            return page(
                request,
                "error.html",
                status_code=status,
                status=status,
                detail=f"{str(detail).rstrip('.')}. Nothing was declined",
            )
        return Redirect(
            path=f"/triage/sessions/{session_id}?declined={len(declined)}#agenda",
            status_code=303,
        )

    @get("/ideas/{idea_id:str}/duplicates")
    async def duplicates_fragment(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
    ) -> Template:
        """The "possible duplicates" panel of an idea (council only)."""
        number = parse_idea_id(idea_id)
        await view.get_idea(ctx, number)  # 404 for an unknown idea
        found = await duplicates.possible_duplicates(ctx, number)
        return page(
            request,
            "_possible_duplicates.html",
            idea_id=str(number),
            found=found,
            threshold=duplicates.GROUP_MIN_SCORE,
        )


ROUTES = [DuplicatePages]
