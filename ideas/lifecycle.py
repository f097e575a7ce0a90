"""The idea lifecycle: eight statuses, the allowed moves, who makes each.

Every status change in the product goes through `check_transition`; anything
else is refused with `TransitionRefused` (HTTP 409) before a row changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ideas.errors import Forbidden, TransitionRefused

NEW = "new"
IN_REVIEW = "in_review"
NEEDS_INFO = "needs_info"
ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
SHIPPED = "shipped"
DECLINED = "declined"
DUPLICATE = "duplicate"

STATUSES = (NEW, IN_REVIEW, NEEDS_INFO, ACCEPTED, IN_PROGRESS, SHIPPED, DECLINED, DUPLICATE)

STATUS_LABELS = {
    NEW: "New",
    IN_REVIEW: "In review",
    NEEDS_INFO: "Needs info",
    ACCEPTED: "Accepted",
    IN_PROGRESS: "In progress",
    SHIPPED: "Shipped",
    DECLINED: "Declined",
    DUPLICATE: "Duplicate",
}

#: Ideas that take votes (and retractions); others answer 409.
OPEN_FOR_VOTES = frozenset({NEW, IN_REVIEW, NEEDS_INFO, ACCEPTED, IN_PROGRESS})

#: Statuses a duplicate may point at: open ideas only. Shipped, declined,
#: duplicate (and any later closed status, such as withdrawn) are not merge
#: targets: merging a throwaway idea into a shipped one would make its writer
#: a co-submitter of work already done (credit on the leaderboard).
VALID_MERGE_TARGETS = frozenset({NEW, IN_REVIEW, NEEDS_INFO, ACCEPTED, IN_PROGRESS})

TOUCHPOINTS = (
    "awareness",
    "purchase",
    "onboarding",
    "product",
    "support",
    "billing",
    "renewal",
    "other",
)

# Who may make a move: role names as in API.md, plus "system" for moves the
# product makes itself (a session agenda, the first action starting).
COUNCIL = "council"
SUBMITTER = "submitter"
ACTION_OWNER = "action_owner"
SYSTEM = "system"


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    #: who may make it
    by: frozenset[str]
    #: the role label shown on the public timeline
    actor_label: str
    #: what the move needs, in words (for docs and errors)
    needs: str = ""


MOVES: tuple[Move, ...] = (
    Move(NEW, IN_REVIEW, frozenset({COUNCIL, SYSTEM}), "CX council", "a triage session agenda"),
    Move(IN_REVIEW, ACCEPTED, frozenset({COUNCIL}), "CX council", "an owning department"),
    Move(IN_REVIEW, DECLINED, frozenset({COUNCIL}), "CX council", "a note of 20+ characters"),
    Move(IN_REVIEW, DUPLICATE, frozenset({COUNCIL}), "CX council", "an open target idea"),
    Move(IN_REVIEW, NEEDS_INFO, frozenset({COUNCIL}), "CX council", "a question"),
    Move(NEEDS_INFO, IN_REVIEW, frozenset({SUBMITTER}), "Submitter", "the submitter's answer"),
    Move(
        ACCEPTED,
        IN_PROGRESS,
        frozenset({COUNCIL, ACTION_OWNER, SYSTEM}),
        "System",
        "an action leaving todo",
    ),
    Move(IN_PROGRESS, SHIPPED, frozenset({COUNCIL}), "CX council", "all actions done, a ship note"),
)

_BY_PAIR = {(m.source, m.target): m for m in MOVES}

#: decision outcome (API) → target status
OUTCOME_STATUS = {
    "accept": ACCEPTED,
    "decline": DECLINED,
    "duplicate": DUPLICATE,
    "needs_info": NEEDS_INFO,
}


def allowed_moves(current: str) -> list[str]:
    return [m.target for m in MOVES if m.source == current]


def check_transition(current: str, target: str, by: str) -> Move:
    """The move from `current` to `target` made by role `by`, or an error.

    Raises TransitionRefused (409) for a move the lifecycle does not have,
    Forbidden (403) when the move exists but `by` may not make it.
    """
    move = _BY_PAIR.get((current, target))
    if move is None:
        raise TransitionRefused(current, target, allowed_moves(current))
    if by not in move.by:
        raise Forbidden(f"only {', '.join(sorted(move.by))} may move an idea to '{target}'")
    return move
