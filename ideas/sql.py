"""The SQL dialects, once: every place where PostgreSQL and SQLite need
different SQL asks this module, so the differences are read in one file.

Each helper returns the text (or the Piccolo clause) for the engine in use;
callers never branch on the engine themselves.
"""

from __future__ import annotations

import json

from ideas.db import is_postgres

__all__ = ["is_postgres"]

# -- sections below are grouped by the package that uses them -----------------


# -- board (ideas/board/, ideas/blind.py) ---------------------------------------


def credits_json(shipped: str) -> str:
    """A correlated subquery on `idea`: the credited submitters of a shipped
    idea as a JSON array of [name, department] pairs in the order they were
    linked (NULL for any other idea, or none credited)."""
    people = (
        'FROM submission s JOIN tp_user u ON u.id = s."user" '
        "JOIN department d ON d.id = u.department "
        f"WHERE s.idea = idea.id AND s.credit AND idea.status = '{shipped}'"
    )
    if is_postgres():
        return f"(SELECT json_agg(json_build_array(u.name, d.name) ORDER BY s.id) {people})"
    return (
        "(SELECT json_group_array(json_array(n, dn)) FROM "
        f"(SELECT u.name AS n, d.name AS dn {people} ORDER BY s.id))"
    )


def json_rows(value) -> list:
    """A JSON array from the database: text on either engine (a list when a
    codec already decoded it); None is an empty list."""
    if value is None:
        return []
    if isinstance(value, str):
        return json.loads(value)
    return value
