"""The SQL dialects, once: every place where PostgreSQL and SQLite need
different SQL asks this module, so the differences are read in one file.

Each helper returns the text (or the Piccolo clause) for the engine in use;
callers never branch on the engine themselves.
"""

from __future__ import annotations

from ideas.db import is_postgres

__all__ = ["is_postgres"]

# -- sections below are grouped by the package that uses them -----------------


# -- people --------------------------------------------------------------------------------


def locked(query):
    """`query` taking row locks until the transaction ends (PostgreSQL; SQLite
    writes one transaction at a time)."""
    return query.lock_rows() if is_postgres() else query


def contains(column, text: str):
    """Case-insensitive "contains" (SQLite's LIKE already ignores ASCII case)."""
    pattern = f"%{text}%"
    return column.ilike(pattern) if is_postgres() else column.like(pattern)
