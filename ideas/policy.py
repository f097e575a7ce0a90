"""The product's rules, once: who may do what, which statuses count as what,
when an idea is overdue for triage, and how the owning department is shown.

- Status sets are derived from the lifecycle's table (`lifecycle.MOVES`), so a
  new status or move changes them in one place.
- `PERMISSIONS` says, for each action, the roles that may attempt it (what the
  web's role guards check) and the rule on the facts of the idea that the
  domain checks itself (`authorize`).
- The triage SLA has one definition, `is_overdue`, with its SQL twins
  (`overdue_sql` for plain SQL, `overdue_where` for Piccolo queries); the
  triage queue, the daily reminder to the council and the leadership figures
  use them. `tests/test_policy.py` holds the twins to the function on both
  engines.
- `mail_detail` says how much the e-mail of each notice kind may say.
- What the pages offer comes from the same table: the projection's `Can`
  flags (`ideas.blind.can`), the navigation's links (`menu`) and the
  notification settings' switches (`offers_email_choice`); templates read
  those flags and never decide from roles themselves.

docs/product.md describes these rules in words.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ideas.errors import Forbidden
from ideas.lifecycle import (
    ACCEPTED,
    COUNCIL,
    IN_REVIEW,
    MOVES,
    NEW,
    STATUSES,
    SUBMITTER,
)
from ideas.viewer import ROLES, Viewer

# -- status sets, derived from the lifecycle -----------------------------------------------


def _reachable(start: Iterable[str]) -> frozenset[str]:
    """`start` and every status reachable from it through the moves."""
    seen = set(start)
    todo = list(seen)
    while todo:
        current = todo.pop()
        for move in MOVES:
            if move.source == current and move.target not in seen:
                seen.add(move.target)
                todo.append(move.target)
    return frozenset(seen)


#: statuses a council decision on an `in_review` idea moves it to, in the
#: order of the lifecycle's table
DECISION_OUTCOMES: tuple[str, ...] = tuple(
    m.target for m in MOVES if m.source == IN_REVIEW and COUNCIL in m.by
)
#: no move leaves them: the idea's story is over
FINISHED = frozenset(s for s in STATUSES if not any(m.source == s for m in MOVES))
#: some move still leaves them; these take votes (others answer 409)
OPEN = frozenset(STATUSES) - FINISHED
OPEN_FOR_VOTES = OPEN
#: waiting for the council: the decision's source, and what moves into it
#: without the submitter (a session's agenda takes `new` ideas)
AWAITING_TRIAGE = frozenset(
    {IN_REVIEW} | {m.source for m in MOVES if m.target == IN_REVIEW and SUBMITTER not in m.by}
)
#: reached by the submitter's own choice only (withdrawn): not a decision
SUBMITTERS_CHOICE = frozenset(m.target for m in MOVES if m.by == frozenset({SUBMITTER})) - (
    AWAITING_TRIAGE
)
#: statuses an idea can only be in after a council decision
DECIDED = _reachable(DECISION_OUTCOMES) - AWAITING_TRIAGE - SUBMITTERS_CHOICE
#: closed to votes: shown on the board only when asked for (in the table's order)
CLOSED = tuple(s for s in STATUSES if s not in OPEN_FOR_VOTES)
#: before any council decision: the submitter may still withdraw the idea
WITHDRAWABLE = frozenset(m.source for m in MOVES if m.target in SUBMITTERS_CHOICE)
#: accepted and everything after it on the way to shipping
ACCEPTED_OR_LATER = _reachable({ACCEPTED})
#: accepted and not finished: actions are added, moved and removed
IN_DELIVERY = ACCEPTED_OR_LATER - FINISHED
#: finished by delivery (shipped)
DELIVERED = ACCEPTED_OR_LATER & FINISHED
#: statuses a duplicate may point at: open ideas only. Shipped, declined,
#: duplicate and withdrawn ideas are not merge targets: merging a throwaway
#: idea into a shipped one would make its writer a co-submitter of work
#: already done (credit on the leaderboard)
MERGE_TARGETS = OPEN


# -- the triage SLA --------------------------------------------------------------------------


def is_overdue(
    submitted_at: dt.datetime,
    status: str,
    now: dt.datetime,
    sla_days: float,
    first_decided_at: dt.datetime | None = None,
) -> bool:
    """An idea is overdue for triage when it is still waiting for its first
    council decision (`new` or `in_review`, never decided) more than
    `sla_days` × 24 hours after it was submitted (the timestamp, not the day).

    An idea back `in_review` after the submitter answered a question has had
    a decision (`needs_info`) and was triaged; a `needs_info` idea waits for
    its submitter, not for the council.
    """
    return (
        status in AWAITING_TRIAGE
        and first_decided_at is None
        and submitted_at < now - dt.timedelta(days=sla_days)
    )


def overdue_sql(
    now: dt.datetime,
    sla_days: float,
    *,
    status: str = "status",
    submitted_at: str = "created_at",
    first_decided_at: str = "first_decided_at",
) -> tuple[str, list]:
    """`is_overdue` as an SQL condition over the given column expressions,
    with Piccolo's `{}` placeholders and their arguments."""
    states = sorted(AWAITING_TRIAGE)
    condition = (
        f"({status} IN ({', '.join('{}' for _ in states)}) "
        f"AND {first_decided_at} IS NULL AND {submitted_at} < {{}})"
    )
    return condition, [*states, now - dt.timedelta(days=sla_days)]


