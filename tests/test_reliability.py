"""Delivery survives what production throws at it: a worker killed mid-job,
Redis down, the SMTP server down, a job that cannot succeed. Each test runs
real worker processes (`touchpoint worker`) against a real Redis, with
short timeouts and backoff set through the environment."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ideas import mail
from ideas.config import get_settings
from ideas.notify import fanout
from ideas.tables import Department, Event, Idea, Notification, User, Vote
from tests.conftest import ROOT
from tests.factories import Personas, submit
from tests.notify_helpers import (
    DECLINE_NOTE,
    clear_outbox,
    decide,
    notices,
    open_session,
    redis_pool,
    undispatched,
    vote,
)
from touchpoint.redis_server import EmbeddedRedis
from workers import tasks

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]

#: fast settings for worker processes under test
FAST = {
    "TOUCHPOINT_SWEEP_EVERY_S": "1",
    "TOUCHPOINT_OUTBOX_GRACE_S": "0",
    "TOUCHPOINT_POLL_DELAY_S": "0.05",
    "TOUCHPOINT_RETRY_BASE_S": "0.2",
    "TOUCHPOINT_RETRY_CAP_S": "1",
    "TOUCHPOINT_JOB_TIMEOUT_S": "3",
}


class WorkerProcess:
    """`touchpoint worker` as a child process with its own log file."""

    def __init__(self, log_path: Path, **env: str) -> None:
        self.log_path = log_path
        self.env = {**os.environ, **FAST, **env}
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "touchpoint", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def kill(self) -> None:
        """kill -9: no clean-up, no re-queueing, in-progress keys left behind."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def job_lines(self) -> list[dict]:
        """The structured line of every job this process logged."""
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            marker = " touchpoint.jobs "
            if marker in raw:
                lines.append(json.loads(raw.split(marker, 1)[1]))
        return lines

    def tail(self, n: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture
def workers(tmp_path):
    started: list[WorkerProcess] = []

    def make(**env: str) -> WorkerProcess:
        w = WorkerProcess(tmp_path / f"worker-{len(started) + 1}.log", **env)
        started.append(w)
        return w.start()

    yield make
    for w in started:
        w.stop()


async def eventually(check: Callable, within: float = 60, what: str = "", worker=None) -> None:
    """Wait until `await check()` is truthy (no timing assertion: a deadline
    only stops a hung test)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            tail = worker.tail() if worker else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        await asyncio.sleep(0.05)


async def pending_mail() -> int:
    return await Notification.count().where(Notification.email_status == "pending").run()


async def many_voters(idea_id: str, count: int) -> list:
    """`count` active people who voted for the idea (bulk, no passwords; their
    e-mail of this kind is off, so the test is about the in-app fan-out)."""
    department = await Department.select(Department.id).first().run()
    users = [
        User(
            email=f"voter{i:05d}@example.com",
            name=f"Voter {i}",
            title="Agent",
            department=department["id"],
            email_off=["vote_declined"],
        )
        for i in range(count)
    ]
    for start in range(0, count, 500):
        await User.insert(*users[start : start + 500]).run()
    ids = [u.id for u in users]
    # the machine's clock: these tests run real worker processes, which the
    # test's frozen clock does not reach (marked slow, so not frozen)
    now = dt.datetime.now(dt.UTC)
    for start in range(0, count, 500):
        await Vote.insert(
            *[Vote(idea=int(idea_id), user=uid, created_at=now) for uid in ids[start : start + 500]]
        ).run()
    await Idea.update({Idea.votes: Idea.votes + count}).where(Idea.id == int(idea_id)).run()
    return ids


# -- (1) kill -9 in the middle of a fan-out ------------------------------------------------------


async def test_worker_killed_mid_fan_out_leaves_every_voter_exactly_one_notice(personas, workers):
    clear_outbox()
    alice = await personas.get("alice_support")
    idea = await submit(alice)
    voter_ids = await many_voters(idea, 2000)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "decline", note=DECLINE_NOTE)
    decline = max(await undispatched())

    async def voter_notices() -> int:
        return (
            await Notification.count()
            .where(Notification.event == decline, Notification.kind == "vote_declined")
            .run()
        )

    first = workers(TOUCHPOINT_FANOUT_CHUNK="50", TOUCHPOINT_FANOUT_PAUSE_MS="40")
    await eventually(lambda: _positive(voter_notices), what="the fan-out to start", worker=first)
    first.kill()
    half = await voter_notices()
    assert 0 < half < 2000, "the worker was to die in the middle of the fan-out"

    second = workers(TOUCHPOINT_FANOUT_CHUNK="500")
    await eventually(
        lambda: _is_empty(undispatched), what="the event to be delivered", worker=second
    )
    rows = await Notification.select(Notification.user).where(Notification.event == decline).run()
    got = [r["user"] for r in rows]
    assert len(got) == len(set(got)) == 2001  # 2,000 voters and the submitter, once each
    assert set(voter_ids) <= set(got)
    await eventually(lambda: _zero(pending_mail), what="every e-mail", worker=second)
    retried = [
        j for j in second.job_lines() if j["job"] == "deliver_event" and j["event"] == decline
    ]
    assert retried and retried[-1]["recipients"] == 2001 and retried[-1]["try"] >= 2


async def _positive(count) -> bool:
    return await count() > 0


async def _zero(count) -> bool:
    return await count() == 0


async def _is_empty(listing) -> bool:
    return not await listing()


# -- (2) Redis down while people work ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def own_redis_app(migrated):
    """The app wired to a Redis this test owns (and may stop)."""
    from web.app import create_app, make_redis
    from web.ratelimit import RateLimiter

    server = EmbeddedRedis(port=_free_port()).start()
    settings = dataclasses.replace(get_settings(), redis_url=server.url)
    app = create_app(settings)
    app.state.redis = make_redis(server.url)
    app.state.limiter = RateLimiter(app.state.redis)
    people = Personas(app)
    yield server, app, people
    await people.close()
    await app.state.redis.aclose()
    server.stop()


async def test_requests_succeed_while_redis_is_down_and_notices_follow(own_redis_app, workers):
    server, app, people = own_redis_app
    clear_outbox()
    alice = await people.get("alice_support")
    dan = await people.get("dan_sales")
    worker = workers(REDIS_URL=server.url)
    await eventually(lambda: _logged(worker), what="the worker to start", worker=worker)

    server.stop()  # Redis goes away; the worker keeps running, waiting for it
    first = await submit(alice)
    second = await submit(alice, title="Let customers download all invoices at once")
    await vote(dan, first)
    await vote(dan, second)
    bob, session = await open_session(people)
    await decide(bob, first, session, "decline", note=DECLINE_NOTE)
    await decide(bob, second, session, "accept", owning_department_id=str(bob.viewer.department_id))
    health = await _health(app, (await people.get("adam_admin")).token)
    assert health["redis"].startswith("error") and health["oldest_undelivered_event_age_s"] >= 0
    assert len(await undispatched()) == 4
    assert await Notification.count().run() == 0

    server.start()  # same port: the worker and the app reconnect by themselves
    await eventually(lambda: _is_empty(undispatched), what="delivery after Redis", worker=worker)
    await eventually(lambda: _zero(pending_mail), what="every e-mail", worker=worker)
    assert worker.alive
    alices = await notices(user=alice.viewer.id)
    assert [n["kind"] for n in alices] == ["idea_status"] * 4  # 2 in review, declined, accepted
    assert len({n["event"] for n in alices}) == 4
    dans = await notices(user=dan.viewer.id)
    # a voter hears of the decline and of the acceptance (issue 17)
    assert sorted(n["kind"] for n in dans) == ["vote_accepted", "vote_declined"]
    assert len(list(mail.outbox_dir().glob("*.eml"))) == 6


async def _logged(worker) -> bool:
    return bool(worker.job_lines())


async def _health(app, admin_token: str) -> dict:
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {admin_token}"},
    ) as c:
        return (await c.get("/health")).json()


# -- (3) the SMTP server down --------------------------------------------------------------------


class Sink:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        import email
        import email.policy

        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


async def test_smtp_down_delays_mail_only_and_it_is_retried_until_delivered(personas, workers):
    from aiosmtpd.controller import Controller

    port = _free_port()
    alice = await personas.get("alice_support")
    dan = await personas.get("dan_sales")
    worker = workers(SMTP_URL=f"smtp://127.0.0.1:{port}", TOUCHPOINT_MAIL_MAX_TRIES="100")
    idea = await submit(alice)
    await vote(dan, idea)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "decline", note=DECLINE_NOTE)

    # in-app notices arrive although no mail can go
    await eventually(lambda: _is_empty(undispatched), what="in-app delivery", worker=worker)
    r = await dan.api().get("/api/v1/me/notifications")
    assert [i["kind"] for i in r.json()["items"]] == ["vote_declined"]

    async def retried() -> bool:
        rows = await notices()
        return len(rows) == 3 and all(n["email_attempts"] >= 3 for n in rows)

    await eventually(retried, what="mail retries", worker=worker)
    assert {n["email_status"] for n in await notices()} == {"pending"}

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await eventually(lambda: _zero(pending_mail), what="mail after SMTP returns", worker=worker)
    finally:
        controller.stop()
    rows = await notices()
    assert {n["email_status"] for n in rows} == {"sent"}
    assert len(sink.messages) == 3
    for rcpts, message in sink.messages:
        assert len(rcpts) == 1 and message["To"] == rcpts[0]
    assert {m["Message-ID"] for _, m in sink.messages} == {
        mail.message_id_for(n["dedup_key"]) for n in rows
    }
    waits = [
        j["retry_in_s"]
        for j in worker.job_lines()
        if j["job"] == "send_pending_email" and j["outcome"] == "retry"
    ]
    assert waits and max(waits) > min(waits)  # the wait grows: exponential backoff


# -- (4) a job that fails does not block the others ---------------------------------------------


async def test_failing_jobs_are_logged_counted_and_do_not_block_others(
    personas, workers, tmp_path, client
):
    clear_outbox()
    templates = tmp_path / "templates"
    templates.mkdir()
    alice = await personas.get("alice_support")
    # mail to a submitter (and to a voter) names no idea: both use the private
    # notice template, so it is broken for alice alone (dan's still goes)
    original = (mail.TEMPLATES / "private_notice.html").read_text()
    (templates / "private_notice.html").write_text(
        "{% if recipient_name == " + repr(alice.name) + " %}{{ broken() }}{% endif %}" + original
    )
    dan = await personas.get("dan_sales")
    erin = await personas.get("erin_it")
    idea = await submit(alice)
    await vote(dan, idea)
    await vote(erin, idea)
    bob, session = await open_session(personas)
    await decide(bob, idea, session, "decline", note=DECLINE_NOTE)
    # an event that cannot be delivered at all (its data is garbage)
    await Event.insert(
        Event(idea=int(idea), kind="action_assigned", public=False, data={"action_id": "x"})
    ).run()
    # the fan-out happens and the mail jobs are queued; then erin is deleted
    bad = max(await undispatched())
    async with redis_pool() as pool:
        for event_id in await undispatched():
            if event_id != bad:
                delivered = await fanout.deliver_event(event_id)
                await tasks.enqueue_mail(pool, delivered.mail_ids)
    assert len(await notices(user=erin.viewer.id)) == 1
    await User.delete().where(User.id == erin.viewer.id).run()

    worker = workers(TOUCHPOINT_MAIL_TEMPLATES=str(templates), TOUCHPOINT_JOB_MAX_TRIES="2")
    await eventually(lambda: _zero(pending_mail), what="mail to settle", worker=worker)

    async def bad_event_given_up() -> bool:
        lines = worker.job_lines()
        return any(j["job"] == "deliver_event" and j["outcome"] == "failed" for j in lines)

    await eventually(bad_event_given_up, what="the bad event to fail", worker=worker)
    rows = {(n["user"], n["kind"]): n for n in await notices()}
    assert rows[(dan.viewer.id, "vote_declined")]["email_status"] == "sent"
    assert len(list(mail.outbox_dir().glob("*.eml"))) == 1
    for (user, _kind), n in rows.items():
        if user == alice.viewer.id:
            assert n["email_status"] == "failed" and "template" in n["email_error"]
    assert (await alice.api().get("/api/v1/me/notifications")).json()["items"]  # in-app intact

    failed = [j for j in worker.job_lines() if j["outcome"] == "failed"]
    assert {j["job"] for j in failed} == {"send_pending_email", "deliver_event"}
    assert any("no longer exists" in j.get("error", "") for j in failed)  # erin's
    adam = await personas.get("adam_admin")
    body = (await adam.api().get("/health")).json()
    assert body["failed_jobs"]["send_pending_email"] == 3  # alice's two, erin's one
    assert body["failed_jobs"]["deliver_event"] >= 1
    assert "ERROR" in worker.tail(400)
