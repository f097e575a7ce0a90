"""Comments on ideas, for all staff.

A comment written by one of the idea's submitters or co-submitters shows as
"Submitter"; a council member may comment as "CX council"; everyone else
shows by name. Which of these a comment shows is decided when it is written
(`Comment.by_submitter`) and never changes: a merge that later makes the
author a co-submitter must not turn their named comments into "Submitter",
which would tell every reader who submitted the duplicate. Bodies are
stored as written and rendered as Markdown through markdown-it (raw HTML
off) and then nh3, so nothing a commenter writes can run in a browser.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import nh3
from markdown_it import MarkdownIt
from pydantic import AfterValidator, BaseModel, StringConstraints

from ideas import clock
from ideas.blind import author_label, submitter_ids
from ideas.db import write_transaction
from ideas.errors import Forbidden
from ideas.outbox import record_event
from ideas.schemas import DayTime, Strict
from ideas.services import idea_row
from ideas.tables import Comment
from ideas.text import visible
from ideas.viewer import Viewer

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
    #: the day only (midnight UTC), like every time on an idea
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


async def list_comments(viewer: Viewer, idea_id: int) -> list[CommentOut]:
    """The comments on an idea, oldest first, each author shown per the
    blind rules."""
    await idea_row(idea_id)
    rows = (
        await Comment.select(
            Comment.id,
            Comment.author.name.as_alias("author_name"),
            Comment.body,
            Comment.as_council,
            Comment.by_submitter,
            Comment.created_at,
            Comment.author,
            Comment.edited_at,
            Comment.deleted_at,
        )
        .where(Comment.idea == idea_id)
        .order_by(Comment.id)
        .run()
    )
    now = clock.now()
    out = []
    for r in rows:
        if r["deleted_at"] is not None:
            out.append(
                CommentOut(id=str(r["id"]), at=r["created_at"], author="", body="", deleted=True)
            )
            continue
        mine = str(r["author"]) == str(viewer.id)
        out.append(
            CommentOut(
                id=str(r["id"]),
                at=r["created_at"],
                author=author_label(r["by_submitter"], r["as_council"], r["author_name"]),
                body=r["body"],
                edited=r["edited_at"] is not None,
                mine=mine,
                editable=mine
                and now - r["created_at"] <= dt.timedelta(minutes=COMMENT_EDIT_MINUTES),
            )
        )
    return out


class CommentThread(BaseModel):
    comments: list[CommentOut]
    #: the viewer submitted (or co-submitted) the idea: their comments show as "Submitter"
    viewer_is_submitter: bool


async def comment_thread(viewer: Viewer, idea_id: int) -> CommentThread:
    """The comments of an idea and whether the viewer is its submitter."""
    items = await list_comments(viewer, idea_id)
    return CommentThread(
        comments=items, viewer_is_submitter=viewer.id in set(await submitter_ids(idea_id))
    )


async def add_comment(viewer: Viewer, idea_id: int, data: CommentIn) -> CommentOut:
    """Add a comment; only council members may comment as the council."""
    await idea_row(idea_id)
    if data.as_council and not viewer.is_council:
        raise Forbidden("only council members may comment as the CX council")
    by_submitter = viewer.id in set(await submitter_ids(idea_id))
    comment = Comment(
        idea=idea_id,
        author=viewer.id,
        body=data.body,
        as_council=data.as_council,
        by_submitter=by_submitter,
        created_at=clock.now(),
    )
    async with write_transaction():
        await comment.save().run()
        # followers (the submitter among them) are told, batched per idea
        await record_event(
            idea_id=idea_id,
            kind="comment",
            actor_id=viewer.id,
            public=False,
            data={"comment_id": comment.id},
        )
    return CommentOut(
        id=str(comment.id),
        at=comment.created_at,
        author=author_label(by_submitter, data.as_council, viewer.name),
        body=comment.body,
        mine=True,
        editable=True,
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
