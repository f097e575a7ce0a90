"""Markdown tables from bench/results/<scale>.json, for docs/performance.md.

python -m bench.report S L
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def ms(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def table(scale: str) -> str:
    r = json.loads((RESULTS / f"{scale}.json").read_text())
    c = r["counts"]
    lit = r["ceilings"].get("litestar", {}).get("rps") or 0
    out = [
        f"### Scale {scale} — run finished {r.get('finished_at', '?')}",
        "",
        f"{c['users']:,} users, {c['ideas']:,} ideas, {c['votes']:,} votes, "
        f"{c['idea_terms']:,} idea terms, {c.get('idea_vectors', 0):,} idea vectors "
        f"(similar suggestions by {r.get('similar_method') or 'shared words'}), "
        f"{c['events']:,} events; seeded in "
        f"{r['seed_seconds']} s. Load: {r['driver']}, {r['connections']} connections, "
        f"{r['duration']:g} s per endpoint after {r['warmup']:g} s warm-up. Other processes "
        f"used {r.get('machine_busy_percent', 0):.0f} % of the CPU just before the run.",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | errors | half load: done/s | p50 ms | p99 ms "
        "| app CPU ms/req | db CPU ms/req | one-statement ceiling req/s | ÷ ceiling "
        "| ÷ Litestar |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]

    def row(label: str, res: dict, entry: dict | None = None) -> None:
        entry = entry or {}
        errs = sum(res.get("errors", {}).values())
        rl = f"{100 * res['rps'] / lit:.1f} %" if lit else "-"
        app = f"{entry['app_cpu_ms']:.2f}" if "app_cpu_ms" in entry else ""
        dbc = f"{entry['db_cpu_ms']:.2f}" if "db_cpu_ms" in entry else ""
        half = entry.get("half_load") or {}
        if "rps" in half:
            h = f"{half['rps']:,.0f} | {ms(half['p50_ms'])} | {ms(half['p99_ms'])}"
        else:
            h = " | | "
        ceil = entry.get("ceiling") or {}
        if ceil.get("rps"):
            c_ = f"{ceil['rps']:,.0f} | {100 * res['rps'] / ceil['rps']:.1f} %"
        else:
            c_ = " | "
        out.append(
            f"| {label} | {res['rps']:,.0f} | {ms(res['p50_ms'])} | {ms(res['p99_ms'])} | "
            f"{errs} | {h} | {app} | {dbc} | {c_} | {rl} |"
        )

    if "litestar" in r["ceilings"]:
        row("ceiling: bare Litestar `/ping`", r["ceilings"]["litestar"])
    if "pgbench_vote" in r["ceilings"]:
        row("ceiling: pgbench, vote CTE", r["ceilings"]["pgbench_vote"])
    for e in r["endpoints"].values():
        if "result" in e:
            row(e["label"], e["result"], e)
        else:
            out.append(f"| {e['label']} | {e.get('skipped') or e.get('failed')} ||||||||||||")
    f = r.get("fanout", {})
    out.append("")
    if f.get("seconds") is not None:
        out.append(
            f"Fan-out: shipping an idea with {f['voters']:,} voters wrote the last in-app "
            f"notice {f['seconds']} s after the ship request (request {f['ship_request_ms']} ms, "
            f"{f['notices']:,} notices)."
        )
    mem = r.get("memory_mib", {})
    if mem:
        out.append(
            "Resident memory after the run: "
            + ", ".join(f"{k.split()[0]} {v:.0f} MiB" for k, v in mem.items())
            + "."
        )
    cmp_ = r.get("vs_S")
    if cmp_:
        out.append("")
        out.append(f"p99 against the S run of {cmp_['S_run']}:")
        out.append("")
        out.append("| endpoint | p99 at S | p99 here | factor |")
        out.append("| --- | ---: | ---: | ---: |")
        for v in cmp_["endpoints"].values():
            out.append(f"| {v['label']} | {ms(v['S'])} | {ms(v['this'])} | {v['factor']:.2f} |")
    return "\n".join(out)


def main() -> None:
    for scale in sys.argv[1:] or ["S", "L"]:
        print(table(scale))
        print()


if __name__ == "__main__":
    main()
