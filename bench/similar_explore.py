"""What else was tried to lift similar-idea quality, on the first set only.

Usage: python -m bench.similar_explore [--seeds 7,11,13]

Every variant keeps the shipped model (``ideas.embedding``) and changes one
thing: the text embedded, a fusion with the lexical score, a correction for
ideas or drafts close to everything, the draft-level decision, or the margin.
Each is measured like ``bench.similar_eval``'s methods -- 5-fold stratified
cross-validation on ``bench/data/similar_drafts.jsonl``, the threshold (and,
for a variant with a grid, the grid's setting) fitted on four folds with
false alarms within budget and scored on the fifth -- averaged over a few
fold shuffles. The held-out set is never read here: it measures only what
ships (``bench.similar_eval``).

Printed per variant: recall@3, false alarms among the 24 unrelated drafts
(mean over the shuffles), and the settings the folds picked.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import similar_eval as ev  # noqa: E402


def folds_of(targets, k, seed):
    """Stratified folds (duplicates and unrelated drafts spread evenly)."""
    idx = list(range(len(targets)))
    random.Random(seed).shuffle(idx)
    fold_of = {}
    for group in (
        [i for i in idx if targets[i] is not None],
        [i for i in idx if targets[i] is None],
    ):
        for n, i in enumerate(group):
            fold_of[i] = n % k
    return [[i for i in idx if fold_of[i] == f] for f in range(k)]


class Variant:
    """A ranking (scores of every idea per draft), a margin for what is
    shown, and a decision value per draft (default: the best score)."""

    def __init__(self, scores, margin=ev.RELATED_MARGIN, decision=None):
        self.scores = scores
        self.margin = margin
        self.decision = scores.max(axis=1) if decision is None else decision

    def counts(self, rows, targets, clusters, threshold):
        found = alarms = 0
        for i in rows:
            shown = self.decision[i] >= threshold
            if targets[i] is None:
                alarms += shown
            elif shown and ev.top3_hits(list(self.scores[i]), targets[i], clusters, self.margin):
                found += 1
        return found, alarms

    def fit(self, rows, targets, clusters):
        hits = [ev.top3_hits(list(self.scores[i]), targets[i], clusters, self.margin) for i in rows]
        values = [float(self.decision[i]) for i in rows]
        t = ev.pick_threshold(values, [targets[i] for i in rows], hits)
        found, alarms = self.counts(rows, targets, clusters, t)
        n_dup = sum(targets[i] is not None for i in rows)
        return t, found / n_dup, alarms / (len(rows) - n_dup)


def cross_validate(grid, targets, clusters, seeds, k=5):
    """``grid``: {setting: Variant}; the folds pick the setting too."""
    recalls, alarms, picks = [], [], []
    n_dup = sum(t is not None for t in targets)
    for seed in seeds:
        folds = folds_of(targets, k, seed)
        found = alarm = 0
        for f in range(k):
            train = [i for g in range(k) if g != f for i in folds[g]]
            best = None
            for setting, variant in grid.items():
                t, recall, far = variant.fit(train, targets, clusters)
                key = (far <= ev.FA_BUDGET, recall, -far)
                if best is None or key > best[0]:
                    best = (key, setting, t)
            _, setting, t = best
            a, b = grid[setting].counts(folds[f], targets, clusters, t)
            found += a
            alarm += b
            picks.append(setting)
        recalls.append(found / n_dup)
        alarms.append(alarm)
    return sum(recalls) / len(recalls), sum(alarms) / len(alarms), picks


def main(argv: list[str]) -> None:
    import numpy as np

    from ideas import embedding

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="7,11,13")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    ideas = ev.load_jsonl(next(p for p in ev.IDEAS if p.exists()))
    clusters = [r.get("cluster") for r in ideas]
    drafts = ev.load_jsonl(ev.DRAFTS)
    targets = ev.check_set(drafts, ideas)
    embedder = embedding.get_embedder()
    if embedder is None:
        sys.exit(f"model unavailable: {embedding.status()}")

    def embed(texts):
        return embedder.embed(texts).astype(np.float64)

    t0 = time.process_time()
    doc = {
        "tp": embed([embedding.idea_text(r["title"], r["problem"]) for r in ideas]),
        "tpp": embed([embedding.idea_text(r["title"], r["problem"], r["proposal"]) for r in ideas]),
        "ttp": embed(
            [embedding.idea_text(r["title"], f"{r['title']}. {r['problem']}") for r in ideas]
        ),
        "t": embed([r["title"] for r in ideas]),
    }
    per_text = (time.process_time() - t0) / (4 * len(ideas)) * 1000
    query = {
        "tt": embed([embedding.idea_text(d["title"], d.get("text", "")) for d in drafts]),
        "ttt": embed(
            [embedding.idea_text(d["title"], f"{d['title']}. {d.get('text', '')}") for d in drafts]
        ),
        "t": embed([d["title"] for d in drafts]),
    }
    lex = np.asarray(ev.lexical_scores(ideas, drafts, True))
    S = query["tt"] @ doc["tp"].T  # what ships
    best = S.argmax(axis=1)
    rows = np.arange(len(drafts))
    print(
        f"{len(drafts)} drafts ({sum(t is None for t in targets)} unrelated); model "
        f"{embedding.MODEL_VERSION}; {per_text:.1f} ms CPU a text to embed, this machine, now"
    )
    ranked = [ev.top3_hits(list(s), t, clusters, 1.0) for s, t in zip(S, targets, strict=True)]
    print(
        "without any threshold, the original (or its cluster) in the top 3: "
        f"{sum(bool(h) for h in ranked if h is not None) / sum(h is not None for h in ranked):.2f}"
    )

    def unit(m):
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    near = doc["tp"] @ doc["tp"].T
    np.fill_diagonal(near, -1.0)
    top_k = np.sort(S, axis=1)
    centre = doc["tp"].mean(axis=0)
    _, _, pcs = np.linalg.svd(doc["tp"] - centre, full_matrices=False)

    def without_pcs(m, r):
        return unit(m - (m - centre) @ pcs[:r].T @ pcs[:r])

    variants = {
        "shipped: draft title+text vs idea title+problem, best cosine": {"-": Variant(S)},
        "  margin for what is shown, picked in the folds (0.05-1.0)": {
            m: Variant(S, m) for m in (0.05, 0.1, 0.15, 0.2, 1.0)
        },
        "text: ideas as title+problem+proposal": {"-": Variant(query["tt"] @ doc["tpp"].T)},
        "text: ideas as title twice + problem": {"-": Variant(query["tt"] @ doc["ttp"].T)},
        "text: draft title twice + text": {"-": Variant(query["ttt"] @ doc["tp"].T)},
        "text: mix with title-only vectors, w picked (0.25, 0.5)": {
            (name, w): Variant((1 - w) * S + w * other)
            for name, other in (
                ("draft title", query["t"] @ doc["tp"].T),
                ("idea title", query["tt"] @ doc["t"].T),
                ("both titles", query["t"] @ doc["t"].T),
            )
            for w in (0.25, 0.5)
        },
        "fusion: cosine + w * lexical score, w picked (0-0.5)": {
            w: Variant(S + w * lex) for w in (0.0, 0.1, 0.2, 0.3, 0.5)
        },
        "fusion: reciprocal rank (k=60) of semantic and lexical": {
            "-": Variant(
                1 / (60 + np.argsort(np.argsort(-S, axis=1), axis=1))
                + 1 / (60 + np.argsort(np.argsort(-lex, axis=1), axis=1)),
                1.0,
                S.max(axis=1),
            )
        },
        "hubness: cosine - b * draft's mean top-k cosine, b,k picked": {
            (b, k): Variant(S - b * top_k[:, -k:].mean(axis=1, keepdims=True))
            for b in (0.25, 0.5, 1.0)
            for k in (10, 50)
        },
        "hubness: cosine - a * idea's mean top-k cosine to ideas (CSLS), a,k picked": {
            (a, k): Variant(S - a * np.sort(near, axis=1)[:, -k:].mean(axis=1)[None, :])
            for a in (0.25, 0.5, 1.0)
            for k in (5, 10)
        },
        "corpus: drop the ideas' top r principal directions, r picked (1-8)": {
            r: Variant(without_pcs(query["tt"], r) @ without_pcs(doc["tp"], r).T)
            for r in (1, 2, 4, 8)
        },
        "decision: best cosine + a * gap to the second, a picked": {
            a: Variant(S, decision=top_k[:, -1] + a * (top_k[:, -1] - top_k[:, -2]))
            for a in (0.25, 0.5, 1.0)
        },
        "decision: best cosine + a * lexical score of the best, a picked": {
            a: Variant(S, decision=top_k[:, -1] + a * lex[rows, best]) for a in (0.1, 0.2, 0.3)
        },
        "decision: best cosine + a * title-only cosine of the best, a picked": {
            a: Variant(S, decision=top_k[:, -1] + a * (query["t"] @ doc["tp"].T)[rows, best])
            for a in (0.25, 0.5, 1.0)
        },
    }
    unrelated = sum(t is None for t in targets)
    print(f"\n{'variant':78s} | recall@3 | false alarms | settings picked by the folds")
    for name, grid in variants.items():
        recall, alarms, picks = cross_validate(grid, targets, clusters, seeds)
        shown = sorted({str(p) for p in picks}) if len(grid) > 1 else ""
        print(f"{name:78s} | {recall:8.2f} | {alarms:5.1f}/{unrelated} | {shown}")


if __name__ == "__main__":
    main(sys.argv[1:])
