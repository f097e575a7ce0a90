"""Hostile bodies are cheap (issue 19.7, 13.13): JSON nested 1,000 deep, a
body of thousands of unknown keys, a body of megabytes — each answered 400 or
413 before any model sees it, with a short answer, and bounded memory in a
real `touchpoint web` process. Callers who are not logged in are rate
limited before their body is read."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from litestar.routes import HTTPRoute

from tests.faults.conftest import figures
from tests.faults.procs import WebProcess, rss_mib
from tests.test_hardening import in_one_window, limits  # noqa: F401 - a fixture
from web.bodies import MAX_JSON_MEMBERS

NESTED = b"[" * 1000 + b"]" * 1000
NESTED_OBJECT = b'{"title":' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}"
JSON = {"content-type": "application/json"}


def api_writes(app) -> list[tuple[str, str]]:
    """Every (method, path) of the API that takes a body, path parameters filled."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(route.methods & {"POST", "PUT", "PATCH"}):
            found.append((method, path))
    return found


async def test_json_nested_a_thousand_deep_is_400_on_every_json_route(app, client, personas):
    adam = await personas.get("adam_admin")
    routes = api_writes(app)
    assert ("POST", "/api/v1/auth/token") in routes and len(routes) > 10
    answers = {}
    for method, path in routes:
        for body in (NESTED, NESTED_OBJECT):
            r = await adam.api().request(method, path, content=body, headers=JSON)
            answers[(method, path, body[:2])] = r.status_code
            assert r.status_code == 400, (method, path, r.text[:200])
            assert "nested" in r.json()["detail"]
    # anonymous, and without saying it is JSON
    for headers in (JSON, {"content-type": "text/plain"}, {}):
        r = await client.post("/api/v1/auth/token", content=NESTED, headers=headers)
        assert r.status_code == 400, r.text[:200]
    figures("nested JSON", requests=len(answers) + 3, errors_5xx=0, routes=len(routes))


async def test_unknown_keys_get_a_short_answer_that_names_the_first_and_counts_the_rest(
    personas,
):
    alice = await personas.get("alice_support")
    many = {"title": "Print the PO number", **{f"k{i}": 1 for i in range(MAX_JSON_MEMBERS - 10)}}
    r = await alice.api().post("/api/v1/ideas", json=many)
    assert r.status_code == 400
    body = r.json()
    assert len(body["extra"]) == 10 and "k0" in body["detail"]
    assert re.search(r"and \d+ more", body["detail"]), body["detail"]
    assert len(r.content) < 4000

    too_many = {f"k{i}": 1 for i in range(MAX_JSON_MEMBERS + 1)}
    r = await alice.api().post("/api/v1/ideas", json=too_many)
    assert r.status_code == 400 and str(MAX_JSON_MEMBERS) in r.json()["detail"]
    assert len(r.content) < 1000
    items = {"title": list(range(MAX_JSON_MEMBERS + 1))}
    r = await alice.api().post("/api/v1/ideas", json=items)
    assert r.status_code == 400 and str(MAX_JSON_MEMBERS) in r.json()["detail"]
    assert await alice.api().get("/api/v1/ideas") is not None
    r = await alice.api().get("/api/v1/ideas?sort=new")
    assert r.json()["items"] == []  # nothing half-written


async def test_bodies_over_the_size_limit_are_413_declared_or_streamed(client, personas):
    alice = await personas.get("alice_support")
    huge = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    r = await alice.api().post("/api/v1/ideas", content=huge, headers=JSON)
    assert r.status_code == 413

    async def chunks():
        for _ in range(40):
            yield b"1," * 50_000

    r = await alice.api().post("/api/v1/ideas", content=chunks(), headers=JSON)
    assert r.status_code == 413  # no Content-Length: counted while read
    r = await client.post("/login", content=huge, headers={"content-type": "text/plain"})
    assert r.status_code == 413


async def test_anonymous_bodies_are_rate_limited_before_they_are_read(client, limits):  # noqa: F811
    async def attempt():
        limits(anonymous=2)
        answers = [
            await client.post("/api/v1/auth/token", content=NESTED, headers=JSON) for _ in range(3)
        ]
        return [a.status_code for a in answers]

    statuses = await in_one_window(attempt)
    # the third is refused before its body is parsed: 429, not the 400 parsing gives
    assert statuses == [400, 400, 429]


@pytest.fixture
async def web(migrated, tmp_path):
    server = await WebProcess(tmp_path / "web.log").start()
    yield server
    server.kill()


async def test_a_real_server_stays_small_under_hostile_bodies(web, personas):
    """Four of each at once against `touchpoint web`: a 9 MB integer array, a
    7 MB body of 400,000 unknown keys (streamed, so no length tells), JSON
    nested 1,000 deep. The process answers each with 400/413 and its peak
    memory stays far below what parsing them would take."""
    alice = await personas.get("alice_support")
    before = rss_mib(web.pid)
    integers = json.dumps(list(range(1_200_000))).encode()  # ~9 MB
    keys = json.dumps({f"key{i}": 1 for i in range(400_000)}).encode()  # ~7 MB

    async def streamed(data: bytes):
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    async def send(client: httpx.AsyncClient, body) -> int:
        try:
            r = await client.post("/api/v1/ideas", content=body, headers=JSON)
        except httpx.TransportError:
            return -1  # the server closed the connection after its answer
        return r.status_code

    headers = {"Authorization": f"Bearer {alice.token}"}
    async with httpx.AsyncClient(base_url=web.url, headers=headers, timeout=30) as c:
        bodies = [integers, streamed(keys), NESTED] * 4
        statuses = await asyncio.gather(*(send(c, b) for b in bodies))
        health = await c.get("/health")
    peak = rss_mib(web.pid)
    figures(
        "hostile bodies (real server)",
        requests=len(statuses),
        statuses=sorted(set(statuses)),
        errors_5xx=sum(s >= 500 for s in statuses),
        rss_before_mib=round(before),
        rss_peak_mib=round(peak),
    )
    assert health.status_code == 200
    assert not any(s >= 500 for s in statuses)
    assert statuses.count(400) == 4 and set(statuses) <= {400, 413, -1}
    assert peak - before < 100, f"peak {peak:.0f} MiB after {before:.0f} MiB"
