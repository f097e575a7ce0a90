"""Staff services: submit, browse, search, vote. Each write is one transaction."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets

from piccolo.table import Table

from ideas import clock, participation, publish, similarity, term_index, vector_index
from ideas.blind import IDEA_COLUMNS, IDEA_SQL_COLUMNS, blind_idea, blind_ideas
from ideas.db import is_postgres, write_transaction
from ideas.errors import Conflict, Invalid, NotFound
from ideas.lifecycle import DECLINED, DUPLICATE, STATUSES, TOUCHPOINTS, WITHDRAWN
from ideas.policy import CLOSED, OPEN_FOR_VOTES
from ideas.schemas import (
    LIMIT_DEFAULT,
    LIMIT_MAX,
    TRENDING_DAYS,
    EventOut,
    IdeaIn,
    IdeaOut,
    Page,
    VoteOut,
)
from ideas.tables import Event, Follow, Idea, IdeaTerm, Submission, TermDocFreq, Vote
from ideas.viewer import Viewer

SORTS = ("top", "new", "trending", "discussed")
#: board scopes: ideas open for votes (the board's default), closed ones, all;
#: and, for the leaders' drill-down, those the council decided on ("triaged")
#: and those accepted, in progress or shipped ("accepted_on")
SCOPES = ("open", "closed", "all", "triaged", "accepted_on")
ACCEPTED_ON = ("accepted", "in_progress", "shipped")
#: "mine" filters: ideas the viewer submitted, ideas the viewer voted for
MINE = ("ideas", "votes")


#: comments counted on a card and for the "most discussed" sort (deleted ones not)
def comment_count_sql(now: dt.datetime) -> str:
    """Comments others can see: a "Submitter" comment counts from its batch on
    (ideas.publish); `now` is ours, never request text."""
    return (
        "(SELECT COUNT(*) FROM comment c WHERE c.idea = idea.id AND c.deleted_at IS NULL "
        f"AND (c.published_at IS NULL OR c.published_at <= {publish.sql_time(now, is_postgres())}))"
    )


#: ids are int4 in the database
ID_LIMIT = 2**31


#: ideas and comments get random ids in [RANDOM_ID_LOW, ID_LIMIT): ids made
#: one after the other neither sort by creation nor differ by a small step,
#: so nobody can bracket someone's comment or idea between two of their own
RANDOM_ID_LOW = 2**24


async def random_id(table: type[Table]) -> int:
    """A random id not yet used in `table` (Serial primary key)."""
    while True:
        candidate = RANDOM_ID_LOW + secrets.randbelow(ID_LIMIT - RANDOM_ID_LOW)
        if not await table.exists().where(table._meta.primary_key == candidate).run():
            return candidate


def parse_id(raw: str | int, noun: str, field: str | None = None) -> int:
    """An id from a path or body; a malformed one is 'no such <noun>' (404)
    in a path, or a 422 naming `field` in a body."""
    try:
        value = int(str(raw))
        if not 0 < value < ID_LIMIT:
            raise ValueError
        return value
    except ValueError:
        if field:
            raise Invalid(field, f"no {noun} with id {raw!r}") from None
        raise NotFound(f"no such {noun}") from None


def parse_idea_id(raw: str | int, field: str | None = None) -> int:
    return parse_id(raw, "idea", field)


async def idea_row(idea_id: int, viewer: Viewer | None = None) -> dict:
    """The idea's row; with `viewer`, an idea not yet published
    (PUBLISH_DELAY_MINUTES) is 'no such idea' to anyone but its submitters."""
    # plain SQL: every idea page and fragment starts here
    rows = await Idea.raw(f"SELECT {IDEA_SQL_COLUMNS} FROM idea WHERE id = {{}}", idea_id).run()
    if not rows:
        raise NotFound("no such idea")
    row = rows[0]
    if viewer is not None and publish.is_pending(row["published_at"], clock.now()):
        own = (
            await Submission.exists()
            .where(Submission.idea == idea_id, Submission.user == viewer.id)
            .run()
        )
        if not own:
            raise NotFound("no such idea")
    return row


def _published_sql(viewer: Viewer | None, now: dt.datetime) -> tuple[str, list]:
    """SQL condition (on table `idea`): published by `now`, or (with a
    viewer) one of the viewer's own."""
    clause = (
        f"(idea.published_at IS NULL OR idea.published_at <= {publish.sql_time(now, is_postgres())}"
    )
    if viewer is None:
        return clause + ")", []
    return clause + ' OR idea.id IN (SELECT idea FROM submission WHERE "user" = {}))', [
        str(viewer.id)
    ]


