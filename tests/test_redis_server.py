"""Tests for touchpoint.redis_server (sync; no conftest fixtures)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
# Runnable on its own (--noconftest, before any pytest `pythonpath` setting).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from touchpoint.redis_server import EmbeddedRedis, find_redis_server  # noqa: E402


def port_is_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_closed(port: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_is_open(port):
            return True
        time.sleep(0.02)
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists"; check its state on Linux.
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False
    return True


def assert_tmpdir_gone(pid: int | None) -> None:
    """The ephemeral server's temp --dir is deleted once it is up."""
    assert pid is not None
    cwd = Path(f"/proc/{pid}/cwd")
    if not cwd.parent.exists():  # no procfs
        return
    target = os.readlink(cwd)
    assert "touchpoint-redis-" in target
    assert target.endswith(" (deleted)"), target
    assert not Path(target.removesuffix(" (deleted)")).exists()


def test_find_redis_server_returns_an_executable() -> None:
    path = find_redis_server()
    assert os.path.isfile(path) and os.access(path, os.X_OK)


def test_find_redis_server_honours_the_setting() -> None:
    real = find_redis_server()
    assert find_redis_server(real) == real
    with pytest.raises(RuntimeError, match="REDIS_SERVER_BIN"):
        find_redis_server("/nonexistent/redis-server")


def test_start_set_get_stop_closes_port() -> None:
    server = EmbeddedRedis()
    with server:
        assert server.running
        port = server.port
        assert server.url == f"redis://127.0.0.1:{port}/0"
        assert server.data_dir is None  # ephemeral: no data on disk
        assert_tmpdir_gone(server.pid)

        client = redis.Redis.from_url(server.url)
        try:
            assert client.set("greeting", "hello")
            assert client.get("greeting") == b"hello"
            # Ephemeral: no snapshots, no AOF.
            assert client.config_get("save")["save"] == ""
            assert client.config_get("appendonly")["appendonly"] == "no"
        finally:
            client.close()

    assert not server.running
    assert not port_is_open(port)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.stop()  # idempotent


def test_explicit_start_stop_and_restart() -> None:
    server = EmbeddedRedis()
    assert server.start() is server
    assert server.start() is server  # no-op while running
    first_pid = server.pid
    server.stop()
    assert first_pid is not None and not pid_alive(first_pid)
    server.start()
    try:
        assert server.pid != first_pid
        assert redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()


def test_persistent_mode_keeps_keys_across_restart(tmp_path: Path) -> None:
    data = tmp_path / "redis-data"
    with EmbeddedRedis(persist_dir=data) as server:
        client = redis.Redis.from_url(server.url)
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("save")["save"] == "60 1"
        client.set("kept", "across restarts")
        client.close()
    assert data.is_dir()
    assert any(data.iterdir()), "persistence files should be written"

    with EmbeddedRedis(persist_dir=data) as server:
        client = redis.Redis.from_url(server.url)
        assert client.get("kept") == b"across restarts"
        client.close()
    assert data.is_dir(), "the persist dir is never removed"


def test_failed_start_reports_log_tail_and_cleans_up() -> None:
    server = EmbeddedRedis(extra_args=["--no-such-directive", "x"])
    with pytest.raises(RuntimeError, match=r"(?i)no-such-directive|bad directive"):
        server.start()
    assert not server.running
    assert server.data_dir is None


def test_startup_timeout_mentions_output(tmp_path: Path) -> None:
    fake = tmp_path / "fake-redis"
    fake.write_text("#!/bin/sh\necho 'fake server output'\nexec sleep 30\n")
    fake.chmod(0o755)
    server = EmbeddedRedis(executable=str(fake), startup_timeout=0.5, stop_timeout=2)
    with pytest.raises(RuntimeError, match="fake server output"):
        server.start()
    assert not server.running


def _run_child(body: str, **kwargs) -> subprocess.Popen[str]:
    code = textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_atexit_stops_server_left_running() -> None:
    child = _run_child(
        """
        from touchpoint.redis_server import EmbeddedRedis
        s = EmbeddedRedis().start()
        print(s.port, s.pid, flush=True)
        # exits without stop()
        """
    )
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 0
    port, pid = map(int, out.split())
    assert wait_closed(port)
    assert not pid_alive(pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PDEATHSIG is Linux-only")
def test_server_dies_with_killed_parent() -> None:
    child = _run_child(
        """
        import time
        from touchpoint.redis_server import EmbeddedRedis
        s = EmbeddedRedis().start()
        print(s.port, s.pid, flush=True)
        time.sleep(60)
        """
    )
    pid = None
    try:
        assert child.stdout is not None
        port, pid = map(int, child.stdout.readline().split())
        assert port_is_open(port)
        assert_tmpdir_gone(pid)  # nothing to leak when the parent is SIGKILLed
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert wait_closed(port)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not pid_alive(pid)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if pid is not None and pid_alive(pid):  # never leave an orphan behind
            os.kill(pid, signal.SIGKILL)
