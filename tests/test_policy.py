"""The policy table, the status sets and the triage-SLA rule as pure
functions: no database, no app, no clock (every `now` is given)."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

import pytest

from ideas import policy
from ideas.errors import Forbidden
from ideas.lifecycle import STATUSES
from ideas.policy import Facts
from ideas.viewer import Viewer


@pytest.fixture(autouse=True)
def clean_state():
    """Pure tests: replaces conftest's database clean-up with nothing."""
    yield


# -- status sets, derived from the lifecycle --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("OPEN_FOR_VOTES", {"new", "in_review", "needs_info", "accepted", "in_progress"}),
        ("FINISHED", {"shipped", "declined", "duplicate", "withdrawn"}),
        # shipped, declined, duplicate and withdrawn ideas are not merge targets
        ("MERGE_TARGETS", {"new", "in_review", "needs_info", "accepted", "in_progress"}),
        ("CLOSED", {"shipped", "declined", "duplicate", "withdrawn"}),
        ("WITHDRAWABLE", {"new", "in_review", "needs_info"}),
        ("AWAITING_TRIAGE", {"new", "in_review"}),
        (
            "DECIDED",
            {"needs_info", "accepted", "in_progress", "shipped", "declined", "duplicate"},
        ),
        ("ACCEPTED_OR_LATER", {"accepted", "in_progress", "shipped"}),
        ("IN_DELIVERY", {"accepted", "in_progress"}),
        ("DELIVERED", {"shipped"}),
        ("TURNED_DOWN", {"declined", "duplicate"}),
    ],
)
def test_status_sets(name: str, expected: set[str]):
    assert set(getattr(policy, name)) == expected


def test_decision_outcomes_are_the_council_moves_out_of_review():
    assert set(policy.DECISION_OUTCOMES) == {"accepted", "declined", "duplicate", "needs_info"}


def test_every_status_is_open_or_finished_never_both():
    assert policy.OPEN | policy.FINISHED == set(STATUSES)
    assert not policy.OPEN & policy.FINISHED


# -- the triage SLA ---------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
SLA = 14
EDGE = NOW - dt.timedelta(days=SLA)
TICK = dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("submitted_at", "status", "decided", "overdue"),
    [
        (EDGE - TICK, "new", False, True),
        (EDGE, "new", False, False),  # exactly 14 × 24 hours: not yet
        (EDGE + TICK, "new", False, False),
        (EDGE - TICK, "in_review", False, True),
        (EDGE - dt.timedelta(days=30), "in_review", True, False),  # answered: was triaged
        (EDGE - TICK, "needs_info", True, False),  # waits for the submitter
        (EDGE - TICK, "accepted", True, False),
        (EDGE - TICK, "declined", True, False),
        # 13 days and 23 hours, submitted late in a day: the day count would
        # say 14 "days" on the calendar, the timestamp says not yet
        (NOW - dt.timedelta(days=13, hours=23), "new", False, False),
        (NOW - dt.timedelta(days=14, hours=1), "new", False, True),
    ],
)
def test_is_overdue(submitted_at, status, decided, overdue):
    first_decided_at = submitted_at + dt.timedelta(days=1) if decided else None
    assert policy.is_overdue(submitted_at, status, NOW, SLA, first_decided_at) is overdue


def test_overdue_sql_names_the_columns_and_takes_arguments():
    sql, args = policy.overdue_sql(NOW, SLA, status="s", submitted_at="c", first_decided_at="d")
    assert sql.count("{}") == len(args)
    assert "s IN" in sql and "d IS NULL" in sql and "c <" in sql
    assert args[-1] == EDGE


# -- the owning department --------------------------------------------------------------------


def test_the_owning_department_is_always_named():
    names = {1: "Finance", 2: "Legal"}
    assert policy.owning_department_shown(2, names) == "Legal"
    assert policy.owning_department_shown(None, names) is None


# -- what an e-mail may say -------------------------------------------------------------------