async def index_terms(idea_id: int, title: str, text: str) -> None:
    """(Re)write the similar-search terms of one idea, and in the same
    transaction the document frequencies (`TermDocFreq`) they change."""
    terms = {t[:40]: w for t, w in similarity.idea_terms(title, text).items()}
    async with write_transaction():
        old = await IdeaTerm.select(IdeaTerm.term).where(IdeaTerm.idea == idea_id).run()
        await IdeaTerm.delete().where(IdeaTerm.idea == idea_id).run()
        if terms:
            await IdeaTerm.insert(
                *[IdeaTerm(idea=idea_id, term=t, weight=w) for t, w in terms.items()]
            ).run()
        await _count_terms(similarity.doc_freq_changes((r["term"] for r in old), terms))


async def _count_terms(changes: dict[str, int]) -> None:
    """Apply document-frequency changes with one upsert, in term order (one
    lock order for every writer, so concurrent submits cannot deadlock)."""
    if not changes:
        return
    items = sorted(changes.items())
    values = ", ".join("({}, {})" for _ in items)
    await TermDocFreq.raw(
        f"INSERT INTO term_doc_freq (term, ideas) VALUES {values} "
        "ON CONFLICT (term) DO UPDATE SET ideas = term_doc_freq.ideas + excluded.ideas",
        *[v for item in items for v in item],
    ).run()
    lost = [t for t, n in items if n < 0]
    if lost:
        await TermDocFreq.delete().where(TermDocFreq.term.is_in(lost), TermDocFreq.ideas <= 0).run()


async def submit_idea(viewer: Viewer, data: IdeaIn) -> IdeaOut:
    """Create an idea as `new`, linked to its submitter in `Submission`."""
    now = clock.now()
    async with write_transaction():
        idea = Idea(
            id=await random_id(Idea),
            title=data.title,
            problem=data.problem,
            proposal=data.proposal,
            touchpoint=data.touchpoint,
            status="new",
            votes=0,
            created_at=now,
            updated_at=now,
            submitted_on=now.date(),
            # others see it with everything else of its window (ideas.publish)
            published_at=publish.visible_from(now),
        )
        await idea.save().run()
        await Submission.insert(Submission(idea=idea.id, user=viewer.id, role="submitter")).run()
        # the submitter follows their own idea (new comments); one click stops it
        await Follow.insert(Follow(idea=idea.id, user=viewer.id)).run()
        term_index.ask_for_terms(idea.id)  # written by the worker (ideas.term_index)
        await vector_index.mark_for_embedding(idea.id, now)
        await participation.record_viewer(viewer, now)
    return await blind_idea(await idea_row(idea.id), viewer)


async def get_idea(viewer: Viewer, idea_id: int) -> IdeaOut:
    return await blind_idea(await idea_row(idea_id, viewer), viewer)


# -- listing -----------------------------------------------------------------


