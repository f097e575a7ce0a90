"""Test set-up: a fresh database and a private Redis for each run.

- Database: SQLite file in a temp dir by default; when TEST_DATABASE_URL
  points at a PostgreSQL server, a fresh database `tp_test_<random>` is
  created there and dropped at the end.
- Redis: TEST_REDIS_URL (a real server; the run takes a random db number and
  flushes only that), else an embedded redis-server started for the run.
- Every test starts from empty tables (truncated before each test) and an
  empty Redis db; tests build their own data with the factories below.

The environment is set before anything of the app is imported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_TMP = Path(tempfile.mkdtemp(prefix="tp-test-"))
_PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")
_PG_DB_NAME = f"tp_test_{uuid.uuid4().hex[:12]}"


def _pg_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


os.environ["TOUCHPOINT_DATA_DIR"] = str(_TMP / "data")
os.environ["PICCOLO_CONF"] = "piccolo_conf"
os.environ["TOUCHPOINT_ARGON2"] = "fast-insecure-for-tests"
os.environ["SECRET_KEY"] = "test-secret-key-" + uuid.uuid4().hex
os.environ["BASE_URL"] = "http://testserver"
# /leaders figures computed on every request: tests change data and look again
# at once (test_leadership tests the reuse itself)
os.environ["LEADERS_CACHE_SECONDS"] = "0"
# what a submitter does is visible to others at once: most tests act as
# several people in a row; tests/test_insider_timing.py sets the delay and
# the clock itself
os.environ["PUBLISH_DELAY_MINUTES"] = "0"
os.environ.pop("SMTP_URL", None)
for _name in ("LOGIN", "LOGIN_ACCOUNT", "TOKEN", "IDEA", "COMMENT", "VOTE", "ANONYMOUS"):
    os.environ[f"RATE_LIMIT_{_name}"] = "100000"

if _PG_ADMIN_URL:
    _pg_admin(f'CREATE DATABASE "{_PG_DB_NAME}"')
    os.environ["DATABASE_URL"] = _pg_url(_PG_ADMIN_URL, _PG_DB_NAME)
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'test.sqlite3'}"

_embedded_redis = None
_redis_base = os.environ.get("TEST_REDIS_URL", "")
if _redis_base:
    _REDIS_DB = random.randint(1, 15)
    from urllib.parse import urlparse

    os.environ["REDIS_URL"] = urlparse(_redis_base)._replace(path=f"/{_REDIS_DB}").geturl()
else:
    from touchpoint.redis_server import EmbeddedRedis

    _embedded_redis = EmbeddedRedis().start()
    os.environ["REDIS_URL"] = _embedded_redis.url

from ideas.config import reset_settings  # noqa: E402

reset_settings()

from ideas import db, vector_index  # noqa: E402
from ideas.tables import User  # noqa: E402
from tests.factories import Personas  # noqa: E402
from web import ratelimit  # noqa: E402
from web.auth import viewer_cache  # noqa: E402

ENGINE = "postgres" if _PG_ADMIN_URL else "sqlite"


def pytest_report_header(config):
    return [
        f"touchpoint: database={ENGINE} ({os.environ['DATABASE_URL'].split('@')[-1]}), "
        f"redis={os.environ['REDIS_URL']}"
    ]


def pytest_sessionfinish(session, exitstatus):
    if _embedded_redis is not None:
        _embedded_redis.stop()
    if _PG_ADMIN_URL:
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{_PG_DB_NAME}" WITH (FORCE)')
        except Exception as exc:  # leave a note, never fail the run on clean-up
            print(f"could not drop {_PG_DB_NAME}: {exc}")
    shutil.rmtree(_TMP, ignore_errors=True)


def all_tables():
    from piccolo.apps.migrations.tables import Migration  # noqa: F401

    from ideas.piccolo_app import APP_CONFIG

    return APP_CONFIG.table_classes


@pytest.fixture(scope="session")
async def migrated() -> AsyncIterator[None]:
    await db.run_migrations()
    await db.open_pool()
    yield
    await db.close_pool()


async def truncate_all() -> None:
    names = [t._meta.tablename for t in all_tables()]
    if db.is_postgres():
        quoted = ", ".join(f'"{n}"' for n in names)
        await User.raw(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE").run()
    else:
        for name in names:
            await User.raw(f'DELETE FROM "{name}"').run()


@pytest.fixture(scope="session")
async def redis_client(migrated):
    import redis.asyncio as aioredis

    client = aioredis.from_url(os.environ["REDIS_URL"])
    yield client
    await client.flushdb()
    await client.aclose()


# -- the clock: every test starts at the same moment -----------------------------

#: the moment every test starts at unless it sets its own: a Wednesday, mid-day
#: UTC, far from a week's, month's or year's edge (`--frozen-at` moves it)
FROZEN_AT = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)
#: markers of tests whose product code runs in another process (a live server,
#: real workers) on the machine's clock, which this process cannot move
REAL_CLOCK_MARKERS = ("real_clock", "browser", "slow", "faults")


def pytest_addoption(parser):
    parser.addoption(
        "--frozen-at",
        metavar="ISO",
        default=None,
        help="the moment every test starts at (default 2026-06-10T10:00:00Z), e.g. "
        "--frozen-at=2026-06-14T23:59:30Z to check a test does not depend on the day",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "real_clock: the test reads the machine's clock (ideas.clock is not frozen for it)",
    )
    given = config.getoption("--frozen-at", default=None)
    if given:
        global FROZEN_AT
        moment = dt.datetime.fromisoformat(given.replace("Z", "+00:00"))
        FROZEN_AT = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        FROZEN_AT = FROZEN_AT.astimezone(dt.UTC)


def frozen_clock(at: dt.datetime | None = None):
    """A clock that starts at `at` (FROZEN_AT) and moves on with the time the
    test takes (a monotonic reading, never the date): rows made one after the
    other keep their order, and the day is the one chosen, whatever day the
    suite runs on."""
    start = at or FROZEN_AT
    began = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - began)


@pytest.fixture(autouse=True)
def _frozen_clock(request) -> Iterator[None]:
    """Every test runs at FROZEN_AT (`clock.now()`, `clock.today()`, the stamps
    of new rows) unless it sets the clock itself, or is marked as running
    against another process on the machine's clock (REAL_CLOCK_MARKERS)."""
    from ideas import clock

    if any(request.node.get_closest_marker(m) for m in REAL_CLOCK_MARKERS):
        clock.set_clock(None)
        yield
        return
    clock.set_clock(frozen_clock())
    yield
    clock.set_clock(None)


