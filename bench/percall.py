"""Requests straight into the ASGI app, in this process, against a seeded
database: the app's own cost of one request, without HTTP, a load generator
or other processes in the figure.

Usage:
    python -m bench --scale S --seed-only --keep        # prints the database URL
    python -m bench.percall DATABASE_URL board|idea_page|ideas_list|vote|similar|create [-n 200]

It prints the mean wall and process CPU time per request. Under valgrind it
counts instructions, which move far less than times with the machine's
speed and what else runs on it (but see below): run it twice, with `-n 0`
and `-n 40`, and divide the difference of the two totals by 40
(the start-up cancels out):

    for n in 0 40; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \\
        .venv/bin/python -m bench.percall DATABASE_URL board -n $n 2>&1 | grep Collected; done

Compare counts that ran equally slowly (the same number of valgrind
processes at a time on an otherwise idle machine): the viewer cache and the
rate count's window expire by the clock, so the slower a run, the more of
them a request pays for. For endpoints that do not use it, SIMILAR_SEMANTIC=0
keeps the model's load (which runs beside the start-up) out of the counts.

`--profile` prints a cProfile of the measured requests instead.

The board and idea page are asked for with one of the seeded browser
sessions, the ideas list, the vote toggle, the suggestions and the create
with an API token made for the run (the vote alternates PUT and DELETE on
one open idea: every request is a real change; every create makes one more
idea in the kept database, and its jobs wait in the Redis db given).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENDPOINTS = ("board", "idea_page", "ideas_list", "vote", "similar", "create")
OK = (200, 201, 204)


def configure(database_url: str, redis_url: str) -> None:
    """The environment the app reads at import, as the harness sets it."""
    from bench.__main__ import app_environment

    os.environ.update(
        app_environment(database_url, redis_url, Path(tempfile.gettempdir()) / "touchpoint-percall")
    )
    os.environ.pop("SMTP_URL", None)
    logging.disable(logging.INFO)


async def call(app, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> int:
    """One HTTP request as uvicorn would hand it to the app; the status."""
    if body:
        headers = {**headers, "content-length": str(len(body))}
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    status = 0

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run(args: argparse.Namespace) -> None:
    import asyncpg

    from ideas import security
    from web.app import create_app

    conn = await asyncpg.connect(args.database_url)
    try:
        session_key = await conn.fetchval("SELECT key FROM browser_session LIMIT 1")
        user = await conn.fetchval('SELECT "user" FROM api_token LIMIT 1')
        idea = await conn.fetchval(
            "SELECT id FROM idea WHERE status IN ('new', 'in_review', 'needs_info') "
            "ORDER BY id LIMIT 1"
        )
        page_idea = await conn.fetchval("SELECT id FROM idea ORDER BY votes DESC LIMIT 1")
        token, digest = security.new_secret()
        await conn.execute(
            'INSERT INTO api_token ("user", token_hash, created_at) VALUES ($1, $2, now())',
            user,
            digest,
        )
    finally:
        await conn.close()
    titles = []
    if args.endpoint == "similar":
        from urllib.parse import quote

        from bench.__main__ import similar_titles

        conn = await asyncpg.connect(args.database_url)
        try:
            rows = await conn.fetch("SELECT title FROM idea ORDER BY id LIMIT 2000")
        finally:
            await conn.close()
        titles = [quote(t) for t in similar_titles([r["title"] for r in rows])]
    cookie = {"cookie": f"tp_session={session_key}"}
    bearer = {"authorization": f"Bearer {token}"}
    app = create_app()
    flip = [False]

    async def request() -> int:
        if args.endpoint == "board":
            return await call(app, "GET", "/?sort=top", cookie)
        if args.endpoint == "idea_page":
            return await call(app, "GET", f"/ideas/{page_idea}", cookie)
        if args.endpoint == "similar":
            flip.append(True)
            title = titles[len(flip) % len(titles)]
            return await call(app, "GET", f"/api/v1/ideas/similar?title={title}", bearer)
        if args.endpoint == "create":
            flip.append(True)
            n = len(flip)
            body = {
                "title": f"Percall idea number {n} for the billing team",
                "problem": f"Customers keep asking about invoices ({n}).",
                "proposal": "Let us try it with one team for a month and measure it.",
                "touchpoint": "billing",
            }
            return await call(
                app,
                "POST",
                "/api/v1/ideas",
                {**bearer, "content-type": "application/json"},
                json.dumps(body).encode(),
            )
        if args.endpoint == "ideas_list":
            return await call(app, "GET", "/api/v1/ideas?sort=top&limit=25", bearer)
        flip[0] = not flip[0]
        return await call(app, "PUT" if flip[0] else "DELETE", f"/api/v1/ideas/{idea}/vote", bearer)

    async with app.lifespan():
        for _ in range(10):  # warm: pool connections, templates, caches
            status = await request()
            if status not in OK:
                raise SystemExit(f"{args.endpoint}: HTTP {status} while warming up")
        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.n):
            status = await request()
            if status not in OK:
                raise SystemExit(f"{args.endpoint}: HTTP {status}")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profile is not None:
            import pstats

            profile.disable()
            # PERCALL_SORT=cumulative for the call tree's shares, PERCALL_TOP=80 for more
            stats = pstats.Stats(profile).sort_stats(os.environ.get("PERCALL_SORT", "tottime"))
            stats.print_stats(int(os.environ.get("PERCALL_TOP", "40")))
    if args.n:
        print(
            f"{args.endpoint}: {args.n} requests, {wall / args.n * 1000:.3f} ms wall and "
            f"{cpu / args.n * 1000:.3f} ms CPU per request (this process; the database's "
            "work is not in the CPU figure)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.percall",
        description="One endpoint's requests straight into the ASGI app, in process, "
        "against a seeded database; prints wall and CPU per request.",
    )
    parser.add_argument("database_url", help="a database seeded by python -m bench --keep")
    parser.add_argument("endpoint", choices=ENDPOINTS)
    parser.add_argument("-n", type=int, default=200, help="requests to measure (200)")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/13", help="Redis for the rate limits"
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile instead")
    args = parser.parse_args(argv)
    configure(args.database_url, args.redis_url)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