def encode_cursor(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_cursor(raw: str | None) -> dict:
    if not raw:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=="))
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (ValueError, UnicodeDecodeError, json.JSONDecodeError):
        raise Invalid("cursor", "not a cursor this server issued") from None


#: cursor numbers (ids, vote counts, offsets) are int4 in the database
CURSOR_INT_LIMIT = 2**31


def cursor_int(
    position: dict, key: str, default: int | None = None, reason: str = "not a cursor"
) -> int:
    """A number from a decoded cursor, 0 <= value < 2**31; anything else (a
    forged cursor with a huge, negative or non-integer value) is
    Invalid("cursor"), never an overflow in the database driver."""
    raw = position.get(key, default)
    try:
        if raw is None or isinstance(raw, bool):
            raise ValueError
        value = int(raw)
        if not 0 <= value < CURSOR_INT_LIMIT:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise Invalid("cursor", reason) from None
    return value


def offset_from_cursor(raw: str | None, reason: str) -> int:
    """The row offset of an offset cursor ({"o": n}); 0 without a cursor."""
    return cursor_int(decode_cursor(raw), "o", 0, reason)


def next_offset_cursor(offset: int, limit: int, more: bool) -> str | None:
    return encode_cursor({"o": offset + limit}) if more else None


def _search_sql(q: str) -> tuple[str | None, list[str]]:
    """Every word (up to 8) in the title, problem or proposal, any case."""
    words = [w for w in re.split(r"\s+", re.sub(r"[%_\\]", " ", q.strip())) if w][:8]
    like = "ILIKE" if is_postgres() else "LIKE"  # SQLite's LIKE ignores ASCII case
    parts, args = [], []
    for word in words:
        parts.append(f"(title {like} {{}} OR problem {like} {{}} OR proposal {like} {{}})")
        args += [f"%{word}%"] * 3
    return (" AND ".join(parts) if parts else None), args


def _trending_sql() -> str:
    cutoff = clock.now() - dt.timedelta(days=TRENDING_DAYS)
    if is_postgres():
        since = f"TIMESTAMPTZ '{cutoff.isoformat()}'"
    else:
        since = f"'{cutoff.isoformat(sep=' ')}'"
    return f"(SELECT COUNT(*) FROM vote WHERE vote.idea = idea.id AND vote.created_at > {since})"


def _moment(at: dt.datetime) -> str:
    """A UTC moment as an SQL literal (made here from a parsed period, never
    from request text), compared like `_trending_sql` does."""
    at = at.astimezone(dt.UTC)
    if is_postgres():
        return f"TIMESTAMPTZ '{at.isoformat()}'"
    return f"'{at.isoformat(sep=' ')}'"


def check_limit(limit: int | None) -> int:
    if limit is None:
        return LIMIT_DEFAULT
    if not 1 <= limit <= LIMIT_MAX:
        raise Invalid("limit", f"must be between 1 and {LIMIT_MAX}")
    return limit


async def list_ideas(
    viewer: Viewer,
    *,
    status: str | None = None,
    touchpoint: str | None = None,
    q: str | None = None,
    sort: str = "top",
    limit: int | None = None,
    cursor: str | None = None,
    mine_only: bool = False,
    scope: str = "all",
    mine: str | None = None,
    owner: str | None = None,
    submitted_between: tuple[dt.date, dt.date] | None = None,
    shipped_between: tuple[dt.datetime, dt.datetime] | None = None,
) -> Page[IdeaOut]:
    """The board: filters, text search, sort and an opaque keyset cursor.

    `scope` keeps ideas open for votes ("open"), closed ones ("closed") or
    all; `mine` keeps the viewer's own ideas ("ideas") or the ones they voted
    for ("votes"). Nothing filters or sorts on who submitted an idea other
    than the viewer themself."""
    limit = check_limit(limit)
    if status and status not in STATUSES:
        raise Invalid("status", f"must be one of {', '.join(STATUSES)}")
    if scope not in SCOPES:
        raise Invalid("scope", f"must be one of {', '.join(SCOPES)}")
    if mine and mine not in MINE:
        raise Invalid("mine", f"must be one of {', '.join(MINE)}")
    if touchpoint and touchpoint not in TOUCHPOINTS:
        raise Invalid("touchpoint", f"must be one of {', '.join(TOUCHPOINTS)}")
    if sort not in SORTS:
        raise Invalid("sort", f"must be one of {', '.join(SORTS)}")
    position = decode_cursor(cursor)
    # Plain SQL rather than the query builder: this is the board, the busiest
    # query there is, and building it cost more CPU than running it.
    where: list[str] = []
    args: list = []
    if status:
        where.append("status = {}")
        args.append(status)
    elif scope == "triaged":
        where.append("first_decided_at IS NOT NULL")
    elif scope != "all":
        chosen = {"open": sorted(OPEN_FOR_VOTES), "closed": list(CLOSED)}.get(scope, ACCEPTED_ON)
        where.append(f"status IN ({', '.join('{}' for _ in chosen)})")
        args += list(chosen)
    if owner:
        # the owning department (public on every idea), by name
        where.append("owning_department IN (SELECT id FROM department WHERE name = {})")
        args.append(owner)
    if submitted_between:
        where.append("submitted_on >= {} AND submitted_on < {}")
        args += list(submitted_between)
    if shipped_between:
        where.append(f"shipped_at >= {_moment(shipped_between[0])} "
                     f"AND shipped_at < {_moment(shipped_between[1])}")  # fmt: skip
    if touchpoint:
        where.append("touchpoint = {}")
        args.append(touchpoint)
    if q and q.strip():
        clause, more = _search_sql(q)
        if clause is not None:
            where.append(clause)
            args += more
    if mine_only or mine == "ideas":
        where.append('id IN (SELECT idea FROM submission WHERE "user" = {})')
        args.append(str(viewer.id))
    if mine == "votes":
        where.append('id IN (SELECT idea FROM vote WHERE "user" = {})')
        args.append(str(viewer.id))
    # a new idea shows to others from its batch on (ideas.publish)
    clause, more = _published_sql(viewer, clock.now())
    where.append(clause)
    args += more
    try:
        if sort == "top":
            if position:
                reason = "not a cursor for this sort"
                v = cursor_int(position, "v", None, reason)
                i = cursor_int(position, "i", None, reason)
                where.append("(votes < {} OR (votes = {} AND id < {}))")
                args += [v, v, i]
            order, offset = "votes DESC, id DESC", 0
        elif sort == "new":
            # newest first by when others could first see it: within one
            # batch the order says nothing of who came first
            offset = cursor_int(
                position, "o", None if position else 0, "not a cursor for this sort"
            )
            order = "COALESCE(published_at, created_at) DESC, id DESC"
        elif sort == "discussed":
            offset = cursor_int(position, "o", 0, "not a cursor for this sort")
            order = f"{comment_count_sql(clock.now())} DESC, id DESC"
        else:
            offset = cursor_int(position, "o", 0, "not a cursor for this sort")
            order = f"{_trending_sql()} DESC, id DESC"
    except (KeyError, ValueError, TypeError):
        raise Invalid("cursor", "not a cursor for this sort") from None
    sql = f"SELECT {IDEA_SQL_COLUMNS} FROM idea"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order} LIMIT {{}}"
    args.append(limit + 1)
    if offset:
        sql += " OFFSET {}"
        args.append(offset)
    rows = await Idea.raw(sql, *args).run()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        if sort == "top":
            next_cursor = encode_cursor({"v": last["votes"], "i": last["id"]})
        else:
            next_cursor = encode_cursor({"o": offset + limit})
    return Page[IdeaOut](items=await blind_ideas(rows, viewer), next_cursor=next_cursor)


