"""The idea lifecycle as one table: every (from, to) pair of statuses, and
who may make the move. Pure: no database, no app."""

from __future__ import annotations

import itertools

import pytest

from ideas.errors import Forbidden, TransitionRefused
from ideas.lifecycle import (
    ACTION_OWNER,
    COUNCIL,
    MOVES,
    STATUSES,
    SUBMITTER,
    SYSTEM,
    check_transition,
)


@pytest.fixture(autouse=True)
def clean_state():
    """Pure tests: replaces conftest's database clean-up with nothing."""
    yield


#: (from, to) → who may make the move; every other pair is refused (409)
EXPECTED = {
    ("new", "in_review"): {COUNCIL, SYSTEM},
    ("in_review", "accepted"): {COUNCIL},
    ("in_review", "declined"): {COUNCIL},
    ("in_review", "duplicate"): {COUNCIL},
    ("in_review", "needs_info"): {COUNCIL},
    ("needs_info", "in_review"): {SUBMITTER},
    ("accepted", "in_progress"): {COUNCIL, ACTION_OWNER, SYSTEM},
    ("in_progress", "shipped"): {COUNCIL},
    # the submitter's own choice, before any decision
    ("new", "withdrawn"): {SUBMITTER},
    ("in_review", "withdrawn"): {SUBMITTER},
    ("needs_info", "withdrawn"): {SUBMITTER},
}
WHO = (COUNCIL, SUBMITTER, ACTION_OWNER, SYSTEM)


def test_the_table_is_the_lifecycle():
    assert {(m.source, m.target): set(m.by) for m in MOVES} == EXPECTED


@pytest.mark.parametrize(
    ("source", "target", "by"), list(itertools.product(STATUSES, STATUSES, WHO))
)
def test_each_move(source: str, target: str, by: str):
    allowed = EXPECTED.get((source, target))
    if allowed is None:
        with pytest.raises(TransitionRefused):
            check_transition(source, target, by)
    elif by not in allowed:
        with pytest.raises(Forbidden):
            check_transition(source, target, by)
    else:
        move = check_transition(source, target, by)
        assert (move.source, move.target) == (source, target)
        assert move.actor_label in ("CX council", "Submitter", "System")
