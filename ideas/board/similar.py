"""Likely duplicates of a draft (by meaning when the model is available,
else by shared words), and the shared-words index they are found in."""

from __future__ import annotations

from ideas import clock, policy, publish, similarity, sql, vector_index
from ideas.blind import IDEA_SQL_COLUMNS, blind_rows, facts_columns
from ideas.board.view import published_sql
from ideas.context import Context
from ideas.db import write_transaction
from ideas.schemas import IdeaOut
from ideas.tables import Idea, IdeaTerm, TermDocFreq

#: cosine (of centred MiniLM vectors, ideas embedded from title + problem)
#: the best match of a draft must reach for any suggestion to be shown; then
#: the best few are shown. The median of the thresholds picked per fold by
#: the cross-validation in bench/similar_eval.py
SEMANTIC_MIN_SCORE = 0.42
#: ... and of those, the ones within this much of the best (a strong match is
#: not shown with unrelated ideas under it; bench/similar_eval.py)
SEMANTIC_RELATED_MARGIN = 0.15


def _draft(title: str, text: str) -> tuple[str, str]:
    return (title or "").strip()[:300], (text or "").strip()[:5000]


async def similar_scores(title: str, text: str = "", limit: int = 5) -> list[tuple[int, float]]:
    """``(idea id, score)`` of the likely duplicates of a draft, best first:
    by meaning (sentence embeddings) when the model is available, else by
    shared words. Declined and duplicate ideas are left out, and so are ideas
    not yet published (ideas.publish) -- before the cut to `limit` and the
    closeness decision, so a pending idea cannot push a suggestion out or
    change which ones are shown (that would tell its topic and minute)."""
    title, text = _draft(title, text)
    if not title and not text:
        return []
    found = await vector_index.search(title, text, _candidates(limit), -1.0)
    return await _decide(found, title, text, limit)


def _candidates(limit: int) -> int:
    """Nearest vectors read from the index for `limit` suggestions (some
    are turned away: declined, duplicate, not yet published)."""
    return 4 * limit + 10


async def _decide(
    found: list[tuple[int, float]] | None, title: str, text: str, limit: int
) -> list[tuple[int, float]]:
    """`similar_scores` from the index's nearest vectors (``None``: no model)."""
    if found is None:
        return await _lexical_scores(title, text, limit)
    if found:
        now = clock.now()
        among, among_args = sql.in_list("id", [i for i, _ in found])
        turned_away, turned_away_args = sql.in_list("status", sorted(policy.NOT_SUGGESTED))
        # plain SQL: every suggestion asks it (Piccolo's query building was a
        # tenth of the request)
        shown = {
            r["id"]
            for r in await Idea.raw(
                f"SELECT id, published_at FROM idea WHERE {among} AND NOT {turned_away}",
                *among_args,
                *turned_away_args,
            ).run()
            if not publish.is_pending(r["published_at"], now)
        }
        found = [(i, s) for i, s in found if i in shown][:limit]
        found = _closest(found)
    index = vector_index.get_index()
    if len(found) < limit and not index.complete:
        # ideas without a vector yet (submitted seconds ago, or before the
        # model was installed) are still found by their words, after the rest
        fresh = [
            (i, s) for i, s in await _lexical_scores(title, text, 4 * limit) if not index.has(i)
        ]
        found += fresh[: limit - len(found)]
    return found


