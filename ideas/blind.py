"""The blind projection: what a given viewer may see of an idea.

This is the only place that turns idea rows into something shown to a
person (page, fragment, JSON, CSV, notice). It never reads who submitted an
idea except to answer "is it the viewer's own?" and, once shipped, the
names of those who opted in to credit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ideas import clock, policy, publish
from ideas.lifecycle import SHIPPED, STATUS_LABELS
from ideas.policy import Facts, owning_department_shown
from ideas.schemas import Can, Credit, IdeaOut, Ref
from ideas.sql import in_list
from ideas.tables import Idea, Submission, Vote
from ideas.viewer import Viewer

#: the Idea columns a projection needs; select these, nothing else is shown
IDEA_COLUMNS = (
    Idea.id,
    Idea.title,
    Idea.problem,
    Idea.proposal,
    Idea.touchpoint,
    Idea.status,
    Idea.votes,
    Idea.submitted_on,
    Idea.owning_department,
    Idea.duplicate_of,
    Idea.answered,
    Idea.edited_at,
    Idea.published_at,
)

#: IDEA_COLUMNS as SQL, for the few hot queries written as plain SQL
IDEA_SQL_COLUMNS = ", ".join(c._meta.db_column_name for c in IDEA_COLUMNS)


async def mine_ids(viewer: Viewer, idea_ids: Iterable[int]) -> set[int]:
    """The ideas among `idea_ids` that the viewer submitted or co-submitted."""
    ids = list(set(idea_ids))
    if not ids:
        return set()
    rows = (
        await Submission.select(Submission.idea)
        .where(Submission.user == viewer.id, Submission.idea.is_in(ids))
        .run()
    )
    return {r["idea"] for r in rows}


async def _viewer_facts(rows: Sequence[dict], viewer: Viewer):
    """What the viewer may know about these ideas beyond their rows, in one
    round trip: which they voted for, which are theirs, the owning
    departments' names, and the credited submitters of shipped ideas."""
    ids = [r["id"] for r in rows]
    user = str(viewer.id)
    parts, args = [], []
    ids_sql, ids_args = in_list("idea", ids)
    parts.append(
        f"SELECT 'v' AS k, idea AS i, NULL AS a, NULL AS b, 0 AS o FROM vote "
        f'WHERE "user" = {{}} AND {ids_sql}'
    )
    args += [user, *ids_args]
    parts.append(
        f"SELECT 'm', idea, NULL, NULL, 0 FROM submission WHERE \"user\" = {{}} AND {ids_sql}"
    )
    args += [user, *ids_args]
    parts.append(
        f"SELECT 'f', idea, NULL, NULL, 0 FROM idea_follow WHERE \"user\" = {{}} AND {ids_sql}"
    )
    args += [user, *ids_args]
    # comments others can see: a "Submitter" comment counts from its batch on
    # (ideas.publish), or the count would date it to the minute
    parts.append(
        f"SELECT 'n', idea, NULL, NULL, COUNT(*) FROM comment WHERE {ids_sql} "
        "AND deleted_at IS NULL AND (published_at IS NULL OR published_at <= {}) GROUP BY idea"
    )
    args += [*ids_args, clock.now()]
    dept_ids = sorted({r["owning_department"] for r in rows if r["owning_department"]})
    if dept_ids:
        sql, more = in_list("id", dept_ids)
        parts.append(f"SELECT 'd', id, name, NULL, 0 FROM department WHERE {sql}")
        args += more
    shipped = [r["id"] for r in rows if r["status"] == SHIPPED]
    if shipped:
        sql, more = in_list("s.idea", shipped)
        parts.append(
            "SELECT 'c', s.idea, u.name, d.name, s.id FROM submission s "
            'JOIN tp_user u ON u.id = s."user" JOIN department d ON d.id = u.department '
            f"WHERE {sql} AND s.credit = {{}}"
        )
        args += [*more, True]
    facts = await Vote.raw(" UNION ALL ".join(parts), *args).run()
    voted, mine, following, departments = set(), set(), set(), {}
    comments: dict[int, int] = {}
    credited: dict[int, list[tuple[int, Credit]]] = {}
    for f in facts:
        kind = f["k"]
        if kind == "v":
            voted.add(f["i"])
        elif kind == "m":
            mine.add(f["i"])
        elif kind == "f":
            following.add(f["i"])
        elif kind == "n":
            comments[f["i"]] = int(f["o"])
        elif kind == "d":
            departments[f["i"]] = f["a"]
        else:
            credited.setdefault(f["i"], []).append((f["o"], Credit(name=f["a"], department=f["b"])))
    credits = {i: [c for _o, c in sorted(cs, key=lambda oc: oc[0])] for i, cs in credited.items()}
    return voted, mine, departments, credits, following, comments


def _day(at) -> dt.date | None:
    if at is None:
        return None
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC)
    return at.date()


def can(roles: frozenset[str], status: str, is_own: bool, attends: bool = False) -> Can:
    """What someone with `roles` may do to an idea (ideas.policy.PERMISSIONS)."""
    facts = Facts(status=status, is_own=is_own, attends=attends)
    return Can(
        vote=policy.allowed("idea.vote", roles, facts),
        takes_votes=status in policy.OPEN_FOR_VOTES,
        edit=policy.allowed("idea.edit", roles, facts),
        withdraw=policy.allowed("idea.withdraw", roles, facts),
        decide=policy.allowed("triage.decide", roles, facts),
        triage=policy.allowed("triage.queue", roles, facts),
        reveal=policy.allowed("admin.reveal", roles, facts),
    )


