"""Leadership figures pinned on a larger, irregular dataset.

`tests/test_leadership.py` checks the figures against an independent tally
of a small organisation built through the services. This file pins the
exact output of `ideas.leadership` (every figure of the page, both CSV
exports) on a bigger generated dataset, so that a rewrite of how the figures
are computed (in SQL rather than in Python) must give byte-for-byte the same
answers, on SQLite and on PostgreSQL.

The dataset (fixed seed, fixed ids and UUIDs, rows written straight into the
tables) has: departments above, at and below k (and one with only inactive
people, one with nobody); people sharing a name, and names differing only in
case; ideas in every status over ten quarters, with microsecond times;
credited, uncredited and undecided co-submitters, across shown and pooled
departments; shipped ideas without `shipped_at` or `accepted_at`; first
decisions from `first_decided_at`, from council status events only (the
earliest), and from neither; non-council and non-decision events that must
be ignored; decisions exactly at the SLA; ships on quarter boundaries; votes
by inactive people. "Now" is fixed.

The expected output lives in tests/data/leadership_pinned.json. It was
written by the implementation that loaded every row into Python (before the
figures moved into SQL), and rewritten once for issue 13's intended changes
(participation for closed quarters only, from the participation ledger,
people deactivated since still counted; owning departments by name whatever
their size); regenerate it only for an intended change of a
figure: `LEADERSHIP_PIN_WRITE=1 scripts/test tests/test_leadership_pinned.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid
from pathlib import Path

import pytest

from ideas import clock, context, participation
from ideas.leadership import exports, metrics, page
from ideas.leadership.periods import quarter_of, quarter_start, shift_quarter
from ideas.lifecycle import STATUSES as ALL_STATUSES
from ideas.lifecycle import TOUCHPOINTS
from ideas.org_settings import set_setting
from ideas.tables import Department, Event, Idea, Submission, User, Vote
from tests.factories import ctx_for

#: the eight statuses the pinned dataset was made with (a status added later,
#: such as "withdrawn", must not reshuffle it)
STATUSES = ALL_STATUSES[:8]

UTC = dt.UTC
NOW = dt.datetime(2026, 1, 20, 12, 30, 15, 250000, tzinfo=UTC)
PINNED = Path(__file__).parent / "data" / "leadership_pinned.json"
WRITE = os.environ.get("LEADERSHIP_PIN_WRITE") == "1"

#: name → (active people, inactive people)
DEPARTMENTS = {
    "Support": (9, 1),
    "finance": (6, 0),
    "Engineering": (5, 1),
    "Legal": (2, 0),
    "Facilities": (2, 1),
    "Design": (1, 0),
    "Archive": (0, 2),
    "Nobody": (0, 0),
}
FIRST_NAMES = ["Alex", "bea", "Carl", "Dana", "Eli", "fay", "Gus", "Hana", "Ivo", "Jo"]
LAST_NAMES = ["Kim", "Berg", "lund", "Ng", "Ortiz"]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _moment(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    span = int((end - start).total_seconds() * 1_000_000)
    return start + dt.timedelta(microseconds=rng.randrange(span))


async def build_dataset(seed: int = 20261123) -> None:
    rng = random.Random(seed)
    users: list[tuple[uuid.UUID, int, bool]] = []
    dept_ids = {}
    for n, (name, (active, inactive)) in enumerate(DEPARTMENTS.items(), start=1):
        dept_ids[name] = n
        await Department.insert(
            Department(id=n, name=name, created_at=dt.datetime(2023, 1, 1, tzinfo=UTC))
        ).run()
        for i in range(active + inactive):
            uid = _uuid(rng)
            if len(users) in (3, 17):  # two pairs of namesakes, in different departments
                person = "Alex Kim"
            elif len(users) in (5, 20):
                person = "bea Berg" if len(users) == 5 else "Bea berg"
            else:
                person = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {len(users)}"
            await User.insert(
                User(
                    id=uid,
                    email=f"user{len(users)}@example.test",
                    name=person,
                    title="Staff",
                    department=n,
                    active=i < active,
                )
            ).run()
            users.append((uid, n, i < active))

    start = dt.datetime(2023, 7, 1, tzinfo=UTC)
    end = dt.datetime(2026, 1, 10, tzinfo=UTC)
    owners = [None, *dept_ids.values()]
    idea_rows, submissions, events = [], [], []
    event_id = 0
    for idea_id in range(1, 181):
        status = STATUSES[idea_id % len(STATUSES)] if idea_id > 8 else STATUSES[idea_id - 1]
        if rng.random() < 0.25:
            status = "shipped"
        created = _moment(rng, start, end)
        delay = rng.choice(
            [
                dt.timedelta(days=14),  # exactly at the SLA: within
                dt.timedelta(days=14, microseconds=1),  # just past it
                *[dt.timedelta(days=rng.randrange(0, 40), seconds=rng.randrange(86400))] * 3,
                *[dt.timedelta(hours=rng.randrange(1, 100), microseconds=rng.randrange(10**6))] * 3,
            ]
        )
        decided = created + delay
        first_decided_at = None
        fallback = rng.random()
        council_events: list[dt.datetime] = []
        if status not in ("new", "in_review"):
            if fallback < 0.2:
                council_events = [decided, decided + dt.timedelta(days=rng.randrange(1, 9))]
            elif fallback < 0.3:
                pass  # decided, but no record of when
            else:
                first_decided_at = decided
        elif status == "in_review" and fallback < 0.3:
            first_decided_at = decided  # back in review after a question was answered
        elif status == "in_review" and fallback < 0.5:
            council_events = [decided]
        elif status == "new" and fallback < 0.2:
            council_events = [decided]  # a new idea: its events never count
        accepted_at = None
        if status in ("accepted", "in_progress", "shipped") and rng.random() < 0.9:
            accepted_at = decided + dt.timedelta(hours=rng.randrange(0, 48))
        if status == "declined" and rng.random() < 0.15:
            accepted_at = decided  # accepted once, declined later
        shipped_at = None
        if status == "shipped" and rng.random() < 0.93:
            shipped_at = (accepted_at or decided) + dt.timedelta(
                days=rng.randrange(1, 200),
                seconds=rng.randrange(86400),
                microseconds=rng.randrange(10**6),
            )
            if rng.random() < 0.08:  # on a quarter boundary, or just before one
                q = quarter_of(shipped_at)
                boundary = quarter_start(*shift_quarter(*q, 1))
                shipped_at = boundary - dt.timedelta(microseconds=rng.choice([0, 1]))
            shipped_at = min(shipped_at, NOW - dt.timedelta(hours=1))
        if status == "in_progress" and rng.random() < 0.1:
            shipped_at = decided + dt.timedelta(days=3)  # reopened: not shipped now
        owner = rng.choice(owners) if status in ("accepted", "in_progress", "shipped") else None
        title = f"Idea {idea_id}: make step {rng.randrange(100)} clearer"
        if idea_id % 37 == 0:
            title = f"=SUM(A{idea_id}) and -{idea_id} please"
        idea_rows.append(
            Idea(
                id=idea_id,
                title=title,
                problem="Customers find this step slow and confusing.",
                proposal="Make the step quick, clear and explained in plain words.",
                touchpoint=rng.choice(TOUCHPOINTS),
                status=status,
                votes=rng.randrange(0, 50),
                created_at=created,
                submitted_on=created.date(),
                owning_department=owner,
                duplicate_of=rng.randrange(1, idea_id) if status == "duplicate" else None,
                first_decided_at=first_decided_at,
                accepted_at=accepted_at,
                shipped_at=shipped_at,
                updated_at=created,
            )
        )
        for at in council_events:
            event_id += 1
            events.append(
                Event(
                    id=event_id,
                    idea=idea_id,
                    kind="status",
                    status=rng.choice(["accepted", "declined", "needs_info", "duplicate"]),
                    actor_label="CX council",
                    created_at=at,
                    dispatched_at=at,
                )
            )
        # noise that decides nothing: earlier than any decision
        for kind, label, st in (
            ("reveal", "System", "accepted"),
            ("status", "Submitter", "in_review"),
            ("status", "CX council", "in_review"),
            ("action_assigned", "CX council", "accepted"),
        ):
            if rng.random() < 0.3:
                event_id += 1
                at = created + dt.timedelta(minutes=rng.randrange(1, 600))
                events.append(
                    Event(
                        id=event_id,
                        idea=idea_id,
                        kind=kind,
                        status=st,
                        actor_label=label,
                        created_at=at,
                        dispatched_at=at,
                    )
                )
        people = rng.sample(users, rng.choice([1, 1, 1, 2, 2, 3]))
        for role_n, (uid, _dept, _active) in enumerate(people):
            submissions.append(
                Submission(
                    idea=idea_id,
                    user=uid,
                    role="submitter" if role_n == 0 else "co_submitter",
                    credit=rng.choice([True, True, False, None]),
                    created_at=created,
                )
            )
    # undecided exactly at the SLA (not overdue yet) and just past it
    for n, (status, age) in enumerate(
        [
            ("new", dt.timedelta(days=14)),
            ("new", dt.timedelta(days=14, microseconds=1)),
            ("in_review", dt.timedelta(days=14)),
            ("in_review", dt.timedelta(days=14, microseconds=1)),
        ],
        start=len(idea_rows) + 1,
    ):
        created = NOW - age
        idea_rows.append(
            Idea(
                id=n,
                title=f"Idea {n}: waiting",
                problem="Customers find this step slow and confusing.",
                proposal="Make the step quick, clear and explained in plain words.",
                touchpoint="other",
                status=status,
                created_at=created,
                submitted_on=created.date(),
                updated_at=created,
            )
        )
        submissions.append(Submission(idea=n, user=users[n % len(users)][0], created_at=created))
    await Idea.insert(*idea_rows).run()
    for n, s in enumerate(submissions, start=1):
        s.id = n
    await Submission.insert(*submissions).run()
    await Event.insert(*events).run()
    pairs = set()
    votes = []
    voters = rng.sample(users, len(users) * 2 // 3)  # the others never vote
    while len(votes) < 220:
        idea = rng.choice(idea_rows)
        uid = rng.choice(voters)[0]
        if (idea.id, uid) in pairs:
            continue
        pairs.add((idea.id, uid))
        votes.append(
            Vote(
                id=len(votes) + 1,
                idea=idea.id,
                user=uid,
                created_at=_moment(rng, idea.created_at, NOW - dt.timedelta(days=1)),
            )
        )
    await Vote.insert(*votes).run()
    await participation.backfill()
    await set_setting("triage_sla_days", 14)


def _dump(value):
    if isinstance(value, page.LeadersView):
        return {
            "period": value.period,
            "periods": value.periods,
            "leaderboard": value.leaderboard.model_dump(mode="json"),
            "metrics": value.metrics.model_dump(mode="json"),
        }
    return value.model_dump(mode="json")


QUARTERS = [f"{y}-Q{q}" for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)] + ["2026-Q1"]


async def current_outputs() -> dict:
    # a leader's reading (the command line holds every role) at the pinned moment
    ctx = ctx_for(context.COMMAND_LINE, now=NOW)
    out: dict = {}
    for k in (5, 6, 30):
        await set_setting("k_anonymity", k)
        periods = ["all", *QUARTERS] if k == 5 else ["all", "2024-Q4", "2025-Q3"]
        for period in periods:
            out[f"k{k} view {period}"] = _dump(await page.leaders_view(ctx, period))
        out[f"k{k} leaderboard_csv all"] = await exports.leaderboard_csv(ctx, "all")
    await set_setting("k_anonymity", 5)
    for period in ("all", "2024-Q2", "2025-Q4"):
        out[f"ideas_csv {period}"] = await exports.ideas_csv(ctx, period)
    out["leaderboard_csv 2025-Q1"] = await exports.leaderboard_csv(ctx, "2025-Q1")
    await set_setting("triage_sla_days", 3)
    out["sla3 metrics all"] = _dump(await metrics.metrics(ctx, "all"))
    out["sla3 metrics 2025-Q2"] = _dump(await metrics.metrics(ctx, "2025-Q2"))
    return out


@pytest.fixture
def fixed_now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


async def test_every_figure_matches_the_pinned_output(fixed_now):
    await build_dataset()
    got = json.loads(json.dumps(await current_outputs()))
    if WRITE:
        PINNED.parent.mkdir(exist_ok=True)
        PINNED.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(PINNED.read_text())
    assert got.keys() == expected.keys()
    for key in expected:
        if isinstance(expected[key], dict):
            for part in expected[key]:
                assert got[key][part] == expected[key][part], (key, part)
        assert got[key] == expected[key], key


async def test_the_pinned_dataset_exercises_the_rules(fixed_now):
    """The pin is only worth something if the dataset reaches every rule."""
    await build_dataset()
    expected = json.loads(PINNED.read_text())
    board = expected["k5 view all"]["leaderboard"]
    kinds = {e["kind"] for e in board["by_department"]}
    assert kinds == {"department", "pooled", "anonymous"}
    # owning departments are shown by name whatever their size (issue 13, item 9)
    owners = {e["name"] for e in board["by_owning_department"]}
    assert {"Legal", "Design"} & owners and "Other" not in owners
    # participation: closed quarters only; "now" is in 2026-Q1
    assert expected["k5 view 2026-Q1"]["metrics"]["participation"] == []
    assert expected["k5 view 2025-Q4"]["metrics"]["participation"] != []
    names = [e["name"] for e in board["by_person"]]
    assert names.count("Alex Kim") == 2 or names.count("bea Berg") + names.count("Bea berg") == 2
    ranks = [e["rank"] for e in board["by_person"]]
    assert len(set(ranks)) < len(ranks)  # ties share a rank
    assert any(e["name"] == "Other" for e in expected["k6 view all"]["metrics"]["participation"])
    assert expected["k30 view all"]["metrics"]["participation"] == []
    metrics = expected["k5 view all"]["metrics"]
    assert metrics["sla"]["undecided_overdue"] > 0
    assert metrics["small_departments_hidden"] == 3
    # shipped without shipped_at: in the funnel, not on the board
    funnel_shipped = metrics["funnel"]["shipped"]
    assert funnel_shipped > board["shipped_total"]
    # co-submitters: more credit lines than shipped ideas credited to anyone
    credits = (
        await Submission.count()
        .where(Submission.credit.eq(True), Submission.idea.status == "shipped")
        .run()
    )
    credited_ideas = len(
        await Submission.select(Submission.idea)
        .where(Submission.credit.eq(True), Submission.idea.status == "shipped")
        .distinct()
        .run()
    )
    assert credits > credited_ideas
    # the event fallback is in use: some decided ideas lack first_decided_at
    assert (
        await Idea.count()
        .where(Idea.first_decided_at.is_null(), Idea.status.not_in(["new", "in_review"]))
        .run()
    ) > 5