#: cosine (of centred MiniLM vectors, ideas embedded from title + problem)
#: the best match of a draft must reach for any suggestion to be shown; then
#: the best few are shown. The median of the thresholds picked per fold by
#: the cross-validation in bench/similar_eval.py
SEMANTIC_MIN_SCORE = 0.42
#: ... and of those, the ones within this much of the best (a strong match is
#: not shown with unrelated ideas under it; bench/similar_eval.py)
SEMANTIC_RELATED_MARGIN = 0.15
#: the statuses never suggested
_NOT_SUGGESTED = (DECLINED, DUPLICATE)


async def similar_scores(title: str, text: str = "", limit: int = 5) -> list[tuple[int, float]]:
    """``(idea id, score)`` of the likely duplicates of a draft, best first:
    by meaning (sentence embeddings) when the model is available, else by
    shared words. Declined and duplicate ideas are left out, and so are ideas
    not yet published (ideas.publish) -- before the cut to `limit` and the
    closeness decision, so a pending idea cannot push a suggestion out or
    change which ones are shown (that would tell its topic and minute)."""
    title = (title or "").strip()[:300]
    text = (text or "").strip()[:5000]
    if not title and not text:
        return []
    found = await vector_index.search(title, text, 4 * limit + 10, -1.0)
    if found is None:
        return await _lexical_scores(title, text, limit)
    if found:
        ids = [i for i, _ in found]
        now = clock.now()
        shown = {
            r["id"]
            for r in await Idea.select(Idea.id, Idea.published_at)
            .where(Idea.id.is_in(ids), Idea.status.not_in(list(_NOT_SUGGESTED)))
            .run()
            if not publish.is_pending(r["published_at"], now)
        }
        found = [(i, s) for i, s in found if i in shown][:limit]
        # the decision is the draft's: its best match close enough, or nothing
        if not found or found[0][1] < SEMANTIC_MIN_SCORE:
            found = []
        else:
            found = [(i, s) for i, s in found if s >= found[0][1] - SEMANTIC_RELATED_MARGIN]
    if len(found) < limit:
        # ideas without a vector yet (submitted seconds ago, or before the
        # model was installed) are still found by their words, after the rest
        index = vector_index.get_index()
        fresh = [
            (i, s) for i, s in await _lexical_scores(title, text, 4 * limit) if not index.has(i)
        ]
        found += fresh[: limit - len(found)]
    return found


