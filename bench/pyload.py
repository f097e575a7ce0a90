"""Fallback load driver (when wrk is missing): replays the same request files
with httpx from its own process and prints one JSON line with the figures.

It is slower than wrk (the client spends CPU the server would otherwise get),
so its figures are floors; the harness labels them with the driver used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import httpx


def load_requests(directory: Path) -> list[list[tuple[str, str, dict[str, str], str]]]:
    lists = []
    for path in sorted(directory.glob("requests-*.tsv")):
        reqs = []
        for line in path.read_text(encoding="utf-8").splitlines():
            method, target, headers, body = line.split("\t", 3)
            h = {}
            for kv in filter(None, headers.split("|")):
                k, _, v = kv.partition(":")
                h[k.strip()] = v.strip()
            reqs.append((method, target, h, body))
        lists.append(reqs)
    return lists


async def drive(url: str, lists, duration: float, connections: int) -> dict:
    latencies: list[float] = []
    errors = {"status": 0, "connect": 0, "timeout": 0}
    positions = [0] * len(lists)
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def worker(n: int) -> None:
            k = n % len(lists)
            reqs = lists[k]
            while time.perf_counter() < deadline:
                method, target, headers, body = reqs[positions[k] % len(reqs)]
                positions[k] += 1
                started = time.perf_counter()
                try:
                    r = await client.request(method, target, headers=headers, content=body or None)
                    if r.status_code >= 400:
                        errors["status"] += 1
                except httpx.TimeoutException:
                    errors["timeout"] += 1
                    continue
                except httpx.HTTPError:
                    errors["connect"] += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(connections)))
        seconds = time.perf_counter() - started
    latencies.sort()

    def pct(share: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, round(share * (len(latencies) - 1)))]

    return {
        "requests": len(latencies),
        "seconds": seconds,
        "rps": len(latencies) / seconds if seconds else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] if latencies else 0.0,
        "errors": {k: v for k, v in errors.items() if v},
        "driver": "python (httpx)",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", required=True)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    lists = load_requests(Path(args.requests))
    result = asyncio.run(drive(args.url, lists, args.duration, args.connections))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
