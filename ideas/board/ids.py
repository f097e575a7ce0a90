"""Ids: random ones for new ideas and comments, and ids parsed from requests."""

from __future__ import annotations

import secrets

from piccolo.table import Table

from ideas.errors import Invalid, NotFound

#: ids are int4 in the database
ID_LIMIT = 2**31


#: ideas and comments get random ids in [RANDOM_ID_LOW, ID_LIMIT): ids made
#: one after the other neither sort by creation nor differ by a small step,
#: so nobody can bracket someone's comment or idea between two of their own
RANDOM_ID_LOW = 2**24


def random_candidate() -> int:
    """A random id in [RANDOM_ID_LOW, ID_LIMIT), maybe taken: for an insert
    that skips a taken id and is tried again with another."""
    return RANDOM_ID_LOW + secrets.randbelow(ID_LIMIT - RANDOM_ID_LOW)


async def random_id(table: type[Table]) -> int:
    """A random id not yet used in `table` (Serial primary key)."""
    while True:
        candidate = random_candidate()
        if not await table.exists().where(table._meta.primary_key == candidate).run():
            return candidate


def parse_id(raw: str | int, noun: str, field: str | None = None) -> int:
    """An id from a path or body; a malformed one is 'no such <noun>' (404)
    in a path, or a 422 naming `field` in a body."""
    try:
        value = int(str(raw))
        if not 0 < value < ID_LIMIT:
            raise ValueError
        return value
    except ValueError:
        if field:
            raise Invalid(field, f"no {noun} with id {raw!r}") from None
        raise NotFound(f"no such {noun}") from None


def parse_idea_id(raw: str | int, field: str | None = None) -> int:
    return parse_id(raw, "idea", field)
