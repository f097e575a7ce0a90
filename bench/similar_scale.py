"""Query time and memory of the in-process similar-idea search at 10,000 and
100,000 ideas.

Usage: python -m bench.similar_scale [--queries 30]

Fills an ``ideas.vector_index.VectorIndex`` (the matrix every web process
keeps) with int8 vectors: the 160 bundled ideas' own vectors and, for the
rest, mixtures of two of them plus noise (as varied as real ideas are, and
of the same shape), then times drafts against it: embedding the draft (the
model, one thread) and searching the matrix, separately and together.
Memory is the process's resident set (model, numpy, matrix) read from
/proc/self/status, and the matrix's own size. Runs for a few seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = (10_000, 100_000)
TARGET_MS = 20
TARGET_MB = 200


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(embedder=None, queries: int = 30) -> None:
    import numpy as np

    from bench.similar_eval import DRAFTS, IDEAS, load_jsonl
    from ideas import embedding
    from ideas.vector_index import VectorIndex

    before = rss_mb()
    embedder = embedder or embedding.get_embedder()
    if embedder is None:
        sys.exit(f"model unavailable: {embedding.status()}")
    print(f"\nmemory: {before:.0f} MB before the model, {rss_mb():.0f} MB with it loaded")
    ideas = load_jsonl(next(p for p in IDEAS if p.exists()))
    base = embedder.embed(
        [embedding.stored_text(r["title"], r["problem"], r["proposal"]) for r in ideas]
    )
    drafts = [
        embedding.idea_text(d["title"], d.get("text", "")) for d in load_jsonl(DRAFTS)[:queries]
    ]
    rng = np.random.default_rng(42)
    print(f"scale (one process; RSS with the model and the 160 ideas embedded {rss_mb():.0f} MB)")
    for size in SIZES:
        index = VectorIndex()
        for start in range(0, size, 1000):  # small chunks: no big temporaries
            n = min(1000, size - start)
            a = base[rng.integers(0, len(base), n)]
            b = base[rng.integers(0, len(base), n)]
            mix = a + rng.uniform(0.2, 1.0, (n, 1)).astype(np.float32) * b
            mix += 0.3 * rng.standard_normal(mix.shape).astype(np.float32) / np.sqrt(embedding.DIM)
            mix /= np.linalg.norm(mix, axis=1, keepdims=True)
            for i, v in enumerate(embedding.quantize(mix)):
                index.put(start + i + 1, v)
        embed_ms, search_ms = [], []
        for text in drafts:
            t0 = time.perf_counter()
            vector = embedder.embed_one(text)
            t1 = time.perf_counter()
            index.search(vector, 30, 0.44)
            t2 = time.perf_counter()
            embed_ms.append((t1 - t0) * 1000)
            search_ms.append((t2 - t1) * 1000)
        total = [e + s for e, s in zip(embed_ms, search_ms, strict=True)]
        print(
            f"  {size:>7,} ideas: search {statistics.median(search_ms):5.1f} ms "
            f"(p90 {sorted(search_ms)[int(0.9 * len(search_ms))]:.1f}), embed the draft "
            f"{statistics.median(embed_ms):5.1f} ms, together {statistics.median(total):5.1f} ms "
            f"median; matrix {index.matrix.nbytes / 2**20:.0f} MB, process RSS {rss_mb():.0f} MB "
            f"(targets {TARGET_MS} ms, {TARGET_MB} MB)"
        )
        del index


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args(argv)
    run(queries=args.queries)


if __name__ == "__main__":
    main(sys.argv[1:])
