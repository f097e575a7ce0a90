"""PostgreSQL through Piccolo, hardened against dropped connections.

A pooled connection can be dead before it is used (its backend terminated,
a failover, an idle timeout on the way): asyncpg learns of it only when it
next reads. Here:

- a plain read (`SELECT`, outside a transaction) that fails because its
  connection was lost runs once more on a fresh connection;
- a transaction whose `BEGIN` fails because its connection was lost starts
  again on a fresh one (nothing was done yet);
- a transaction always gives its connection back to the pool — also when
  `ROLLBACK` or `COMMIT` itself fails on a lost connection (Piccolo's own
  `__aexit__` then skips the release, and `Pool.close()` waits for it forever);
- anything else that fails on a lost connection reaches the web app's error
  handler, which answers 503 with `Retry-After` (`connection_lost`).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

log = logging.getLogger("touchpoint.db")

#: errors that mean "this connection (or the server) is gone", not "this query is wrong"
LOST = (
    asyncpg.exceptions.PostgresConnectionError,  # ConnectionDoesNotExistError among them
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InterfaceError,  # "connection is closed"
    # the server's "terminating connection" arrived on an idle connection
    # before its end did: the next query finds the protocol in an error state
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.TooManyConnectionsError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)


def connection_lost(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database is unreachable."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, LOST):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def is_plain_read(query: str) -> bool:
    head = query.lstrip()[:6].upper()
    return head == "SELECT" and " FOR UPDATE" not in query.upper()


async def _discard(pool, connection, lost: bool = False) -> None:
    """Give a connection back, whatever state it is in (a lost one is
    terminated rather than reset, so the release cannot hang and the pool
    opens a fresh one in its place)."""
    try:
        if lost:
            # what killed this one (a restart, a mass termination) most likely
            # killed the idle ones too: replace each on its next acquire
            await pool.expire_connections()
        if lost or connection.is_closed():
            connection.terminate()
        # asyncpg bounds the release itself (no task and timer of wait_for)
        await pool.release(connection, timeout=5)
    except Exception as exc:  # never let the clean-up hide the real error
        log.warning("connection released by force (%s)", exc)
        try:
            connection.terminate()
            await pool.release(connection)
        except Exception:
            pass


class ResilientTransaction(PostgresTransaction):
    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        for attempt in (1, 2):
            self.connection = await self.get_connection()
            self.transaction = self.connection.transaction()
            try:
                await self.begin()
            except Exception as exc:
                await self._give_back(lost=connection_lost(exc))
                if attempt == 2 or not connection_lost(exc):
                    raise
                log.warning("BEGIN on a lost connection (%s); once more on a fresh one", exc)
                continue
            break
        self.context = self.engine.current_transaction.set(self)
        return self

    async def _give_back(self, lost: bool = False) -> None:
        if self.engine.pool:
            await _discard(self.engine.pool, self.connection, lost)
        else:
            self.connection.terminate()

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        lost = exception is not None and connection_lost(exception)
        try:
            if exception:
                if not self._rolled_back and not lost:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except Exception as exc:
            lost = connection_lost(exc)
            if exception is None or not lost:
                raise
            # the rollback failed because the connection is gone: the server
            # rolled back already; the original error is the one to raise
        finally:
            try:
                await self._give_back(lost)
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None


class ResilientPostgresEngine(PostgresEngine):
    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return ResilientTransaction(engine=self, allow_nested=allow_nested)

    async def _run_in_pool(self, query: str, args=None):
        if not self.pool:
            raise ValueError("A pool isn't currently running.")
        args = args or []
        for attempt in (1, 2):
            connection = await self.pool.acquire()
            lost = False
            try:
                return await connection.fetch(query, *args)
            except Exception as exc:
                lost = connection_lost(exc)
                if attempt == 2 or not (lost and is_plain_read(query)):
                    raise
                log.warning("a read lost its connection (%r); once more on a fresh one", exc)
            finally:
                await _discard(self.pool, connection, lost)
        raise AssertionError("unreachable")
