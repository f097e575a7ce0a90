"""Seed a fresh PostgreSQL database with a realistic board, fast.

Rows go in with asyncpg's binary COPY (`copy_records_to_table`) in batches,
with foreign-key triggers off for the load (`session_replication_role =
replica`): every reference is made consistent by construction here, and the
migrations' indexes stay as they are. Popularity is skewed (Zipf-like over a
random ranking of the ideas, capped below the number of users) and
`idea.votes` equals the number of Vote rows of each idea. Every user shares
one argon2 hash (hashing 20,000 passwords would take half an hour).

Size: over 400 lines: every table's rows are made in one `seed()`, so that
each reference is consistent by construction, which the load relies on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
IDEAS_JSONL = ROOT / "touchpoint" / "data" / "ideas.jsonl"

#: the password every seeded user has (one argon2 hash, reused)
PASSWORD = "bench-password-correct-horse"

DEPARTMENTS = (
    "Support",
    "Billing",
    "Finance",
    "Sales",
    "Marketing",
    "Product",
    "Engineering",
    "Operations",
    "IT",
    "HR",
    "Legal",
    "Business Development",
    "Logistics",
    "Customer Success",
)

TITLES = (
    "Support Agent",
    "Senior Support Agent",
    "Billing Specialist",
    "Account Executive",
    "Product Manager",
    "Software Engineer",
    "Operations Analyst",
    "Customer Success Manager",
    "Team Lead",
    "Designer",
)

TITLE_PREFIXES = ("", "", "", "Pilot: ", "Quick win: ", "Revisit: ", "Proposal: ", "Small fix: ")
TITLE_SUFFIXES = (
    "",
    "",
    " for enterprise accounts",
    " in the EU",
    " for new customers",
    " (phase 2)",
    " on mobile",
    " for partners",
    " before renewal",
    " in the portal",
)
BODY_TAILS = (
    "",
    " We hear this every week in the queue.",
    " It affects the largest accounts most.",
    " Several customers raised it in the last survey.",
    " The workaround costs the team hours each month.",
)

OPEN = ("new", "in_review", "needs_info", "accepted", "in_progress")
VOTE_TARGETS = frozenset(OPEN)


@dataclass(frozen=True)
class Scale:
    name: str
    users: int
    ideas: int
    votes: int
    #: voters of the idea that ships in the fan-out timing
    fanout_voters: int
    #: API tokens made for load (distinct users)
    tokens: int
    #: browser sessions made for the HTML pages
    sessions: int
    batch: int = 50_000


SCALES = {
    "tiny": Scale(
        "tiny",
        users=200,
        ideas=300,
        votes=2_000,
        fanout_voters=150,
        tokens=150,
        sessions=20,
        batch=5_000,
    ),
    "S": Scale(
        "S",
        users=2_000,
        ideas=10_000,
        votes=200_000,
        fanout_voters=10_000,
        tokens=2_000,
        sessions=200,
    ),
    "L": Scale(
        "L",
        users=20_000,
        ideas=100_000,
        votes=2_000_000,
        fanout_voters=10_000,
        tokens=4_000,
        sessions=400,
    ),
}


@dataclass
class Seeded:
    """What the load phase needs to know about the seeded data."""

    scale: Scale
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    #: what the similar suggestions rank by in this database
    similar_method: str = ""
    statuses: dict[str, int] = field(default_factory=dict)
    #: (user id, email, token) of ordinary staff users with an API token
    staff_tokens: list[tuple[str, str, str]] = field(default_factory=list)
    #: browser session keys (cookie values) of ordinary staff users
    session_keys: list[str] = field(default_factory=list)
    council_token: str = ""
    leader_token: str = ""
    emails: list[str] = field(default_factory=list)
    #: idea ids, most popular first (for the idea page: skewed reads)
    ideas_by_popularity: list[int] = field(default_factory=list)
    open_ideas_by_popularity: list[int] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    fanout_idea: int = 0
    fanout_voters: int = 0
    extra_users: int = 0


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._draw(force=self.tty)

    def add(self, n: int) -> None:
        self.done += n
        self._draw()

    def _draw(self, force: bool = False, end: bool = False) -> None:
        now = time.perf_counter()
        if not (force or end) and now - self._last < (0.1 if self.tty else 2.0):
            return
        self._last = now
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        line = (
            f"  {self.label:<16} [{bar:<30}] {self.done:>10,}/{self.total:,}"
            f"  {now - self.started:6.1f} s"
        )
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if end else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def finish(self) -> None:
        self.done = self.total
        self._draw(end=True)


def production_hash(password: str = PASSWORD) -> str:
    """One argon2 hash with the production parameters (what the app verifies)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def token_digest(token: str) -> str:
    """What ApiToken.token_hash stores (ideas.security.digest)."""
    return hashlib.sha256(token.encode()).hexdigest()


