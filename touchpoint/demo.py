"""The demo organisation: people, ideas and ten weeks of history.

Everything is made through the domain services a person would use — submit,
vote, triage sessions and decisions, questions and answers, actions, ship,
credit, comments — so every row, event and count is what the product itself
would have written. Each step runs in its own unit of work (`ideas.context`)
at its simulated moment, which is the "now" the services stamp, so the
board, the timelines and the leadership figures show ten weeks of history
without any stamp rewritten afterwards.

One transaction: a failure leaves the database empty. Refused when any user
exists. One password for every demo person, hashed once.

Size: over 400 lines: the demo's ten-week story (its people, schedule and
steps) is one script.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources

from ideas import clock, comments, context, editing, security, triage
from ideas.board import submit, vote
from ideas.db import write_transaction
from ideas.delivery import actions, credit, shipping
from ideas.errors import Conflict, DomainError
from ideas.lifecycle import STATUSES
from ideas.people import directory, service
from ideas.policy import ACCEPTED_OR_LATER, AWAITING_TRIAGE, TURNED_DOWN
from ideas.schemas import IdeaIn
from ideas.tables import (
    Event,
    Idea,
    Submission,
    User,
    Vote,
)
from ideas.viewer import Viewer, sorted_roles

DEMO_PASSWORD = "touchpoint-demo"
EMAIL_DOMAIN = "example.com"
SEED = 20261123

DEPARTMENTS = (
    "Finance",
    "HR",
    "IT",
    "Support",
    "Sales",
    "Marketing",
    "Product",
    "Legal",
    "Operations",
)

#: (name, job title, department, roles)
PEOPLE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Alice Andersson", "Senior Support Agent", "Support", ()),
    ("Sam Okafor", "Support Team Lead", "Support", ("council",)),
    ("Lena Fischer", "Support Agent", "Support", ()),
    ("Tomás Rivera", "Technical Support Engineer", "Support", ()),
    ("Priya Nair", "Support Agent", "Support", ()),
    ("Jonas Berg", "Support Operations Analyst", "Support", ()),
    ("Bob Baranski", "Billing Lead", "Finance", ("council",)),
    ("Helen Moreau", "Accounts Receivable Specialist", "Finance", ()),
    ("Kofi Mensah", "Financial Analyst", "Finance", ()),
    ("Ruth Kaplan", "Billing Specialist", "Finance", ()),
    ("Cora Castellanos", "People Partner", "HR", ("council",)),
    ("Mei Tanaka", "Recruiter", "HR", ()),
    ("Owen Price", "Learning and Development Lead", "HR", ()),
    ("Adam Adeyemi", "IT Administrator", "IT", ("admin",)),
    ("Erin Eriksen", "Platform Engineer", "IT", ()),
    ("Raj Patel", "Security Engineer", "IT", ()),
    ("Nina Kowalski", "Systems Engineer", "IT", ()),
    ("Felix Wagner", "Service Desk Analyst", "IT", ()),
    ("Dan Dimitrov", "Account Executive", "Sales", ()),
    ("Grace Liu", "Sales Manager", "Sales", ("council",)),
    ("Marco Bianchi", "Sales Development Representative", "Sales", ()),
    ("Aisha Khan", "Account Executive", "Sales", ()),
    ("Peter Novak", "Sales Operations Analyst", "Sales", ()),
    ("Carol Okonkwo", "Chief Customer Officer", "Marketing", ("leader",)),
    ("Julia Santos", "Content Marketing Manager", "Marketing", ()),
    ("Ben Harris", "Web Marketing Specialist", "Marketing", ()),
    ("Sofia Rossi", "Product Marketing Manager", "Marketing", ()),
    ("Pat Pemberton", "Product Manager", "Product", ("council",)),
    ("Yuki Sato", "UX Designer", "Product", ()),
    ("Leo Martin", "Software Engineer", "Product", ()),
    ("Hannah Schmidt", "Product Designer", "Product", ()),
    ("Diego Alvarez", "Engineering Manager", "Product", ()),
    ("Irene Walsh", "Legal Counsel", "Legal", ("council",)),
    ("Victor Lindqvist", "Contracts Manager", "Legal", ()),
    ("Amara Obi", "Privacy Officer", "Legal", ()),
    ("Maria Gonzalez", "Head of Operations", "Operations", ("council", "leader")),
    ("Tom Becker", "Logistics Coordinator", "Operations", ()),
    ("Chen Wei", "Fulfilment Specialist", "Operations", ()),
    ("Laura Jensen", "Operations Analyst", "Operations", ()),
    ("Hugo Laurent", "Facilities Coordinator", "Operations", ()),
)

#: the idea data names one department we don't have: its ideas come from Sales
DEPARTMENT_ALIASES = {"Business Development": "Sales"}

#: (duplicate, original): near-duplicate pairs from the idea data; the
#: original gets the given fate, the duplicate is merged into it
DUPLICATE_PAIRS = (
    (
        "Invoice missing order reference - recurring billing tickets",
        "Print the customer's PO number on every invoice",
        "shipped",
    ),
    (
        "Locked-out users are one in eight of our calls",
        "Self-service password reset for the customer portal",
        "in_progress",
    ),
    ("Stop hiding the Team and Business price list", "Publish prices on the website", "accepted"),
    (
        "Push notifications for support ticket updates",
        "App users poll for ticket news - notify them instead",
        "in_progress",
    ),
)

#: how many ideas end in each fate ("answered": asked a question, answered,
#: back in review); duplicates come from DUPLICATE_PAIRS
FATES = {
    "shipped": 10,
    "in_progress": 8,
    "accepted": 7,
    "declined": 6,
    "needs_info": 5,
    "answered": 2,
    "in_review": 8,
    "new": 10,
    "withdrawn": 1,
}

#: when each fate's ideas are submitted (days ago, inclusive range)
SUBMITTED = {
    "shipped": (66, 52),
    "in_progress": (55, 26),
    "accepted": (40, 16),
    "declined": (66, 24),
    "duplicate": (56, 24),
    "needs_info": (30, 9),
    "answered": (34, 22),
    "in_review": (13, 8),
    "new": (6, 0),
    "withdrawn": (20, 12),
}

#: votes each fate's ideas collect over their open life
VOTES = {
    "shipped": (8, 18),
    "in_progress": (6, 15),
    "accepted": (5, 12),
    "declined": (0, 4),
    "duplicate": (1, 4),
    "needs_info": (2, 7),
    "answered": (3, 8),
    "in_review": (2, 10),
    "new": (0, 9),
    "withdrawn": (1, 4),
}

#: fortnightly triage sessions (days ago)
SESSION_DAYS = (63, 49, 35, 21, 7)
HISTORY_DAYS = 70

DECLINE_NOTES = (
    "Declined for now: it needs the platform rebuild planned for next year. "
    "We will look at it again then.",
    "Declined: at the volumes we see today the cost outweighs the benefit. "
    "Thank you for raising it; please resubmit if it grows.",
    "Declined: it conflicts with an obligation in our payment provider's contract.",
    "Declined: a broader project already covers this; follow it on the shipped board.",
)

QUESTIONS = (
    "How many customers does this affect in a month, roughly? Ticket numbers would help.",
    "Do customers use a workaround today? If so, what is it?",
    "Which customers raise this most: small businesses or larger accounts?",
    "Is this specific to one product line or region, or does it happen everywhere?",
)

ANSWER = (
    "About thirty a month from what I see in our queue, mostly small businesses. "
    "There is no real workaround: they call us and wait."
)

COMMENTS = (
    "We hear about this in our team every week too. It would save a lot of back-and-forth.",
    "Could we pilot this with a few customers first and measure the effect?",
    "+1. I logged three tickets about exactly this last month.",
    "Worth checking the customer-facing wording with Legal before anything changes.",
    "Is there data on how many customers this affects? It would help the council weigh it.",
)

SUBMITTER_COMMENT = (
    "Some more context: this came up twice again this week, both times with larger accounts."
)

ACTION_TITLES = (
    "Agree the change and its wording with {department}",
    "Build and test the change",
    "Update the help pages and brief the {touchpoint} team",
)

#: touchpoint → (impact metric, value before); after is 30–70 % lower
IMPACT = {
    "support": ("related support tickets per week", 60),
    "billing": ("billing queries per week", 80),
    "purchase": ("abandoned checkouts per week", 45),
    "onboarding": ("days to first value", 21),
    "renewal": ("renewal complaints per month", 30),
    "awareness": ("pre-sales questions per week", 50),
    "product": ("feature-related tickets per week", 40),
    "other": ("complaints per month", 25),
}


@dataclass
class Person:
    email: str
    name: str
    title: str
    department: str
    roles: tuple[str, ...]
    viewer: Viewer | None = None


@dataclass
class DemoIdea:
    data: dict
    department: str
    fate: str
    submitted: int
    submitter: Person | None = None
    id: int | None = None
    #: the first session after submission (days ago), None for `new`
    session: int | None = None
    duplicate_of: str | None = None


@dataclass
class DemoResult:
    base_url: str
    people: list[Person]
    departments: int
    ideas: int
    votes: int
    sessions: int
    by_status: dict[str, int]
    #: steps the services refused (e.g. a quorum set higher than the demo's council)
    problems: list[str] = field(default_factory=list)

    def logins(self) -> list[Person]:
        """One person per role (council: each of them), then a few staff."""
        special = [p for p in self.people if p.roles]
        order = {"admin": 0, "leader": 1, "council": 2}
        special.sort(key=lambda p: (min(order[r] for r in p.roles), p.department))
        staff = [p for p in self.people if not p.roles][:4]
        return special + staff

    def describe(self, logins: bool = True) -> str:
        statuses = ", ".join(
            f"{s} {self.by_status.get(s, 0)}" for s in STATUSES if self.by_status.get(s)
        )
        lines = [
            f"Demo organisation loaded: {self.departments} departments, {len(self.people)} "
            f"people, {self.ideas} ideas with {self.votes} votes, {self.sessions} triage "
            "sessions.",
            f"Ideas by status: {statuses}.",
            "Its history is marked delivered: no e-mail is sent for it.",
        ]
        for problem in self.problems:
            lines.append(f"Note: {problem}")
        if logins:
            lines += ["", self.logins_box()]
        return "\n".join(lines)

    def logins_box(self) -> str:
        """The demo logins, framed so they stand out at the end of the output."""
        body = [
            f"Log in at {self.base_url}/login as any demo person;",
            f"the password of every one is: {DEMO_PASSWORD}",
            "",
        ]
        for p in self.logins():
            roles = ", ".join(sorted_roles(frozenset(p.roles) | {"staff"}))
            body.append(f"{p.email:<34} {p.name:<18} {p.department:<11} {roles}")
        body.append("Everyone else: `touchpoint users list`.")
        width = max(len(line) for line in body)
        rule = "+" + "-" * (width + 2) + "+"
        return "\n".join([rule, *(f"| {line:<{width}} |" for line in body), rule])


def email_for(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return f"{'.'.join(plain.lower().split())}@{EMAIL_DOMAIN}"


def _as(who) -> context.Context:
    """A demo person (a `Person` or their `Viewer`) acting in the demo's unit
    of work (its `now`)."""
    viewer = getattr(who, "viewer", who)
    assert viewer is not None
    return context.make(viewer, now=clock.now())


def load_idea_data() -> list[dict]:
    text = resources.files("touchpoint").joinpath("data/ideas.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Demo:
    def __init__(self, base_url: str) -> None:
        self.rng = random.Random(SEED)
        self.base_url = base_url
        self.now = clock.now()
        self.people = [Person(email_for(n), n, t, d, r) for n, t, d, r in PEOPLE]
        self.council = [p for p in self.people if "council" in p.roles]
        self.ideas: list[DemoIdea] = []
        self.sessions: dict[int, str] = {}
        self.department_ids: dict[str, int] = {}
        self.problems: list[str] = []
        self.refused: Counter[str] = Counter()
        self.votes = 0

    # -- the plan ---------------------------------------------------------------

    def plan_ideas(self) -> None:
        data = load_idea_data()
        by_title = {d["title"]: d for d in data}
        chosen: list[DemoIdea] = []
        pair_titles = set()
        for duplicate, original, fate in DUPLICATE_PAIRS:
            if duplicate in by_title and original in by_title:
                pair_titles |= {duplicate, original}
                first = self._idea(by_title[original], fate, self._day(fate))
                chosen.append(first)
                later = self._day("duplicate", high=first.submitted - 3)
                dup = self._idea(by_title[duplicate], "duplicate", later)
                dup.duplicate_of = original
                chosen.append(dup)
        fates = Counter(FATES)
        for idea in chosen:
            if idea.fate in fates:
                fates[idea.fate] -= 1
        rest = [d for d in data if d["title"] not in pair_titles]
        self.rng.shuffle(rest)
        for fate, count in fates.items():
            for _ in range(count):
                chosen.append(self._idea(rest.pop(), fate, self._day(fate)))
        chosen.sort(key=lambda i: (-i.submitted, i.data["title"]))
        self.ideas = chosen

    def _day(self, fate: str, high: int | None = None) -> int:
        """A submission day for this fate, no later than `high` days ago."""
        oldest, newest = SUBMITTED[fate]
        if high is not None:
            oldest = min(oldest, high)
            newest = min(newest, oldest)
        return self.rng.randint(newest, oldest)

    def _idea(self, data: dict, fate: str, submitted: int) -> DemoIdea:
        department = DEPARTMENT_ALIASES.get(data["department"], data["department"])
        if department not in DEPARTMENTS:
            department = self.rng.choice(DEPARTMENTS)
        session = next((s for s in SESSION_DAYS if s < submitted), None)
        return DemoIdea(data, department, fate, submitted, session=session)

    def schedule(self) -> dict[int, list[tuple[int, Callable[[], Awaitable[None]]]]]:
        """day (days ago) → [(order within the day, step)]."""
        days: dict[int, list] = {}

        def at(day: int, order: int, step: Callable[[], Awaitable[None]]) -> None:
            days.setdefault(max(0, day), []).append((order, step))

        for idea in self.ideas:
            department_people = [p for p in self.people if p.department == idea.department]
            idea.submitter = self.rng.choice(department_people)
            at(idea.submitted, 0, self._submit_step(idea))
            self._plan_votes(idea, at)
            self._plan_fate(idea, at)
            self._plan_comments(idea, at)
        for day in SESSION_DAYS:
            at(day, 2, self._session_step(day))
        return days

    def _close_day(self, idea: DemoIdea) -> int:
        """The day an idea stops taking votes (0: still open today)."""
        if idea.fate in TURNED_DOWN and idea.session is not None:
            return idea.session + 1
        if idea.fate == "shipped" and idea.session is not None:
            return idea.session - 17
        if idea.fate == "withdrawn":
            return idea.submitted - 2  # withdrawn three days after submission
        return 0

    def _plan_votes(self, idea: DemoIdea, at) -> None:
        low, high = VOTES[idea.fate]
        count = self.rng.randint(low, high)
        voters = [p for p in self.people if p is not idea.submitter]
        close = self._close_day(idea)
        for voter in self.rng.sample(voters, count):
            at(self.rng.randint(close, idea.submitted), 1, self._vote_step(idea, voter))

    def _plan_fate(self, idea: DemoIdea, at) -> None:
        if idea.fate == "withdrawn":
            at(idea.submitted - 3, 5, self._withdraw_step(idea))
            return
        s = idea.session
        if s is None or idea.fate in AWAITING_TRIAGE:
            return
        if idea.fate in ACCEPTED_OR_LATER:
            at(s, 3, self._decide_step(idea, "accept"))
            if idea.fate == "shipped":
                first = self._action_step(
                    idea, 0, due=s - 14, moves=((s - 3, "doing"), (s - 10, "done")), at=at
                )
                second = self._action_step(
                    idea, 1, due=s - 20, moves=((s - 8, "doing"), (s - 16, "done")), at=at
                )
                at(s - 1, 4, first)
                at(s - 1, 4, second)
                at(s - 18, 6, self._ship_step(idea))
                if self.rng.random() < 0.6:
                    at(s - 19, 7, self._credit_step(idea))
            elif idea.fate == "in_progress":
                at(
                    s - 1,
                    4,
                    self._action_step(idea, 0, due=s - 21, moves=((s - 4, "doing"),), at=at),
                )
                at(s - 1, 4, self._action_step(idea, 2, due=s - 12, moves=(), at=at))
            elif self.rng.random() < 0.5:
                at(s - 1, 4, self._action_step(idea, 0, due=-14, moves=(), at=at))
        elif idea.fate == "declined":
            at(s, 3, self._decide_step(idea, "decline"))
        elif idea.fate == "duplicate":
            at(s, 3, self._decide_step(idea, "duplicate"))
        elif idea.fate in ("needs_info", "answered"):
            at(s, 3, self._decide_step(idea, "needs_info"))
            if idea.fate == "answered":
                at(min(12, s - 1), 5, self._answer_step(idea))

    def _plan_comments(self, idea: DemoIdea, at) -> None:
        if idea.fate == "new" or self.rng.random() > 0.35:
            return
        for _ in range(self.rng.randint(1, 2)):
            who = self.rng.choice([p for p in self.people if p is not idea.submitter])
            body = self.rng.choice(COMMENTS)
            at(self.rng.randint(0, idea.submitted), 8, self._comment_step(idea, who, body))
        if self.rng.random() < 0.4:
            day = self.rng.randint(0, idea.submitted)
            at(day, 8, self._comment_step(idea, idea.submitter, SUBMITTER_COMMENT))

    # -- steps: each one service call as a person ----------------------------

    def _submit_step(self, idea: DemoIdea):
        async def step() -> None:
            data = IdeaIn(
                title=idea.data["title"],
                problem=idea.data["problem"],
                proposal=idea.data["proposal"],
                touchpoint=idea.data["touchpoint"],
            )
            out = await submit.submit_idea(_as(idea.submitter), data)
            idea.id = int(out.id)

        return step

    def _vote_step(self, idea: DemoIdea, voter: Person):
        async def step() -> None:
            own = (
                await Submission.exists()
                .where(Submission.idea == idea.id, Submission.user == voter.viewer.id)
                .run()
            )
            if own:  # a co-submitter since a merge: nobody votes for their own idea
                return
            await vote.vote(_as(voter), idea.id)
            self.votes += 1

        return step

    def _session_step(self, day: int):
        async def step() -> None:
            opener = self.council[len(self.sessions) % len(self.council)]
            session = await triage.open_session(
                _as(opener),
                (self.now - dt.timedelta(days=day)).date(),
                [str(p.viewer.id) for p in self.council],
            )
            for member in self.council:  # every attendee confirms attending
                await triage.attend(_as(member), session.id)
            self.sessions[day] = session.id

        return step

    def _decider(self, idea: DemoIdea) -> Person:
        # nobody judges their own idea: skip a council member who submitted it
        others = [p for p in self.council if p is not idea.submitter] or self.council
        return others[idea.id % len(others)]

    def _decide_step(self, idea: DemoIdea, outcome: str):
        async def step() -> None:
            session_id = self.sessions.get(idea.session)
            if session_id is None:
                raise Conflict("no triage session was held")
            fields: dict = {"session_id": session_id, "outcome": outcome}
            if outcome == "accept":
                fields["owning_department_id"] = str(self.department_ids[idea.department])
            elif outcome == "decline":
                fields["note"] = self.rng.choice(DECLINE_NOTES)
            elif outcome == "duplicate":
                target = next(i for i in self.ideas if i.data["title"] == idea.duplicate_of)
                fields["duplicate_of"] = str(target.id)
            else:
                fields["question"] = self.rng.choice(QUESTIONS)
            decider = _as(self._decider(idea))
            await triage.decide(decider, idea.id, triage.DecisionIn(**fields))

        return step

    def _withdraw_step(self, idea: DemoIdea):
        async def step() -> None:
            await editing.withdraw(_as(idea.submitter.viewer), idea.id)

        return step

    def _answer_step(self, idea: DemoIdea):
        async def step() -> None:
            await triage.answer_question(_as(idea.submitter), idea.id, ANSWER)

        return step

    def _action_step(self, idea: DemoIdea, which: int, due: int, moves, at):
        """Add an action (due `due` days ago; negative: in the future) and
        schedule its owner's moves."""

        async def step() -> None:
            owners = [
                p
                for p in self.people
                if p.department == idea.department and p is not idea.submitter
            ]
            owner = self.rng.choice(owners or self.people)
            title = ACTION_TITLES[which].format(
                department=idea.department, touchpoint=idea.data["touchpoint"]
            )
            action = await actions.add_action(
                _as(self._decider(idea)),
                idea.id,
                actions.ActionIn(
                    title=title,
                    owner_id=str(owner.viewer.id),
                    due_on=(self.now - dt.timedelta(days=due)).date(),
                ),
            )
            for day, status in moves:
                at_day = self._pending.setdefault(max(0, day), [])
                at_day.append((5, self._move_step(owner, int(action.id), status)))

        return step

    def _move_step(self, owner: Person, action_id: int, status: str):
        async def step() -> None:
            await actions.update_action_status(_as(owner), action_id, status)

        return step

    def _ship_step(self, idea: DemoIdea):
        async def step() -> None:
            first = idea.data["proposal"].split(". ")[0].rstrip(".")
            note = f"Now live. {first}."
            metric, before = IMPACT.get(idea.data["touchpoint"], IMPACT["other"])
            impact: dict = {}
            if self.rng.random() < 0.6:
                after = round(before * self.rng.uniform(0.3, 0.7))
                impact = {"impact_metric": metric, "impact_before": before, "impact_after": after}
            await shipping.ship(
                _as(self._decider(idea)),
                idea.id,
                shipping.ShipIn(note=note, **impact),
            )

        return step

    def _credit_step(self, idea: DemoIdea):
        async def step() -> None:
            await credit.set_credit(_as(idea.submitter), idea.id, True)

        return step

    def _comment_step(self, idea: DemoIdea, who: Person, body: str):
        async def step() -> None:
            if idea.id is None:
                return
            await comments.add_comment(_as(who.viewer), idea.id, comments.CommentIn(body=body))

        return step

    # -- running -------------------------------------------------------------

    async def create_people(self) -> None:
        password_hash = security.hash_password(DEMO_PASSWORD)
        for name in DEPARTMENTS:
            self.department_ids[name] = await directory.department_by_name(name, create=True)
        for p in self.people:
            # the demo's cast, not an admin's change: no audit entries
            user = service.new_user(
                p.email, p.name, p.title, self.department_ids[p.department], p.roles, password_hash
            )
            await user.save().run()
            p.viewer = Viewer(
                id=user.id,
                name=p.name,
                email=p.email,
                department_id=self.department_ids[p.department],
                roles=frozenset(p.roles) | {"staff"},
            )

    async def run(self) -> DemoResult:
        self.plan_ideas()
        days = self.schedule()
        self._pending = days
        await self.on_day(HISTORY_DAYS, [(0, self.create_people)])
        while days:
            day = max(days)
            steps = days.pop(day)
            await self.on_day(day, steps)
        return await self.result()

    def moment(self, day: int, index: int) -> dt.datetime:
        """When the `index`-th step of a simulated day happens: from 09:00 that
        day, a second apart (today: from ten minutes before the demo started,
        a tenth of a second apart), so the stamps keep the steps' order."""
        if day > 0:
            start = (self.now - dt.timedelta(days=day)).replace(
                hour=9, minute=0, second=0, microsecond=0
            )
            return start + dt.timedelta(seconds=index)
        return self.now - dt.timedelta(minutes=10) + dt.timedelta(milliseconds=100 * index)

    async def on_day(self, day: int, steps: list) -> None:
        """Run one simulated day's steps in order, each in its own unit of
        work at its moment (`moment`): every stamp the services write is the
        simulated one, read from the unit of work's clock. A step a service
        refuses is counted, not fatal."""
        steps = sorted(steps, key=lambda s: s[0])
        index = 0
        while index < len(steps):
            _order, step = steps[index]
            moment = self.moment(day, index)
            index += 1
            # flush=False, on purpose (the one door that does not flush): the
            # demo's events are weeks of history, delivered in-app and marked
            # not to be mailed by `mark_history_delivered` before the commit,
            # so a first run sends no mail; the few jobs a step asks for
            # (embedding its idea) are left to the workers' sweep
            async with context.unit_of_work(
                context.DEMO, now=moment, transaction=False, flush=False
            ):
                try:
                    await step()
                except DomainError as exc:
                    self.refused[exc.detail] += 1
            # steps may schedule more for this same day
            extra = self._pending.pop(day, []) if day in self._pending else []
            if extra:
                steps = steps[:index] + sorted(steps[index:] + extra, key=lambda s: s[0])

    async def result(self) -> DemoResult:
        rows = await Idea.select(Idea.status).run()
        by_status = Counter(r["status"] for r in rows)
        for detail, count in self.refused.most_common():
            self.problems.append(f"{count} step(s) refused: {detail}")
        return DemoResult(
            base_url=self.base_url,
            people=self.people,
            departments=len(DEPARTMENTS),
            ideas=len(rows),
            votes=await Vote.count().run(),
            sessions=len(self.sessions),
            by_status=dict(by_status),
            problems=self.problems,
        )