async def blind_ideas(
    rows: Sequence[dict], viewer: Viewer, *, attends: bool = False
) -> list[IdeaOut]:
    """Project idea rows (selected with IDEA_COLUMNS) for `viewer`, in order;
    `attends`: the viewer may decide in the triage session shown (`can.decide`)."""
    if not rows:
        return []
    voted, mine, departments, credits, following, comments = await _viewer_facts(rows, viewer)
    now = clock.now()
    roles = frozenset(viewer.roles)
    out = []
    for r in rows:
        dept = r["owning_department"]
        pending = publish.is_pending(r.get("published_at"), now)
        shown = owning_department_shown(dept, departments)
        idea = IdeaOut(
            id=str(r["id"]),
            title=r["title"],
            problem=r["problem"],
            proposal=r["proposal"],
            touchpoint=r["touchpoint"],
            status=r["status"],
            votes=r["votes"],
            voted=r["id"] in voted,
            submitted_on=r["submitted_on"],
            owning_department=Ref(id=str(dept), name=shown) if shown is not None else None,
            duplicate_of=str(r["duplicate_of"]) if r["duplicate_of"] else None,
            is_mine=r["id"] in mine,
            credited_to=credits.get(r["id"], []),
            answered=bool(r.get("answered")),
            comments=comments.get(r["id"], 0),
            following=r["id"] in following,
            # the day of the submitter's last edit: to council and the submitter only
            edited_on=_day(r.get("edited_at")) if (viewer.is_council or r["id"] in mine) else None,
            visible_from=r["published_at"] if pending and r["id"] in mine else None,
        )
        idea._can = can(roles, r["status"], r["id"] in mine, attends)
        out.append(idea)
    return out


async def blind_idea(row: dict, viewer: Viewer) -> IdeaOut:
    return (await blind_ideas([row], viewer))[0]


async def submitter_ids(idea_id: int) -> list:
    """User ids of an idea's submitter and co-submitters: for delivering
    notices to them and for checking "is this mine?", never for display."""
    rows = await Submission.select(Submission.user).where(Submission.idea == idea_id).run()
    return [r["user"] for r in rows]


#: Submission.role of the person who wrote the idea; a merge adds "co_submitter"
SUBMITTER_ROLE = "submitter"


async def original_submitter_ids(idea_id: int) -> list:
    """User ids of the person(s) who wrote this idea themselves (role
    "submitter"), never the co-submitters a merge added. Only they speak as
    "Submitter": answer the council's question, comment as "Submitter", read
    the council's questions. A merge gives credit and notices, not a voice."""
    rows = (
        await Submission.select(Submission.user)
        .where(Submission.idea == idea_id, Submission.role == SUBMITTER_ROLE)
        .run()
    )
    return [r["user"] for r in rows]


async def is_original_submitter(viewer: Viewer, idea_id: int) -> bool:
    return viewer.id in set(await original_submitter_ids(idea_id))


async def submitter_roles(viewer: Viewer, idea_id: int) -> set[str]:
    """The viewer's roles on an idea: {"submitter"}, {"co_submitter"}, or
    empty (rarely both, after merging an idea of theirs into another)."""
    rows = (
        await Submission.select(Submission.role)
        .where(Submission.idea == idea_id, Submission.user == viewer.id)
        .run()
    )
    return {r["role"] for r in rows}


def author_label(
    is_submitter: bool, as_council: bool, name: str, is_co_submitter: bool = False
) -> str:
    """How a comment's author is shown: the submitter never by name, and a
    co-submitter (by merge) neither, but never as "Submitter" either."""
    if is_submitter:
        return "Submitter"
    if as_council:
        return "CX council"
    if is_co_submitter:
        return "Co-submitter"
    return name


# -- an idea as plain text: notices, e-mail, the digest -----------------------------------


@dataclass(frozen=True)
class IdeaText:
    """An idea as a notice, an e-mail or the digest shows it. One notice's
    text goes to all its recipients and mail is read beyond its recipient,
    so this holds only what anyone may see of an idea: its id, title, status
    and link; never who submitted it, their department, or when they acted."""

    id: int
    title: str
    status: str
    duplicate_of: int | None = None

    @property
    def quoted(self) -> str:
        return f"“{self.title}”"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def path(self) -> str:
        """The idea's page, relative to the site's base URL."""
        return f"/ideas/{self.id}"


#: the Idea columns an IdeaText is made of
TEXT_COLUMNS = (Idea.id, Idea.title, Idea.status, Idea.duplicate_of)


def idea_text(row: dict) -> IdeaText:
    """The IdeaText of a row selected with TEXT_COLUMNS (or IDEA_COLUMNS)."""
    return IdeaText(row["id"], row["title"], row["status"], row.get("duplicate_of"))


async def idea_texts(idea_ids: Iterable[int]) -> dict[int, IdeaText]:
    """The IdeaText of each of these ideas that exists, by id."""
    ids = sorted(set(idea_ids))
    if not ids:
        return {}
    rows = await Idea.select(*TEXT_COLUMNS).where(Idea.id.is_in(ids)).run()
    return {r["id"]: idea_text(r) for r in rows}


__all__ = [
    "IDEA_COLUMNS",
    "IDEA_SQL_COLUMNS",
    "TEXT_COLUMNS",
    "IdeaText",
    "author_label",
    "blind_idea",
    "blind_ideas",
    "idea_text",
    "idea_texts",
    "is_original_submitter",
    "mine_ids",
    "original_submitter_ids",
    "submitter_ids",
    "submitter_roles",
]
