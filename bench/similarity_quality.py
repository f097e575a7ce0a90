"""Quality of the similar-idea search on the bundled idea dataset.

Usage: python bench/similarity_quality.py [path/to/ideas.jsonl]

For each idea carrying a ``cluster`` key, query with its title alone and with
title + problem against every other idea and report recall@5 (at least one
other cluster member in the results), precision@5 (share of returned items
from the same cluster), precision@1 (the best hit is from the same cluster),
and how often an unclustered idea pulls in anything at all (not necessarily
wrong: the dataset has related ideas outside the marked clusters).

Scorers: ``rank`` (idf from the candidates) and ``rank_terms`` (stored term
bags + corpus document frequencies, every idea sharing a term a candidate).
The ``service`` ones score as the service does (document frequencies of the
query terms only): ``service-all`` ranks every idea sharing a term with the
draft; ``service`` only the shortlist that ``posting_plan`` + ``shortlist``
find with the service's limits; ``service-tight`` the same with limits far
below this corpus (8 postings a term, 16 in all, 8 candidates), so that the
pruning really bites.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ideas.similarity import (  # noqa: E402
    idea_terms,
    posting_plan,
    query_terms,
    rank,
    rank_terms,
    shortlist,
)

# per_term, budget, shortlist; None = the service's own
LIMITS = {
    "service-all": (10**9, 10**9, 10**9),
    "service": (None, None, None),
    "service-tight": (8, 16, 8),
}

CANDIDATE_PATHS = (
    ROOT.parent / "shared" / "data" / "ideas.jsonl",
    ROOT / "touchpoint" / "data" / "ideas.jsonl",
)


def load(path: Path | None = None) -> list[dict]:
    path = path or next(p for p in CANDIDATE_PATHS if p.exists())
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(rows: list[dict], scorer: str, with_text: bool) -> dict[str, float]:
    bags = [idea_terms(r["title"], r["problem"]) for r in rows]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    hits = returned = relevant_returned = queries = top1 = 0
    unclustered = noisy = 0
    for i, row in enumerate(rows):
        text = row["problem"] if with_text else ""
        if scorer == "rank":
            cands = [(j, r["title"], r["problem"]) for j, r in enumerate(rows) if j != i]
            results = rank(row["title"], text, cands, limit=5)
        elif scorer in LIMITS:
            per_term, budget, size = LIMITS[scorer]
            query = query_terms(row["title"], text)
            others = df - Counter(bags[i].keys())
            query_df = {t: others[t] for t in query}
            postings: dict[str, list[tuple[int, float]]] = {}
            for j, bag in enumerate(bags):
                if j != i:
                    for t, w in bag.items():
                        postings.setdefault(t, []).append((j, w))
            plan = posting_plan(query, query_df, len(rows) - 1, per_term, budget)
            found = shortlist(query, plan, postings, size)
            results = rank_terms(
                query,
                [(j, bags[j]) for j in found],
                doc_freq=query_df,
                total_docs=len(rows) - 1,
                limit=5,
            )
        else:
            cands = [(j, bag) for j, bag in enumerate(bags) if j != i]
            # the query idea is not in the index, as with a fresh draft
            own = Counter(bags[i].keys())
            results = rank_terms(
                query_terms(row["title"], text),
                cands,
                doc_freq=df - own,
                total_docs=len(rows) - 1,
                limit=5,
            )
        cluster = row.get("cluster")
        if cluster is None:
            unclustered += 1
            noisy += bool(results)
            continue
        queries += 1
        same = [j for j, _ in results if rows[j].get("cluster") == cluster]
        hits += bool(same)
        top1 += bool(results) and rows[results[0][0]].get("cluster") == cluster
        returned += len(results)
        relevant_returned += len(same)
    return {
        "queries": queries,
        "recall@5": hits / queries if queries else 0.0,
        "precision@5": relevant_returned / returned if returned else 0.0,
        "precision@1": top1 / queries if queries else 0.0,
        "avg_returned": returned / queries if queries else 0.0,
        "unclustered_with_results": noisy / unclustered if unclustered else 0.0,
    }


def main(argv: list[str]) -> None:
    rows = load(Path(argv[1]) if len(argv) > 1 else None)
    clustered = sum(1 for r in rows if r.get("cluster"))
    clusters = len({r["cluster"] for r in rows if r.get("cluster")})
    print(f"dataset: {len(rows)} ideas, {clustered} clustered in {clusters} clusters")
    # a clustered idea has only 1-2 other members, so precision@5 cannot reach 1
    ceiling = sum(
        sum(1 for o in rows if o.get("cluster") == r["cluster"]) - 1
        for r in rows
        if r.get("cluster")
    ) / max(clustered * 5, 1)
    print(f"(precision@5 if all 5 slots were filled is at most {ceiling:.3f})")
    for scorer in ("rank", "rank_terms", *LIMITS):
        for with_text in (False, True):
            m = evaluate(rows, scorer, with_text)
            mode = "title+problem" if with_text else "title only"
            print(
                f"{scorer:13s} {mode:13s} recall@5={m['recall@5']:.3f} "
                f"precision@5={m['precision@5']:.3f} precision@1={m['precision@1']:.3f} "
                f"avg_returned={m['avg_returned']:.2f} "
                f"unclustered_with_results={m['unclustered_with_results']:.2f}"
            )


if __name__ == "__main__":
    main(sys.argv)
