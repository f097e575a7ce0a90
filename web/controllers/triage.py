"""Triage: the council's queue, sessions and decisions (API and pages), the
council's questions and the submitter's answers, comments on ideas, and the
admin's audited reveal.

Size: over 400 lines: one Litestar controller per area, whose handlers share
their guards; the rules live in ideas/triage/.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Response, Template
from markupsafe import Markup
from pydantic import ValidationError

from ideas import comments, reveal, triage
from ideas.board import view
from ideas.board.ids import parse_idea_id
from ideas.comments import CommentIn, CommentOut
from ideas.context import Context
from ideas.duplicates import GROUP_MIN_SCORE
from ideas.errors import DomainError, Invalid
from ideas.schemas import LIMIT_MAX, IdeaOut, Page, Touchpoint
from ideas.triage.agenda import SessionOut
from ideas.triage.decisions import DecisionIn
from ideas.triage.questions import AnswerIn, QuestionOut
from ideas.triage.queue import QueueItem, QueueSort
from ideas.triage.sessions import SessionIn, SessionSummary
from web.auth import admin, council, staff
from web.controllers import duplicates as duplicate_pages
from web.controllers.pages import form_errors, idea_oob, page, safe_next
from web.deps import Ctx, limiter_of
from web.errors import is_htmx
from web.idempotency import IDEMPOTENT

Limit = Annotated[int, QueryParameter(ge=1, le=LIMIT_MAX, description="page size (default 25)")]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]

OUTCOME_LABELS = {
    "accept": "Accepted",
    "decline": "Declined",
    "duplicate": "Merged as a duplicate",
    "needs_info": "Asked the submitter a question",
}


def _empty() -> Response:
    """A fragment with nothing to show for this viewer: 200, empty body."""
    return Response(content="", media_type="text/html", status_code=200)


# -- API ----------------------------------------------------------------------------------


class TriageApi(Controller):
    path = "/api/v1/triage"
    guards = [council]
    tags = ["triage"]

    @get("/queue")
    async def queue(
        self,
        ctx: Ctx,
        sort: FromQuery[QueueSort] = "votes",
        touchpoint: FromQuery[Touchpoint | None] = None,
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> Page[QueueItem]:
        """`new` and `in_review` ideas (answered ones flagged), blind, with
        `age_days`, `votes` and `sla_breached`; sort by votes or age."""
        return await triage.queue(ctx, sort=sort, touchpoint=touchpoint, limit=limit, cursor=cursor)

    @post("/sessions", status_code=201, opt=IDEMPOTENT)
    async def open_session(self, ctx: Ctx, data: JSONBody[SessionIn]) -> SessionOut:
        """Open a session: attendees are council members spanning the quorum of
        departments (409 otherwise); the agenda takes the waiting ideas."""
        return await triage.open_session(ctx, data.held_on, data.attendee_ids)

    @get("/sessions")
    async def list_sessions(self, ctx: Ctx) -> Page[SessionSummary]:
        """Sessions, latest first."""
        return Page[SessionSummary](items=await triage.list_sessions(ctx), next_cursor=None)

    @get("/sessions/{session_id:str}")
    async def get_session(self, ctx: Ctx, session_id: FromPath[str]) -> SessionOut:
        """A session's attendees, agenda and decisions (who decided: council only)."""
        return await triage.get_session(ctx, session_id)

    @post("/sessions/{session_id:str}/attend", status_code=200)
    async def attend(self, ctx: Ctx, session_id: FromPath[str]) -> SessionOut:
        """A listed attendee confirms attending (403 for anyone else). The
        session decides only once confirmed attendees span the quorum."""
        return await triage.attend(ctx, session_id)


class DecisionApi(Controller):
    path = "/api/v1/ideas"
    guards = [council]
    tags = ["triage"]

    @post("/{idea_id:str}/decision", status_code=200)
    async def decide(
        self,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: JSONBody[DecisionIn],
    ) -> IdeaOut:
        """Decide an `in_review` idea in a session you attend: accept, decline,
        duplicate or needs_info. Answers the updated idea."""
        return await triage.decide(ctx, parse_idea_id(idea_id), data)