async def similar_ideas(
    viewer: Viewer, title: str, text: str = "", limit: int = 5
) -> list[IdeaOut]:
    """Likely duplicates of a draft: at most `limit`, best first."""
    ranked = await similar_scores(title, text, limit)
    if not ranked:
        return []
    ids = [key for key, _score in ranked]
    rows = {r["id"]: r for r in await Idea.select(*IDEA_COLUMNS).where(Idea.id.is_in(ids)).run()}
    # a new idea is suggested to others from its batch on (ideas.publish):
    # embedded within seconds, it must not show the minute it was submitted
    now = clock.now()
    shown = [
        rows[i] for i in ids if i in rows and not publish.is_pending(rows[i]["published_at"], now)
    ]
    return await blind_ideas(shown, viewer)


async def _lexical_scores(title: str, text: str, limit: int) -> list[tuple[int, float]]:
    """The fallback: shared words (ideas.similarity over the IdeaTerm index)."""
    query = similarity.query_terms(title, text)
    if not query:
        return []
    terms = list(query)[:40]
    # Bounded work whatever the size of the board: document frequencies from
    # their table, candidates from the heaviest postings of the most telling
    # terms only (similarity.posting_plan), pre-scored and cut in SQL.
    stats = (
        await TermDocFreq.select(TermDocFreq.term, TermDocFreq.ideas)
        .where(TermDocFreq.term.is_in([*terms, similarity.ALL_IDEAS]))
        .run()
    )
    doc_freq = {r["term"]: r["ideas"] for r in stats}
    total = doc_freq.pop(similarity.ALL_IDEAS, 0)
    doc_freq = {t: doc_freq.get(t, 0) for t in terms}
    plan = similarity.posting_plan({t: query[t] for t in terms}, doc_freq, total)
    if not plan:
        return []
    postings = " UNION ALL ".join(
        "SELECT idea, CASE WHEN weight < {} THEN weight ELSE {} END "
        "* CAST({} AS DOUBLE PRECISION) AS s FROM (SELECT idea, weight "
        "FROM idea_term WHERE term = {} ORDER BY weight DESC, idea DESC LIMIT {}) AS p"
        for _ in plan
    )
    published, _ = _published_sql(None, clock.now())
    shortlist = await IdeaTerm.raw(
        f"SELECT h.idea FROM (SELECT idea, SUM(s) AS score FROM ({postings}) AS hit "
        "GROUP BY idea ORDER BY score DESC, idea LIMIT {}) AS h "
        "WHERE (SELECT status FROM idea WHERE idea.id = h.idea) NOT IN ({}, {}, {}) "
        f"AND EXISTS (SELECT 1 FROM idea WHERE idea.id = h.idea AND {published}) "
        "ORDER BY h.score DESC, h.idea LIMIT {}",
        *[v for t, rows, factor in plan for v in (query[t], query[t], factor, t, rows)],
        2 * similarity.SHORTLIST,
        DECLINED,
        DUPLICATE,
        WITHDRAWN,
        similarity.SHORTLIST,
    ).run()
    open_ids = [r["idea"] for r in shortlist]
    if not open_ids:
        return []
    term_rows = (
        await IdeaTerm.select(IdeaTerm.idea, IdeaTerm.term, IdeaTerm.weight)
        .where(IdeaTerm.idea.is_in(open_ids))
        .run()
    )
    candidates: dict[int, dict[str, float]] = {}
    for r in term_rows:
        candidates.setdefault(r["idea"], {})[r["term"]] = r["weight"]
    return similarity.rank_terms(
        query, candidates.items(), doc_freq=doc_freq, total_docs=max(total, 1), limit=limit
    )