#: every notice kind, and how much its e-mail may say
MAIL = {
    # about the recipient's own idea, vote or follow: nothing that pairs them
    "idea_status": policy.MAIL_PRIVATE,
    "idea_question": policy.MAIL_PRIVATE,
    "vote_accepted": policy.MAIL_PRIVATE,
    "vote_in_progress": policy.MAIL_PRIVATE,
    "vote_shipped": policy.MAIL_PRIVATE,
    "vote_declined": policy.MAIL_PRIVATE,
    "vote_withdrawn": policy.MAIL_PRIVATE,
    "vote_merged": policy.MAIL_PRIVATE,
    "idea_comments": policy.MAIL_PRIVATE,
    "identity_revealed": policy.MAIL_PRIVATE,
    "admin_reveal": policy.MAIL_PRIVATE,
    "action_removed": policy.MAIL_PRIVATE,
    "council_ship_proposed": policy.MAIL_PRIVATE,
    "action_ship_changes": policy.MAIL_PRIVATE,
    "webhook_disabled": policy.MAIL_PRIVATE,
    # work given to the recipient, the council's own queue: no secret
    "action_assigned": policy.MAIL_DETAILED,
    "action_due_soon": policy.MAIL_DETAILED,
    "action_overdue": policy.MAIL_DETAILED,
    "council_answer": policy.MAIL_DETAILED,
    "council_sla": policy.MAIL_DETAILED,
    # the digest counts, names nothing
    "weekly_digest": policy.MAIL_COUNTS,
}


@pytest.mark.parametrize(("kind", "expected"), sorted(MAIL.items()))
def test_how_much_each_kind_of_mail_may_say(kind: str, expected: str):
    assert policy.mail_detail(kind) == expected


def test_every_notice_kind_has_a_mail_case_here():
    from ideas.notify.kinds import KINDS

    assert set(MAIL) == set(KINDS)


def test_a_kind_not_yet_decided_is_mailed_privately():
    assert policy.mail_detail("something_new") == policy.MAIL_PRIVATE
    assert policy.mail_detail("") == policy.MAIL_PRIVATE


# -- permissions ------------------------------------------------------------------------------

STAFF = frozenset({"staff"})
COUNCIL = frozenset({"staff", "council"})
LEADER = frozenset({"staff", "leader"})
ADMIN = frozenset({"staff", "admin"})

