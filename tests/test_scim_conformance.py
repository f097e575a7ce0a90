"""The SCIM conformance checker `scim2-tester` (PyPI) against Touchpoint
running under uvicorn: discovery, then create, read, replace, PATCH and
delete of Users and Groups with the attributes the schemas publish."""

from __future__ import annotations

import asyncio
import sys

import httpx
import pytest

from ideas.context import COMMAND_LINE
from ideas.integrations import scim
from tests.e2e.conftest import start_live_server
from tests.factories import ctx_for

# scim2-client's engine is written for httpx2, which keeps httpx's API; the
# project pins httpx (Authlib and the tests use it)
sys.modules.setdefault("httpx2", httpx)

import scim2_client.engines.httpx2 as scim_engine  # noqa: E402
from scim2_client.engines.httpx2 import SyncSCIMClient  # noqa: E402
from scim2_tester import Status, check_server  # noqa: E402


def _stays_under_base_url(client: httpx.Client, endpoint: str) -> bool:
    """The engine's own check, in httpx's words (httpx's URL has no `origin`)."""
    base = client.base_url
    try:
        url = client.build_request("GET", endpoint).url
    except httpx.InvalidURL:
        return False
    same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
    return same_origin and url.raw_path.startswith(base.raw_path)


scim_engine._stays_under_base_url = _stays_under_base_url


@pytest.fixture
async def server(migrated):
    live = await start_live_server("scim")
    yield live
    await live.stop()


def run_checker(url: str, token: str) -> list:
    with httpx.Client(
        base_url=f"{url}/scim/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        return check_server(SyncSCIMClient(http))


async def test_the_scim_conformance_checker_passes(server):
    token = await scim.create_token(ctx_for(COMMAND_LINE), "scim2-tester")
    results = await asyncio.to_thread(run_checker, server.url, token)
    done = [r for r in results if r.status == Status.SUCCESS]
    wrong = [
        f"{r.title}: {r.status.name}: {r.reason}"
        for r in results
        if r.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    assert not wrong, "\n".join(wrong) + "\n" + server.log_tail(20)
    titles = {r.title for r in done}
    assert len(done) >= 20, titles
