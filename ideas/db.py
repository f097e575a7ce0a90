"""Engine helpers: one way to open a write transaction on either engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

log = logging.getLogger("touchpoint.db")

_sqlite_write_lock: asyncio.Lock | None = None


_engine = None


def engine():
    """The configured engine (looked up once: engine_finder re-imports the
    configuration module on every call, and this runs several times a request)."""
    global _engine
    if _engine is None:
        db = engine_finder()
        assert db is not None, "no Piccolo engine configured (PICCOLO_CONF)"
        _engine = db
    return _engine


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)


async def read_rows(table, sql: str, *args) -> Sequence[Mapping]:
    """The rows of a read written with Piccolo's ``{}`` placeholders (as for
    ``table.raw``). On PostgreSQL outside a transaction: asyncpg's records as
    they come -- read-only mappings, by column name like Piccolo's dicts --
    without a dict built per row (Piccolo's conversion was a tenth of the
    ideas list in process); otherwise ``table.raw(...).run()``."""
    db = engine()
    if isinstance(db, PostgresEngine) and db.pool is not None and not db.current_transaction.get():
        query, params = QueryString(sql, *args).compile_string(engine_type=db.engine_type)
        return await db._run_in_pool(query, params)  # ideas.pg's, with its retry
    return await table.raw(sql, *args).run()


def _lock() -> asyncio.Lock:
    global _sqlite_write_lock
    if _sqlite_write_lock is None:
        _sqlite_write_lock = asyncio.Lock()
    return _sqlite_write_lock


@asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """A transaction for read-then-write work.

    On SQLite: IMMEDIATE (takes the write lock up front, so no upgrade
    deadlock) and serialised in-process, which is much faster than letting
    writers spin on the busy timeout. On PostgreSQL: a plain transaction.
    """
    db = engine()
    if db.current_transaction.get() is not None:
        yield  # already inside one: join it
    elif isinstance(db, SQLiteEngine):
        async with _lock():
            async with db.transaction(transaction_type=TransactionType.immediate):
                yield
    else:
        async with db.transaction():
            yield


async def _keep_session(connection) -> None:
    """Pool release hook: asyncpg still rolls back an open transaction, but
    skips its default reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET
    ALL), a round trip per query that cost more than the query itself. Nothing
    here sets session state, listens or takes session-level advisory locks."""


async def open_pool(max_size: int = 20) -> None:
    db = engine()
    if isinstance(db, PostgresEngine) and db.pool is None:
        await db.start_connection_pool(max_size=max_size, reset=_keep_session)


#: how long a shutdown waits for connections in use before it closes them anyway
CLOSE_POOL_TIMEOUT_S = 5.0


async def close_pool(within: float = CLOSE_POOL_TIMEOUT_S) -> None:
    """Close the pool, waiting at most `within` seconds for connections still
    in use; then they are terminated, so a shutdown never hangs."""
    db = engine()
    if isinstance(db, PostgresEngine) and db.pool is not None:
        pool, db.pool = db.pool, None
        try:
            await asyncio.wait_for(pool.close(), within)
        except Exception as exc:
            log.warning("database pool closed by force after %.0f s (%r)", within, exc)
            pool.terminate()


async def run_migrations() -> int:
    """Apply every pending Piccolo migration (forward only); answers how many
    were applied. Piccolo's own progress lines are kept out of the output:
    they count every migration as "already complete" before running the new
    ones."""
    import contextlib
    import io

    from piccolo.apps.migrations.commands.forwards import run_forwards

    progress = io.StringIO()
    with contextlib.redirect_stdout(progress):
        result = await run_forwards(app_name="ideas", migration_id="all", fake=False)
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}\n{progress.getvalue()}")
    return sum(1 for line in progress.getvalue().splitlines() if line.startswith("  - "))