ALLOWED = [
    # (action, roles, facts, allowed)
    ("idea.submit", STAFF, Facts(), True),
    ("idea.vote", STAFF, Facts(status="new"), True),
    ("idea.vote", STAFF, Facts(status="in_progress"), True),
    ("idea.vote", STAFF, Facts(status="shipped"), False),
    ("idea.vote", STAFF, Facts(status="declined"), False),
    ("idea.vote", STAFF, Facts(status="new", is_own=True), False),  # nobody votes for their own
    ("idea.edit", STAFF, Facts(status="new", is_own=True), True),
    ("idea.edit", STAFF, Facts(status="in_review", is_own=True), False),
    ("idea.edit", ADMIN, Facts(status="new"), False),
    ("idea.withdraw", STAFF, Facts(status="needs_info", is_own=True), True),
    ("idea.withdraw", STAFF, Facts(status="accepted", is_own=True), False),
    ("idea.withdraw", COUNCIL, Facts(status="new"), False),
    ("idea.answer", STAFF, Facts(status="needs_info", is_own=True), True),
    ("idea.answer", STAFF, Facts(status="needs_info"), False),
    ("idea.answer", COUNCIL, Facts(status="in_review", is_own=True), False),
    ("idea.credit", STAFF, Facts(is_own=True), True),
    ("idea.credit", ADMIN, Facts(), False),
    ("idea.comment_as_council", COUNCIL, Facts(), True),
    ("idea.comment_as_council", ADMIN, Facts(), False),
    ("comment.change", STAFF, Facts(is_own=True), True),
    ("comment.change", ADMIN, Facts(), False),
    ("triage.queue", STAFF, Facts(), False),
    ("triage.queue", COUNCIL, Facts(), True),
    ("triage.queue", ADMIN, Facts(), False),
    ("triage.decide", COUNCIL, Facts(status="in_review", attends=True), True),
    ("triage.decide", COUNCIL, Facts(status="in_review"), False),  # not an attendee
    ("triage.decide", COUNCIL, Facts(status="new", attends=True), False),
    ("triage.decide", COUNCIL, Facts(status="in_review", attends=True, is_own=True), False),
    ("triage.decide", STAFF, Facts(status="in_review", attends=True), False),
    ("delivery.plan", COUNCIL, Facts(status="accepted"), True),
    ("delivery.plan", COUNCIL, Facts(status="shipped"), False),
    ("delivery.move_action", STAFF, Facts(is_owner=True), True),
    ("delivery.move_action", COUNCIL, Facts(), True),
    ("delivery.move_action", STAFF, Facts(), False),
    ("delivery.ship", COUNCIL, Facts(status="in_progress"), True),
    ("delivery.ship", COUNCIL, Facts(status="new"), False),
    ("delivery.propose", STAFF, Facts(is_owner=True), True),
    ("delivery.propose", COUNCIL, Facts(), False),
    ("delivery.board", COUNCIL, Facts(), True),
    ("delivery.board", LEADER, Facts(), False),
    ("leaders.view", LEADER, Facts(), True),
    ("leaders.view", ADMIN, Facts(), True),
    ("leaders.view", COUNCIL, Facts(), False),
    ("admin.manage", ADMIN, Facts(), True),
    ("admin.manage", LEADER, Facts(), False),
    ("admin.reveal", ADMIN, Facts(), True),
    ("admin.reveal", COUNCIL, Facts(), False),
    ("inbox.read", STAFF, Facts(), True),
    ("account.own", STAFF, Facts(), True),
    # the council's questions on an idea: its submitter and the council
    ("idea.questions", STAFF, Facts(is_own=True), True),
    ("idea.questions", COUNCIL, Facts(), True),
    ("idea.questions", STAFF, Facts(), False),
    ("idea.questions", ADMIN, Facts(), False),
    ("idea.questions", LEADER, Facts(), False),
    # the day of the last edit: the submitter and the council
    ("idea.see_edited", STAFF, Facts(is_own=True), True),
    ("idea.see_edited", COUNCIL, Facts(), True),
    ("idea.see_edited", STAFF, Facts(), False),
    ("idea.see_edited", ADMIN, Facts(), False),
    # deciding in a session: a council member who confirmed attending it
    ("triage.decide_in_session", COUNCIL, Facts(attends=True), True),
    ("triage.decide_in_session", COUNCIL, Facts(), False),
    ("triage.decide_in_session", STAFF, Facts(attends=True), False),
    # an idea's delivery moved by a council member is the council's move
    ("delivery.as_council", COUNCIL, Facts(), True),
    ("delivery.as_council", STAFF, Facts(is_owner=True), False),
    ("delivery.as_council", ADMIN, Facts(), False),
    ("roadmap.read", STAFF, Facts(), True),
    ("roadmap.read", frozenset(), Facts(), False),
    ("inbox.council_notices", COUNCIL, Facts(), True),
    ("inbox.council_notices", STAFF, Facts(), False),
    ("inbox.council_notices", ADMIN, Facts(), False),
    # the admin pages' reads: admins only, like their guard
    ("admin.people.read", ADMIN, Facts(), True),
    ("admin.people.read", LEADER, Facts(), False),
    ("admin.people.read", COUNCIL, Facts(), False),
    ("admin.people.read", STAFF, Facts(), False),
    ("admin.audit.read", ADMIN, Facts(), True),
    ("admin.audit.read", LEADER, Facts(), False),
    ("admin.audit.read", COUNCIL, Facts(), False),
    ("admin.settings.read", ADMIN, Facts(), True),
    ("admin.settings.read", LEADER, Facts(), False),
    ("admin.settings.read", COUNCIL, Facts(), False),
]


@pytest.mark.parametrize(("action", "roles", "facts", "expected"), ALLOWED)
def test_permissions(action, roles, facts, expected):
    assert policy.allowed(action, roles, facts) is expected


def test_every_permission_has_a_case_here():
    assert {row[0] for row in ALLOWED} >= set(policy.PERMISSIONS) - {
        "idea.view",
        "idea.comment",
        "idea.follow",
        "triage.session",
    }


def test_an_unknown_action_grants_nothing():
    with pytest.raises(KeyError):
        policy.allowed("idea.delete", ADMIN)


def test_authorize_raises_forbidden_naming_the_role():
    viewer = Viewer(id=uuid4(), name="Dan", email="dan@example.com", department_id=1)
    with pytest.raises(Forbidden, match="council"):
        policy.authorize(viewer, "triage.queue")
    policy.authorize(viewer, "idea.vote", Facts(status="new"))


def test_the_guards_read_their_roles_from_the_table():
    from web import auth

    assert auth.council.roles == policy.roles_for("triage.queue") == {"council"}
    assert auth.admin.roles == policy.roles_for("admin.manage") == {"admin"}
    assert auth.leader_or_admin.roles == policy.roles_for("leaders.view") == {"leader", "admin"}