class IdeaConversationApi(Controller):
    path = "/api/v1/ideas"
    guards = [staff]
    tags = ["ideas"]

    @post("/{idea_id:str}/answer", status_code=200)
    async def answer(
        self,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: JSONBody[AnswerIn],
    ) -> IdeaOut:
        """The submitter answers the council's question: `needs_info` → `in_review`."""
        return await triage.answer_question(ctx, parse_idea_id(idea_id), data.answer)

    @get("/{idea_id:str}/questions")
    async def questions(self, ctx: Ctx, idea_id: FromPath[str]) -> Page[QuestionOut]:
        """The council's questions and the answers: for the submitter and the
        council; an empty list for anyone else."""
        thread = await triage.question_thread(ctx, parse_idea_id(idea_id))
        return Page[QuestionOut](items=thread.questions if thread else [], next_cursor=None)

    @get("/{idea_id:str}/comments")
    async def list_comments(self, ctx: Ctx, idea_id: FromPath[str]) -> Page[CommentOut]:
        """Comments, oldest first; the submitter shows as "Submitter"."""
        items = await comments.list_comments(ctx, parse_idea_id(idea_id))
        return Page[CommentOut](items=items, next_cursor=None)

    @post("/{idea_id:str}/comments", status_code=201, opt=IDEMPOTENT)
    async def add_comment(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: JSONBody[CommentIn],
    ) -> CommentOut:
        """Comment (plain text or Markdown); council members may set `as_council`."""
        number = parse_idea_id(idea_id)
        await limiter_of(request).hit("comment", str(ctx.actor.id))
        return await comments.add_comment(ctx, number, data)


# -- council pages ------------------------------------------------------------------------


def _status_of(exc: Exception) -> int:
    return exc.status if isinstance(exc, DomainError) else 422


