"""The council's questions and the submitter's answers: answering (published
with its batch, PUBLISH_DELAY_MINUTES), publishing the answers whose batch
has come, and the question thread as one viewer may see it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from ideas import outbox, policy, publish
from ideas.blind import blind_idea, original_submitter_ids
from ideas.board.view import idea_row
from ideas.context import Actor, Context
from ideas.db import write_transaction
from ideas.errors import Conflict, Forbidden, Invalid, NotFound
from ideas.lifecycle import IN_REVIEW, NEEDS_INFO, SUBMITTER, check_transition
from ideas.policy import Facts
from ideas.schemas import IdeaOut, Strict
from ideas.tables import Idea, Question


class AnswerIn(Strict):
    answer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


class QuestionOut(BaseModel):
    id: str
    question: str
    asked_on: dt.date
    answer: str
    answered_on: dt.date | None
    #: to the submitter only, while their answer waits for its batch: when
    #: the council will see it (PUBLISH_DELAY_MINUTES)
    visible_from: dt.datetime | None = None


class QuestionThread(BaseModel):
    """The council's questions on one idea, as one viewer may see them."""

    idea_id: str
    questions: list[QuestionOut]
    #: the viewer submitted (or co-submitted) the idea
    is_submitter: bool
    #: the idea awaits the viewer's answer
    can_answer: bool


async def wrote_idea(actor: Actor, idea_id: int) -> bool:
    """Did the actor write this idea (role "submitter")? A co-submitter by
    merge did not: they never answer for, nor read the questions to, the
    idea's submitter."""
    return actor.id in set(await original_submitter_ids(idea_id))


async def answer_question(ctx: Context, idea_id: int, answer: str) -> IdeaOut:
    """The submitter (never a co-submitter by merge) answers the council's
    open question: `needs_info` → `in_review`, flagged answered for the queue.

    The answer is published with its batch (PUBLISH_DELAY_MINUTES): until
    then only the submitter sees it ("visible to colleagues from HH:MM"),
    the idea stays `needs_info` for everyone else, and no event, notice or
    mail exists; `publish_due` makes the move at the batch's moment, dated
    to it. Its exact time is never stored."""
    answer = (answer or "").strip()
    now = ctx.now
    at = publish.visible_from(now)
    async with write_transaction():
        rows = await Idea.select(Idea.status).where(Idea.id == idea_id).run()
        if not rows:
            raise NotFound("no such idea")
        wrote = await wrote_idea(ctx.actor, idea_id)
        if not wrote:
            raise Forbidden("only the idea's submitter may answer the council's question")
        current = rows[0]["status"]
        move = check_transition(current, IN_REVIEW, SUBMITTER)
        policy.authorize(ctx.actor, "idea.answer", Facts(status=current, is_own=wrote))
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
    return await blind_idea(await idea_row(idea_id), ctx.actor)


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


async def publish_due(ctx: Context) -> int:
    """Publish every answer whose batch has come by `ctx.now`
    (PUBLISH_DELAY_MINUTES): run by the workers every minute, and before the
    council reads its queue or a session. Returns how many were published."""
    due = (
        await Question.select(Question.id, Question.idea, Question.session, Question.publish_at)
        .where(Question.publish_at.is_not_null(), Question.publish_at <= ctx.now)
        .order_by(Question.publish_at, Question.id)
        .limit(500)
        .run()
    )
    published = 0
    for q in due:
        async with write_transaction():
            published += await _publish_answer(q["id"], q["idea"], q["session"], q["publish_at"])
    return published


async def question_thread(ctx: Context, idea_id: int) -> QuestionThread | None:
    """The council's questions on an idea and their answers, for the
    submitter and the council; None for anyone else (co-submitters by merge
    included). Neither side is named: the council asks, the submitter answers."""
    viewer = ctx.actor
    roles = frozenset(viewer.roles)
    mine = await wrote_idea(viewer, idea_id)
    if not policy.allowed("idea.questions", roles, Facts(is_own=mine)):
        await idea_row(idea_id)
        return None
    await publish_due(ctx)
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
        can_answer=policy.allowed("idea.answer", roles, Facts(status=idea["status"], is_own=mine))
        and any(q.answered_on is None for q in questions),
    )