def overdue_where(now: dt.datetime, sla_days: float):
    """`is_overdue` as a Piccolo condition on the `idea` table."""
    from ideas.tables import Idea

    return (
        Idea.status.is_in(sorted(AWAITING_TRIAGE))
        & Idea.first_decided_at.is_null()
        & (Idea.created_at < now - dt.timedelta(days=sla_days))
    )


# -- the owning department -------------------------------------------------------------------


def owning_department_shown(department_id: int | None, names: dict[int, str]) -> str | None:
    """The owning department is the team that delivers the idea, chosen by the
    council, not an attribute of its submitter: wherever an idea is shown it
    is named (never folded into "Other"), and the ranking by owning
    department counts it fully. None when the idea has none yet."""
    if department_id is None:
        return None
    return names.get(department_id)


# -- what an e-mail may say -----------------------------------------------------------------

#: the e-mail names the idea (subject and link) and carries the notice's text
MAIL_DETAILED = "detailed"
#: the e-mail counts what waits behind log-in and names nothing
MAIL_COUNTS = "counts"
#: the e-mail says only "You have an update in Touchpoint", with a link to the inbox
MAIL_PRIVATE = "private"

#: kinds whose recipient's relation to the idea is no secret: work given to
#: them (an action they own) and the council's own queue (which never names
#: a submitter)
_DETAILED_MAIL_KINDS = frozenset(
    {"action_assigned", "action_due_soon", "action_overdue", "council_answer", "council_sla"}
)
#: kinds whose e-mail only counts: the weekly digest (a person's own ideas,
#: their votes and the week's top ideas, often their own, are all in it)
_COUNTED_MAIL_KINDS = frozenset({"weekly_digest"})


def mail_detail(kind: str) -> str:
    """How much the e-mail of a notice of `kind` may say: MAIL_DETAILED,
    MAIL_COUNTS or MAIL_PRIVATE (every other kind, and any new kind until
    it is listed here).

    Mail is read by more than its recipient: mail administrators, gateways
    and mailbox and server logs see every address, subject and body. So an
    e-mail carries only what this rule allows, and no reader of mail can
    pair an address with an idea the person submitted, voted for or follows
    (docs/threat-model.md, channel 6); the details are behind log-in.
    """
    if kind in _DETAILED_MAIL_KINDS:
        return MAIL_DETAILED
    if kind in _COUNTED_MAIL_KINDS:
        return MAIL_COUNTS
    return MAIL_PRIVATE


# -- permissions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a rule may need to know about the idea (or action) at hand."""

    status: str | None = None
    #: the actor submitted or co-submitted the idea
    is_own: bool = False
    #: the actor attends the triage session the decision is taken in
    attends: bool = False
    #: the actor owns the action
    is_owner: bool = False


def _always(roles: frozenset[str], facts: Facts) -> bool:
    return True


@dataclass(frozen=True)
class Permission:
    #: the actor needs one of these roles (the web's role guards check this)
    roles: frozenset[str]
    #: and the idea's facts must allow it (the domain checks this)
    rule: Callable[[frozenset[str], Facts], bool] = _always
    #: in words, for docs and errors
    says: str = ""

    @property
    def on_facts(self) -> bool:
        """Does the rule look at the idea's facts (or let in every role named)?"""
        return self.rule is not _always


def _p(roles: str, rule: Callable[[frozenset[str], Facts], bool] = _always, says: str = ""):
    return Permission(frozenset(roles.split()), rule, says)