class TriagePages(Controller):
    path = "/triage"
    guards = [council]
    include_in_schema = False

    @get("/")
    async def queue_page(
        self,
        request: Request,
        ctx: Ctx,
        sort: FromQuery[str] = "votes",
        touchpoint: FromQuery[str | None] = None,
        cursor: Cursor = None,
    ) -> Template:
        try:
            result = await triage.queue(
                ctx, sort=sort, touchpoint=touchpoint or None, limit=50, cursor=cursor
            )
            error = None
        except DomainError as exc:
            result, error = None, exc.detail
        return page(
            request,
            "triage_queue.html",
            items=result.items if result else [],
            next_cursor=result.next_cursor if result else None,
            sort=sort,
            touchpoint=touchpoint or "",
            error=error,
            dup_groups=await duplicate_pages.queue_groups(result.items) if result else [],
            dup_threshold=GROUP_MIN_SCORE,
        )

    async def _sessions_page(
        self,
        request: Request,
        ctx: Ctx,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        held_on: str = "",
        chosen: list[str] | None = None,
    ) -> Template:
        overview = await triage.sessions_overview(ctx)
        return page(
            request,
            "triage_sessions.html",
            status_code=status_code,
            sessions=overview.sessions,
            members=overview.members,
            quorum=overview.quorum,
            errors=errors or {},
            held_on=held_on or ctx.now.date().isoformat(),
            chosen=set(chosen) if chosen is not None else {str(ctx.actor.id)},
        )

    @get("/sessions")
    async def sessions_page(self, request: Request, ctx: Ctx) -> Template:
        return await self._sessions_page(request, ctx)

    @post("/sessions")
    async def open_session_form(self, request: Request, ctx: Ctx) -> Response | Template:
        form = await request.form()
        held_on_raw = str(form.get("held_on") or "").strip()
        attendee_ids = (
            [str(v) for v in form.getall("attendee_ids")] if "attendee_ids" in form else []
        )
        try:
            held_on = dt.date.fromisoformat(held_on_raw)
        except ValueError:
            return await self._sessions_page(
                request,
                ctx,
                status_code=422,
                errors={"held_on": "Give the session's date."},
                held_on=held_on_raw,
                chosen=attendee_ids,
            )
        try:
            session = await triage.open_session(ctx, held_on, attendee_ids)
        except DomainError as exc:
            return await self._sessions_page(
                request,
                ctx,
                status_code=_status_of(exc),
                errors=form_errors(exc, detail_sentence=True),
                held_on=held_on_raw,
                chosen=attendee_ids,
            )
        return Redirect(path=f"/triage/sessions/{session.id}", status_code=303)

    async def _session_context(self, ctx: Ctx, session_id: str) -> dict[str, Any]:
        view = await triage.session_view(ctx, session_id)
        return {
            "session": view.session,
            "attends": view.attends,
            "can_decide": view.can_decide,
            "confirmed_departments": view.confirmed_departments,
            "quorum": view.quorum,
            "departments": view.departments,
            "merge_targets": view.merge_targets,
            "outcome_labels": OUTCOME_LABELS,
            "dup_threshold": GROUP_MIN_SCORE,
            **await duplicate_pages.agenda_context(view.session),
        }

    @get("/sessions/{session_id:str}")
    async def session_page(self, request: Request, ctx: Ctx, session_id: FromPath[str]) -> Template:
        context = await self._session_context(ctx, session_id)
        return page(request, "triage_session.html", errors={}, values={}, failed=None, **context)

    @post("/sessions/{session_id:str}/attend")
    async def attend_form(self, request: Request, ctx: Ctx, session_id: FromPath[str]) -> Response:
        """The "I attend" button of the session page."""
        session = await triage.attend(ctx, session_id)
        return Redirect(path=f"/triage/sessions/{session.id}", status_code=303)

    @post("/sessions/{session_id:str}/ideas/{idea_id:str}/decision")
    async def decide_form(
        self,
        request: Request,
        ctx: Ctx,
        session_id: FromPath[str],
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        """The inline decision form: answers the agenda item itself to HTMX
        (decided, or the form with its errors), or the page without JS."""
        number = parse_idea_id(idea_id)
        fields = ("outcome", "note", "owning_department_id", "duplicate_of", "question")
        values = {k: (data.get(k) or "").strip() for k in fields}
        errors: dict[str, str] = {}
        status_code = 200
        try:
            decision = DecisionIn(
                session_id=session_id,
                outcome=values["outcome"],
                note=values["note"],
                owning_department_id=values["owning_department_id"] or None,
                duplicate_of=values["duplicate_of"] or None,
                question=values["question"] or None,
            )
            await triage.decide(ctx, number, decision)
        except (ValidationError, DomainError) as exc:
            errors, status_code = form_errors(exc, detail_sentence=True), _status_of(exc)
        context = await self._session_context(ctx, session_id)
        if is_htmx(request):
            entry = next((e for e in context["session"].agenda if e.idea.id == str(number)), None)
            if entry is None:
                return Response(
                    content=errors.get("form", "This idea is not on this session's agenda."),
                    media_type="text/plain",
                    status_code=status_code if errors else 404,
                )
            return page(
                request,
                "_triage_item.html",
                entry=entry,
                errors=errors,
                values=values,
                failed=str(number) if errors else None,
                decided_now=not errors,
                oob_counts=True,
                **context,
            )
        if errors:
            return page(
                request,
                "triage_session.html",
                status_code=status_code,
                errors=errors,
                values=values,
                failed=str(number),
                **context,
            )
        return Redirect(path=f"/triage/sessions/{session_id}#agenda-{number}", status_code=303)


# -- fragments and forms on an idea (all staff) ---------------------------------------------


def _comment_views(items: list[CommentOut]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "at": c.at,
            "author": c.author,
            "html": Markup(comments.render_body(c.body)),
            "edited": c.edited,
            "deleted": c.deleted,
            "mine": c.mine,
            "editable": c.editable,
            "body_text": c.body,
            "visible_from": c.visible_from,
        }
        for c in items
    ]