# -- votes -------------------------------------------------------------------


async def _vote_state(viewer: Viewer, idea_id: int) -> tuple[str, int, bool]:
    rows = (
        await Idea.select(Idea.status, Idea.votes, Idea.published_at)
        .where(Idea.id == idea_id)
        .run()
    )
    if not rows:
        raise NotFound("no such idea")
    if publish.is_pending(rows[0]["published_at"], clock.now()):
        await idea_row(idea_id, viewer)  # not yet published: no such idea to others
    voted = await Vote.exists().where(Vote.idea == idea_id, Vote.user == viewer.id).run()
    return rows[0]["status"], rows[0]["votes"], voted


def _refuse_closed(status: str) -> None:
    if status not in OPEN_FOR_VOTES:
        raise Conflict(f"ideas that are '{status}' take no votes", {"current_status": status})


async def _refuse_own(viewer: Viewer, idea_id: int) -> None:
    """Nobody votes for an idea they submitted or co-submitted (409). The
    refusal writes nothing, so nobody else can tell it happened."""
    own = (
        await Submission.exists()
        .where(Submission.idea == idea_id, Submission.user == viewer.id)
        .run()
    )
    if own:
        raise Conflict("you cannot vote for your own idea", {"own_idea": True})


_OPEN_SQL = ", ".join(f"'{s}'" for s in sorted(OPEN_FOR_VOTES))


async def vote(viewer: Viewer, idea_id: int) -> VoteOut:
    """Add the viewer's vote (idempotent). Exact under concurrency: the unique
    (idea, user) index decides, and the counter moves only on a real insert."""
    now = clock.now()
    if is_postgres():
        rows = await Idea.raw(
            f"""WITH ins AS (
                   INSERT INTO vote (idea, "user", created_at)
                   SELECT id, {{}}, {{}} FROM idea WHERE id = {{}} AND status IN ({_OPEN_SQL})
                   AND {_published_sql(None, now)[0]}
                   AND NOT EXISTS (SELECT 1 FROM submission s
                                   WHERE s.idea = idea.id AND s."user" = {{}})
                   ON CONFLICT DO NOTHING RETURNING idea)
                UPDATE idea SET votes = votes + 1 WHERE id IN (SELECT idea FROM ins)
                RETURNING votes""",
            viewer.id,
            now,
            idea_id,
            viewer.id,
        ).run()
        if rows:
            await participation.record_viewer(viewer, now)
            return VoteOut(votes=rows[0]["votes"], voted=True)
        status, votes, voted = await _vote_state(viewer, idea_id)
        _refuse_closed(status)
        await _refuse_own(viewer, idea_id)
        return VoteOut(votes=votes, voted=voted)
    async with write_transaction():
        status, votes, voted = await _vote_state(viewer, idea_id)
        _refuse_closed(status)
        await _refuse_own(viewer, idea_id)
        if voted:
            return VoteOut(votes=votes, voted=True)
        inserted = await Vote.raw(
            'INSERT INTO vote (idea, "user", created_at) VALUES ({}, {}, {}) '
            "ON CONFLICT DO NOTHING RETURNING id",
            idea_id,
            str(viewer.id),
            now,
        ).run()
        if inserted:
            rows = await Idea.raw(
                "UPDATE idea SET votes = votes + 1 WHERE id = {} RETURNING votes", idea_id
            ).run()
            votes = rows[0]["votes"]
            await participation.record_viewer(viewer, now)
        return VoteOut(votes=votes, voted=True)