def _closest(found: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The decision is the draft's: its best (shown) match close enough, or
    nothing; then those within the margin of the best."""
    if not found or found[0][1] < SEMANTIC_MIN_SCORE:
        return []
    return [(i, s) for i, s in found if s >= found[0][1] - SEMANTIC_RELATED_MARGIN]


async def similar_ideas(ctx: Context, title: str, text: str = "", limit: int = 5) -> list[IdeaOut]:
    """Likely duplicates of a draft: at most `limit`, best first."""
    policy.authorize(ctx.actor, "idea.view")
    title, text = _draft(title, text)
    if not title and not text:
        return []
    found = await vector_index.search(title, text, _candidates(limit), -1.0)
    if found is not None and vector_index.get_index().complete:
        return await _closest_ideas(ctx, found, limit)
    ranked = await _decide(found, title, text, limit)
    if not ranked:
        return []
    ids = [key for key, _score in ranked]
    now = ctx.now
    # the ideas with the viewer's facts about them, in one statement
    facts, args = facts_columns(ctx.actor, now)
    among, among_args = sql.in_list("id", ids)
    found_rows = await Idea.raw(
        f"SELECT {IDEA_SQL_COLUMNS}{facts} FROM idea WHERE {among}", *args, *among_args
    ).run()
    rows = {r["id"]: r for r in found_rows}
    # a new idea is suggested to others from its batch on (ideas.publish):
    # embedded within seconds, it must not show the minute it was submitted
    shown = [
        rows[i] for i in ids if i in rows and not publish.is_pending(rows[i]["published_at"], now)
    ]
    return blind_rows(shown, ctx.actor, now)


async def _closest_ideas(ctx: Context, found: list[tuple[int, float]], limit: int) -> list[IdeaOut]:
    """`similar_ideas` when every idea has its vector: the same choice as
    `_decide` + `_closest`, in one statement: the index's nearest vectors are
    filtered (turned away, not yet published), ranked and cut to `limit` in
    the statement that reads their cards -- the viewer's facts computed for
    those only -- and the draft's decision is taken on what is left.

    The statement runs for every draft, with every candidate the index gave
    (padded to the same number), whatever their scores: the index also holds
    ideas not yet published, so skipping the database when no vector reaches
    the threshold, or asking only for the vectors near it, would make the
    answer's time tell whether an unpublished idea is close to a draft (its
    topic, and from when)."""
    now = ctx.now
    ids = [i for i, _ in found]
    if not ids:
        return []
    # as many candidates whatever the board's size (a repeated id matches
    # nothing more): a new idea, not yet published, must not change the
    # statement's shape on a board of fewer ideas than candidates either
    ids += [ids[-1]] * (_candidates(limit) - len(ids))
    facts, args = facts_columns(ctx.actor, now)
    among, among_args = sql.in_list("id", ids)
    turned_away, turned_away_args = sql.in_list("status", sorted(policy.NOT_SUGGESTED))
    published, published_args = published_sql(None, now)
    rank, rank_args = sql.position_in("id", ids)
    rows = await Idea.raw(
        f"SELECT {IDEA_SQL_COLUMNS}{facts} FROM idea "
        f"WHERE {among} AND NOT {turned_away} AND {published} ORDER BY {rank} LIMIT {{}}",
        *args,
        *among_args,
        *turned_away_args,
        *published_args,
        *rank_args,
        limit,
    ).run()
    score = dict(found)
    chosen = _closest([(r["id"], score[r["id"]]) for r in rows])
    keep = {i for i, _ in chosen}
    return blind_rows([r for r in rows if r["id"] in keep], ctx.actor, now)


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
    published, published_args = published_sql(None, clock.now())
    turned_away, turned_away_args = sql.in_list(
        "(SELECT status FROM idea WHERE idea.id = h.idea)", sorted(policy.NOT_SUGGESTED)
    )
    shortlist = await IdeaTerm.raw(
        f"SELECT h.idea FROM (SELECT idea, SUM(s) AS score FROM ({postings}) AS hit "
        "GROUP BY idea ORDER BY score DESC, idea LIMIT {}) AS h "
        f"WHERE NOT {turned_away} "
        f"AND EXISTS (SELECT 1 FROM idea WHERE idea.id = h.idea AND {published}) "
        "ORDER BY h.score DESC, h.idea LIMIT {}",
        *[v for t, rows, factor in plan for v in (query[t], query[t], factor, t, rows)],
        2 * similarity.SHORTLIST,
        *turned_away_args,
        *published_args,
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
