"""The SQL dialects, once: every place where PostgreSQL and SQLite need
different SQL asks this module, so the differences are read in one file.

Each helper returns the text (or the Piccolo clause) for the engine in use;
callers never branch on the engine themselves.
"""

from __future__ import annotations

from ideas.db import is_postgres

__all__ = ["is_postgres"]

# -- sections below are grouped by the package that uses them -----------------

# -- notify --

#: advisory-lock keys of batched notices: this base plus the idea's id (ids < 2**31)
NOTICE_BATCH_LOCK_BASE = 0x7470_0000_0000


def notice_batch_lock(idea_id: int | None) -> tuple[str, list] | None:
    """The statement (and its arguments) that makes one batched fan-out on an
    idea wait for another in progress, inside the insert's transaction: two
    comment events delivered at once must not both find "no unread notice"
    and both insert. PostgreSQL takes a transaction-scoped advisory lock;
    SQLite serialises writes already, so None."""
    if not is_postgres():
        return None
    return "SELECT pg_advisory_xact_lock({})", [NOTICE_BATCH_LOCK_BASE + int(idea_id or 0)]