@pytest.fixture(autouse=True)
async def clean_state(request, migrated, redis_client) -> AsyncIterator[None]:
    """Empty tables and Redis db before each test."""
    await truncate_all()
    await redis_client.flushdb()
    ratelimit.forget_local_counts()  # what the limiters counted, not yet in Redis
    # the suite revokes and checks at once: no viewer cached across requests
    # (tests/test_viewer_cache.py turns it on, with the clock moved)
    viewer_cache.clear()
    viewer_cache.seconds = 0
    vector_index.reset_index()  # the process's copy of the idea vectors
    yield


@pytest.fixture
def environment(monkeypatch):
    """`environment(NAME="value", ...)` sets variables as a deployment would
    and reloads the settings (the product reads the environment only there);
    everything is put back after the test."""
    from ideas.config import load_settings

    def set_variables(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_settings(load_settings())

    yield set_variables
    reset_settings()  # reloaded from the restored environment on next use


@pytest.fixture(scope="session")
async def app(migrated):
    """The app with its lifespan running in its own task (so it enters and
    exits in the same task, whatever pytest-asyncio does with fixtures)."""
    from web.app import create_app

    application = create_app()
    started = asyncio.Event()
    stop = asyncio.Event()

    async def run_lifespan() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run_lifespan())
    await asyncio.wait_for(started.wait(), 30)
    yield application
    stop.set()
    await task


@pytest.fixture
async def client(app):
    """An anonymous HTTP client against the app (in process, real DB/Redis)."""
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        yield c


@pytest.fixture
async def personas(app) -> AsyncIterator[Personas]:
    """Named people (alice_support, bob_finance_council, ...) made on demand;
    see tests/factories.py."""
    made = Personas(app)
    yield made
    await made.close()


# -- a real SMTP server (tests/test_insider.py, tests/test_projection_marker.py) ---------


class SmtpSink:
    """aiosmtpd handler keeping every message it accepts, raw."""

    def __init__(self) -> None:
        self.raw: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.raw.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_sink():
    """A real SMTP server on loopback, and SMTP_URL pointing at it."""
    import dataclasses

    from aiosmtpd.controller import Controller

    from ideas.config import get_settings, reset_settings

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = get_settings()
    reset_settings(dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{port}"))
    try:
        yield sink
    finally:
        reset_settings(settings)
        controller.stop()
