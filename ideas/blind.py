"""The blind projection: what a given viewer may see of an idea.

This is the only place that turns idea rows into something shown to a
person (page, fragment, JSON, CSV, notice). It never reads who submitted an
idea except to answer "is it the viewer's own?" and, once shipped, the
names of those who opted in to credit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ideas import clock, policy, publish, sql
from ideas.lifecycle import SHIPPED, STATUS_LABELS
from ideas.policy import Facts, owning_department_shown
from ideas.schemas import Can, Credit, IdeaOut, Ref, built
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


@functools.lru_cache(maxsize=1024)
def can(roles: frozenset[str], status: str, is_own: bool, attends: bool = False) -> Can:
    """What someone with `roles` may do to an idea (ideas.policy.PERMISSIONS).
    A function of its arguments only (and `Can` is frozen): kept, as a board
    page asks it 25 times for a handful of different answers."""
    facts = Facts(status=status, is_own=is_own, attends=attends)
    return Can(
        vote=policy.allowed("idea.vote", roles, facts),
        takes_votes=status in policy.OPEN_FOR_VOTES,
        edit=policy.allowed("idea.edit", roles, facts),
        withdraw=policy.allowed("idea.withdraw", roles, facts),
        decide=policy.allowed("triage.decide", roles, facts),
        triage=policy.allowed("triage.queue", roles, facts),
        reveal=policy.allowed("admin.reveal", roles, facts),
        see_edited=policy.allowed("idea.see_edited", roles, facts),
    )


def _date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _moment(value) -> dt.datetime | None:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _card(
    r: dict,
    viewer: Viewer,
    now: dt.datetime,
    *,
    voted: bool,
    mine: bool,
    following: bool,
    comments: int,
    department: str | None,
    credits: list[Credit],
    attends: bool = False,
) -> IdeaOut:
    """One idea row and the viewer's facts about it, as the viewer may see it.
    Built without validation (`model_construct`): every value comes typed
    from the database or from here, and the answer is the same JSON."""
    dept = r["owning_department"]
    # what the viewer may do to it, from the policy's table (never serialised)
    allowed = can(frozenset(viewer.roles), r["status"], mine, attends)
    if r.get("f_co_submitter"):  # (view.row_with_facts) a merge gives no edit, no withdrawal
        allowed = dataclasses.replace(allowed, edit=False, withdraw=False)
    published_at = _moment(r.get("published_at"))
    pending = publish.is_pending(published_at, now)
    fields = dict(
        id=str(r["id"]),
        title=r["title"],
        problem=r["problem"],
        proposal=r["proposal"],
        touchpoint=r["touchpoint"],
        status=r["status"],
        votes=r["votes"],
        voted=voted,
        submitted_on=_date(r["submitted_on"]),
        owning_department=Ref.model_construct(id=str(dept), name=department) if dept else None,
        duplicate_of=str(r["duplicate_of"]) if r["duplicate_of"] else None,
        is_mine=mine,
        credited_to=credits,
        answered=bool(r.get("answered")),
        comments=comments,
        following=following,
        # the day of the submitter's last edit: to council and the submitter only
        edited_on=_day(r.get("edited_at")) if allowed.see_edited else None,
        visible_from=published_at if pending and mine else None,
        # only in the editor's own row (view.row_with_facts)
        edit_visible_from=_moment(r.get("edit_publish_at")) if mine else None,
    )
    return built(IdeaOut, fields, {"_can": allowed})


async def blind_ideas(
    rows: Sequence[dict], viewer: Viewer, *, attends: bool = False
) -> list[IdeaOut]:
    """Project idea rows (selected with IDEA_COLUMNS) for `viewer`, in order;
    `attends`: the viewer may decide in the triage session shown (`can.decide`)."""
    if not rows:
        return []
    voted, mine, departments, credits, following, comments = await _viewer_facts(rows, viewer)
    now = clock.now()
    return [
        _card(
            r,
            viewer,
            now,
            voted=r["id"] in voted,
            mine=r["id"] in mine,
            following=r["id"] in following,
            comments=comments.get(r["id"], 0),
            department=owning_department_shown(r["owning_department"], departments),
            credits=credits.get(r["id"], []),
            attends=attends,
        )
        for r in rows
    ]


def facts_columns(viewer: Viewer, now: dt.datetime) -> tuple[str, list]:
    """`_viewer_facts` as columns of a query over the `idea` table (its
    SELECT list after the idea's columns), with Piccolo's `{}` placeholders
    and their arguments: the list of the board answers in one round trip.
    Rows selected with them go to `blind_rows`."""
    user = str(viewer.id)
    # One index probe per row of the page, as scalar subqueries: PostgreSQL
    # turned the EXISTS form into a hash of every vote (submission, follow)
    # of the viewer, built per request whatever the page's size (it plans
    # for the whole table under the LIMIT): 2-3x the buffers and time at S.
    columns = (
        ', (SELECT 1 FROM vote v WHERE v.idea = idea.id AND v."user" = {} LIMIT 1) IS NOT NULL'
        " AS f_voted"
        ', (SELECT 1 FROM submission s WHERE s.idea = idea.id AND s."user" = {} LIMIT 1)'
        " IS NOT NULL AS f_mine"
        ", (SELECT 1 FROM idea_follow f WHERE f.idea = idea.id "
        'AND f."user" = {} LIMIT 1) IS NOT NULL AS f_following'
        # comments others can see: a "Submitter" comment counts from its
        # batch on (ideas.publish), or the count would date it to the minute
        ", (SELECT COUNT(*) FROM comment c WHERE c.idea = idea.id AND c.deleted_at IS NULL "
        "AND (c.published_at IS NULL OR c.published_at <= {})) AS f_comments"
        ", (SELECT name FROM department d WHERE d.id = idea.owning_department) AS f_department"
        f", {sql.credits_json(SHIPPED)} AS f_credits"
    )
    return columns, [user, user, user, now]


def blind_rows(rows: Sequence[dict], viewer: Viewer, now: dt.datetime) -> list[IdeaOut]:
    """Project idea rows selected with IDEA_SQL_COLUMNS and `facts_columns`."""
    return [
        _card(
            r,
            viewer,
            now,
            voted=bool(r["f_voted"]),
            mine=bool(r["f_mine"]),
            following=bool(r["f_following"]),
            comments=int(r["f_comments"]),
            department=r["f_department"],
            credits=[
                Credit.model_construct(name=name, department=department)
                for name, department in sql.json_rows(r["f_credits"])
            ],
        )
        for r in rows
    ]


def blind_new_idea(row: dict, submitter: Viewer) -> IdeaOut:
    """An idea its submitter has just created, as they see it: their facts
    about it are known without asking (theirs, followed, no vote, comment,
    owning department or credit yet)."""
    return _card(
        row,
        submitter,
        clock.now(),
        voted=False,
        mine=True,
        following=True,
        comments=0,
        department=None,
        credits=[],
    )


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
    "blind_rows",
    "facts_columns",
    "mine_ids",
    "original_submitter_ids",
    "submitter_ids",
    "submitter_roles",
]
