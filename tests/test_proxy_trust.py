"""X-Forwarded-For is believed only from the proxies named in
FORWARDED_ALLOW_IPS (issue 13.17): by default a caller on the host cannot
pick the address its rate limits are counted under."""

from __future__ import annotations

import httpx
import pytest

from ideas.config import ConfigError, load_settings
from tests.faults.procs import WebProcess
from tests.test_hardening import in_one_window


def test_forwarded_allow_ips_is_checked(tmp_path):
    base = {"TOUCHPOINT_DATA_DIR": str(tmp_path), "SECRET_KEY": "x" * 32}
    assert load_settings(base).forwarded_allow_ips == ""
    both = load_settings({**base, "FORWARDED_ALLOW_IPS": "10.0.0.5, 10.1.0.0/16"})
    assert both.forwarded_allow_ips == "10.0.0.5,10.1.0.0/16"
    with pytest.raises(ConfigError, match="FORWARDED_ALLOW_IPS"):
        load_settings({**base, "FORWARDED_ALLOW_IPS": "the proxy"})


async def token_attempts(server: WebProcess) -> list[int]:
    """Three failed token requests, each claiming another address."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        statuses = []
        for i in range(3):
            r = await http.post(
                "/api/v1/auth/token",
                json={"email": f"nobody{i}@example.com", "password": "wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
            statuses.append(r.status_code)
        return statuses


@pytest.mark.parametrize("trusted", [False, True])
async def test_rate_limits_count_the_forwarded_address_only_from_a_named_proxy(
    migrated, redis_client, tmp_path, trusted
):
    env = {"RATE_LIMIT_TOKEN": "2"}
    if trusted:
        env["FORWARDED_ALLOW_IPS"] = "127.0.0.1"
    server = await WebProcess(tmp_path / "web.log", **env).start()
    try:

        async def attempt():
            await redis_client.flushdb()
            return await token_attempts(server)

        statuses = await in_one_window(attempt)
    finally:
        server.kill()
    # untrusted: all three count against 127.0.0.1; trusted: one each
    assert statuses == ([401, 401, 401] if trusted else [401, 401, 429])