async def unvote(viewer: Viewer, idea_id: int) -> VoteOut:
    """Retract the viewer's vote (idempotent)."""
    if is_postgres():
        rows = await Idea.raw(
            f"""WITH del AS (
                   DELETE FROM vote WHERE idea = {{}} AND "user" = {{}}
                   AND idea IN (SELECT id FROM idea WHERE id = {{}} AND status IN ({_OPEN_SQL}))
                   RETURNING idea)
                UPDATE idea SET votes = votes - 1 WHERE id IN (SELECT idea FROM del)
                RETURNING votes""",
            idea_id,
            viewer.id,
            idea_id,
        ).run()
        if rows:
            return VoteOut(votes=rows[0]["votes"], voted=False)
        status, votes, voted = await _vote_state(viewer, idea_id)
        _refuse_closed(status)
        return VoteOut(votes=votes, voted=voted)
    async with write_transaction():
        status, votes, voted = await _vote_state(viewer, idea_id)
        _refuse_closed(status)
        if not voted:
            return VoteOut(votes=votes, voted=False)
        deleted = await Vote.raw(
            'DELETE FROM vote WHERE idea = {} AND "user" = {} RETURNING id',
            idea_id,
            str(viewer.id),
        ).run()
        if deleted:
            rows = await Idea.raw(
                "UPDATE idea SET votes = votes - 1 WHERE id = {} RETURNING votes", idea_id
            ).run()
            votes = rows[0]["votes"]
        return VoteOut(votes=votes, voted=False)


async def merged_into(idea_id: int) -> list[dict]:
    """The ideas merged into this one (duplicates pointing at it): id and
    title only, oldest first."""
    rows = (
        await Idea.select(Idea.id, Idea.title)
        .where(Idea.duplicate_of == idea_id, Idea.status == DUPLICATE)
        .order_by(Idea.id)
        .run()
    )
    return [{"id": str(r["id"]), "title": r["title"]} for r in rows]


# -- timeline ----------------------------------------------------------------


async def idea_events(idea_id: int, viewer: Viewer | None = None) -> list[EventOut]:
    """The public timeline: role labels only, never a person. With `viewer`,
    an idea not yet published is 'no such idea' to anyone but its
    submitters (as its page is): a 200 would tell that the id exists."""
    if viewer is not None:
        await idea_row(idea_id, viewer)
    rows = await Event.raw(
        "SELECT created_at, status, note, actor_label FROM event "
        "WHERE idea = {} AND public = {} ORDER BY id",
        idea_id,
        True,
    ).run()
    if not rows and not await Idea.raw("SELECT 1 FROM idea WHERE id = {}", idea_id).run():
        raise NotFound("no such idea")  # (an idea without a timeline yet is fine)
    return [
        EventOut(at=r["created_at"], status=r["status"], note=r["note"], actor=r["actor_label"])
        for r in rows
    ]


async def events_for(idea_ids: list[int]) -> dict[int, list[EventOut]]:
    """Public timelines of several ideas at once (My ideas)."""
    if not idea_ids:
        return {}
    rows = (
        await Event.select(
            Event.idea, Event.created_at, Event.status, Event.note, Event.actor_label
        )
        .where(Event.idea.is_in(idea_ids), Event.public.eq(True))
        .order_by(Event.id)
        .run()
    )
    out: dict[int, list[EventOut]] = {i: [] for i in idea_ids}
    for r in rows:
        out[r["idea"]].append(
            EventOut(at=r["created_at"], status=r["status"], note=r["note"], actor=r["actor_label"])
        )
    return out