async def load_demo(base_url: str | None = None) -> DemoResult:
    """Fill an empty database with the demo organisation (one transaction)."""
    from ideas.config import get_settings, reset_settings

    async with write_transaction():
        existing = await User.count().run()
        if existing:
            raise Conflict(
                f"the database already has {existing} user(s): the demo fills only an empty "
                "database (use a fresh TOUCHPOINT_DATA_DIR or DATABASE_URL)"
            )
        demo = Demo(base_url or get_settings().base_url)
        # the demo plays out weeks that are long past: everything in it was
        # published long ago (PUBLISH_DELAY_MINUTES batches today's doings)
        settings = get_settings()
        reset_settings(dataclasses.replace(settings, publish_delay_minutes=0))
        try:
            result = await demo.run()
        finally:
            reset_settings(settings)
        await mark_history_delivered(demo.now)
        return result


async def mark_history_delivered(now: dt.datetime) -> None:
    """The demo's ten weeks of history are history: their notices exist in
    the inbox, but no e-mail goes out for them, and today's reminders and
    this week's digest count as done (a first start sends nothing)."""
    from ideas.notify import digest, fanout, reminders
    from ideas.tables import JobRun, Notification

    pending = await Event.select(Event.id).where(Event.dispatched_at.is_null()).run()
    for row in pending:
        await fanout.deliver_event(row["id"])
    await (
        Notification.update(
            {Notification.email_status: "off", Notification.email_error: "demo history: not mailed"}
        )
        .where(Notification.email_status == "pending")
        .run()
    )
    moment = await digest.digest_moment(now)
    keys = [
        f"digest:{reminders.iso_week(moment.date())}",
        f"sla:{now.date().isoformat()}",
        f"actions:{now.date().isoformat()}",
    ]
    await JobRun.insert(*[JobRun(key=k) for k in keys]).on_conflict(action="DO NOTHING").run()


__all__ = ["DEMO_PASSWORD", "DemoResult", "load_demo"]