def load_base_ideas() -> list[dict]:
    with open(IDEAS_JSONL, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def zipf_counts(n: int, total: int, cap: int, s: float = 1.0, shift: float = 3.0) -> list[int]:
    """`n` integer counts summing to `total`, Zipf-like (rank r ∝ 1/(r+shift)^s),
    none above `cap` (the excess goes down the ranking)."""
    if n == 0:
        return []
    total = min(total, n * cap)
    weights = [1.0 / (r + shift) ** s for r in range(n)]
    counts = [0.0] * n
    capped = [False] * n
    remaining = float(total)
    for _ in range(50):
        free = sum(w for w, c in zip(weights, capped, strict=True) if not c)
        if free <= 0 or remaining <= 0.5:
            break
        spill = 0.0
        for i in range(n):
            if capped[i]:
                continue
            counts[i] += remaining * weights[i] / free
            if counts[i] >= cap:
                spill += counts[i] - cap
                counts[i] = cap
                capped[i] = True
        remaining = spill
    whole = [int(c) for c in counts]
    short = total - sum(whole)
    order = sorted(range(n), key=lambda i: counts[i] - whole[i], reverse=True)
    for i in order:
        if short <= 0:
            break
        if whole[i] < cap:
            whole[i] += 1
            short -= 1
    return whole


def _status_plan(n: int, rng: random.Random) -> list[str]:
    """Statuses by age: ids are chronological, the newest ideas are still new."""
    statuses = []
    for i in range(n):
        age = 1.0 - i / max(n - 1, 1)  # 1.0 = oldest, 0.0 = newest
        r = rng.random()
        if age < 0.04:
            statuses.append("new" if r < 0.85 else "in_review")
        elif age < 0.10:
            statuses.append(
                "in_review"
                if r < 0.45
                else "needs_info"
                if r < 0.60
                else "accepted"
                if r < 0.80
                else "declined"
                if r < 0.95
                else "new"
            )
        else:
            statuses.append(
                "accepted"
                if r < 0.12
                else "in_progress"
                if r < 0.24
                else "shipped"
                if r < 0.52
                else "declined"
                if r < 0.90
                else "duplicate"
                if r < 0.97
                else "new"
            )
    return statuses


async def _copy(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    records: Iterable[tuple],
    total: int,
    batch: int,
    label: str | None = None,
) -> int:
    bar = Progress(label or table, total)
    buffer: list[tuple] = []
    written = 0
    for record in records:
        buffer.append(record)
        if len(buffer) >= batch:
            await conn.copy_records_to_table(table, records=buffer, columns=list(columns))
            written += len(buffer)
            bar.add(len(buffer))
            buffer = []
    if buffer:
        await conn.copy_records_to_table(table, records=buffer, columns=list(columns))
        written += len(buffer)
    bar.finish()
    return written


def _title_variant(base: str, k: int) -> str:
    prefix = TITLE_PREFIXES[k % len(TITLE_PREFIXES)]
    suffix = TITLE_SUFFIXES[(k // len(TITLE_PREFIXES)) % len(TITLE_SUFFIXES)]
    title = f"{prefix}{base}{suffix}"
    return title[:140]


async def seed(conn: asyncpg.Connection, scale: Scale, *, seed_value: int = 7) -> Seeded:
    """Fill an empty, migrated database. Returns what the load phase needs."""
    from ideas import embedding, similarity

    started = time.perf_counter()
    rng = random.Random(seed_value)
    out = Seeded(scale=scale)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.date()
    batch = scale.batch
    password_hash = production_hash()

    await conn.execute("SET session_replication_role = replica")  # FK triggers off for the load
    await conn.execute("SET synchronous_commit = off")

    # -- departments -----------------------------------------------------------
    dept_ids = list(range(1, len(DEPARTMENTS) + 1))
    await conn.copy_records_to_table(
        "department",
        records=[(i, name, now) for i, name in zip(dept_ids, DEPARTMENTS, strict=True)],
        columns=["id", "name", "created_at"],
    )

    # -- users -----------------------------------------------------------------
    # the fan-out fixture's own voters, when the ordinary ones (all but the
    # three bench accounts and the idea's submitter) are too few
    extra = max(0, scale.fanout_voters - (scale.users - 4))
    n_users = scale.users + extra
    user_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n_users)]
    emails = [f"user{i}@bench.example" for i in range(n_users)]
    n_council = max(6, scale.users // 100)

    def users():
        for i, uid in enumerate(user_ids):
            # council members spread over departments, a few leaders, one admin
            council = 3 <= i < 3 + n_council
            yield (
                uid,
                emails[i],
                f"Bench User {i}",
                TITLES[i % len(TITLES)],
                dept_ids[i % len(dept_ids)],
                password_hash,
                council,
                i in (1, 2),
                i == 2,
                now - dt.timedelta(days=rng.randint(0, 900)),
            )

    await _copy(
        conn,
        "tp_user",
        [
            "id",
            "email",
            "name",
            "title",
            "department",
            "password_hash",
            "is_council",
            "is_leader",
            "is_admin",
            "created_at",
        ],
        users(),
        n_users,
        batch,
        "users",
    )
    council_idx = list(range(3, 3 + n_council))
    # ordinary staff: everyone after the council, within the scale's users
    staff_idx = list(range(3 + n_council, scale.users))

    # -- ideas -----------------------------------------------------------------
    base = load_base_ideas()
    n_ideas = scale.ideas
    statuses = _status_plan(n_ideas, rng)
    # the fan-out idea: the last one, in progress with its only action done
    fanout_id = n_ideas + 1
    statuses.append("in_progress")
    total_ideas = n_ideas + 1
    span_days = 730
    created = [
        now - dt.timedelta(seconds=int((1 - i / total_ideas) * span_days * 86400) + 3600)
        for i in range(total_ideas)
    ]
    titles: list[str] = []
    problems: list[str] = []
    proposals: list[str] = []
    touchpoints: list[str] = []
    for i in range(total_ideas):
        b = base[i % len(base)]
        k = (i // len(base)) * 7 + rng.randint(0, 3)
        titles.append(_title_variant(b["title"], k) if i >= len(base) else b["title"])
        problems.append(b["problem"] + BODY_TAILS[k % len(BODY_TAILS)])
        proposals.append(b["proposal"])
        touchpoints.append(b["touchpoint"])
    titles[fanout_id - 1] = "Tell every voter when their idea ships (fan-out fixture)"
    out.titles = [b["title"] for b in base]
    out.statuses = {s: statuses.count(s) for s in sorted(set(statuses))}

    decided_at: list[dt.datetime | None] = []
    for i, s in enumerate(statuses):
        if s in ("new",):
            decided_at.append(None)
        else:
            decided_at.append(min(created[i] + dt.timedelta(days=rng.randint(1, 20)), now))
    non_dup_ids: list[int] = []
    duplicate_of: list[int | None] = []
    for i, s in enumerate(statuses):
        if s == "duplicate" and non_dup_ids:
            duplicate_of.append(rng.choice(non_dup_ids[-2000:]))
        else:
            duplicate_of.append(None)
            if s != "duplicate":
                non_dup_ids.append(i + 1)
    for i, s in enumerate(statuses):
        if s == "duplicate" and duplicate_of[i] is None:
            statuses[i] = "declined"

    # votes per idea: Zipf over a random popularity ranking of the eligible ideas
    eligible = [i + 1 for i, s in enumerate(statuses) if s != "duplicate" and i + 1 != fanout_id]
    rng.shuffle(eligible)
    vote_pool = list(range(3, scale.users))  # everyone but the bench's leader/admin accounts
    cap = int(len(vote_pool) * 0.6)
    zipf_total = max(0, scale.votes - scale.fanout_voters)
    counts = zipf_counts(len(eligible), zipf_total, cap)
    votes_of = [0] * (total_ideas + 1)
    for idea_id, c in zip(eligible, counts, strict=True):
        votes_of[idea_id] = c
    votes_of[fanout_id] = scale.fanout_voters
    out.ideas_by_popularity = eligible
    out.open_ideas_by_popularity = [i for i in eligible if statuses[i - 1] in VOTE_TARGETS]

    def ideas():
        for i in range(total_ideas):
            idea_id = i + 1
            s = statuses[i]
            accepted = s in ("accepted", "in_progress", "shipped")
            shipped = s == "shipped"
            first = decided_at[i] if s not in ("new", "in_review") else None
            acc_at = decided_at[i] if accepted else None
            ship_at = min(acc_at + dt.timedelta(days=30), now) if shipped and acc_at else None
            yield (
                idea_id,
                titles[i],
                problems[i],
                proposals[i],
                touchpoints[i],
                s,
                votes_of[idea_id],
                created[i],
                created[i].date(),
                dept_ids[i % len(dept_ids)] if accepted else None,
                duplicate_of[i],
                first,
                acc_at,
                ship_at,
                "Shipped to every customer; the help centre explains it." if shipped else "",
                s == "in_review" and i % 5 == 0,
                ship_at or first or created[i],
            )

    await _copy(
        conn,
        "idea",
        [
            "id",
            "title",
            "problem",
            "proposal",
            "touchpoint",
            "status",
            "votes",
            "created_at",
            "submitted_on",
            "owning_department",
            "duplicate_of",
            "first_decided_at",
            "accepted_at",
            "shipped_at",
            "ship_note",
            "answered",
            "updated_at",
        ],
        ideas(),
        total_ideas,
        batch,
        "ideas",
    )

    # -- submissions: one submitter per idea, some credited once shipped ---------
    submitter = [staff_idx[rng.randrange(len(staff_idx))] for _ in range(total_ideas)]
    fanout_voter_idx = _fanout_voters(scale, n_users, submitter[fanout_id - 1])
    out.fanout_idea, out.fanout_voters, out.extra_users = fanout_id, len(fanout_voter_idx), extra

    def submissions():
        for i in range(total_ideas):
            credit = (i % 3 == 0) if statuses[i] == "shipped" else None
            yield (i + 1, i + 1, user_ids[submitter[i]], "submitter", credit, created[i])

    await _copy(
        conn,
        "submission",
        ["id", "idea", "user", "role", "credit", "created_at"],
        submissions(),
        total_ideas,
        batch,
        "submissions",
    )

    # -- similar-search terms (as ideas.board.similar.index_terms writes them) ---------
    term_cache: dict[tuple[str, str], dict[str, float]] = {}

    def terms_of(i: int) -> dict[str, float]:
        key = (titles[i], problems[i])
        if key not in term_cache:
            term_cache[key] = similarity.idea_terms(titles[i], problems[i])
        return term_cache[key]

    est_terms = total_ideas * 22

    def idea_terms():
        n = 0
        for i in range(total_ideas):
            for term, weight in terms_of(i).items():
                n += 1
                yield (n, i + 1, term[:40], weight)

    n_terms = await _copy(
        conn,
        "idea_term",
        ["id", "idea", "term", "weight"],
        idea_terms(),
        est_terms,
        batch,
        "idea terms",
    )
    # their document frequencies, and under the empty term the number of
    # indexed ideas (as ideas.board.similar.index_terms keeps them)
    doc_freq: Counter[str] = Counter()
    for i in range(total_ideas):
        bag = terms_of(i)
        doc_freq.update({term[:40] for term in bag})
        doc_freq[similarity.ALL_IDEAS] += bool(bag)
    await conn.copy_records_to_table(
        "term_doc_freq", records=list(doc_freq.items()), columns=["term", "ideas"]
    )

    # -- idea vectors (as the worker's embedding job stores them) ----------------
    # The search's cost depends on the number of vectors, not on what they
    # say: each idea gets the vector of the text it was varied from (one
    # model call per line of ideas.jsonl, not one per idea, so L seeds in
    # seconds). Without the model, none: the similar search then ranks by
    # words, and the report says which method it measured.
    n_vectors = 0
    embedder = embedding.get_embedder()
    if embedder is not None:
        base_vectors = [
            embedding.to_bytes(v)
            for v in embedder.embed([embedding.stored_text(b["title"], b["problem"]) for b in base])
        ]

        def vectors():
            for i in range(total_ideas):
                yield (
                    i + 1,
                    i + 1,
                    embedding.MODEL_VERSION,
                    base_vectors[i % len(base)],
                    False,
                    # embedded by the worker seconds after the idea came in,
                    # not all at one moment just before the run (each
                    # process re-reads the rows of the last REFRESH_OVERLAP)
                    created[i] + dt.timedelta(seconds=5),
                )

        n_vectors = await _copy(
            conn,
            "idea_vector",
            ["id", "idea", "model", "vector", "pending", "updated_at"],
            vectors(),
            total_ideas,
            batch,
            "idea vectors",
        )
    out.similar_method = "meaning (sentence embeddings)" if n_vectors else "shared words"

    # -- votes -------------------------------------------------------------------
    def votes():
        n = 0
        for idea_id in range(1, total_ideas + 1):
            c = votes_of[idea_id]
            if not c:
                continue
            if idea_id == fanout_id:
                voters = fanout_voter_idx
            else:
                voters = rng.sample(vote_pool, c)
            start = created[idea_id - 1]
            window = max(int((now - start).total_seconds()), 60)
            for u in voters:
                n += 1
                yield (n, idea_id, user_ids[u], start + dt.timedelta(seconds=rng.randrange(window)))

    total_votes = sum(votes_of)
    await _copy(
        conn, "vote", ["id", "idea", "user", "created_at"], votes(), total_votes, batch, "votes"
    )

    # -- triage sessions, agenda items, events, questions, actions, comments -------
    n_sessions = max(4, min(104, span_days // 7))
    sessions = []
    for k in range(n_sessions):
        held = today - dt.timedelta(days=7 * (n_sessions - k))
        sessions.append((k + 1, held, user_ids[council_idx[k % len(council_idx)]], now))
    await conn.copy_records_to_table(
        "triage_session", records=sessions, columns=["id", "held_on", "opened_by", "created_at"]
    )
    attendees = []
    for k in range(n_sessions):
        for j in range(3):
            attendees.append(
                (len(attendees) + 1, k + 1, user_ids[council_idx[(k + j) % len(council_idx)]])
            )
    await conn.copy_records_to_table(
        "session_attendee", records=attendees, columns=["id", "session", "user"]
    )

    def session_for(when: dt.datetime) -> int:
        days_back = (today - when.date()).days
        return max(1, min(n_sessions, n_sessions - days_back // 7))

    outcome_of = {
        "needs_info": "needs_info",
        "accepted": "accept",
        "in_progress": "accept",
        "shipped": "accept",
        "declined": "decline",
        "duplicate": "duplicate",
    }
    agenda, events, questions, actions, comments = [], [], [], [], []
    for i, s in enumerate(statuses):
        idea_id = i + 1
        if s == "new":
            if i % 4 == 0:
                comments.append(
                    (
                        idea_id,
                        user_ids[staff_idx[i % len(staff_idx)]],
                        "We see this too on our side.",
                        False,
                        staff_idx[i % len(staff_idx)] == submitter[i],
                        created[i],
                    )
                )
            continue
        when = decided_at[i] or created[i]
        sess = session_for(when)
        council_user = user_ids[council_idx[i % len(council_idx)]]
        outcome = outcome_of.get(s, "")
        agenda.append(
            (
                sess,
                idea_id,
                1 + i % 30,
                outcome,
                council_user if outcome else None,
                when if outcome else None,
            )
        )
        events.append(
            (
                idea_id,
                "status",
                "in_review",
                "",
                "CX council",
                council_user,
                sess,
                when - dt.timedelta(hours=1),
            )
        )
        if outcome:
            note = {
                "decline": "Declined: out of scope for this year's roadmap, thank you.",
                "duplicate": "Merged into an existing idea.",
                "needs_info": "The council asked a question.",
            }.get(outcome, "Accepted by the council.")
            events.append(
                (
                    idea_id,
                    "status",
                    s if s != "in_progress" else "accepted",
                    note,
                    "CX council",
                    council_user,
                    sess,
                    when,
                )
            )
        if s == "needs_info" or (s == "in_review" and i % 5 == 0):
            answered = s == "in_review"
            questions.append(
                (
                    idea_id,
                    sess,
                    "How many customers does this affect each month?",
                    when,
                    "Roughly forty accounts a month." if answered else "",
                    when + dt.timedelta(days=2) if answered else None,
                )
            )
        if s in ("accepted", "in_progress", "shipped", "fanout"):
            owner = user_ids[staff_idx[(i * 7) % len(staff_idx)]]
            status = {"accepted": "todo", "in_progress": "doing", "shipped": "done"}[s]
            if idea_id == fanout_id:
                status = "done"
            actions.append(
                (
                    idea_id,
                    "Make the change and tell the support team",
                    owner,
                    (when + dt.timedelta(days=30)).date(),
                    status,
                    when,
                    when + dt.timedelta(days=20) if status == "done" else None,
                )
            )
        if s == "shipped":
            events.append(
                (
                    idea_id,
                    "status",
                    "shipped",
                    "Shipped.",
                    "CX council",
                    council_user,
                    None,
                    when + dt.timedelta(days=30),
                )
            )
        if i % 4 == 0:
            comments.append(
                (
                    idea_id,
                    user_ids[staff_idx[i % len(staff_idx)]],
                    "This would help my customers a lot.",
                    False,
                    staff_idx[i % len(staff_idx)] == submitter[i],
                    created[i],
                )
            )
    await _copy(
        conn,
        "agenda_item",
        ["session", "idea", "position", "outcome", "decided_by", "decided_at"],
        agenda,
        len(agenda),
        batch,
        "agenda items",
    )
    await _copy(
        conn,
        "event",
        ["idea", "kind", "status", "note", "actor_label", "actor", "session", "created_at"],
        events,
        len(events),
        batch,
        "events",
    )
    # every seeded event counts as delivered, so the outbox sweep has nothing to do
    await conn.execute("UPDATE event SET dispatched_at = created_at")
    await _copy(
        conn,
        "question",
        ["idea", "session", "question", "asked_at", "answer", "answered_at"],
        questions,
        len(questions),
        batch,
        "questions",
    )
    await _copy(
        conn,
        "action",
        ["idea", "title", "owner", "due_on", "status", "created_at", "done_at"],
        actions,
        len(actions),
        batch,
        "actions",
    )
    await _copy(
        conn,
        "comment",
        ["idea", "author", "body", "as_council", "by_submitter", "created_at"],
        comments,
        len(comments),
        batch,
        "comments",
    )

    # -- API tokens and browser sessions for the load ------------------------------
    token_users = staff_idx[: scale.tokens]
    token_rows, staff_tokens = [], []
    for u in token_users:
        token = secrets.token_urlsafe(32)
        staff_tokens.append((str(user_ids[u]), emails[u], token))
        token_rows.append((user_ids[u], token_digest(token), now))
    council_token = secrets.token_urlsafe(32)
    leader_token = secrets.token_urlsafe(32)
    token_rows.append((user_ids[council_idx[0]], token_digest(council_token), now))
    token_rows.append((user_ids[1], token_digest(leader_token), now))
    await conn.copy_records_to_table(
        "api_token", records=token_rows, columns=["user", "token_hash", "created_at"]
    )
    session_rows, session_keys = [], []
    for u in staff_idx[: scale.sessions]:
        key = secrets.token_urlsafe(32)
        session_keys.append(key)
        session_rows.append(
            (
                key,
                json.dumps({"user_id": str(user_ids[u])}),
                now + dt.timedelta(days=14),
                user_ids[u],
            )
        )
    await conn.copy_records_to_table(
        "browser_session",
        records=session_rows,
        columns=["key", "value", "expires_at", "user_id"],
    )

    await conn.execute("SET session_replication_role = DEFAULT")
    for table in (
        "department",
        "idea",
        "submission",
        "idea_term",
        "idea_vector",
        "vote",
        "triage_session",
        "session_attendee",
    ):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        )
    bar = Progress("analyze", 1)
    await conn.execute("VACUUM (ANALYZE)")  # visibility map too: index-only scans at every scale
    bar.finish()

    out.staff_tokens = staff_tokens
    out.session_keys = session_keys
    out.council_token = council_token
    out.leader_token = leader_token
    out.emails = [emails[u] for u in staff_idx]
    out.counts = {
        "departments": len(DEPARTMENTS),
        "users": n_users,
        "ideas": total_ideas,
        "votes": total_votes,
        "submissions": total_ideas,
        "idea_terms": n_terms,
        "idea_vectors": n_vectors,
        "events": len(events),
        "agenda_items": len(agenda),
        "actions": len(actions),
        "comments": len(comments),
        "questions": len(questions),
        "api_tokens": len(token_rows),
        "browser_sessions": len(session_rows),
    }
    out.seconds = time.perf_counter() - started
    return out


def _fanout_voters(scale: Scale, n_users: int, submitter_idx: int) -> list[int]:
    """The fan-out idea's voters: the extra fixture users first, then ordinary
    users, never its submitter."""
    pool = list(range(scale.users, n_users)) + list(range(3, scale.users))
    pool = [u for u in pool if u != submitter_idx]
    return pool[: scale.fanout_voters]


async def fresh_vote_pairs(
    conn: asyncpg.Connection, seeded: Seeded, n: int, *, seed_value: int = 11
) -> list[tuple[str, int]]:
    """`n` distinct (token, idea) pairs with no vote yet, on open ideas of
    someone else chosen
    with a popularity skew: the vote toggle's work is then all real changes."""
    rng = random.Random(seed_value)
    ideas = seeded.open_ideas_by_popularity
    tokens = seeded.staff_tokens
    if not ideas or not tokens:
        return []
    weights = [1.0 / (r + 10) for r in range(len(ideas))]
    wanted: dict[tuple[int, int], None] = {}
    tries = 0
    while len(wanted) < n * 2 and tries < n * 20:
        tries += 1
        t = rng.randrange(len(tokens))
        idea = rng.choices(ideas, weights)[0] if rng.random() < 0.5 else rng.choice(ideas)
        wanted[(t, idea)] = None
    pairs = list(wanted)
    existing = await conn.fetch(
        'SELECT v.idea, v."user"::text AS u FROM vote v '
        'JOIN unnest($1::int[], $2::uuid[]) AS p(idea, u) ON v.idea = p.idea AND v."user" = p.u',
        [idea for _t, idea in pairs],
        [tokens[t][0] for t, _idea in pairs],
    )
    # one's own idea takes no vote (409): those pairs are left out too
    own = await conn.fetch(
        'SELECT s.idea, s."user"::text AS u FROM submission s '
        'JOIN unnest($1::int[], $2::uuid[]) AS p(idea, u) ON s.idea = p.idea AND s."user" = p.u',
        [idea for _t, idea in pairs],
        [tokens[t][0] for t, _idea in pairs],
    )
    taken = {(r["idea"], r["u"]) for r in [*existing, *own]}
    fresh = [(tokens[t][2], idea) for t, idea in pairs if (idea, tokens[t][0]) not in taken]
    rng.shuffle(fresh)
    return fresh[:n]


async def fresh_vote_user_pairs(
    conn: asyncpg.Connection, seeded: Seeded, n: int, *, seed_value: int = 13
) -> list[tuple[str, int]]:
    """Like fresh_vote_pairs, as (user id, idea) for pgbench's table."""
    by_token = {t: uid for uid, _e, t in seeded.staff_tokens}
    pairs = await fresh_vote_pairs(conn, seeded, n, seed_value=seed_value)
    return [(by_token[t], idea) for t, idea in pairs]
