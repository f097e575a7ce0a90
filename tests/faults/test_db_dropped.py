"""A dropped database connection is not a 500, and shutdown never hangs
(issue 19.2, 19.3).

A real `touchpoint web` process with its production defaults serves a mix of
reads, votes and submits while the test terminates every backend of that
process (`pg_terminate_backend`) every second. Reads on a dead pooled
connection run again on a fresh one, transactions whose BEGIN finds the
connection dead start again, and what still cannot run answers 503 with
`Retry-After` — never 500 — and a client that tries a 503 again (a submit
with its Idempotency-Key) gets its answer. Every acknowledged idea is stored
once. Then
SIGTERM: the process exits within 10 s although its pool saw all of this.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import asyncpg
import httpx
import pytest

from ideas.tables import Idea
from tests.conftest import ENGINE
from tests.factories import idea_payload
from tests.faults.conftest import figures
from tests.faults.procs import WebProcess
from tests.test_reliability import FAST, workers  # noqa: F401 - workers is a fixture

pytestmark = pytest.mark.skipif(
    ENGINE != "postgres", reason="terminating backends needs PostgreSQL (TEST_DATABASE_URL)"
)

APP_NAME = "tp-fault-web"
REQUESTS = 240
CONCURRENCY = 8
BLIP_EVERY_S = 1.0


async def terminate_backends(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            APP_NAME,
        )
        return len(rows)
    finally:
        await conn.close()


def stop_within(proc: subprocess.Popen, seconds: float) -> int | None:
    """SIGTERM; the exit code, or None when still running after `seconds`."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return None


async def test_terminated_backends_give_no_500_and_sigterm_exits(
    migrated,
    personas,
    tmp_path,
    workers,  # noqa: F811 - the fixture
):
    dsn = os.environ["DATABASE_URL"]
    url = f"{dsn}?application_name={APP_NAME}"
    web = await WebProcess(tmp_path / "web.log", DATABASE_URL=url).start()
    worker = workers(DATABASE_URL=url, **{name: "" for name in FAST})  # production defaults
    alice = await personas.get("alice_support")
    voters = [await personas.make(f"voter{i}", f"Voter {i}", "Agent", "Sales") for i in range(8)]
    outcomes: dict[str, int] = {}
    acknowledged: list[str] = []
    no_retry_after = 0
    gave_up = 0
    terminated = 0
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=web.url, timeout=20) as http:
            auth = {"Authorization": f"Bearer {alice.token}"}
            r = await http.post("/api/v1/ideas", json=idea_payload(), headers=auth)
            assert r.status_code == 201
            idea = r.json()["id"]
            acknowledged.append(idea)

            async def blips() -> None:
                nonlocal terminated
                while not stop.is_set():
                    terminated += await terminate_backends(dsn)
                    await asyncio.sleep(BLIP_EVERY_S)

            async def one(i: int) -> None:
                """One request as a careful client makes it: a 503 is tried
                again (at most 3 times), a submit with an Idempotency-Key."""
                nonlocal no_retry_after, gave_up
                kind = i % 4
                key = {"Idempotency-Key": f"submit-{i}"}
                for _attempt in range(3):
                    if kind == 0:
                        title = f"Idea number {i} between two blips"
                        r = await http.post(
                            "/api/v1/ideas", json=idea_payload(title=title), headers=auth | key
                        )
                        if r.status_code == 201:
                            acknowledged.append(r.json()["id"])
                    elif kind == 1:
                        voter = voters[(i // 4) % len(voters)]
                        r = await http.put(
                            f"/api/v1/ideas/{idea}/vote",
                            headers={"Authorization": f"Bearer {voter.token}"},
                        )
                    elif kind == 2:
                        r = await http.get("/api/v1/ideas?sort=new", headers=auth)
                    else:
                        r = await http.get(f"/api/v1/ideas/{idea}", headers=auth)
                    outcomes[str(r.status_code)] = outcomes.get(str(r.status_code), 0) + 1
                    if r.status_code != 503:
                        return
                    if "retry-after" not in r.headers:
                        no_retry_after += 1
                gave_up += 1

            gate = asyncio.Semaphore(CONCURRENCY)

            async def gated(i: int) -> None:
                async with gate:
                    await one(i)

            blipper = asyncio.create_task(blips())
            await asyncio.gather(*(gated(i) for i in range(REQUESTS)))
            stop.set()
            await blipper
        exit_code = await asyncio.to_thread(web.terminate, 10)
        worker_exit = await asyncio.to_thread(stop_within, worker.proc, 10)
    finally:
        web.kill()

    stored = await Idea.select(Idea.id).run()
    stored_ids = {str(row["id"]) for row in stored}
    server_errors = sum(n for status, n in outcomes.items() if status.startswith("5"))
    figures(
        f"PostgreSQL backends terminated every {BLIP_EVERY_S} s",
        requests=REQUESTS,
        answers=sum(outcomes.values()),
        statuses=dict(sorted(outcomes.items())),
        backends_terminated=terminated,
        errors_500=outcomes.get("500", 0),
        unavailable_503=outcomes.get("503", 0),
        acknowledged=len(acknowledged),
        lost=len(set(acknowledged) - stored_ids),
        doubled=len(stored_ids) - len(set(acknowledged)),
        gave_up_after_3=gave_up,
        web_sigterm_exit=exit_code,
        worker_sigterm_exit=worker_exit,
    )
    assert terminated > 0
    assert outcomes.get("500", 0) == 0, web.tail()
    assert no_retry_after == 0
    assert server_errors == outcomes.get("503", 0)
    assert set(acknowledged) == stored_ids  # none lost, none created twice by a retry
    assert len(acknowledged) == len(set(acknowledged)) == REQUESTS // 4 + 1
    assert gave_up == 0
    assert exit_code is not None, "touchpoint web did not exit within 10 s of SIGTERM"
    assert worker_exit is not None, f"the worker did not exit within 10 s:\n{worker.tail()}"
