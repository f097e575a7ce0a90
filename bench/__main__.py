"""`python -m bench --scale tiny|S|L`: seed, serve, load, measure, report.

1. Creates a fresh PostgreSQL database `tp_bench_<scale>_<random>`, applies
   the real migrations and seeds it (bench/seed.py, COPY with a progress bar).
2. Starts Touchpoint as in production (`touchpoint web --workers 2`)
   against that database and the machine's Redis (a dedicated db number).
3. Drives each endpoint from a separate process (wrk, or a Python fallback)
   at N connections for a fixed time, after a preflight request that checks
   the answer; then the board, the ideas list, the idea page, the vote and
   create against bench/ceiling_app.py (the same request lists answered
   with one SQL statement each, same server settings), alternating with
   Touchpoint; then board, list, idea page, vote and similar suggestions
   again at a fixed offered rate of half the measured maximum (wrk only).
4. Measures the other ceilings in the same run (a bare Litestar route on
   the ceiling app; pgbench running the vote CTE), times the ship fan-out
   through `touchpoint worker`, prints resident memory, and writes
   bench/results/<scale>.json.

Exit status: 0 when the harness ran (slow figures are figures, not
failures); 1 when the harness itself broke (a route it measures is missing,
for one); 3 when an endpoint (or the ceiling app) did not answer its
preflight request as expected.

Size: over 400 lines: the harness's one run (seed, serve, load, measure,
report), in the order it happens.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import load as loadmod  # noqa: E402
from bench.load import HarnessError, LoadResult, Req  # noqa: E402
from bench.seed import SCALES, Scale, Seeded  # noqa: E402

#: targets at scale S (issue 7): (min req/s, max p99 ms or None)
TARGETS: dict[str, tuple[float, float | None]] = {
    "vote": (2000, 50.0),
    "board": (1000, 50.0),
    "ideas_list": (1000, 50.0),
    "idea_page": (1500, None),
}
#: endpoints bench/ceiling_app.py answers with one SQL statement
CEILING_KEYS = ("board", "ideas_list", "idea_page", "vote", "create")
#: endpoints also measured at a fixed offered rate of half their maximum
HALF_LOAD_KEYS = ("board", "ideas_list", "idea_page", "vote", "similar")
FANOUT_TARGET_S = 10.0
L_P99_FACTOR = 1.5

DEFAULT_DURATION = {"tiny": 2.0, "S": 20.0, "L": 20.0}
WARMUP = {"tiny": 0.0, "S": 3.0, "L": 3.0}
VOTE_PAIRS_PER_THREAD = {"tiny": 60, "S": 4000, "L": 4000}


def log(msg: str = "") -> None:
    print(msg, flush=True)


def note(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# -- the database -----------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{name}"))


def dsn_parts(url: str) -> dict[str, str]:
    p = urlparse(url)
    return {
        "host": p.hostname or "127.0.0.1",
        "port": str(p.port or 5432),
        "user": p.username or "postgres",
        "password": p.password or "",
        "database": p.path.lstrip("/"),
    }


async def admin_execute(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# -- processes --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    """A process group this harness started (and only ever stops itself)."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        fh = open(self.log_path, "wb")  # noqa: SIM115 - kept open for the child's life
        self.popen = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)  # our own process group, by its id
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(5)

    def tree_rss(self) -> dict[str, float]:
        """Resident memory (MiB) of this process and its children."""
        import psutil

        if not self.alive():
            return {}
        parent = psutil.Process(self.popen.pid)
        out = {}
        for p in [parent, *parent.children(recursive=True)]:
            try:
                role = "supervisor" if p.pid == parent.pid else "worker"
                if "resource_tracker" in " ".join(p.cmdline()):
                    role = "resource-tracker"
                out[f"{role} {p.pid}"] = p.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                pass
        return out

    def worker_pids(self) -> list[int]:
        import psutil

        if not self.alive():
            return []
        kids = psutil.Process(self.popen.pid).children(recursive=True)
        return [k.pid for k in kids] or [self.popen.pid]


def _cpu_ns(pid: int) -> int:
    """CPU time (ns) of every thread of a process, from /proc (scheduler stats)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                total += int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


async def cpu_snapshot(server: Proc, conn) -> tuple[int, int]:
    """CPU used so far by the web processes and by this database's backends:
    the difference over a run, per request, is the cost of a request, which
    other load on the machine barely changes (unlike req/s)."""
    app = sum(_cpu_ns(pid) for pid in [server.popen.pid, *server.worker_pids()])
    pids = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    return app, sum(_cpu_ns(r["pid"]) for r in pids)


def wait_http(url: str, proc: Proc, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not proc.alive():
            raise HarnessError(f"{proc.name} exited during start-up:\n{proc.tail()}")
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code < 500:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise HarnessError(
        f"{proc.name} did not answer {url} within {timeout:.0f} s ({last}):\n{proc.tail()}"
    )


def venv_bin(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def touchpoint_cmd() -> list[str]:
    """The `touchpoint` command of this environment."""
    exe = venv_bin("touchpoint")
    return [exe] if exe else [sys.executable, "-m", "touchpoint"]


def uvicorn_cmd(factory: str, port: int, workers: int = 2) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
    ]


def web_cmd(port: int) -> list[str]:
    return [*touchpoint_cmd(), "web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]


def worker_cmd() -> list[str]:
    return [*touchpoint_cmd(), "worker"]


# -- routes -----------------------------------------------------------------------


def normalise(path: str) -> str:
    path = re.sub(r"\{[^}]*\}", "{}", path)
    return path.rstrip("/") or "/"


def app_routes() -> set[tuple[str, str]]:
    """(METHOD, path with {} placeholders) of every route the app has."""
    from web.app import create_app

    app = create_app()
    routes = set()
    for route in app.routes:
        for method in getattr(route, "methods", ()):
            routes.add((method.upper(), normalise(route.path)))
    return routes


# -- endpoints --------------------------------------------------------------------


def app_environment(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    """The environment Touchpoint runs under in a benchmark: production
    settings (argon2 included), rate limits raised out of the load's way, no
    SMTP (the caller removes SMTP_URL)."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PICCOLO_CONF": "piccolo_conf",
        "TOUCHPOINT_DATA_DIR": str(data_dir),
        "SECRET_KEY": "bench-" + secrets.token_hex(24),
        "BASE_URL": "http://127.0.0.1:8000",
        "TOUCHPOINT_ARGON2": "production",
    }
    # every limit, from the settings' own list (the token log-in is also an
    # anonymous request with a body: RATE_LIMIT_ANONYMOUS turned it into 429s)
    from ideas.config import RATE_LIMIT_DEFAULTS

    for var, _default in RATE_LIMIT_DEFAULTS.values():
        env[var] = "1000000"
    return env