PERMISSIONS: dict[str, Permission] = {
    "idea.submit": _p("staff"),
    "idea.view": _p("staff"),
    "idea.comment": _p("staff"),
    "idea.comment_as_council": _p("council", says="only council members comment as the council"),
    "comment.change": _p("staff", lambda r, f: f.is_own, "only the comment's author may change it"),
    "idea.vote": _p(
        "staff",
        lambda r, f: f.status in OPEN_FOR_VOTES and not f.is_own,
        "open ideas only (new to in_progress), never one's own",
    ),
    "idea.edit": _p(
        "staff", lambda r, f: f.is_own and f.status == NEW, "the submitter, while the idea is new"
    ),
    "idea.withdraw": _p(
        "staff",
        lambda r, f: f.is_own and f.status in WITHDRAWABLE,
        "the submitter, before the council decides",
    ),
    "idea.follow": _p("staff"),
    "idea.answer": _p(
        "staff", lambda r, f: f.is_own and f.status == "needs_info", "the submitter, on needs_info"
    ),
    "idea.credit": _p("staff", lambda r, f: f.is_own, "the submitter or a co-submitter"),
    "triage.queue": _p("council"),
    "triage.session": _p("council"),
    "triage.decide": _p(
        "council",
        lambda r, f: f.attends and f.status == IN_REVIEW and not f.is_own,
        "an attendee of the session, on an in_review idea not their own",
    ),
    "delivery.plan": _p(
        "council", lambda r, f: f.status in IN_DELIVERY, "on an accepted or in_progress idea"
    ),
    "delivery.move_action": _p(
        "staff", lambda r, f: "council" in r or f.is_owner, "the action's owner, or council"
    ),
    "delivery.ship": _p("council", lambda r, f: f.status in IN_DELIVERY),
    "delivery.propose": _p("staff", lambda r, f: f.is_owner, "an owner of one of its actions"),
    "delivery.board": _p("council"),
    "delivery.as_council": _p(
        "council", says="a council member moves an idea's delivery as the council"
    ),
    "idea.questions": _p(
        "staff",
        lambda r, f: "council" in r or f.is_own,
        "the idea's submitter and the council read the council's questions",
    ),
    "idea.see_edited": _p(
        "staff",
        lambda r, f: "council" in r or f.is_own,
        "the idea's submitter and the council see the day of its last edit",
    ),
    "triage.decide_in_session": _p(
        "council", lambda r, f: f.attends, "an attendee who confirmed the session"
    ),
    "roadmap.read": _p("staff"),
    "leaders.view": _p("leader admin"),
    "inbox.read": _p("staff"),
    "inbox.council_notices": _p("council", says="council notices reach council members only"),
    "account.own": _p("staff"),
    "admin.manage": _p("admin"),
    "admin.people.read": _p("admin"),
    "admin.audit.read": _p("admin"),
    "admin.settings.read": _p("admin"),
    "admin.reveal": _p("admin"),
}


def roles_for(action: str) -> frozenset[str]:
    """The roles that may attempt `action` (a guard's question)."""
    return PERMISSIONS[action].roles


def allowed(action: str, roles: frozenset[str], facts: Facts = Facts()) -> bool:
    """May someone with `roles` do `action` given the facts? (Unknown
    actions raise KeyError: a typo must not grant anything.)"""
    permission = PERMISSIONS[action]
    return bool(permission.roles & roles) and permission.rule(roles, facts)


def authorize(viewer, action: str, facts: Facts = Facts()) -> None:
    """Raise Forbidden unless the viewer may do `action`: naming the role
    when the viewer lacks it, else saying what the rule asks."""
    roles = frozenset(viewer.roles)
    if not allowed(action, roles, facts):
        permission = PERMISSIONS[action]
        if permission.roles & roles and permission.says:
            raise Forbidden(permission.says)
        needs = " or ".join(r for r in ROLES if r in permission.roles)
        detail = f"this needs the {needs} role"
        raise Forbidden(f"{detail}: {permission.says}" if permission.says else detail)


def authorize_person(actor, action: str, facts: Facts = Facts()) -> Viewer:
    """`authorize`, for what only a person has (their inbox, their account):
    the person, or Forbidden when the actor is a System."""
    authorize(actor, action, facts)
    if not isinstance(actor, Viewer):
        raise Forbidden(f"this is a person's own, not the {actor.label}'s")
    return actor


def authorize_attempt(viewer, action: str) -> None:
    """Raise Forbidden unless the viewer's roles may attempt `action`: for a
    use case that checks the rule on the idea's facts in its own SQL (a vote
    on a closed idea is a 409 conflict, never a 403)."""
    permission = PERMISSIONS[action]
    if not permission.roles & frozenset(viewer.roles):
        needs = " or ".join(r for r in ROLES if r in permission.roles)
        raise Forbidden(f"this needs the {needs} role")


#: finished by a council decision other than delivery (declined, merged as a
#: duplicate): never suggested as similar, nor among a week's new ideas
TURNED_DOWN = (DECIDED & FINISHED) - DELIVERED

#: never offered as a likely duplicate of a draft: turned down, or withdrawn
#: by its submitter (nobody can vote for it any more)
NOT_SUGGESTED = TURNED_DOWN | SUBMITTERS_CHOICE


# -- what the pages offer, from the table ----------------------------------------------------


@dataclass(frozen=True)
class Menu:
    """The navigation's links a person with given roles is offered: each
    shown exactly when the page behind it lets them in (its guard reads the
    same row)."""

    triage: bool
    delivery: bool
    leaders: bool
    admin: bool


@functools.lru_cache(maxsize=64)
def menu(roles: frozenset[str]) -> Menu:
    return Menu(
        triage=allowed("triage.queue", roles),
        delivery=allowed("delivery.board", roles),
        leaders=allowed("leaders.view", roles),
        admin=allowed("admin.manage", roles),
    )


#: notice kinds for the council's work (its queue, answers, proposals to ship)
COUNCIL_NOTICE_PREFIX = "council_"


def offers_email_choice(kind: str, roles: frozenset[str]) -> bool:
    """Does the settings page offer `kind`'s e-mail switch to someone with
    `roles`? Council notices reach council members only, so only they
    choose them (`inbox.council_notices`); every other kind is offered."""
    return not kind.startswith(COUNCIL_NOTICE_PREFIX) or allowed("inbox.council_notices", roles)
