"""Comments on ideas, for all staff.

A comment written by the idea's submitter shows as "Submitter"; one by a
co-submitter (made one by a merge of their duplicate) as "Co-submitter":
never by name, and never as "Submitter" (a merge never lets anyone speak as
the target's submitter); a council member may comment as "CX council";
everyone else shows by name. The anonymous ones wait for their batch
(PUBLISH_DELAY_MINUTES, ideas/publish.py). Which of
these a comment shows is decided when it is written (`Comment.by_submitter`)
and never changes: a merge that later makes the author a co-submitter must
not turn their named comments into "Submitter", which would tell every
reader who submitted the duplicate. Bodies are
stored as written and rendered as Markdown through markdown-it (raw HTML
off) and then nh3, so nothing a commenter writes can run in a browser.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import nh3
from markdown_it import MarkdownIt
from pydantic import AfterValidator, BaseModel, StringConstraints

from ideas import policy, publish
from ideas.blind import author_label, submitter_roles
from ideas.board.ids import random_id
from ideas.board.view import idea_row
from ideas.context import Context
from ideas.db import write_transaction
from ideas.outbox import record_event
from ideas.schemas import DayTime, Strict
from ideas.tables import Comment
from ideas.text import visible

BODY_MAX = 5000
#: a comment's author may edit it this long after writing it (and delete it any time)
COMMENT_EDIT_MINUTES = 15

CommentBody = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=BODY_MAX),
    AfterValidator(visible(1)),
]


class CommentIn(Strict):
    body: CommentBody
    #: a council member commenting for the council shows as "CX council"
    as_council: bool = False


class CommentOut(BaseModel):
    id: str
    #: the day only (midnight UTC), like every time on an idea; for a
    #: "Submitter" comment, the day it became visible to others
    at: DayTime
    author: str
    body: str
    #: the author changed it after writing it
    edited: bool = False
    #: the author deleted it: no author, no body
    deleted: bool = False
    #: the caller wrote it
    mine: bool = False
    #: the caller may still edit it (their own, within the edit window)
    editable: bool = False
    #: to its author only, while others cannot see it yet: when they will
    #: (a "Submitter" comment waits for its batch, PUBLISH_DELAY_MINUTES)
    visible_from: dt.datetime | None = None


_markdown = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "code",
    "pre",
    "blockquote",
    "a",
    "h3",
    "h4",
    "hr",
}


def render_body(text: str) -> str:
    """A comment as safe HTML: Markdown with raw HTML escaped, headings
    demoted, then nh3 (no scripts, handlers, images or javascript: links)."""
    html = _markdown.render(text or "")
    for level in (1, 2):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    for level in (5, 6):
        html = html.replace(f"<h{level}>", "<h4>").replace(f"</h{level}>", "</h4>")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


async def list_comments(ctx: Context, idea_id: int) -> list[CommentOut]:
    """The comments on an idea in the order others could first see them,
    each author shown per the blind rules. A "Submitter" comment waiting
    for its batch (PUBLISH_DELAY_MINUTES) shows only to its author, and
    then takes its place after everything visible before its batch: where it
    stands says nothing finer than the batch of when it was written."""
    viewer, now = ctx.actor, ctx.now
    policy.authorize(viewer, "idea.view")
    await idea_row(idea_id, viewer)
    rows = (
        await Comment.select(
            Comment.id,
            Comment.author,
            Comment.author.name.as_alias("author_name"),
            Comment.body,
            Comment.as_council,
            Comment.by_submitter,
            Comment.by_co_submitter,
            Comment.created_at,
            Comment.edited_at,
            Comment.deleted_at,
            Comment.delete_at,
            Comment.published_at,
        )
        .where(Comment.idea == idea_id)
        .run()
    )
    out = []
    # (within one batch, in the order they were written: only anonymous
    # comments share a batch's moment, and ids are random)
    for r in sorted(rows, key=lambda r: (_shown_at(r), _aware(r["created_at"]), r["id"])):
        pending = publish.is_pending(r["published_at"], now)
        mine = str(r["author"]) == str(viewer.id)
        if pending and not mine:
            continue
        # deleted, or (to its author) deleted from its batch on
        if r["deleted_at"] is not None or (mine and r["delete_at"] is not None):
            out.append(
                CommentOut(id=str(r["id"]), at=_shown_at(r), author="", body="", deleted=True)
            )
            continue
        out.append(
            CommentOut(
                id=str(r["id"]),
                at=_shown_at(r),
                author=author_label(
                    r["by_submitter"], r["as_council"], r["author_name"], r["by_co_submitter"]
                ),
                body=r["body"],
                edited=r["edited_at"] is not None,
                mine=mine,
                editable=mine and editable(r, now),
                visible_from=r["published_at"] if pending else None,
            )
        )
    return out


def editable(row: dict, now: dt.datetime) -> bool:
    """May its author still edit the comment? For COMMENT_EDIT_MINUTES after
    writing it -- and a comment shown as "Submitter" (or "Co-submitter") only
    until others see it (its batch, ideas.publish): a change after that
    would show at the minute its author made it."""
    if now - _aware(row["created_at"]) > dt.timedelta(minutes=COMMENT_EDIT_MINUTES):
        return False
    return (
        not batched(row)
        or publish.delay_minutes() <= 0
        or publish.is_pending(row["published_at"], now)
    )


def batched(row: dict) -> bool:
    """Is the comment one whose author is hidden, shown with its batch
    (ideas.publish): "Submitter", or "Co-submitter" unless written as
    council -- as decided when it was written (`add_comment`)."""
    return bool(row["by_submitter"] or (row["by_co_submitter"] and not row["as_council"]))


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _shown_at(row: dict) -> dt.datetime:
    return _aware(row["published_at"] or row["created_at"])


class CommentThread(BaseModel):
    comments: list[CommentOut]
    #: the viewer co-submitted the idea (a merge of theirs): "Co-submitter"
    viewer_is_co_submitter: bool = False
    #: the viewer wrote the idea (a co-submitter by merge does not): their
    #: comments show as "Submitter"
    viewer_is_submitter: bool
    #: the viewer may comment as "CX council" (ideas.policy)
    can_comment_as_council: bool = False


async def comment_thread(ctx: Context, idea_id: int) -> CommentThread:
    """The comments of an idea and whether the viewer is its submitter."""
    items = await list_comments(ctx, idea_id)
    roles = await submitter_roles(ctx.actor, idea_id)
    return CommentThread(
        comments=items,
        viewer_is_co_submitter=bool(roles) and "submitter" not in roles,
        viewer_is_submitter="submitter" in roles,
        can_comment_as_council=policy.allowed(
            "idea.comment_as_council", frozenset(ctx.actor.roles)
        ),
    )


async def add_comment(ctx: Context, idea_id: int, data: CommentIn) -> CommentOut:
    """Add a comment; only council members may comment as the council. A
    comment shown as "Submitter" is published with its batch
    (PUBLISH_DELAY_MINUTES): until then only its author sees it."""
    viewer, now = ctx.actor, ctx.now
    policy.authorize(viewer, "idea.comment")
    await idea_row(idea_id, viewer)
    if data.as_council:
        policy.authorize(viewer, "idea.comment_as_council")
    # only who wrote the idea shows as "Submitter": a co-submitter by merge
    # shows as "Co-submitter" (a merge never lets anyone speak for the
    # target's submitter, nor names the duplicate's)
    roles = await submitter_roles(viewer, idea_id)
    by_submitter = "submitter" in roles
    by_co_submitter = not by_submitter and bool(roles)
    anonymous = batched(
        {
            "by_submitter": by_submitter,
            "by_co_submitter": by_co_submitter,
            "as_council": data.as_council,
        }
    )
    published_at = publish.visible_from(now) if anonymous else None
    if published_at is not None and published_at <= now:
        published_at = None  # no delay: visible at once
    comment = Comment(
        id=await random_id(Comment),
        idea=idea_id,
        author=viewer.id,
        body=data.body,
        as_council=data.as_council,
        by_submitter=by_submitter,
        by_co_submitter=by_co_submitter,
        created_at=now,
        published_at=published_at,
    )
    async with write_transaction():
        await comment.save().run()
        # followers (the submitter among them) are told, batched per idea;
        # not of a comment waiting for its batch (PUBLISH_DELAY_MINUTES): a
        # notice now would date it to the minute
        if published_at is None:
            await record_event(
                idea_id=idea_id,
                kind="comment",
                actor_id=viewer.id,
                public=False,
                data={"comment_id": comment.id},
            )
    return CommentOut(
        id=str(comment.id),
        at=published_at or now,
        author=author_label(by_submitter, data.as_council, viewer.name, by_co_submitter),
        body=comment.body,
        mine=True,
        editable=True,
        visible_from=published_at,
    )


__all__ = [
    "CommentIn",
    "CommentOut",
    "CommentThread",
    "comment_thread",
    "add_comment",
    "list_comments",
    "render_body",
]