@dataclass
class Ctx:
    seeded: Seeded
    scale: Scale
    threads: int
    vote_pairs: list[tuple[str, int]] = field(default_factory=list)
    warm_pairs: list[tuple[str, int]] = field(default_factory=list)
    #: the one-statement app's own pairs, and the half-load run's
    ceiling_pairs: list[tuple[str, int]] = field(default_factory=list)
    half_pairs: list[tuple[str, int]] = field(default_factory=list)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie(key: str) -> dict[str, str]:
    return {"Cookie": f"tp_session={key}"}


def split(reqs: list[Req], n: int) -> list[list[Req]]:
    """Deal the requests to n load threads (short lists are repeated)."""
    while len(reqs) < n:
        reqs = reqs + reqs
    return [reqs[i::n] for i in range(n)]


def build_board(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/?sort=top", cookie(k)) for k in ctx.seeded.session_keys]


def build_ideas_list(ctx: Ctx) -> list[Req]:
    return [
        Req("GET", "/api/v1/ideas?sort=top&limit=25", bearer(t))
        for _u, _e, t in ctx.seeded.staff_tokens
    ]


def build_idea_page(ctx: Ctx) -> list[Req]:
    rng = random.Random(3)
    popular = ctx.seeded.ideas_by_popularity[:100]
    every = ctx.seeded.ideas_by_popularity
    keys = ctx.seeded.session_keys
    out = []
    for n in range(4000):
        idea = rng.choice(popular) if rng.random() < 0.7 else rng.choice(every)
        out.append(Req("GET", f"/ideas/{idea}", cookie(keys[n % len(keys)])))
    return out


def vote_lists(pairs: list[tuple[str, int]], threads: int) -> list[list[Req]]:
    """Per thread: PUT on each of its pairs, then DELETE on each: every request
    is a real change, and a pair's PUT and DELETE are far apart in time."""
    lists = []
    for chunk in split_pairs(pairs, threads):
        puts = [Req("PUT", f"/api/v1/ideas/{i}/vote", bearer(t)) for t, i in chunk]
        dels = [Req("DELETE", f"/api/v1/ideas/{i}/vote", bearer(t)) for t, i in chunk]
        lists.append(puts + dels)
    return lists


def split_pairs(pairs, n):
    return [pairs[i::n] for i in range(n)]


def build_triage(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/api/v1/triage/queue", bearer(ctx.seeded.council_token))]


def build_leaderboard(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/api/v1/leaderboard", bearer(ctx.seeded.leader_token))]


def similar_titles(titles: list[str], n: int = 600) -> list[str]:
    """Draft titles a person might type: a known title, cut short, reworded."""
    rng = random.Random(5)
    extra = ("for customers", "please", "again", "in the app", "asap", "idea")
    out = []
    for k in range(n):
        words = rng.choice(titles).split()
        if k % 3 == 1 and len(words) > 4:
            words = words[: rng.randint(3, len(words) - 1)]
        elif k % 3 == 2:
            words = [*words, rng.choice(extra)]
        out.append(" ".join(words))
    return out


def build_similar(ctx: Ctx) -> list[Req]:
    tokens = ctx.seeded.staff_tokens
    return [
        Req("GET", f"/api/v1/ideas/similar?title={quote(t)}", bearer(tokens[n % len(tokens)][2]))
        for n, t in enumerate(similar_titles(ctx.seeded.titles))
    ]


def build_create(ctx: Ctx) -> list[Req]:
    """New ideas from the bundled titles, each with its own text (a replayed
    request makes one more idea: creates are never no-ops)."""
    tokens = ctx.seeded.staff_tokens
    out = []
    for n, title in enumerate(similar_titles(ctx.seeded.titles, 2000)):
        body = {
            "title": f"{title[:120]} #{n}",
            "problem": f"Customers keep asking about {title.lower()[:200]} ({n}).",
            "proposal": "Let us try it with one team for a month and measure it.",
            "touchpoint": "billing",
        }
        out.append(
            Req(
                "POST",
                "/api/v1/ideas",
                {**bearer(tokens[n % len(tokens)][2]), "Content-Type": "application/json"},
                json.dumps(body),
            )
        )
    return out


def build_token_login(ctx: Ctx) -> list[Req]:
    from bench.seed import PASSWORD

    return [
        Req(
            "POST",
            "/api/v1/auth/token",
            {"Content-Type": "application/json"},
            json.dumps({"email": e, "password": PASSWORD}),
        )
        for e in ctx.seeded.emails[:2000]
    ]


def check_html_list(r) -> str | None:
    if r.status_code != 200:
        return f"HTTP {r.status_code}"
    if "idea-card" not in r.text:
        return "no idea cards in the page"
    return None


def check_html(r) -> str | None:
    if r.status_code != 200:
        return f"HTTP {r.status_code}"
    return None if "<h1" in r.text else "no <h1> in the page"


def check_items(r) -> str | None:
    if r.status_code != 200:
        return f"HTTP {r.status_code}: {r.text[:200]}"
    data = r.json()
    if not isinstance(data, dict) or "items" not in data:
        return "no items in the answer"
    return None


def check_json_200(r) -> str | None:
    if r.status_code != 200:
        return f"HTTP {r.status_code}: {r.text[:200]}"
    return None


def check_created(r) -> str | None:
    if r.status_code != 201:
        return f"HTTP {r.status_code}: {r.text[:200]}"
    return None if "id" in r.json() else "no id in the answer"


def check_token(r) -> str | None:
    if r.status_code != 201:
        return f"HTTP {r.status_code}: {r.text[:200]}"
    return None if "token" in r.json() else "no token in the answer"


@dataclass
class Endpoint:
    key: str
    label: str
    routes: list[tuple[str, str]]
    build: Callable[[Ctx], list[Req]] | None
    check: Callable
    per_thread: Callable[[Ctx], list[list[Req]]] | None = None
    warm_per_thread: Callable[[Ctx], list[list[Req]]] | None = None


ENDPOINTS = [
    Endpoint("board", "board HTML (top, 25)", [("GET", "/")], build_board, check_html_list),
    Endpoint(
        "ideas_list",
        "ideas API list (top, 25)",
        [("GET", "/api/v1/ideas")],
        build_ideas_list,
        check_items,
    ),
    Endpoint("idea_page", "idea page (HTML)", [("GET", "/ideas/{}")], build_idea_page, check_html),
    Endpoint(
        "vote",
        "vote toggle (PUT/DELETE)",
        [("PUT", "/api/v1/ideas/{}/vote"), ("DELETE", "/api/v1/ideas/{}/vote")],
        None,
        check_json_200,
        per_thread=lambda ctx: vote_lists(ctx.vote_pairs, ctx.threads),
        warm_per_thread=lambda ctx: (
            vote_lists(ctx.warm_pairs, ctx.threads) if ctx.warm_pairs else []
        ),
    ),
    Endpoint(
        "triage",
        "triage queue (council)",
        [("GET", "/api/v1/triage/queue")],
        build_triage,
        check_items,
    ),
    Endpoint(
        "leaderboard",
        "leaderboard (leader)",
        [("GET", "/api/v1/leaderboard")],
        build_leaderboard,
        check_json_200,
    ),
    Endpoint(
        "similar",
        "similar suggestions",
        [("GET", "/api/v1/ideas/similar")],
        build_similar,
        check_items,
    ),
    Endpoint(
        "create",
        "create an idea (API)",
        [("POST", "/api/v1/ideas")],
        build_create,
        check_created,
    ),
    Endpoint(
        "token_login",
        "token login (argon2)",
        [("POST", "/api/v1/auth/token")],
        build_token_login,
        check_token,
    ),
]


def preflight(base_url: str, reqs: list[Req], check: Callable) -> str | None:
    """Send the first request of the list; None when the answer looks right."""
    import httpx

    r0 = reqs[0]
    try:
        r = httpx.request(
            r0.method,
            base_url + r0.path,
            headers=r0.headers,
            content=r0.body or None,
            timeout=30,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        return check(r)
    except ValueError as exc:
        return f"unreadable answer: {exc}"


# -- profiling ----------------------------------------------------------------------


def start_profile(
    pids: list[int], seconds: float, out_dir: Path
) -> list[tuple[subprocess.Popen, Path]]:
    exe = venv_bin("py-spy")
    if not exe:
        note("py-spy is not installed (pip install py-spy): no profile")
        return []
    procs = []
    for pid in pids:
        path = out_dir / f"pyspy-{pid}.txt"
        cmd = [
            exe,
            "record",
            "-p",
            str(pid),
            "-d",
            str(max(1, int(seconds))),
            "-r",
            "200",
            "--nonblocking",
            "--format",
            "raw",
            "-o",
            str(path),
        ]
        procs.append(
            (subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), path)
        )
    return procs


def summarise_profile(procs: list[tuple[subprocess.Popen, Path]], top: int = 30) -> str:
    """Inclusive and self share per function from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for p, path in procs:
        p.wait(60)
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
            for f in set(frames):
                inclusive[f] = inclusive.get(f, 0) + n
            own[frames[-1]] = own.get(frames[-1], 0) + n
    if not total:
        return "(no samples)"
    lines = [f"{total} samples", "inclusive:"]
    for f, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {100 * n / total:5.1f}%  {f}")
    lines.append("self:")
    for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {100 * n / total:5.1f}%  {f}")
    return "\n".join(lines)


# -- the vote ceiling ------------------------------------------------------------------


PGBENCH_VOTE = """\\set i :i + 1
\\set n :client_id * :per_client + (:i / 2) % :per_client + 1
\\if :i % 2 = 1
WITH p AS (SELECT idea, "user" FROM bench_vote_pair WHERE n = :n),
ins AS (
  INSERT INTO vote (idea, "user", created_at)
  SELECT idea.id, p."user", now() FROM idea JOIN p ON idea.id = p.idea
  WHERE idea.status IN ({open})
  ON CONFLICT DO NOTHING RETURNING idea)
UPDATE idea SET votes = votes + 1 WHERE id IN (SELECT idea FROM ins) RETURNING votes;
\\else
WITH p AS (SELECT idea, "user" FROM bench_vote_pair WHERE n = :n),
del AS (
  DELETE FROM vote USING p WHERE vote.idea = p.idea AND vote."user" = p."user"
  AND vote.idea IN (SELECT id FROM idea WHERE id = p.idea AND status IN ({open}))
  RETURNING vote.idea)
UPDATE idea SET votes = votes - 1 WHERE id IN (SELECT idea FROM del) RETURNING votes;
\\endif
"""


async def pgbench_ceiling(
    conn, seeded: Seeded, db_url: str, duration: float, connections: int, threads: int
) -> LoadResult:
    """pgbench running the vote service's CTE: each client votes then retracts
    on its own pairs, so every transaction is a real change, like the app's."""
    from bench.seed import fresh_vote_user_pairs
    from ideas.policy import OPEN_FOR_VOTES

    per_client = 200 if seeded.scale.name != "tiny" else 4
    pairs = await fresh_vote_user_pairs(conn, seeded, per_client * connections)
    per_client = max(1, len(pairs) // connections)
    await conn.execute("DROP TABLE IF EXISTS bench_vote_pair")
    await conn.execute('CREATE TABLE bench_vote_pair (n int PRIMARY KEY, idea int, "user" uuid)')
    await conn.copy_records_to_table(
        "bench_vote_pair",
        records=[(k + 1, idea, uid) for k, (uid, idea) in enumerate(pairs)],
        columns=["n", "idea", "user"],
    )
    await conn.execute("ANALYZE bench_vote_pair")
    open_sql = ", ".join(f"'{s}'" for s in sorted(OPEN_FOR_VOTES))
    script = PGBENCH_VOTE.format(open=open_sql)
    try:
        return loadmod.run_pgbench(
            dsn_parts(db_url),
            script,
            duration,
            connections,
            threads,
            {"i": 0, "per_client": per_client},
        )
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_vote_pair")


# -- the one-statement ceiling ------------------------------------------------------


async def measure_ceiling(
    entry: dict,
    ep: Endpoint,
    ceiling: Proc,
    url: str,
    conn,
    lists: list[list[Req]],
    check_reqs: list[Req],
    tmp: Path,
    args: argparse.Namespace,
    duration: float,
    warmup: float,
    driver: str,
) -> str | None:
    """The endpoint's request lists against bench/ceiling_app.py, right after
    Touchpoint's run, the answer checked first like Touchpoint's. Returns the
    preflight problem, if any."""
    if ep.key == "vote":
        check_reqs = lists[0][:1]
    problem = None
    for req in check_reqs:
        problem = problem or preflight(url, [req], ep.check)
    if problem:
        entry["ceiling"] = {"failed": problem}
        log(f"{ep.label}: the ceiling app FAILED preflight: {problem}")
        return problem
    reqdir = loadmod.write_requests(tmp / f"{ep.key}-ceiling", lists)
    if warmup:
        loadmod.run_load(driver, url, reqdir, warmup, args.connections, args.threads)
    cpu0 = await cpu_snapshot(ceiling, conn)
    res = loadmod.run_load(driver, url, reqdir, duration, args.connections, args.threads)
    cpu1 = await cpu_snapshot(ceiling, conn)
    entry["ceiling"] = res.as_dict()
    if res.requests:
        entry["ceiling"]["app_cpu_ms"] = round((cpu1[0] - cpu0[0]) / res.requests / 1e6, 3)
        entry["ceiling"]["db_cpu_ms"] = round((cpu1[1] - cpu0[1]) / res.requests / 1e6, 3)
    note(
        f"    one-statement ceiling: {res.rps:,.0f} req/s, p50 {res.p50_ms:.1f} ms, "
        f"p99 {res.p99_ms:.1f} ms, errors {res.error_count}"
    )
    return None


# -- fan-out ----------------------------------------------------------------------


async def time_fanout(
    conn, base_url: str, seeded: Seeded, env: dict[str, str], tmp: Path, limit_s: float
) -> dict:
    import httpx

    cmd = worker_cmd()
    worker = Proc("worker", cmd, env, tmp / "worker.log").start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not worker.alive():
                raise HarnessError(f"the worker exited:\n{worker.tail()}")
            if re.search(r"[Ss]tarting worker|[Ww]orker.*(ready|started)", worker.tail(50)):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        idea = seeded.fanout_idea
        voters = seeded.fanout_voters
        before = await conn.fetchval("SELECT count(*) FROM notification WHERE idea = $1", idea)
        t0_wall = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            r = await client.post(
                f"/api/v1/ideas/{idea}/ship",
                headers=bearer(seeded.council_token),
                json={"note": "Every voter hears about it: the fan-out benchmark shipped this."},
            )
        request_ms = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            return {"error": f"ship answered HTTP {r.status_code}: {r.text[:300]}"}
        done_at = None
        count = before
        limit = time.monotonic() + limit_s
        while time.monotonic() < limit:
            count = await conn.fetchval("SELECT count(*) FROM notification WHERE idea = $1", idea)
            if count - before >= voters:
                done_at = time.perf_counter()
                break
            if not worker.alive():
                raise HarnessError(f"the worker exited during the fan-out:\n{worker.tail()}")
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        final = await conn.fetchval("SELECT count(*) FROM notification WHERE idea = $1", idea)
        last_written = await conn.fetchval(
            "SELECT max(created_at) FROM notification WHERE idea = $1", idea
        )
        result = {
            "voters": voters,
            "notices": final - before,
            "ship_request_ms": round(request_ms, 1),
            "seconds": round(done_at - t0, 2) if done_at else None,
            "last_written_after_s": round((last_written - t0_wall).total_seconds(), 2)
            if last_written
            else None,
            "worker_cmd": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)),
        }
        if done_at is None:
            result["error"] = f"only {count - before} of {voters} notices after {limit_s:.0f} s"
        return result
    finally:
        worker.stop()


# -- report ------------------------------------------------------------------------


def fmt_ms(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def other_load(seconds: float = 2.0) -> float:
    """CPU share (0-100 % of all cores) used by other processes right now: the
    figures of a run on a busy machine are not comparable, so it is printed."""
    import psutil

    return psutil.cpu_percent(interval=seconds)


def machine_info(pg_version: str) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        import psutil

        mem = psutil.virtual_memory().total / 2**30
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "postgres": pg_version,
        "os": platform.platform(),
    }


def target_verdict(key: str, res: LoadResult, scale: str) -> str:
    if key not in TARGETS:
        return ""
    rps, p99 = TARGETS[key]
    want = f">={rps:,.0f}/s" + (f", p99<={p99:.0f}ms" if p99 else "")
    if scale != "S":
        return f"({want} at S)"
    ok = res.rps >= rps and (p99 is None or res.p99_ms <= p99)
    return f"{'met' if ok else 'MISSED'} ({want})"


def print_report(report: dict) -> None:
    c = report["counts"]
    scale = report["scale"]
    log("")
    log(
        f"Touchpoint benchmark, scale {scale}: {c['users']:,} users, {c['ideas']:,} ideas, "
        f"{c['votes']:,} votes, {c['idea_terms']:,} idea terms, "
        f"{c.get('idea_vectors', 0):,} idea vectors (seeded in {report['seed_seconds']:.1f} s); "
        f"similar suggestions rank by {report.get('similar_method') or 'shared words'}"
    )
    if report.get("extra_users"):
        log(f"  (users include {report['extra_users']:,} extra voters for the fan-out fixture)")
    m = report["machine"]
    log(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; "
        f"{m['postgres'].split(' on ')[0]}"
    )
    log(
        f"load: {report['driver']}, {report['connections']} connections, "
        f"{report['duration']:g} s per endpoint"
        + (f" after {report['warmup']:g} s warm-up" if report["warmup"] else "")
        + "; load generator on the same machine"
    )
    log(f"server: {report['server_cmd']}")
    busy = report.get("machine_busy_percent", 0)
    if busy >= 10:
        log(
            f"WARNING: other processes used {busy:.0f} % of the CPU before the run: "
            "these figures are lower than on a quiet machine"
        )
    log("")
    ceil = report["ceilings"]
    lit = ceil.get("litestar", {}).get("rps") or 0
    pgb = ceil.get("pgbench_vote", {}).get("rps") or 0
    head = (
        f"{'endpoint':<28} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'÷ceiling':>8} {'÷Litestar':>9} {'÷pgbench':>8} {'app':>5} {'db':>5}"
        "  target"
    )
    log(head)
    log("-" * len(head))

    def row(label: str, r: dict, verdict: str = "", entry: dict | None = None) -> None:
        errs = sum(r.get("errors", {}).values())
        own = ((entry or {}).get("ceiling") or {}).get("rps") or 0
        rc = f"{100 * r['rps'] / own:7.1f}%" if own else f"{'':>8}"
        rl = f"{100 * r['rps'] / lit:8.1f}%" if lit else f"{'-':>9}"
        rp = f"{100 * r['rps'] / pgb:7.1f}%" if pgb else f"{'-':>8}"
        app = f"{entry['app_cpu_ms']:5.2f}" if entry and "app_cpu_ms" in entry else f"{'':>5}"
        dbc = f"{entry['db_cpu_ms']:5.2f}" if entry and "db_cpu_ms" in entry else f"{'':>5}"
        log(
            f"{label:<28} {r['rps']:>8,.0f} {fmt_ms(r['p50_ms']):>7} {fmt_ms(r['p95_ms']):>7} "
            f"{fmt_ms(r['p99_ms']):>7} {errs:>6} {rc} {rl} {rp} {app} {dbc}  {verdict}"
        )

    if "litestar" in ceil:
        row("ceiling: bare Litestar /ping", ceil["litestar"])
    if "pgbench_vote" in ceil:
        row("ceiling: pgbench vote CTE", ceil["pgbench_vote"])
    for e in report["endpoints"].values():
        if "skipped" in e:
            log(f"{e['label']:<28} skipped: {e['skipped']}")
        elif "failed" in e:
            log(f"{e['label']:<28} FAILED preflight: {e['failed']}")
        else:
            row(e["label"], e["result"], e.get("verdict", ""), e)
    for key, why in ceil.get("skipped", {}).items():
        log(f"ceiling {key}: skipped: {why}")
    log(
        "app, db: CPU milliseconds per request of the web workers and of the database "
        "backends, measured during the run; ÷ceiling: share of the same request list "
        "answered by bench/ceiling_app.py with one SQL statement a request"
    )
    log("")
    measured = [e for e in report["endpoints"].values() if "result" in e]
    if any("ceiling" in e for e in measured):
        log("one-statement ceiling (bench/ceiling_app.py), measured right after each endpoint:")
        for e in measured:
            c_ = e.get("ceiling")
            if not c_:
                continue
            if "failed" in c_:
                log(f"  {e['label']:<28} FAILED preflight: {c_['failed']}")
                continue
            share = 100 * e["result"]["rps"] / c_["rps"] if c_["rps"] else 0
            log(
                f"  {e['label']:<28} {c_['rps']:>8,.0f} req/s  p50 {fmt_ms(c_['p50_ms']):>6}  "
                f"p99 {fmt_ms(c_['p99_ms']):>6} ms  app {c_.get('app_cpu_ms', 0):.2f}  "
                f"db {c_.get('db_cpu_ms', 0):.2f} ms/req  -> Touchpoint {share:.1f} %"
            )
        log("")
    if any("half_load" in e for e in measured):
        log("at half load (a fixed offered rate of half the endpoint's measured maximum):")
        for e in measured:
            h = e.get("half_load")
            if not h:
                continue
            if "skipped" in h:
                log(f"  {e['label']:<28} skipped: {h['skipped']}")
                continue
            errs = sum(h.get("errors", {}).values())
            log(
                f"  {e['label']:<28} offered {h['offered_rps']:>7,.0f}/s  done {h['rps']:>7,.0f}/s"
                f"  p50 {fmt_ms(h['p50_ms']):>6}  p99 {fmt_ms(h['p99_ms']):>6} ms"
                + (f"  errors {errs}" if errs else "")
            )
        log("")
    f = report["fanout"]
    if "skipped" in f:
        log(f"fan-out: skipped: {f['skipped']}")
    elif "error" in f and f.get("seconds") is None:
        log(f"fan-out: {f['error']}")
    else:
        verdict = ""
        if scale == "S" and f.get("seconds") is not None:
            verdict = "met" if f["seconds"] <= FANOUT_TARGET_S else "MISSED"
            verdict = f"  {verdict} (<= {FANOUT_TARGET_S:g} s)"
        log(
            f"fan-out: ship of an idea with {f['voters']:,} voters -> last in-app notice after "
            f"{f['seconds']} s (ship request {f['ship_request_ms']} ms; "
            f"{f['notices']:,} notices; worker: {f['worker_cmd']}){verdict}"
        )
    mem = report.get("memory_mib", {})
    if mem:
        parts = ", ".join(f"{k}: {v:.0f} MiB" for k, v in mem.items())
        log(f"resident memory after the run: {parts}")
    cmp_ = report.get("vs_S")
    if cmp_:
        log("")
        log(f"p99 at {scale} vs the latest S run ({cmp_['S_run']}), target <= {L_P99_FACTOR}x:")
        for v in cmp_["endpoints"].values():
            flag = "ok" if v["factor"] <= L_P99_FACTOR else "OVER"
            log(
                f"  {v['label']:<28} {fmt_ms(v['S']):>7} -> {fmt_ms(v['this']):>7} ms  "
                f"x{v['factor']:.2f} {flag}"
            )
    log("")


def compare_with_s(report: dict) -> dict | None:
    path = RESULTS / "S.json"
    if report["scale"] != "L" or not path.exists():
        return None
    s = json.loads(path.read_text())
    out = {"S_run": s.get("finished_at", "?"), "endpoints": {}}
    for key, e in report["endpoints"].items():
        se = s.get("endpoints", {}).get(key, {})
        if "result" in e and "result" in se and se["result"]["p99_ms"] and e["result"]["requests"]:
            out["endpoints"][key] = {
                "label": e["label"],
                "S": se["result"]["p99_ms"],
                "this": e["result"]["p99_ms"],
                "factor": e["result"]["p99_ms"] / se["result"]["p99_ms"],
            }
    return out


# -- main -------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=list(SCALES), default="tiny")
    p.add_argument("--duration", type=float, help="seconds per endpoint (tiny 2, S/L 20)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up per endpoint (tiny 0, S/L 3)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="load generator threads")
    p.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server URL with rights to create databases",
    )
    p.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="the Redis db the bench may flush (default db 14)",
    )
    p.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument(
        "--only", help="comma-separated endpoint keys: " + ",".join(e.key for e in ENDPOINTS)
    )
    p.add_argument("--profile", default="", help="endpoint keys to profile with py-spy")
    p.add_argument("--no-ceilings", action="store_true")
    p.add_argument("--no-fanout", action="store_true")
    p.add_argument("--fanout-timeout", type=float, default=120)
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the database and the server and worker logs at the end",
    )
    p.add_argument("--seed-only", action="store_true", help="seed, print the counts, stop")
    p.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    import logging

    import asyncpg

    logging.getLogger("httpx").setLevel(logging.WARNING)

    scale = SCALES[args.scale]
    duration = args.duration if args.duration is not None else DEFAULT_DURATION[scale.name]
    warmup = args.warmup if args.warmup is not None else WARMUP[scale.name]
    driver = args.driver
    if driver == "auto":
        driver = "wrk" if loadmod.wrk_path() else "python"
    if driver == "python":
        note("wrk not found: using the slower Python load driver (apt-get install -y wrk)")
    only = set(filter(None, (args.only or "").split(",")))
    profile_keys = set(filter(None, args.profile.split(",")))
    tmp = Path(tempfile.mkdtemp(prefix=f"tp-bench-{scale.name}-"))
    db_name = f"tp_bench_{scale.name.lower()}_{secrets.token_hex(4)}"
    db_url = with_database(args.database_url, db_name)
    exit_code = 0

    await admin_execute(args.database_url, f'CREATE DATABASE "{db_name}"')
    note(f"database {db_name} created")
    server: Proc | None = None
    conn = None
    try:
        # The app's modules read the environment at import: set it first.
        env_vars = app_environment(db_url, args.redis_url, tmp / "data")
        os.environ.update(env_vars)
        os.environ.pop("SMTP_URL", None)
        from ideas.config import reset_settings

        reset_settings()
        import redis as redis_lib

        redis_lib.Redis.from_url(args.redis_url).flushdb()

        from ideas.db import run_migrations

        t = time.perf_counter()
        await run_migrations()
        note(f"migrations applied in {time.perf_counter() - t:.1f} s")

        from bench.seed import fresh_vote_pairs, seed

        conn = await asyncpg.connect(db_url)
        pg_version = await conn.fetchval("SELECT version()")
        note(f"seeding scale {scale.name} ...")
        seeded = await seed(conn, scale)
        note(f"seeded in {seeded.seconds:.1f} s")
        if args.seed_only:
            counts = ", ".join(f"{v:,} {k}" for k, v in seeded.counts.items())
            log(f"scale {scale.name} seeded in {seeded.seconds:.1f} s: {counts}")
            log("statuses: " + ", ".join(f"{v:,} {k}" for k, v in seeded.statuses.items()))
            return 0

        routes = app_routes()
        env = {**os.environ, **env_vars}
        port = free_port()
        env["BASE_URL"] = f"http://127.0.0.1:{port}"
        base_url = f"http://127.0.0.1:{port}"
        server = Proc("touchpoint web", web_cmd(port), env, tmp / "web.log").start()
        wait_http(base_url + "/health", server)
        server_cmd = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(server.cmd))
        note(f"server up: {server_cmd}")

        busy = other_load()
        report: dict = {
            "scale": scale.name,
            "machine_busy_percent": busy,
            "counts": seeded.counts,
            "similar_method": seeded.similar_method,
            "statuses": seeded.statuses,
            "extra_users": seeded.extra_users,
            "seed_seconds": round(seeded.seconds, 1),
            "machine": machine_info(pg_version),
            "driver": loadmod.wrk_version() if driver == "wrk" else "python (httpx)",
            "connections": args.connections,
            "threads": args.threads,
            "duration": duration,
            "warmup": warmup,
            "server_cmd": server_cmd,
            "ceilings": {"skipped": {}},
            "endpoints": {},
            "fanout": {},
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

        # the ceiling app: a bare Litestar route, and Touchpoint's request lists
        # answered with one SQL statement each (bench/ceiling_app.py), on the
        # same server settings; measured alternately with Touchpoint
        ceiling: Proc | None = None
        ceiling_url = ""
        if not args.no_ceilings:
            cport = free_port()
            ceiling_url = f"http://127.0.0.1:{cport}"
            ceiling = Proc(
                "ceiling app",
                uvicorn_cmd("bench.ceiling_app:create_app", cport),
                env,
                tmp / "ceiling.log",
            ).start()
            wait_http(f"{ceiling_url}/ping", ceiling)
            reqdir = loadmod.write_requests(tmp / "ceiling", [[Req("GET", "/ping")]])
            if warmup:
                loadmod.run_load(
                    driver, ceiling_url, reqdir, warmup, args.connections, args.threads
                )
            res = loadmod.run_load(
                driver, ceiling_url, reqdir, duration, args.connections, args.threads
            )
            report["ceilings"]["litestar"] = res.as_dict()
            note(f"  ceiling Litestar: {res.rps:,.0f} req/s, p99 {res.p99_ms:.1f} ms")

        pairs_per_thread = VOTE_PAIRS_PER_THREAD[scale.name]
        warm_per_thread = 500 if warmup else 0
        per_run = pairs_per_thread * args.threads
        pairs = await fresh_vote_pairs(
            conn, seeded, warm_per_thread * args.threads + 3 * per_run + 2
        )
        ctx = Ctx(seeded=seeded, scale=scale, threads=args.threads)
        ctx.warm_pairs = pairs[: warm_per_thread * args.threads]
        probe_pair = pairs[-1]
        rest = pairs[warm_per_thread * args.threads : -2]
        third = max(1, len(rest) // 3)
        ctx.vote_pairs = rest[:third]
        ctx.ceiling_pairs = rest[third : 2 * third] or ctx.vote_pairs
        ctx.half_pairs = rest[2 * third :] or ctx.vote_pairs

        for ep in ENDPOINTS:
            entry: dict = {"label": ep.label}
            report["endpoints"][ep.key] = entry
            if only and ep.key not in only:
                entry["skipped"] = "not selected (--only)"
                continue
            missing = [f"{m} {p}" for m, p in ep.routes if (m, p) not in routes]
            if missing:
                raise HarnessError(f"{ep.label}: the app has no route {', '.join(missing)}")
            if ep.per_thread:
                lists = ep.per_thread(ctx)
                warm_lists = ep.warm_per_thread(ctx) if ep.warm_per_thread else []
                check_reqs = [
                    Req("PUT", f"/api/v1/ideas/{probe_pair[1]}/vote", bearer(probe_pair[0])),
                    Req("DELETE", f"/api/v1/ideas/{probe_pair[1]}/vote", bearer(probe_pair[0])),
                ]
            else:
                reqs = ep.build(ctx)
                lists = split(reqs, args.threads)
                warm_lists = lists
                check_reqs = reqs[:1]
            problem = None
            for req in check_reqs:
                problem = problem or preflight(base_url, [req], ep.check)
            if problem:
                entry["failed"] = problem
                log(f"{ep.label}: FAILED preflight: {problem}")
                exit_code = 3
                continue
            if warmup and warm_lists:
                loadmod.run_load(
                    driver,
                    base_url,
                    loadmod.write_requests(tmp / f"{ep.key}-warm", warm_lists),
                    warmup,
                    args.connections,
                    args.threads,
                )
            reqdir = loadmod.write_requests(tmp / ep.key, lists)
            profiling = []
            if ep.key in profile_keys:
                profiling = start_profile(server.worker_pids(), duration - 1, tmp)
            cpu0 = await cpu_snapshot(server, conn)
            res = loadmod.run_load(
                driver, base_url, reqdir, duration, args.connections, args.threads
            )
            cpu1 = await cpu_snapshot(server, conn)
            entry["result"] = res.as_dict()
            if res.requests:
                entry["app_cpu_ms"] = round((cpu1[0] - cpu0[0]) / res.requests / 1e6, 3)
                entry["db_cpu_ms"] = round((cpu1[1] - cpu0[1]) / res.requests / 1e6, 3)
            entry["verdict"] = target_verdict(ep.key, res, scale.name)
            note(
                f"  {ep.label}: {res.rps:,.0f} req/s, p50 {res.p50_ms:.1f} ms, "
                f"p99 {res.p99_ms:.1f} ms, errors {res.error_count}"
            )
            if res.error_count:
                entry["server_log_tail"] = server.tail(20)
            if profiling:
                summary = summarise_profile(profiling)
                entry["profile"] = summary
                prof_path = tmp / f"profile-{ep.key}.txt"
                prof_path.write_text(summary + "\n")
                if not args.no_save:
                    RESULTS.mkdir(exist_ok=True)
                    shutil.copy(prof_path, RESULTS / f"profile-{scale.name}-{ep.key}.txt")
                log(f"profile of {ep.label} (py-spy, both workers):\n{summary}\n")
            if ceiling is not None and ep.key in CEILING_KEYS:
                ceiling_lists = (
                    vote_lists(ctx.ceiling_pairs, ctx.threads) if ep.key == "vote" else lists
                )
                problem = await measure_ceiling(
                    entry,
                    ep,
                    ceiling,
                    ceiling_url,
                    conn,
                    ceiling_lists,
                    check_reqs,
                    tmp,
                    args,
                    duration,
                    warmup,
                    driver,
                )
                if problem:
                    exit_code = 3
            if ep.key in HALF_LOAD_KEYS and res.rps > 0:
                if driver != "wrk":
                    entry["half_load"] = {"skipped": "needs wrk (a delay script)"}
                else:
                    half_lists = (
                        vote_lists(ctx.half_pairs, ctx.threads) if ep.key == "vote" else lists
                    )
                    rate = res.rps / 2
                    half = loadmod.run_wrk(
                        base_url,
                        loadmod.write_requests(tmp / f"{ep.key}-half", half_lists),
                        duration,
                        args.connections,
                        args.threads,
                        delay_ms=1000 * args.connections / rate,
                    )
                    entry["half_load"] = {"offered_rps": round(rate, 1), **half.as_dict()}
                    note(
                        f"    at half load ({rate:,.0f}/s offered, {half.rps:,.0f}/s done): "
                        f"p50 {half.p50_ms:.1f} ms, p99 {half.p99_ms:.1f} ms"
                    )

        if ceiling is not None:
            ceiling.stop()
        report["memory_mib"] = server.tree_rss()

        # fan-out
        if args.no_fanout:
            report["fanout"] = {"skipped": "not selected (--no-fanout)"}
        elif ("POST", "/api/v1/ideas/{}/ship") not in routes:
            raise HarnessError("the app has no route POST /api/v1/ideas/{id}/ship")
        else:
            note(f"fan-out: shipping an idea with {seeded.fanout_voters:,} voters ...")
            report["fanout"] = await time_fanout(
                conn, base_url, seeded, env, tmp, args.fanout_timeout
            )
        if "skipped" in report["fanout"]:
            log(f"fan-out: skipped: {report['fanout']['skipped'].split(' (')[0]}")

        # ceiling 2: pgbench running the vote transaction's SQL (the web server
        # stopped first: its pool's connections count against max_connections)
        server.stop()
        if not args.no_ceilings:
            if shutil.which("pgbench"):
                try:
                    res = await pgbench_ceiling(
                        conn, seeded, db_url, duration, args.connections, args.threads
                    )
                    report["ceilings"]["pgbench_vote"] = res.as_dict()
                    note(f"  ceiling pgbench vote: {res.rps:,.0f} TPS, p99 {res.p99_ms:.1f} ms")
                except HarnessError as exc:
                    report["ceilings"]["skipped"]["pgbench"] = str(exc).splitlines()[-1][:200]
                    note(f"  ceiling pgbench: {exc}")
            else:
                report["ceilings"]["skipped"]["pgbench"] = "pgbench not installed"

        report["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        report["vs_S"] = compare_with_s(report)
        print_report(report)
        if not args.no_save:
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"{scale.name}.json").write_text(json.dumps(report, indent=2, default=str))
            note(f"results written to {RESULTS / (scale.name + '.json')}")
        return exit_code
    finally:
        if server is not None:
            server.stop()
        if conn is not None:
            await conn.close()
        try:
            from ideas.db import close_pool

            await close_pool()
        except Exception:
            pass
        if args.keep:
            note(f"kept database {db_name} ({db_url})")
            note(f"kept the logs of the web server and the worker in {tmp}")
        else:
            try:
                await admin_execute(
                    args.database_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'
                )
            except Exception as exc:
                note(f"could not drop {db_name}: {exc}")
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except HarnessError as exc:
        note(f"bench: {exc}")
        return 1
    except KeyboardInterrupt:
        note("bench: interrupted")
        return 130
    except Exception:
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
