"""Does the similar-idea search find the idea a draft duplicates? Old and new.

Usage: python -m bench.similar_eval [--ideas ideas.jsonl] [--drafts drafts.jsonl]
       [--scale] [--folds 5]

The evaluation set (``bench/data/similar_drafts.jsonl``) holds drafts written
for this benchmark: paraphrases of ideas in the bundled ``ideas.jsonl``
(``target`` = the original's title), each sharing at most half of its content
words with the original (checked here, the run stops otherwise), and drafts
that duplicate nothing (``target`` null).

For each method it reports, with the suggestion threshold chosen by k-fold
cross-validation over the drafts (each fold scored with the threshold picked
on the other folds, never on itself):

* recall@3: share of paraphrases whose original, or a member of its cluster,
  is among the (at most 3) suggestions shown;
* false alarms: share of unrelated drafts that get any suggestion at all.

Methods: ``lexical`` (the hand-written stemmer + synonym map + idf cosine,
``ideas.similarity``), ``lexical-plain`` (the same without the synonym map),
``semantic`` (all-MiniLM-L6-v2 cosine, int8 vectors, as the service stores
them) and ``hybrid`` (semantic + a share of the lexical score).

``--scale`` also times the in-process search (``ideas.vector_index``) at
10,000 and 100,000 ideas and prints the process's memory.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ideas import similarity  # noqa: E402

DRAFTS = ROOT / "bench" / "data" / "similar_drafts.jsonl"
IDEAS = (
    ROOT.parent / "shared" / "data" / "ideas.jsonl",
    ROOT / "touchpoint" / "data" / "ideas.jsonl",
)
TOP = 3
MAX_SHARED = 0.5
#: false alarms allowed on the training folds when picking a threshold
FA_BUDGET = 0.10
HYBRID_WEIGHT = 0.3


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


def semantic_scores(ideas, drafts, with_text, embedder):
    import numpy as np

    from ideas import embedding

    matrix = np.stack(
        [
            embedding.quantize(v)
            for v in embedder.embed(
                [embedding.idea_text(r["title"], r["problem"], r["proposal"]) for r in ideas]
            )
        ]
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


def outcome(scores, target, clusters, threshold):
    """(hit, any suggestion) for one draft at one threshold."""
    order = sorted(range(len(scores)), key=lambda j: -scores[j])[:TOP]
    shown = [j for j in order if scores[j] >= threshold]
    if target is None:
        return False, bool(shown)
    good = {target} | ({j for j, c in enumerate(clusters) if c and c == clusters[target]})
    return any(j in good for j in shown), bool(shown)


def pick_threshold(rows, clusters, candidates):
    """The threshold maximising recall@3 with false alarms within budget
    (on these rows); ties go to the higher threshold."""
    best = None
    for t in candidates:
        dup = [outcome(s, tg, clusters, t)[0] for s, tg in rows if tg is not None]
        fa = [outcome(s, tg, clusters, t)[1] for s, tg in rows if tg is None]
        recall = sum(dup) / max(len(dup), 1)
        far = sum(fa) / max(len(fa), 1)
        key = (far <= FA_BUDGET, recall if far <= FA_BUDGET else -far, t)
        if best is None or key > best[0]:
            best = (key, t)
    return best[1]


def cross_validate(all_scores, targets, clusters, folds, seed=7):
    """Held-out recall@3, false alarms, and the thresholds picked per fold."""
    idx = list(range(len(targets)))
    random.Random(seed).shuffle(idx)
    # stratified: duplicates and unrelated drafts spread over the folds
    dups = [i for i in idx if targets[i] is not None]
    nones = [i for i in idx if targets[i] is None]
    fold_of = {}
    for k, i in enumerate(dups):
        fold_of[i] = k % folds
    for k, i in enumerate(nones):
        fold_of[i] = k % folds
    flat = sorted({round(x, 3) for s in all_scores for x in sorted(s, reverse=True)[:TOP]})
    candidates = [round(x, 3) for x in flat] + [9.9]
    hits = dup_n = alarms = none_n = 0
    picked = []
    for f in range(folds):
        train = [(all_scores[i], targets[i]) for i in idx if fold_of[i] != f]
        t = pick_threshold(train, clusters, candidates)
        picked.append(t)
        for i in idx:
            if fold_of[i] != f:
                continue
            hit, shown = outcome(all_scores[i], targets[i], clusters, t)
            if targets[i] is None:
                none_n += 1
                alarms += shown
            else:
                dup_n += 1
                hits += hit
    return hits / dup_n, alarms, none_n, picked


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ideas", type=Path)
    parser.add_argument("--drafts", type=Path, default=DRAFTS)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--scale", action="store_true", help="time search at 10k and 100k ideas")
    parser.add_argument(
        "--title-only", action="store_true", help="also score drafts by title alone"
    )
    args = parser.parse_args(argv)
    ideas = load_jsonl(args.ideas or next(p for p in IDEAS if p.exists()))
    drafts = load_jsonl(args.drafts)
    targets = check_set(drafts, ideas)
    clusters = [r.get("cluster") for r in ideas]
    n_dup = sum(t is not None for t in targets)
    most = max(
        shared_share(d, ideas[t]) for d, t in zip(drafts, targets, strict=True) if t is not None
    )
    print(
        f"evaluation set: {n_dup} paraphrases (each sharing <= {MAX_SHARED:.0%} of its content "
        f"words with its original; at most {most:.0%} here), "
        f"{len(targets) - n_dup} unrelated drafts; {len(ideas)} ideas"
    )
    from ideas import embedding

    t0 = time.perf_counter()
    embedder = embedding.get_embedder()
    if embedder is None:
        sys.exit(f"model unavailable: {embedding.status()}")
    print(f"model {embedding.MODEL_VERSION} loaded in {time.perf_counter() - t0:.2f} s")
    modes = [True, False] if args.title_only else [True]
    for with_text in modes:
        label = "title + text" if with_text else "title only"
        t0 = time.perf_counter()
        sem = semantic_scores(ideas, drafts, with_text, embedder)
        per_draft = (time.perf_counter() - t0) / (len(ideas) + len(drafts)) * 1000
        lex = lexical_scores(ideas, drafts, with_text)
        plain = lexical_scores(ideas, drafts, with_text, synonyms=False)
        hyb = [
            [s + HYBRID_WEIGHT * x for s, x in zip(a, b, strict=True)]
            for a, b in zip(sem, lex, strict=True)
        ]
        hyb_plain = [
            [s + HYBRID_WEIGHT * x for s, x in zip(a, b, strict=True)]
            for a, b in zip(sem, plain, strict=True)
        ]
        print(f"\n{label} ({per_draft:.1f} ms a text to embed, this machine, now)")
        for name, scores in (
            ("lexical", lex),
            ("lexical-plain", plain),
            ("semantic", sem),
            (f"hybrid {HYBRID_WEIGHT}", hyb),
            (f"hybrid-plain {HYBRID_WEIGHT}", hyb_plain),
        ):
            recall, alarms, none_n, picked = cross_validate(scores, targets, clusters, args.folds)
            print(
                f"  {name:18s} recall@3 {recall:.2f}  false alarms {alarms}/{none_n} "
                f"({alarms / none_n:.0%})  thresholds per fold {picked}"
            )
    if args.scale:
        from bench.similar_scale import run as scale_run

        scale_run(embedder)


if __name__ == "__main__":
    main(sys.argv[1:])
