"""Does the similar-idea search find the idea a draft duplicates? Old and new.

Usage: python -m bench.similar_eval [--ideas ideas.jsonl] [--drafts drafts.jsonl]
       [--heldout heldout.jsonl] [--scale] [--folds 5]

The evaluation set (``bench/data/similar_drafts.jsonl``) holds drafts written
for this benchmark: paraphrases of ideas in the bundled ``ideas.jsonl``
(``target`` = the original's title), each sharing at most half of its content
words with the original (checked here, the run stops otherwise), and drafts
that duplicate nothing (``target`` null).

A method is a ranking plus a decision whether to show suggestions at all
(a number per draft against a threshold: the best cosine, or a logistic
model of the best cosine, its z-score against the draft's cosines with the
whole corpus, and the lexical score of the best match); when it says yes,
the top 3 within RELATED_MARGIN of the best are shown. It reports:

* recall@3: share of paraphrases whose original, or a member of its cluster,
  is among the suggestions shown;
* false alarms: share of unrelated drafts that get any suggestion at all;

by k-fold cross-validation over the first set (threshold and model fitted on
the other folds, never on the scored one), and on the held-out set
(``bench/data/similar_drafts_heldout.jsonl``, written afterwards and never
used to choose), with the threshold fitted on all of the first set and with
the median of the per-fold thresholds (the service's SEMANTIC_MIN_SCORE).

``--scale`` also times the in-process search (``ideas.vector_index``) at
10,000 and 100,000 ideas and prints the process's memory.

Size: over 400 lines: one evaluation (its set's checks, the methods, their
fitting, cross-validation and report) read as one script.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ideas import similarity  # noqa: E402

DRAFTS = ROOT / "bench" / "data" / "similar_drafts.jsonl"
#: written after the first set and never used to choose anything
HELDOUT = ROOT / "bench" / "data" / "similar_drafts_heldout.jsonl"
IDEAS = (
    ROOT.parent / "shared" / "data" / "ideas.jsonl",
    ROOT / "touchpoint" / "data" / "ideas.jsonl",
)
TOP = 3
MAX_SHARED = 0.5
#: false alarms allowed on the training folds when picking a threshold
FA_BUDGET = 0.10
#: when suggestions are shown: the top 3 within this much of the best
#: (ideas.board.similar.SEMANTIC_RELATED_MARGIN)
RELATED_MARGIN = 0.15


def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# -- the evaluation set's own rule ---------------------------------------------------

_WORD = re.compile(r"[a-z]+")


def content_words(text: str) -> set[str]:
    """Lower-cased word stems without stopwords (the stricter reading of
    'word': 'invoice' and 'invoices' are the same word)."""
    words = _WORD.findall(similarity.fold(text))
    return {
        similarity.stem(w)
        for w in words
        if len(w) > 2
        and w not in similarity.STOPWORDS
        and similarity.stem(w) not in similarity.STOPWORDS
    }


def shared_share(draft: dict, idea: dict) -> float:
    mine = content_words(f"{draft['title']} {draft.get('text', '')}")
    theirs = content_words(f"{idea['title']} {idea['problem']} {idea['proposal']}")
    return len(mine & theirs) / len(mine) if mine else 0.0


def check_set(drafts: list[dict], ideas: list[dict]) -> list[int | None]:
    by_title = {r["title"]: i for i, r in enumerate(ideas)}
    targets: list[int | None] = []
    bad = []
    for d in drafts:
        if d["target"] is None:
            targets.append(None)
            continue
        if d["target"] not in by_title:
            sys.exit(f"draft {d['title']!r}: no idea titled {d['target']!r}")
        i = by_title[d["target"]]
        share = shared_share(d, ideas[i])
        if share > MAX_SHARED:
            bad.append(f"  {share:.2f}  {d['title']}")
        targets.append(i)
    if bad:
        sys.exit("drafts sharing more than half their content words:\n" + "\n".join(bad))
    return targets


# -- scorers: draft -> score of every idea ---------------------------------------------


def lexical_scores(ideas, drafts, with_text, synonyms=True):
    saved = similarity._PHRASES
    if not synonyms:
        similarity._PHRASES = {}
        similarity._field_counts.cache_clear()
    try:
        cands = [(j, r["title"], f"{r['problem']}") for j, r in enumerate(ideas)]
        out = []
        for d in drafts:
            ranked = similarity.rank(
                d["title"],
                d.get("text", "") if with_text else "",
                cands,
                limit=len(ideas),
                min_score=0.0,
            )
            scores = [0.0] * len(ideas)
            for j, s in ranked:
                scores[j] = s
            out.append(scores)
        return out
    finally:
        similarity._PHRASES = saved
        similarity._field_counts.cache_clear()


def semantic_scores(ideas, drafts, with_text, embedder, proposal=False):
    """Cosines of each draft with every idea, as the service computes them:
    the idea embedded from ``embedding.stored_text`` (title + problem), or
    with its proposal too when ``proposal`` (the first round's text)."""
    import numpy as np

    from ideas import embedding

    def text(r):
        if proposal:
            return embedding.idea_text(r["title"], r["problem"], r["proposal"])
        return embedding.stored_text(r["title"], r["problem"], r["proposal"])

    matrix = np.stack(
        [embedding.quantize(v) for v in embedder.embed([text(r) for r in ideas])]
    ).astype(np.int32)
    queries = embedder.embed(
        [embedding.idea_text(d["title"], d.get("text", "") if with_text else "") for d in drafts]
    )
    out = []
    for q in queries:
        s = matrix @ embedding.quantize(q).astype(np.int32)
        out.append([float(x) / embedding.SCALE**2 for x in s])
    return out


# -- metrics ---------------------------------------------------------------------------
#
# A method = a ranking (scores of every idea for a draft) + a DECISION whether
# to show suggestions at all: a number per draft compared with a threshold.
# When the decision says yes the top 3 are shown (the service does the same,
# ideas.board.similar.similar_scores). A hit: the original or a member of its
# cluster among them. The threshold -- and, for the logistic decisions, the
# model -- are fitted on the training folds only.


def top3_hits(scores, target, clusters, margin=None):
    """Is the original (or a member of its cluster) among the suggestions:
    the top 3 scoring within ``margin`` of the best? (None for an unrelated
    draft.)"""
    if target is None:
        return None
    margin = RELATED_MARGIN if margin is None else margin
    order = sorted(range(len(scores)), key=lambda j: -scores[j])[:TOP]
    floor = scores[order[0]] - margin
    good = {target} | ({j for j, c in enumerate(clusters) if c and c == clusters[target]})
    return any(j in good and scores[j] >= floor for j in order)


def draft_features(scores, lexical=None):
    """What a decision may look at, for one draft: the best cosine, its
    z-score against the draft's cosines with the whole corpus (adapts to
    generic drafts that are close to everything), and the lexical score
    of the best-ranked idea."""
    import numpy as np

    s = np.asarray(scores, dtype=np.float64)
    best = int(np.argmax(s))
    return {
        "top": float(s[best]),
        "z": float((s[best] - s.mean()) / (s.std() + 1e-9)),
        "lex": float(lexical[best]) if lexical is not None else 0.0,
    }


def fit_logistic(X, y, l2=1.0):
    """A tiny L2-regularised logistic regression (Newton steps) on
    standardised features; returns the scoring function (log-odds)."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = np.c_[np.ones(len(X)), (X - mu) / sd]
    w = np.zeros(Z.shape[1])
    penalty = l2 * np.diag(np.r_[0.0, np.ones(Z.shape[1] - 1)])
    for _ in range(50):
        p = 1 / (1 + np.exp(-Z @ w))
        grad = Z.T @ (p - y) + penalty @ w
        hess = (Z.T * (p * (1 - p))) @ Z + penalty
        w -= np.linalg.solve(hess, grad)
    return lambda X2: np.c_[np.ones(len(X2)), (np.asarray(X2) - mu) / sd] @ w


class Decision:
    """Which features decide; ``fit`` on training drafts returns a function
    from feature rows to a decision value (compared with a threshold)."""

    def __init__(self, features):
        self.features = features

    def rows(self, feats):
        return [[f[k] for k in self.features] for f in feats]

    def fit(self, feats, targets, hits):
        if self.features == ["top"]:
            return lambda X: [x[0] for x in X]
        # positives: paraphrases the ranking can find; negatives: unrelated
        keep = [i for i, t in enumerate(targets) if t is None or hits[i]]
        model = fit_logistic(
            [self.rows(feats)[i] for i in keep], [targets[i] is not None for i in keep]
        )
        return lambda X: list(model(X))


def pick_threshold(values, targets, hits):
    """The threshold maximising recall@3 with false alarms within budget
    (on these drafts); ties go to the higher threshold."""
    best = None
    for t in sorted(set(values)) + [float("inf")]:
        dup = [
            v >= t and h for v, tg, h in zip(values, targets, hits, strict=True) if tg is not None
        ]
        fa = [v >= t for v, tg in zip(values, targets, strict=True) if tg is None]
        recall = sum(dup) / max(len(dup), 1)
        far = sum(fa) / max(len(fa), 1)
        key = (far <= FA_BUDGET, recall if far <= FA_BUDGET else -far, t)
        if best is None or key > best[0]:
            best = (key, t)
    return best[1]


def fit_decision(decision, feats, targets, hits):
    score = decision.fit(feats, targets, hits)
    values = score(decision.rows(feats))
    return score, pick_threshold(values, targets, hits)


def measure(decision, score, threshold, feats, targets, hits):
    values = score(decision.rows(feats))
    found = sum(
        v >= threshold and h for v, t, h in zip(values, targets, hits, strict=True) if t is not None
    )
    alarms = sum(v >= threshold for v, t in zip(values, targets, strict=True) if t is None)
    return found, alarms


def cross_validate(decision, feats, targets, hits, folds, seed=7):
    """Held-out recall@3, false alarms, unrelated drafts, thresholds per fold."""
    idx = list(range(len(targets)))
    random.Random(seed).shuffle(idx)
    # stratified: duplicates and unrelated drafts spread over the folds
    fold_of = {}
    for group in (
        [i for i in idx if targets[i] is not None],
        [i for i in idx if targets[i] is None],
    ):
        for k, i in enumerate(group):
            fold_of[i] = k % folds
    found = alarms = 0
    picked = []
    for f in range(folds):
        train = [i for i in idx if fold_of[i] != f]
        test = [i for i in idx if fold_of[i] == f]
        score, t = fit_decision(
            decision,
            [feats[i] for i in train],
            [targets[i] for i in train],
            [hits[i] for i in train],
        )
        picked.append(round(t, 3))
        a, b = measure(
            decision,
            score,
            t,
            [feats[i] for i in test],
            [targets[i] for i in test],
            [hits[i] for i in test],
        )
        found += a
        alarms += b
    n_dup = sum(t is not None for t in targets)
    return found / n_dup, alarms, len(targets) - n_dup, picked


def load_set(path, ideas):
    drafts = load_jsonl(path)
    targets = check_set(drafts, ideas)
    n_dup = sum(t is not None for t in targets)
    most = max(
        shared_share(d, ideas[t]) for d, t in zip(drafts, targets, strict=True) if t is not None
    )
    print(
        f"{path.name}: {n_dup} paraphrases (each sharing <= {MAX_SHARED:.0%} of its content "
        f"words with its original; at most {most:.0%} here), "
        f"{len(targets) - n_dup} unrelated drafts"
    )
    return drafts, targets


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ideas", type=Path)
    parser.add_argument("--drafts", type=Path, default=DRAFTS)
    parser.add_argument("--heldout", type=Path, default=HELDOUT)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--scale", action="store_true", help="time search at 10k and 100k ideas")
    args = parser.parse_args(argv)
    ideas = load_jsonl(args.ideas or next(p for p in IDEAS if p.exists()))
    clusters = [r.get("cluster") for r in ideas]
    print(f"{len(ideas)} ideas")
    sets = [load_set(args.drafts, ideas), load_set(args.heldout, ideas)]
    from ideas import embedding

    t0 = time.perf_counter()
    embedder = embedding.get_embedder()
    if embedder is None:
        sys.exit(f"model unavailable: {embedding.status()}")
    print(f"model {embedding.MODEL_VERSION} loaded in {time.perf_counter() - t0:.2f} s")
    rankings = []  # per set: {name: (scores, lexical scores for the decision)}
    for drafts, _targets in sets:
        t0 = time.perf_counter()
        tp = semantic_scores(ideas, drafts, True, embedder)
        per_text = (time.perf_counter() - t0) / (len(ideas) + len(drafts)) * 1000
        full = semantic_scores(ideas, drafts, True, embedder, proposal=True)
        lex = lexical_scores(ideas, drafts, True)
        plain = lexical_scores(ideas, drafts, True, synonyms=False)
        rankings.append({"lex": lex, "plain": plain, "full": full, "tp": tp})
    print(f"({per_text:.1f} ms a text to embed, this machine, now)")
    methods = [
        ("lexical (old default)", "lex", ["top"]),
        ("lexical without synonyms", "plain", ["top"]),
        ("semantic t+p+proposal, cosine", "full", ["top"]),
        ("semantic t+p, cosine (default)", "tp", ["top"]),
        ("semantic t+p, logit(cos, z)", "tp", ["top", "z"]),
        ("semantic t+p, logit(cos, lex)", "tp", ["top", "lex"]),
        ("semantic t+p, logit(cos, z, lex)", "tp", ["top", "z", "lex"]),
    ]
    print(
        f"\n{'method':34s} | {args.folds}-fold CV on {args.drafts.name}: recall@3, false alarms,"
        f" thresholds | held out ({args.heldout.name}): threshold fitted on all of the first"
        " set ; median of the per-fold thresholds"
    )
    for name, ranking, features in methods:
        decision = Decision(features)
        per_set = []
        for (_drafts, targets), ranks in zip(sets, rankings, strict=True):
            scores = ranks[ranking]
            feats = [draft_features(s, x) for s, x in zip(scores, ranks["lex"], strict=True)]
            hits = [top3_hits(s, t, clusters) for s, t in zip(scores, targets, strict=True)]
            per_set.append((feats, targets, hits))
        recall, alarms, none_n, picked = cross_validate(decision, *per_set[0], args.folds)
        score, threshold = fit_decision(decision, *per_set[0])
        held_dup = sum(t is not None for t in per_set[1][1])
        held_none = len(per_set[1][1]) - held_dup
        held = []
        # the threshold fitted on the whole first set, and the median of the
        # per-fold picks (the service's rule for SEMANTIC_MIN_SCORE)
        for t in (threshold, statistics.median(picked)):
            found, held_alarms = measure(decision, score, t, *per_set[1])
            held.append(
                f"{found / held_dup:.2f} {held_alarms}/{held_none} "
                f"({held_alarms / held_none:.0%}) t={t:.3f}"
            )
        print(
            f"{name:34s} | {recall:.2f}  {alarms}/{none_n} ({alarms / none_n:.0%})  "
            f"{min(picked):.3f}-{max(picked):.3f} | " + " ; ".join(held)
        )
    if args.scale:
        from bench.similar_scale import run as scale_run

        scale_run(embedder)


if __name__ == "__main__":
    main(sys.argv[1:])
