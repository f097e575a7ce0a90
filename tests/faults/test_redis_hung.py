"""A hung Redis does not stall the product (issue 19.1).

A real `touchpoint web` process with its production defaults talks to a
redis-server this test owns; the test stops that server with SIGSTOP (it
accepts connections and never answers, unlike a refused port) and sends a
steady mix of votes and submits. Every request answers in about one Redis
deadline or less (REDIS_DEADLINE_MS, then the breaker skips Redis), every
answered create is in the database exactly once, and /health answers at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest

from ideas.tables import Idea
from tests.factories import idea_payload
from tests.faults.conftest import figures
from tests.faults.procs import WebProcess, free_port
from touchpoint.redis_server import EmbeddedRedis

#: well past a Redis deadline plus a request's own work; far below the 30 s
#: a queued redis-py call took before (a client giving up here is an error)
CLIENT_TIMEOUT_S = 5
RATE_PER_S = 8
SECONDS = 5


@pytest.fixture
async def hung_redis_web(migrated, tmp_path):
    redis = EmbeddedRedis(port=free_port()).start()
    web = WebProcess(tmp_path / "web.log", REDIS_URL=redis.url)
    try:
        await web.start()
        yield redis, web
    finally:
        os.kill(redis.pid, signal.SIGCONT)
        web.kill()
        redis.stop()


async def test_votes_and_submits_answer_while_redis_is_stopped(hung_redis_web, personas):
    redis, web = hung_redis_web
    alice = await personas.get("alice_support")
    voters = [await personas.make(f"voter{i}", f"Voter {i}", "Agent", "Sales") for i in range(20)]
    async with httpx.AsyncClient(base_url=web.url, timeout=CLIENT_TIMEOUT_S) as http:
        auth = {"Authorization": f"Bearer {alice.token}"}
        r = await http.post("/api/v1/ideas", json=idea_payload(), headers=auth)
        assert r.status_code == 201, r.text
        idea = r.json()["id"]

        os.kill(redis.pid, signal.SIGSTOP)  # Redis hangs: connections open, no answers
        outcomes: list[str] = []
        created: list[str] = []
        health_ms: list[float] = []

        async def one(i: int) -> None:
            try:
                if i % 2:
                    voter = voters[(i // 2) % len(voters)]
                    r = await http.put(
                        f"/api/v1/ideas/{idea}/vote",
                        headers={"Authorization": f"Bearer {voter.token}"},
                    )
                else:
                    title = f"Idea number {i} while Redis hangs"
                    r = await http.post(
                        "/api/v1/ideas", json=idea_payload(title=title), headers=auth
                    )
                    if r.status_code == 201:
                        created.append(r.json()["id"])
                outcomes.append(str(r.status_code))
            except httpx.TimeoutException:
                outcomes.append("timeout")

        async def health() -> None:
            started = time.monotonic()
            try:
                r = await http.get("/health", timeout=2)
                outcomes_health.append(r.json()["redis"])
            except httpx.TimeoutException:
                outcomes_health.append("timeout")
            health_ms.append((time.monotonic() - started) * 1000)

        outcomes_health: list[str] = []
        tasks = []
        for i in range(RATE_PER_S * SECONDS):
            tasks.append(asyncio.create_task(one(i)))
            if i % RATE_PER_S == 0:
                tasks.append(asyncio.create_task(health()))
            await asyncio.sleep(1 / RATE_PER_S)
        await asyncio.gather(*tasks)
        os.kill(redis.pid, signal.SIGCONT)

    stored = await Idea.count().run()
    errors = [o for o in outcomes if o not in ("200", "201")]
    figures(
        "Redis SIGSTOP",
        requests=len(outcomes),
        errors=len(errors),
        timeouts=outcomes.count("timeout"),
        created=len(created),
        stored=stored - 1,
        lost=max(len(created) - (stored - 1), 0),
        doubled=max((stored - 1) - len(created), 0),
        health_max_ms=round(max(health_ms)),
        health=sorted(set(outcomes_health)),
    )
    assert errors == [], errors
    assert stored - 1 == len(created) == RATE_PER_S * SECONDS // 2
    assert "timeout" not in outcomes_health and set(outcomes_health) == {"error"}