def test_admin_reads_need_what_admin_changes_need():
    """The admin pages share one guard: their reads let in exactly who may change."""
    for action in ("admin.people.read", "admin.audit.read", "admin.settings.read"):
        assert policy.roles_for(action) == policy.roles_for("admin.manage")


# -- what the pages offer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "links"),
    [
        (STAFF, set()),
        (COUNCIL, {"triage", "delivery"}),
        (LEADER, {"leaders"}),
        (ADMIN, {"leaders", "admin"}),
        (
            frozenset({"staff", "council", "leader", "admin"}),
            {"triage", "delivery", "leaders", "admin"},
        ),
    ],
)
def test_the_menu_offers_the_pages_the_guards_open(roles, links):
    menu = policy.menu(roles)
    assert {
        name for name in ("triage", "delivery", "leaders", "admin") if getattr(menu, name)
    } == links


def test_council_notices_are_offered_to_the_council_only():
    from ideas.notify.kinds import EMAIL_OPTIONAL

    council_kinds = {k for k in EMAIL_OPTIONAL if k.startswith("council_")}
    assert council_kinds  # the settings page has some to hide
    for kind in EMAIL_OPTIONAL:
        assert policy.offers_email_choice(kind, COUNCIL)
        assert policy.offers_email_choice(kind, STAFF) is (kind not in council_kinds)
        assert policy.offers_email_choice(kind, ADMIN) is (kind not in council_kinds)


# -- the domain checks itself: a forgotten guard opens no hole --------------------------------

NOT_ADMIN = Viewer(
    id=uuid4(),
    name="Nora",
    email="nora@example.com",
    department_id=1,
    roles=frozenset({"staff", "council", "leader"}),
)


def _reads():
    from ideas import audit, org_settings
    from ideas.integrations import scim
    from ideas.people import directory

    everything = audit.AuditFilter()
    return {
        "directory.search_people": lambda ctx: directory.search_people(ctx),
        "directory.get_person": lambda ctx: directory.get_person(ctx, uuid4()),
        "directory.list_departments": lambda ctx: directory.list_departments(ctx),
        "directory.overview": lambda ctx: directory.overview(ctx),
        "audit.list_entries": lambda ctx: audit.list_entries(ctx, everything),
        "audit.export_csv": lambda ctx: audit.export_csv(ctx, everything),
        "audit.actors": lambda ctx: audit.actors(ctx),
        "audit.actions": lambda ctx: audit.actions(ctx),
        "org_settings.settings_view": lambda ctx: org_settings.settings_view(ctx),
        "scim.list_tokens": lambda ctx: scim.list_tokens(ctx),
    }


@pytest.mark.parametrize("name", sorted(_reads()))
async def test_admin_reads_refuse_anyone_but_an_admin(name: str):
    """Called without the web's admin guard, by someone with every role but
    admin: the use case itself refuses (before reading anything: no
    database is open here)."""
    from ideas import context

    ctx = context.make(NOT_ADMIN, now=NOW)
    with pytest.raises(Forbidden, match="admin"):
        await _reads()[name](ctx)


async def test_the_roadmap_refuses_an_actor_without_the_staff_role():
    from ideas import context, roadmap

    with pytest.raises(Forbidden, match="staff"):
        await roadmap.roadmap(context.make(context.VISITOR, now=NOW))


# -- no role checks outside the table ---------------------------------------------------------

#: modules still reading a role flag themselves, each with its reason
ROLE_READS_ALLOWED: set[str] = set()


def test_nothing_reads_a_role_flag_but_the_policy():
    """Domain, web and templates ask `ideas.policy` (allowed, authorize, the
    projection's `can` flags, `menu`), never `viewer.is_council` and the
    like: one table answers who may do what."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    flag = re.compile(r"(?<!User)(?<!\bu)\.is_(council|leader|admin)\b")
    found = []
    for folder in ("ideas", "web", "touchpoint"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".py", ".html") or "piccolo_migrations" in path.parts:
                continue
            name = path.relative_to(root).as_posix()
            if name in ("ideas/viewer.py", "ideas/context.py") or name in ROLE_READS_ALLOWED:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if flag.search(line):
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "role flags read outside ideas.policy:\n" + "\n".join(found)
