"""Time the similar-idea service in-process against a seeded database.

Usage: python -m bench.similar_probe postgresql://postgres@127.0.0.1:5432/tp_bench_l_xxx
       [--drafts 40] [--repeat 5]

For each sample draft (the bench's draft titles, built from
touchpoint/data/ideas.jsonl) it calls ``ideas.board.similar.similar_ideas`` as a
staff member would, ``--repeat`` times, and keeps the best wall time. It then
re-runs every SQL statement of one call under ``EXPLAIN (ANALYZE, BUFFERS)``
and adds up the rows that the scan nodes returned and the shared buffers they
touched: the database's share of the work, which should not grow with the
board. Prints per-draft figures and a summary (median, p90, max).

With ``--reference`` it also ranks every draft exhaustively (every suggestable
idea sharing a term with it, scored exactly as the service scores its
candidates) and reports how much of that best top-5 score the service's
answer reaches: the price, if any, of looking at a bounded set of candidates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan")


def drafts(n: int) -> list[str]:
    from bench.__main__ import similar_titles
    from bench.seed import load_base_ideas

    return similar_titles([b["title"] for b in load_base_ideas()], n)


def plan_totals(node: dict) -> tuple[int, int]:
    """(rows returned by scan nodes, shared buffers hit + read) of a plan tree."""
    rows = buffers = 0
    if node.get("Node Type") in SCANS:
        rows += int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1))
        buffers += node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)
    for child in node.get("Plans", []):
        r, b = plan_totals(child)
        rows, buffers = rows + r, buffers + b
    return rows, buffers


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--drafts", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quiet", action="store_true", help="summary only")
    parser.add_argument("--reference", action="store_true", help="compare with exhaustive ranking")
    args = parser.parse_args(argv)

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")

    from ideas import db, similarity

    for name in ("POSTINGS_PER_TERM", "POSTINGS_BUDGET", "SHORTLIST"):
        if os.environ.get(f"PROBE_{name}"):
            setattr(similarity, name, int(os.environ[f"PROBE_{name}"]))
    from ideas import context
    from ideas.board.similar import similar_ideas
    from ideas.tables import User
    from ideas.viewer import viewer_from_row

    await db.open_pool(max_size=10)
    engine = db.engine()
    row = (
        await User.select(*User.all_columns(), User.department.name.as_alias("dept_name"))
        .where(User.is_council.eq(False), User.is_admin.eq(False))
        .first()
        .run()
    )
    viewer = viewer_from_row(row)

    captured: list[tuple[str, list]] = []
    engine_class = type(engine)
    original = engine_class.run_querystring

    async def capture(self, querystring, in_pool=True):
        captured.append(querystring.compile_string(engine_type=self.engine_type))
        return await original(self, querystring, in_pool)

    reference = await exhaustive_ranker() if args.reference else None
    results = []
    shares = []
    for title in drafts(args.drafts):
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            found = await similar_ideas(context.make(viewer), title)
            best = min(best, time.perf_counter() - t0)
        captured.clear()
        engine_class.run_querystring = capture
        try:
            await similar_ideas(context.make(viewer), title)
        finally:
            engine_class.run_querystring = original
        rows = buffers = 0
        db_ms = 0.0
        async with engine.pool.acquire() as conn:
            for sql, sql_args in captured:
                if not sql.lstrip().upper().startswith("SELECT") and "WITH" not in sql[:10]:
                    continue
                plan = await conn.fetchval(
                    f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *sql_args
                )
                explained = json.loads(plan)[0]
                r, b = plan_totals(explained["Plan"])
                rows, buffers = rows + r, buffers + b
                db_ms += explained["Planning Time"] + explained["Execution Time"]
        results.append((title, best * 1000, rows, buffers, len(captured), len(found), db_ms))
        share = ""
        if reference is not None:
            exact = reference(title)
            best_total = sum(sorted(exact.values(), reverse=True)[:5])
            got = sum(exact.get(int(idea.id), 0.0) for idea in found)
            shares.append(got / best_total if best_total else 1.0)
            share = f" {shares[-1]:6.1%} of best"
        if not args.quiet:
            print(
                f"{best * 1000:7.1f} ms {db_ms:6.1f} db ms {rows:8,} rows {buffers:7,} buffers "
                f"{len(captured):2} queries {len(found)} found{share}  {title[:60]}"
            )
    await db.close_pool()

    def summary(label: str, values: list[float], fmt: str) -> str:
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        return (
            f"{label}: median {fmt.format(statistics.median(ordered))}, "
            f"p90 {fmt.format(p90)}, max {fmt.format(ordered[-1])}"
        )

    print(f"{len(results)} drafts, best of {args.repeat}")
    print(summary("wall ms", [r[1] for r in results], "{:.1f}"))
    print(summary("db ms (plan + execute, EXPLAIN ANALYZE)", [r[6] for r in results], "{:.1f}"))
    print(summary("rows read", [r[2] for r in results], "{:,.0f}"))
    print(summary("buffers", [r[3] for r in results], "{:,.0f}"))
    print(f"found per draft: mean {statistics.mean(r[5] for r in results):.2f}")
    if shares:
        print(
            f"top-5 score vs exhaustive: mean {statistics.mean(shares):.1%}, "
            f"min {min(shares):.1%}, equal in {sum(s >= 0.9999 for s in shares)}/{len(shares)}"
        )


async def exhaustive_ranker():
    """A function draft title -> {idea id: score} over every suggestable idea
    sharing a term with the draft, with the service's scoring inputs (document
    frequencies of the query terms over the whole index, the number of
    indexed ideas, the default for other terms)."""
    from collections import Counter

    from ideas import similarity
    from ideas.lifecycle import DECLINED, DUPLICATE
    from ideas.tables import IdeaTerm

    bags: dict[int, dict[str, float]] = {}
    for r in await IdeaTerm.raw("SELECT idea, term, weight FROM idea_term").run():
        bags.setdefault(r["idea"], {})[r["term"]] = r["weight"]
    closed = {
        r["id"]
        for r in await IdeaTerm.raw(
            "SELECT id FROM idea WHERE status IN ({}, {})", DECLINED, DUPLICATE
        ).run()
    }
    df: Counter[str] = Counter()
    postings: dict[str, list[int]] = {}
    for idea, bag in bags.items():
        df.update(bag.keys())
        if idea not in closed:
            for term in bag:
                postings.setdefault(term, []).append(idea)
    total = len(bags)

    def rank(title: str) -> dict[int, float]:
        query = similarity.query_terms(title, "")
        cands = {i for t in query for i in postings.get(t, ())}
        ranked = similarity.rank_terms(
            query,
            [(i, bags[i]) for i in cands],
            doc_freq={t: df.get(t, 0) for t in query},
            total_docs=total,
            limit=len(cands) or 1,
        )
        return dict(ranked)

    return rank


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
