"""Who hears of what: the audiences of one event, each with its notice kind
and text.

- The submitter and co-submitters hear of every status change of their idea
  and the decline reason; the council's question goes to the submitter only
  (a co-submitter by merge hears that the idea needs information).
- Voters (subscribed by voting) and followers hear when the idea is
  accepted, work starts, it ships, is declined, withdrawn or merged (their
  notice names the target and carries the duplicate's id). Being told of
  acceptance and of progress can be switched off, notice and e-mail.
- Followers (the submitter follows their own idea) hear of new comments,
  batched: while such a notice is unread, more comments add none.
- Action owners hear of an assignment and of its removal; the council of a
  proposal to ship, the owners of the council's request for changes.
- The council hears that an answer arrived.

Every notice's idea text (title, status) comes from the blind projection
(`blind.idea_texts`): no notice names or describes a submitter to anyone
but that submitter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from ideas import blind
from ideas.blind import IdeaText, original_submitter_ids, submitter_ids
from ideas.lifecycle import (
    ACCEPTED,
    DECLINED,
    DUPLICATE,
    IN_PROGRESS,
    IN_REVIEW,
    NEEDS_INFO,
    SHIPPED,
    WITHDRAWN,
)
from ideas.notify.kinds import clip, reveal_text, with_note
from ideas.tables import Action, Question


@dataclass
class Audience:
    """One group of recipients of one event, and what they are told."""

    kind: str
    text: str
    idea_id: int | None
    #: explicit recipients (submitters, an owner)
    users: list[Any] = field(default_factory=list)
    #: everyone whose vote is on this idea (submitters of `exclude_submitters_of` excepted)
    voters_of: int | None = None
    exclude_submitters_of: int | None = None
    #: every active council member
    council: bool = False
    #: everyone following this idea (submitters of `exclude_submitters_of` excepted)
    followers_of: int | None = None
    #: never this person (the one who acted)
    exclude_user: Any = None
    #: one unread notice of this kind per idea and person: no new one while it is unread
    batch: bool = False


async def _idea(idea_id: int | None) -> IdeaText | None:
    if idea_id is None:
        return None
    return (await blind.idea_texts([idea_id])).get(idea_id)


async def _question_text(idea_id: int, data: dict) -> str:
    query = Question.select(Question.question)
    if data.get("question_id"):
        query = query.where(Question.id == int(data["question_id"]))
    else:
        query = query.where(Question.idea == idea_id).order_by(Question.id, ascending=False)
    rows = await query.limit(1).run()
    return rows[0]["question"] if rows else ""


def _submitter_text(idea: IdeaText, note: str, target: str = "") -> str:
    t, status = idea.quoted, idea.status
    if status == IN_REVIEW:
        return with_note(f"Your idea {t} is now in review by the CX council.", "Note", note)
    if status == ACCEPTED:
        return with_note(f"Your idea {t} was accepted.", "Note", note)
    if status == IN_PROGRESS:
        return f"Work has started on your idea {t}."
    if status == SHIPPED:
        return with_note(f"Your idea {t} shipped.", "What changed", note)
    if status == DECLINED:
        return with_note(f"Your idea {t} was declined.", "Reason", note)
    if status == DUPLICATE:
        return f"Your idea {t} was merged into {target}; its votes now count there."
    return with_note(f"Your idea {t} is now {idea.status_label.lower()}.", "Note", note)


async def plan(event: dict) -> list[Audience]:
    """The audiences of one event (submitters first: a submitter who also
    voted gets the submitter's notice, once)."""
    kind = event["kind"]
    data = event["data"] or {}
    if isinstance(data, str):
        data = json.loads(data or "{}")
    idea = await _idea(event["idea"])
    if idea is None:
        return []
    idea_id, title, note = idea.id, idea.quoted, event["note"]
    if kind == "action_assigned":
        rows = (
            await Action.select(Action.id, Action.title, Action.owner, Action.due_on)
            .where(Action.id == int(data.get("action_id") or 0))
            .run()
        )
        if not rows:
            return []
        action = rows[0]
        text = (
            f"You own a new action on {title}: “{clip(action['title'], 200)}”, "
            f"due {action['due_on'].isoformat()}."
        )
        return [Audience("action_assigned", text, idea_id, users=[action["owner"]])]
    if kind == "reveal":
        # written in the reveal's own transaction (ideas.reveal); this finds
        # them there and adds nothing
        text = reveal_text(idea, data.get("reason") or note)
        return [Audience("identity_revealed", text, idea_id, users=await submitter_ids(idea_id))]
    if kind == "action_removed":
        if not data.get("owner"):
            return []
        text = (
            f"The CX council removed your action “{clip(data.get('title', ''), 200)}” "
            f"on {title}: it is no longer yours to do."
        )
        return [Audience("action_removed", text, idea_id, users=[data["owner"]])]
    if kind == "ship_proposed":
        return [
            Audience(
                "council_ship_proposed",
                f"An action owner proposes shipping {title}: every action is done. "
                "Ship it or ask for changes on the delivery board.",
                idea_id,
                council=True,
                exclude_user=event["actor"],
            )
        ]
    if kind == "ship_changes":
        owners = await Action.select(Action.owner).where(Action.idea == idea_id).run()
        return [
            Audience(
                "action_ship_changes",
                with_note(
                    f"The CX council asks for changes before shipping {title}.",
                    "What to change",
                    note,
                ),
                idea_id,
                users=[r["owner"] for r in owners],
            )
        ]
    if kind == "comment":
        return [
            Audience(
                "idea_comments",
                f"New comments on {title}.",
                idea_id,
                followers_of=idea_id,
                exclude_user=event["actor"],
                batch=True,
            )
        ]
    if kind != "status":
        return []
    return await _status_audiences(event, data, idea)


async def _status_audiences(event: dict, data: dict, idea: IdeaText) -> list[Audience]:
    """The audiences of a status change (`idea` as the change left it)."""
    status = event["status"]
    idea = replace(idea, status=status)
    idea_id, title, note = idea.id, idea.quoted, event["note"]
    submitters = await submitter_ids(idea_id)
    if status == WITHDRAWN:
        actor = event["actor"]
        others = [u for u in submitters if actor is None or str(u) != str(actor)]
        text = f"An idea you voted for or follow was withdrawn by its submitter: {title}."
        return [
            Audience("idea_status", f"Your idea {title} was withdrawn.", idea_id, users=others),
            Audience(
                "vote_withdrawn",
                text,
                idea_id,
                voters_of=idea_id,
                followers_of=idea_id,
                exclude_submitters_of=idea_id,
            ),
        ]
    if data.get("answered"):
        actor = event["actor"]
        others = [u for u in submitters if actor is None or str(u) != str(actor)]
        return [
            Audience(
                "idea_status",
                f"The answer to the council's question on {title} was sent; "
                "the idea is back in review.",
                idea_id,
                users=others,
            ),
            Audience(
                "council_answer",
                f"The submitter answered the council's question on {title}; it is back in review.",
                idea_id,
                council=True,
            ),
        ]
    if status == NEEDS_INFO:
        question = await _question_text(idea_id, data) or note
        text = with_note(
            f"The CX council has a question about your idea {title}. Answer it on the idea's page.",
            "Question",
            question,
        )
        # the question goes to who wrote the idea; a co-submitter (by merge)
        # hears of the status only: they never answer for the submitter
        writers = await original_submitter_ids(idea_id)
        co = [u for u in submitters if u not in set(writers)]
        audiences = [Audience("idea_question", text, idea_id, users=writers)]
        if co:
            audiences.append(Audience("idea_status", _submitter_text(idea, ""), idea_id, users=co))
        return audiences
    audiences = []
    if status == DUPLICATE:
        target = await _idea(int(data.get("target_idea_id") or idea.duplicate_of or 0))
        target_title = target.quoted if target else "“another idea”"
        audiences.append(
            Audience(
                "idea_status",
                _submitter_text(idea, note, target_title),
                idea_id,
                users=submitters,
            )
        )
        audiences.append(
            Audience(
                "vote_merged",
                f"An idea you voted for, {title}, was merged into {target_title}; "
                "your vote now counts there.",
                idea_id,
                voters_of=idea_id,
                followers_of=idea_id,
                exclude_submitters_of=idea_id,
            )
        )
        return audiences
    audiences.append(
        Audience("idea_status", _submitter_text(idea, note), idea_id, users=submitters)
    )
    if status == ACCEPTED:
        text = with_note(f"An idea you voted for or follow was accepted: {title}.", "Note", note)
        audiences.append(Audience("vote_accepted", text, idea_id, voters_of=idea_id))
    elif status == IN_PROGRESS:
        text = f"Work started on an idea you voted for or follow: {title}."
        audiences.append(Audience("vote_in_progress", text, idea_id, voters_of=idea_id))
    elif status == SHIPPED:
        text = with_note(f"An idea you voted for shipped: {title}.", "What changed", note)
        audiences.append(Audience("vote_shipped", text, idea_id, voters_of=idea_id))
    elif status == DECLINED:
        text = with_note(f"An idea you voted for was declined: {title}.", "Reason", note)
        audiences.append(Audience("vote_declined", text, idea_id, voters_of=idea_id))
    for audience in audiences:
        if audience.voters_of is not None:
            audience.exclude_submitters_of = idea_id
            audience.followers_of = idea_id
    return audiences
