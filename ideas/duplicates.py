"""Likely duplicates for the council: groups on the queue and the agenda, a
panel of possible duplicates on each idea, and one action that merges a
whole group into its suggested target.

Two ideas are linked when the cosine of their vectors (ideas.embedding,
the same ones the similar-idea search uses) reaches :data:`GROUP_MIN_SCORE`,
a threshold the pages show; groups are the transitive closure of the links
(single linkage). Ideas without a vector yet are linked by their words
instead (ideas.similarity), so a group never depends on the worker's timing
alone. The suggested target of a group is its most-voted idea, the oldest
on a tie.

Merging a group is the council's ordinary "duplicate" decision
(``ideas.triage.decisions.decide``) taken for every other member, in one transaction:
votes move once per person, every merged submitter becomes a co-submitter
of the target and hears of it, as with a single merge; if any member cannot
be merged, nothing is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ideas import clock, embedding, policy, publish, similarity, vector_index
from ideas.blind import IDEA_COLUMNS, blind_ideas
from ideas.context import Context
from ideas.db import write_transaction
from ideas.errors import Invalid
from ideas.schemas import IdeaOut
from ideas.tables import Idea, IdeaVector
from ideas.triage.decisions import DecisionIn, decide

#: cosine (centred MiniLM vectors of title, problem and proposal) from which
#: two ideas are grouped as likely duplicates; shown on the council's pages
GROUP_MIN_SCORE = 0.5
#: the same for two ideas compared by their words (no vector yet)
LEXICAL_MIN_SCORE = 0.35
#: the most ideas one group merge takes
MAX_GROUP = 20


@dataclass
class Group:
    """Likely duplicates: ``target`` first in ``members``."""

    target: int
    members: list[int]
    #: the weakest link that holds the group together
    score: float
    scores: dict[tuple[int, int], float] = field(default_factory=dict, repr=False)


def suggested_target(rows: Sequence[dict]) -> dict:
    """The most-voted idea, the oldest (then the lowest id) on a tie."""
    return min(rows, key=lambda r: (-int(r["votes"]), r["submitted_on"], int(r["id"])))


def link_groups(links: dict[tuple[int, int], float], ids: Sequence[int]) -> list[list[int]]:
    """Connected components (of at least two ids) of the links, each in the
    order of ``ids``; the components in the order of their first member."""
    parent = {i: i for i in ids}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in links:
        if a in parent and b in parent:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in ids:
        groups.setdefault(root(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


async def _vectors(ids: Sequence[int]) -> dict[int, object]:
    if not ids:
        return {}
    rows = (
        await IdeaVector.select(IdeaVector.idea, IdeaVector.vector)
        .where(
            IdeaVector.idea.is_in(list(ids)),
            IdeaVector.model == embedding.MODEL_VERSION,
            IdeaVector.vector.is_not_null(),
        )
        .run()
    )
    return {int(r["idea"]): embedding.from_bytes(bytes(r["vector"])) for r in rows}


async def links_between(rows: Sequence[dict]) -> dict[tuple[int, int], float]:
    """Pairs ``(a, b)`` (``a < b``) of the given ideas that look alike, with
    their score: by vectors where both have one, else by words."""
    np = embedding.numpy_one_thread()

    ids = [int(r["id"]) for r in rows]
    vectors = await _vectors(ids)
    links: dict[tuple[int, int], float] = {}
    with_vec = [i for i in ids if i in vectors]
    if len(with_vec) > 1:
        matrix = np.stack([vectors[i] for i in with_vec]).astype(np.int32)
        scores = (matrix @ matrix.T) / float(embedding.SCALE**2)
        hits = np.argwhere(np.triu(scores >= GROUP_MIN_SCORE, k=1))
        for x, y in hits:
            a, b = sorted((with_vec[x], with_vec[y]))
            links[(a, b)] = round(float(scores[x, y]), 3)
    without = {int(r["id"]) for r in rows if int(r["id"]) not in vectors}
    if without:
        bags = {
            int(r["id"]): similarity.idea_terms(r["title"], r.get("problem") or "") for r in rows
        }
        for a in without:
            ranked = similarity.rank_terms(
                bags[a],
                [(b, bags[b]) for b in ids if b != a],
                limit=len(ids),
                min_score=LEXICAL_MIN_SCORE,
            )
            for b, s in ranked:
                key = (min(a, b), max(a, b))
                links[key] = max(links.get(key, 0.0), round(float(s), 3))
    return links


async def groups_of(rows: Sequence[dict]) -> list[Group]:
    """Likely-duplicate groups among these ideas (rows with id, title,
    problem, votes, submitted_on), each with its suggested target."""
    links = await links_between(rows)
    by_id = {int(r["id"]): r for r in rows}
    out = []
    for members in link_groups(links, [int(r["id"]) for r in rows]):
        target = int(suggested_target([by_id[m] for m in members])["id"])
        inside = {k: v for k, v in links.items() if k[0] in members and k[1] in members}
        ordered = [target] + [m for m in members if m != target]
        out.append(Group(target=target, members=ordered, score=min(inside.values()), scores=inside))
    return out


async def possible_duplicates(
    ctx: Context, idea_id: int, limit: int = 5
) -> list[tuple[IdeaOut, float]]:
    """Open ideas that look like this one (for the council's panel on the
    idea page), best first, with their score."""
    policy.authorize(ctx.actor, "triage.queue")
    viewer = ctx.actor
    rows = await Idea.select(Idea.id, Idea.title, Idea.problem).where(Idea.id == idea_id).run()
    if not rows:
        return []
    vectors = await _vectors([idea_id])
    found: list[tuple[int, float]] = []
    if idea_id in vectors and await vector_index.load_embedder() is not None:
        index = vector_index.get_index()
        await index.refresh()
        found = [
            (i, s)
            for i, s in index.search(vectors[idea_id] / embedding.SCALE, 4 * limit + 10)
            if i != idea_id and s >= GROUP_MIN_SCORE
        ]
    else:
        from ideas.board import similar

        found = [
            (i, s)
            for i, s in await similar.similar_scores(rows[0]["title"], rows[0]["problem"], 10)
            if i != idea_id
        ]
    if not found:
        return []
    ids = [i for i, _ in found]
    ideas = {
        r["id"]: r
        for r in await Idea.select(*IDEA_COLUMNS)
        .where(Idea.id.is_in(ids), Idea.status.not_in(sorted(policy.TURNED_DOWN)))
        .run()
    }
    # an idea shows to the council from its batch on (ideas.publish), here too
    now = clock.now()
    keep = [
        (i, s)
        for i, s in found
        if i in ideas and not publish.is_pending(ideas[i]["published_at"], now)
    ][:limit]
    blind = await blind_ideas([ideas[i] for i, _ in keep], viewer)
    return list(zip(blind, [s for _, s in keep], strict=True))


async def merge_group(
    ctx: Context, session_id: str, target_id: int, member_ids: Sequence[int]
) -> list[IdeaOut]:
    """Merge every member but the target into the target, in one transaction
    (the council's duplicate decision, taken for each)."""
    policy.authorize(ctx.actor, "triage.session")
    others = list(dict.fromkeys(int(m) for m in member_ids if int(m) != int(target_id)))
    if not others:
        raise Invalid("member_ids", "name at least one idea to merge into the target")
    if len(others) > MAX_GROUP:
        raise Invalid("member_ids", f"merge at most {MAX_GROUP} ideas at once")
    note = "Merged with its likely duplicates into the idea the council kept."
    merged = []
    async with write_transaction():
        for member in others:
            decision = DecisionIn(
                session_id=str(session_id),
                outcome="duplicate",
                duplicate_of=str(target_id),
                note=note,
            )
            merged.append(await decide(ctx, member, decision))
    return merged
