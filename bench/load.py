"""Drive a running server from separate processes and read the figures.

- `wrk` (Debian's package) replaying pre-built requests through
  `bench/lua/replay.lua`: one request list per wrk thread, replayed in order
  (so a vote toggle's PUT and DELETE of one pair are far apart in time), at
  saturation or, with a random delay before each request, at a fixed
  offered rate (Debian has no wrk2);
- a Python fallback (`python -m bench.pyload`, httpx) when wrk is missing,
  slower but enough to keep the harness running in CI;
- `pgbench` for the database ceiling, with per-transaction latencies read
  from its log files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPLAY_LUA = HERE / "lua" / "replay.lua"


class HarnessError(RuntimeError):
    """The harness itself could not do its job (not a slow endpoint)."""


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def line(self) -> str:
        for part in (self.method, self.path, self.body, *self.headers.values()):
            if "\t" in part or "\n" in part:
                raise HarnessError(f"request field with a tab or newline: {part[:40]!r}")
        headers = "|".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method}\t{self.path}\t{headers}\t{self.body}"


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    driver: str = ""

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict:
        return asdict(self)


def write_requests(directory: Path, per_thread: list[list[Req]]) -> Path:
    """One file per load thread: requests-1.tsv, requests-2.tsv ..."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("requests-*.tsv"):
        old.unlink()
    for n, reqs in enumerate(per_thread, start=1):
        if not reqs:
            raise HarnessError("an empty request list")
        with open(directory / f"requests-{n}.tsv", "w", encoding="utf-8") as fh:
            for r in reqs:
                fh.write(r.line() + "\n")
    return directory


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if not path:
        return ""
    out = subprocess.run([path, "-v"], capture_output=True, text=True)
    match = re.search(r"wrk\s+(?:debian/)?([\w.\-+]+)", out.stdout + out.stderr)
    return f"wrk {match.group(1)}" if match else "wrk"


def run_wrk(
    base_url: str,
    reqdir: Path,
    duration: float,
    connections: int,
    threads: int = 2,
    timeout_s: int = 10,
    delay_ms: float | None = None,
) -> LoadResult:
    """Saturation by default; with `delay_ms`, each connection waits a random
    time of that mean (exponential) before each request: a fixed offered rate
    of about connections × 1000 / delay_ms requests a second, a little less
    by the time the answers take (the result's `rps` is what was done)."""
    path = wrk_path()
    if not path:
        raise HarnessError("wrk is not installed (apt-get install -y wrk)")
    cmd = [
        path,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(REPLAY_LUA),
        base_url,
    ]
    env = {**os.environ, "BENCH_REQUESTS": str(reqdir)}
    env.pop("BENCH_DELAY_MS", None)
    if delay_ms is not None:
        env["BENCH_DELAY_MS"] = f"{delay_ms:.3f}"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=duration + 120)
    if proc.returncode != 0:
        raise HarnessError(f"wrk failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith('{"requests"')), None)
    if line is None:
        raise HarnessError(f"wrk printed no summary: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    data = json.loads(line)
    seconds = data["duration_us"] / 1e6
    return LoadResult(
        requests=data["requests"],
        seconds=seconds,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors={k: v for k, v in data["errors"].items() if v},
        driver="wrk",
    )


def run_python(
    base_url: str, reqdir: Path, duration: float, connections: int, threads: int = 2
) -> LoadResult:
    """The fallback driver: `python -m bench.pyload` in its own process."""
    cmd = [
        sys.executable,
        "-m",
        "bench.pyload",
        "--url",
        base_url,
        "--requests",
        str(reqdir),
        "--duration",
        str(duration),
        "--connections",
        str(connections),
        "--threads",
        str(threads),
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=duration + 120, cwd=HERE.parent
    )
    if proc.returncode != 0:
        raise HarnessError(f"python load driver failed: {proc.stderr.strip()[-800:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return LoadResult(**data)


def run_load(
    driver: str,
    base_url: str,
    reqdir: Path,
    duration: float,
    connections: int,
    threads: int = 2,
) -> LoadResult:
    if driver == "wrk":
        return run_wrk(base_url, reqdir, duration, connections, threads)
    return run_python(base_url, reqdir, duration, connections, threads)


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(share * (len(sorted_values) - 1))))
    return sorted_values[k]


def run_pgbench(
    dsn: dict[str, str],
    script: str,
    duration: float,
    connections: int,
    threads: int = 2,
    defines: dict[str, int] | None = None,
) -> LoadResult:
    """pgbench with a custom script; TPS and latency percentiles from its log."""
    path = shutil.which("pgbench")
    if not path:
        raise HarnessError("pgbench is not installed (apt-get install -y postgresql-client)")
    with tempfile.TemporaryDirectory(prefix="tp-pgbench-") as tmp:
        script_path = Path(tmp) / "script.sql"
        script_path.write_text(script)
        cmd = [
            path,
            "-n",
            "-h",
            dsn["host"],
            "-p",
            str(dsn["port"]),
            "-U",
            dsn["user"],
            "-c",
            str(connections),
            "-j",
            str(threads),
            "-T",
            str(max(1, round(duration))),
            "-l",
            f"--log-prefix={tmp}/log",
            "-f",
            str(script_path),
        ]
        for k, v in (defines or {}).items():
            cmd += ["-D", f"{k}={v}"]
        cmd.append(dsn["database"])
        env = {**os.environ}
        if dsn.get("password"):
            env["PGPASSWORD"] = dsn["password"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=duration + 120)
        if proc.returncode != 0:
            raise HarnessError(f"pgbench failed: {proc.stderr.strip()[-800:]}")
        latencies: list[float] = []
        for log in Path(tmp).glob("log*"):
            with open(log) as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 3 and parts[2].isdigit():
                        latencies.append(int(parts[2]) / 1000)
        latencies.sort()
        match = re.search(r"tps = ([\d.]+)", proc.stdout)
        failed = re.search(r"number of failed transactions: (\d+)", proc.stdout)
        tps = float(match.group(1)) if match else len(latencies) / duration
        return LoadResult(
            requests=len(latencies),
            seconds=duration,
            rps=tps,
            p50_ms=percentile(latencies, 0.50),
            p95_ms=percentile(latencies, 0.95),
            p99_ms=percentile(latencies, 0.99),
            max_ms=latencies[-1] if latencies else 0.0,
            errors={"failed": int(failed.group(1))} if failed and int(failed.group(1)) else {},
            driver="pgbench",
        )


def pgbench_version() -> str:
    path = shutil.which("pgbench")
    if not path:
        return ""
    return subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