class IdeaConversationPages(Controller):
    path = "/"
    guards = [staff]
    include_in_schema = False

    @get("/fragments/ideas/{idea_id:str}/question")
    async def question_fragment(
        self, request: Request, ctx: Ctx, idea_id: FromPath[str]
    ) -> Response | Template:
        """Council: the questions and answers. Submitter: the question and an
        answer form while it waits. Anyone else: nothing."""
        thread = await triage.question_thread(ctx, parse_idea_id(idea_id))
        if thread is None or not thread.questions:
            return _empty()
        return page(request, "_question.html", thread=thread, errors={}, answer="", thanks=False)

    @post("/ideas/{idea_id:str}/answer")
    async def answer_form(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        number = parse_idea_id(idea_id)
        answer = (data.get("answer") or "").strip()
        errors: dict[str, str] = {}
        status_code = 200
        try:
            await triage.answer_question(ctx, number, answer)
        except DomainError as exc:
            errors, status_code = form_errors(exc, detail_sentence=True), _status_of(exc)
        if not is_htmx(request) and not errors:
            return Redirect(path=safe_next(data.get("back") or f"/ideas/{number}"), status_code=303)
        thread = await triage.question_thread(ctx, number)
        if thread is None:
            return Response(
                content=errors.get("form", "Not allowed."), media_type="text/plain", status_code=403
            )
        return page(
            request,
            "_question.html",
            status_code=200 if is_htmx(request) else status_code,
            thread=thread,
            errors=errors,
            answer=answer if errors else "",
            thanks=not errors,
            # the status and the timeline changed too: refresh them out of band
            **(await idea_oob(ctx, number) if not errors else {}),
        )

    async def _comments(
        self,
        request: Request,
        ctx: Context,
        number: int,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        body: str = "",
        as_council: bool = False,
    ) -> Template:
        thread = await comments.comment_thread(ctx, number)
        return page(
            request,
            "_comments.html",
            status_code=status_code,
            idea_id=str(number),
            comments=_comment_views(thread.comments),
            viewer_is_submitter=thread.viewer_is_submitter,
            viewer_is_co_submitter=thread.viewer_is_co_submitter,
            can_comment_as_council=thread.can_comment_as_council,
            errors=errors or {},
            body=body,
            as_council=as_council,
        )

    @get("/fragments/ideas/{idea_id:str}/comments")
    async def comments_fragment(
        self, request: Request, ctx: Ctx, idea_id: FromPath[str]
    ) -> Template:
        return await self._comments(request, ctx, parse_idea_id(idea_id))

    @post("/ideas/{idea_id:str}/comments")
    async def comment_form(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        number = parse_idea_id(idea_id)
        body = data.get("body") or ""
        as_council = data.get("as_council") in ("1", "on", "true")
        try:
            await limiter_of(request).hit("comment", str(ctx.actor.id))
            await comments.add_comment(ctx, number, CommentIn(body=body, as_council=as_council))
        except (ValidationError, DomainError) as exc:
            errors = form_errors(exc, detail_sentence=True)
            status_code = 200 if is_htmx(request) else _status_of(exc)
            return await self._comments(request, ctx, number, status_code, errors, body, as_council)
        if is_htmx(request):
            return await self._comments(request, ctx, number)
        return Redirect(path=f"/ideas/{number}#idea-comments", status_code=303)


# -- the audited reveal (admin) -----------------------------------------------------------


class RevealPages(Controller):
    path = "/admin/ideas"
    guards = [admin]
    include_in_schema = False

    @get("/{idea_id:str}/reveal")
    async def reveal_form(self, request: Request, ctx: Ctx, idea_id: FromPath[str]) -> Template:
        idea = await view.get_idea(ctx, parse_idea_id(idea_id))
        return page(
            request,
            "reveal.html",
            idea=idea,
            revealed=None,
            errors={},
            reason="",
            reason_min=reveal.REASON_MIN,
        )

    @post("/{idea_id:str}/reveal")
    async def reveal_submit(
        self,
        request: Request,
        ctx: Ctx,
        idea_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template:
        """Shows the identity on this one answer only (never stored, never
        linked); the reveal is audited and the submitter is told."""
        number = parse_idea_id(idea_id)
        reason = (data.get("reason") or "").strip()
        try:
            revealed = await reveal.reveal_submitter(ctx, number, reason)
        except Invalid as exc:
            idea = await view.get_idea(ctx, number)
            return page(
                request,
                "reveal.html",
                status_code=422,
                idea=idea,
                revealed=None,
                errors=form_errors(exc, detail_sentence=True),
                reason=reason,
                reason_min=reveal.REASON_MIN,
            )
        idea = await view.get_idea(ctx, number)
        return page(
            request,
            "reveal.html",
            idea=idea,
            revealed=revealed,
            errors={},
            reason=reason,
            reason_min=reveal.REASON_MIN,
        )


ROUTES = [
    TriageApi,
    DecisionApi,
    IdeaConversationApi,
    TriagePages,
    IdeaConversationPages,
    RevealPages,
]
