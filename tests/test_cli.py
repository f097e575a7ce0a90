"""The `touchpoint` command, run as a newcomer or an operator would: a real
process against the test database (conftest puts DATABASE_URL, REDIS_URL,
TOUCHPOINT_DATA_DIR ... in the environment), checked through the database
and the API."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ideas.people import accounts
from ideas.tables import AuditLog, Department, User
from ideas.viewer import roles_of, sorted_roles

PASSWORD = "a long enough password"


@dataclass
class Run:
    code: int
    out: str
    err: str


async def touchpoint(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> Run:
    full_env = {k: v for k, v in os.environ.items() if k != "TOUCHPOINT_PASSWORD"}
    full_env.update(env or {})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "touchpoint",
        *args,
        env=full_env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 120)
    return Run(proc.returncode, out.decode(), err.decode())


async def add(email: str, *extra: str, department: str = "Support") -> Run:
    return await touchpoint(
        "users",
        "add",
        "--email",
        email,
        "--name",
        "Nora Nilsen",
        "--title",
        "Support Agent",
        "--department",
        department,
        "--password",
        PASSWORD,
        *extra,
    )


async def roles_of_user(email: str) -> list[str]:
    row = await accounts.user_by_email(email)
    assert row is not None
    return sorted_roles(roles_of(row))


async def can_log_in(client, email: str, password: str) -> bool:
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return r.status_code == 201


def test_every_subcommand_has_help(capsys):
    from touchpoint.cli import build_parser

    commands = [
        ["up"],
        ["web"],
        ["worker"],
        ["migrate"],
        ["demo"],
        ["users"],
        *[
            ["users", a]
            for a in (
                "add",
                "import",
                "set-roles",
                "set-password",
                "deactivate",
                "reactivate",
                "list",
                "invite",
            )
        ],
    ]
    for words in commands:
        with pytest.raises(SystemExit) as stop:
            build_parser().parse_args([*words, "--help"])
        assert stop.value.code == 0
        text = capsys.readouterr().out
        assert f"touchpoint {' '.join(words)}" in text
        assert len(text.splitlines()) >= 4, words


async def test_users_add_creates_a_person_who_can_log_in(client):
    run = await add("Nora@Example.com", "--role", "council", "--role", "leader", department="Ops")
    assert run.code == 0, run.err
    assert "nora@example.com" in run.out
    assert await roles_of_user("nora@example.com") == ["staff", "council", "leader"]
    departments = await Department.select(Department.name).run()
    assert {"name": "Ops"} in departments
    assert await can_log_in(client, "nora@example.com", PASSWORD)
    entry = await AuditLog.select().where(AuditLog.action == "person.create").run()
    assert entry[0]["target"] == "nora@example.com" and entry[0]["actor"] is None


async def test_users_add_refuses_a_duplicate_email_and_changes_nothing():
    assert (await add("nora@example.com")).code == 0
    again = await add("NORA@example.com", department="Finance")
    assert again.code == 1
    assert "already exists" in again.err and "Traceback" not in again.err
    assert await User.count().run() == 1
    assert not await Department.exists().where(Department.name == "Finance").run()


async def test_users_add_refuses_an_unknown_role():
    run = await add("nora@example.com", "--role", "wizard")
    assert run.code == 1
    assert "unknown role 'wizard'" in run.err and "Traceback" not in run.err
    assert await User.count().run() == 0


async def test_users_add_without_a_password_in_a_pipe_says_how_to_give_one():
    run = await touchpoint(
        "users", "add", "--email", "x@example.com", "--name", "X", "--title", "T",
        "--department", "IT",
    )  # fmt: skip
    assert run.code == 1
    assert "TOUCHPOINT_PASSWORD" in run.err
    assert await User.count().run() == 0


async def test_users_add_refuses_a_short_password():
    run = await touchpoint(
        "users", "add", "--email", "x@example.com", "--name", "X", "--title", "T",
        "--department", "IT", "--password", "short",
    )  # fmt: skip
    assert run.code == 1 and "password" in run.err
    assert await User.count().run() == 0


async def test_set_roles_replaces_roles_and_is_audited():
    assert (await add("nora@example.com", "--role", "leader")).code == 0
    run = await touchpoint("users", "set-roles", "nora@example.com", "--role", "admin")
    assert run.code == 0, run.err
    assert await roles_of_user("nora@example.com") == ["staff", "admin"]
    last = await touchpoint("users", "set-roles", "nora@example.com")
    assert last.code == 1 and "last active admin" in last.err  # the admin rule of /admin
    assert await roles_of_user("nora@example.com") == ["staff", "admin"]
    assert (await add("olaf@example.com", "--role", "admin")).code == 0
    run = await touchpoint("users", "set-roles", "nora@example.com")
    assert run.code == 0
    assert await roles_of_user("nora@example.com") == ["staff"]
    entries = await AuditLog.select().where(AuditLog.action == "person.update").run()
    assert len(entries) == 2
    bad = await touchpoint("users", "set-roles", "nora@example.com", "--role", "boss")
    assert bad.code == 1 and "unknown role" in bad.err
    missing = await touchpoint("users", "set-roles", "nobody@example.com", "--role", "admin")
    assert missing.code == 1 and "no user" in missing.err


async def test_deactivate_refuses_log_in(client):
    assert (await add("nora@example.com")).code == 0
    assert await can_log_in(client, "nora@example.com", PASSWORD)
    run = await touchpoint("users", "deactivate", "nora@example.com")
    assert run.code == 0, run.err
    assert not await can_log_in(client, "nora@example.com", PASSWORD)
    run = await touchpoint("users", "reactivate", "nora@example.com")
    assert run.code == 0
    assert await can_log_in(client, "nora@example.com", PASSWORD)


async def test_deactivate_keeps_the_last_admin():
    assert (await add("nora@example.com", "--role", "admin")).code == 0
    run = await touchpoint("users", "deactivate", "nora@example.com")
    assert run.code == 1 and "last active admin" in run.err
    row = await accounts.user_by_email("nora@example.com")
    assert row is not None and row["active"] is True


async def test_set_password_reads_touchpoint_password(client):
    assert (await add("nora@example.com")).code == 0
    new = "another long password"
    run = await touchpoint(
        "users", "set-password", "nora@example.com", env={"TOUCHPOINT_PASSWORD": new}
    )
    assert run.code == 0, run.err
    assert await can_log_in(client, "nora@example.com", new)
    assert not await can_log_in(client, "nora@example.com", PASSWORD)
    missing = await touchpoint(
        "users", "set-password", "nobody@example.com", env={"TOUCHPOINT_PASSWORD": new}
    )
    assert missing.code == 1 and "no user" in missing.err


CSV = """email,name,title,department,roles
ines@example.com,Ines Ibarra,Billing Clerk,Finance,
omar@example.com,Omar Osei,Support Lead,Support,council;leader
not-an-email,Bad Address,Clerk,Finance,
zoe@example.com,Zoe Zhang,Analyst,Legal,wizard
yan@example.com,,Analyst,Legal,
twice@example.com,Twice One,Agent,HR,
twice@example.com,Twice Two,Agent,HR,
nora@example.com,Nora Renamed,Team Lead,Support,council
"""


async def test_users_import_reports_each_row_and_writes_nothing_for_rejected_ones(
    tmp_path: Path, client
):
    assert (await add("nora@example.com")).code == 0
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    run = await touchpoint("users", "import", str(path))
    assert run.code == 1, run.err  # some rows were rejected; the good ones are written
    out = run.out
    assert "Created: 2" in out and "ines@example.com" in out and "omar@example.com" in out
    assert "Updated: 1" in out and "nora@example.com" in out
    assert "Rejected: 5" in out
    assert "line 4: not-an-email: bad email" in out
    assert "line 5: zoe@example.com: unknown role 'wizard'" in out
    assert "line 6: yan@example.com: name is missing" in out
    assert "twice@example.com: email appears more than once" in out
    assert "rejected" in run.err and "Traceback" not in run.err

    emails = {r["email"] for r in await User.select(User.email).run()}
    assert emails == {"nora@example.com", "ines@example.com", "omar@example.com"}
    assert not await Department.exists().where(Department.name.is_in(["Legal", "HR"])).run()
    assert await roles_of_user("omar@example.com") == ["staff", "council", "leader"]
    assert await roles_of_user("nora@example.com") == ["staff", "council"]
    nora = await accounts.user_by_email("nora@example.com")
    assert nora["name"] == "Nora Renamed"
    assert nora["password_hash"], "an update keeps the password"
    ines = await accounts.user_by_email("ines@example.com")
    assert ines["password_hash"] == "", "imported people have no usable password"
    assert not await can_log_in(client, "ines@example.com", "")

    again = await touchpoint("users", "import", str(path))
    assert "Created: 0" in again.out and "Updated: 0" in again.out
    assert await User.count().run() == 3


async def test_users_import_of_a_file_without_the_columns_is_refused(tmp_path: Path):
    path = tmp_path / "people.csv"
    path.write_text("mail,who\na@example.com,A\n")
    run = await touchpoint("users", "import", str(path))
    assert run.code == 1
    assert "email" in run.err and len(run.err.strip().splitlines()) == 1
    assert await User.count().run() == 0


#: a bad value for every variable the product reads (`ideas.config.VARIABLES`)
BAD_VALUES = {
    "TOUCHPOINT_DATA_DIR": "/dev/null",
    "DATABASE_URL": "mysql://db/touchpoint",
    "REDIS_URL": "ftp://x",
    "SECRET_KEY": "short",
    "BASE_URL": "touchpoint.example.com",
    "SMTP_URL": "http://mail.example.com",
    "MAIL_FROM": "nobody",
    "SMTP_TIMEOUT": "x",
    "TOUCHPOINT_MAIL_TEMPLATES": "/nonexistent/templates",
    "TOUCHPOINT_ARGON2": "fast",
    "LEADERS_CACHE_SECONDS": "-1",
    "REDIS_SERVER_BIN": "/nonexistent/redis-server",
    "TRIAGE_SLA_DAYS": "soon",
    "QUORUM_DEPARTMENTS": "0",
    "AGENDA_SIZE": "501",
    "K_ANONYMITY": "2.5",
    "DIGEST_WEEKDAY": "7",
    "DIGEST_HOUR": "banana",
    "RATE_LIMIT_LOGIN": "many",
    "RATE_LIMIT_LOGIN_ACCOUNT": "-5",
    "RATE_LIMIT_TOKEN": "1e3",
    "RATE_LIMIT_IDEA": "ten",
    "RATE_LIMIT_COMMENT": "20/min",
    "RATE_LIMIT_VOTE": "-1",
    "TOUCHPOINT_OUTBOX_GRACE_S": "-1",
    "TOUCHPOINT_FANOUT_CHUNK": "0",
    "TOUCHPOINT_FANOUT_PAUSE_MS": "nan",
    "TOUCHPOINT_RETRY_BASE_S": "soon",
    "TOUCHPOINT_RETRY_CAP_S": "inf",
    "TOUCHPOINT_JOB_MAX_TRIES": "many",
    "TOUCHPOINT_MAIL_MAX_TRIES": "0",
    "TOUCHPOINT_EVENT_MAX_ATTEMPTS": "1.5",
    "TOUCHPOINT_JOB_TIMEOUT_S": "0",
    "TOUCHPOINT_SWEEP_EVERY_S": "61",
    "TOUCHPOINT_SWEEP_LIMIT": "x",
    "TOUCHPOINT_POLL_DELAY_S": "fast",
    "SIMILAR_SEMANTIC": "maybe",
    "SIMILAR_MODEL_PATH": "/nonexistent/model.onnx",
    "PUBLISH_DELAY_MINUTES": "hourly",
    "WEBHOOK_ALLOWED_HOSTS": "10.0.0.0/33",
    "SLACK_SIGNING_SECRET": "two words",
    "SLACK_BOT_TOKEN": "bot-token",
    "SLACK_API_URL": "https://slack.com/api",
    "TOUCHPOINT_WEBHOOK_TIMEOUT_S": "0",
    "TOUCHPOINT_WEBHOOK_MAX_RESPONSE_BYTES": "big",
    "TOUCHPOINT_WEBHOOK_RETRY_BASE_S": "-1",
    "TOUCHPOINT_WEBHOOK_RETRY_CAP_S": "nan",
    "TOUCHPOINT_WEBHOOK_MAX_ATTEMPTS": "0",
    "TOUCHPOINT_WEBHOOK_DISABLE_AFTER": "1.5",
    "API_TOKEN_DAYS": "0",
    "OIDC_ISSUER": "https://idp.example.com",  # alone: the client id and secret are missing
    "OIDC_CLIENT_ID": "touchpoint",
    "OIDC_CLIENT_SECRET": "s3cret",
    "OIDC_SCOPES": "email profile",  # alone, or without openid
    "OIDC_PROVIDER_NAME": "Okta",
    "OIDC_EMAIL_CLAIM": "email",
    "OIDC_NAME_CLAIM": "bad claim",
    "OIDC_DEPARTMENT_CLAIM": "department",
    "OIDC_TITLE_CLAIM": "title",
    "OIDC_GROUPS_CLAIM": "groups",
    "OIDC_GROUP_ROLES": "cx=boss",
    "OIDC_ALLOWED_DOMAINS": "example.com",
    "OIDC_DEFAULT_DEPARTMENT": "Unassigned",
    "SSO_ONLY": "maybe",
    "REQUEST_MAX_BYTES": "1MB",
    "REDIS_DEADLINE_MS": "0",
    "REDIS_COOLDOWN_S": "-1",
    "FORWARDED_ALLOW_IPS": "proxy.example.com",
    "TOUCHPOINT_MAIL_JOB_TIMEOUT_S": "0",
    "RATE_LIMIT_ANONYMOUS": "sixty",
    "TOUCHPOINT_PASSWORD": "short",
}


def test_every_variable_has_a_bad_value_here():
    from ideas.config import VARIABLES

    assert sorted(BAD_VALUES) == sorted(VARIABLES)


@pytest.mark.parametrize(("variable", "value"), sorted(BAD_VALUES.items()))
async def test_a_bad_setting_is_one_line_naming_the_variable(variable: str, value: str):
    run = await touchpoint("users", "list", env={variable: value})
    assert run.code == 2, run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert variable in lines[0] and "Traceback" not in run.err


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRIAGE_SLA_DAYS", "7"),
        ("TOUCHPOINT_SWEEP_EVERY_S", "1"),
        ("SMTP_TIMEOUT", "2.5"),
        ("TOUCHPOINT_PASSWORD", PASSWORD),
    ],
)
def test_a_good_setting_is_taken(variable: str, value: str):
    from ideas.config import load_settings

    settings = load_settings({**os.environ, variable: value})
    taken = {
        "TRIAGE_SLA_DAYS": lambda: settings.org_overrides["triage_sla_days"],
        "TOUCHPOINT_SWEEP_EVERY_S": lambda: settings.worker.sweep_every_s,
        "SMTP_TIMEOUT": lambda: settings.smtp_timeout,
        "TOUCHPOINT_PASSWORD": lambda: settings.cli_password,
    }[variable]()
    assert str(taken) == value
    assert PASSWORD not in repr(settings)  # a secret, never shown


async def test_demo_fills_an_empty_database_with_every_status(client):
    from ideas.lifecycle import STATUSES
    from ideas.tables import Idea, Vote

    run = await touchpoint("demo")
    assert run.code == 0, run.err
    assert "Note:" not in run.out, run.out  # no step was refused by a service
    password = run.out.split("the password of every one is: ")[1].split()[0]

    names = {r["name"] for r in await Department.select(Department.name).run()}
    assert {"Finance", "HR", "IT", "Support", "Sales", "Marketing", "Product", "Legal"} <= names
    users = await User.select(
        User.email, User.department, User.is_council, User.is_leader, User.is_admin
    ).run()
    assert 35 <= len(users) <= 45
    assert len({u["department"] for u in users if u["is_council"]}) >= 3
    assert any(u["is_leader"] for u in users) and any(u["is_admin"] for u in users)
    ideas = await Idea.select(Idea.status, Idea.votes, Idea.submitted_on).run()
    assert 55 <= len(ideas) <= 65
    assert {i["status"] for i in ideas} == set(STATUSES)
    counted = sum(i["votes"] for i in ideas)  # a merged duplicate keeps its rows, counts 0
    assert await Vote.count().where(Vote.idea.status != "duplicate").run() == counted > 100
    assert len({i["submitted_on"] for i in ideas}) > 20, "submissions spread over weeks"

    admin = next(u["email"] for u in users if u["is_admin"])
    assert admin in run.out
    assert await can_log_in(client, admin, password)

    # first run (issue 17): the history is marked delivered, no mail is due,
    # the migration line tells the truth, the logins come last, framed
    from ideas.tables import Event, JobRun, Notification

    assert await Event.count().where(Event.dispatched_at.is_null()).run() == 0
    assert await Notification.count().run() > 0  # the inbox has the history
    due = Notification.email_status.is_in(["pending", "sent"])
    assert await Notification.count().where(due).run() == 0
    assert await JobRun.count().where(JobRun.key.like("digest:%")).run() == 1
    assert "already complete" not in run.out and "migrations not yet run" not in run.out
    last = [line for line in run.out.strip().splitlines() if line.strip()]
    assert last[-1].startswith("+--") and last[-1].endswith("-+")
    assert any(password in line and line.startswith("| ") for line in last[-20:])

    again = await touchpoint("demo")
    assert again.code == 1 and "already has" in again.err
    assert await User.count().run() == len(users)


async def test_the_demo_writes_its_history_at_the_simulated_moments(client):
    """Each demo step runs in a unit of work at its simulated moment, so the
    services stamp it then (nothing is rewritten afterwards): with the clock
    200 days ahead, every stamp of every table lies within the demo's ten
    weeks before that moment, and a day's steps keep their order."""
    import datetime as dt

    from piccolo.columns import Timestamptz

    from ideas import clock, context
    from ideas.tables import Event, Idea
    from touchpoint import demo

    moment = clock.now().replace(microsecond=0) + dt.timedelta(days=200)
    clock.set_clock(lambda: moment)
    try:
        async with context.unit_of_work(context.COMMAND_LINE, transaction=False):
            await demo.load_demo("http://demo.test")
    finally:
        clock.set_clock(None)
    earliest = moment - dt.timedelta(days=demo.HISTORY_DAYS + 1)
    from ideas.piccolo_app import APP_CONFIG

    checked = 0
    for table in APP_CONFIG.table_classes:
        for column in table._meta.columns:
            name = column._meta.name
            if not isinstance(column, Timestamptz) or "expire" in name:
                continue
            rows = await table.select(column).where(column.is_not_null()).run()
            for row in rows:
                assert earliest <= row[name] <= moment, (table._meta.tablename, name, row[name])
                checked += 1
    assert checked > 1000
    ideas = await Idea.select(Idea.created_at, Idea.submitted_on).run()
    assert all(i["created_at"].date() == i["submitted_on"] for i in ideas)
    assert len({i["created_at"] for i in ideas}) == len(ideas)  # a second apart
    events = await Event.select(Event.created_at).run()
    assert min(e["created_at"] for e in events) < moment - dt.timedelta(days=60)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class UpProcess:
    """`touchpoint up` as a newcomer runs it: no REDIS_URL (embedded Redis)."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        self.env["TOUCHPOINT_DATA_DIR"] = str(tmp_path / "data")
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "touchpoint", "up", "--port", str(self.port),
            env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self.reader = asyncio.create_task(self._read())
        async with asyncio.timeout(90):
            while not any("Touchpoint is running at" in line for line in self.lines):
                assert self.proc.returncode is None, self.text
                await asyncio.sleep(0.1)

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace"))

    @property
    def text(self) -> str:
        return "".join(self.lines)

    @property
    def redis_port(self) -> int:
        line = next(x for x in self.lines if x.startswith("Embedded Redis on redis://"))
        return int(line.split("redis://127.0.0.1:")[1].split("/")[0])

    async def wait(self) -> int:
        assert self.proc
        async with asyncio.timeout(60):
            code = await self.proc.wait()
            await self.reader
        return code

    async def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            for child in _children(self.proc.pid):
                os.kill(child, 9)
            self.proc.kill()
            await self.proc.wait()


async def test_up_serves_on_embedded_redis_and_stops_everything_on_sigterm(tmp_path):
    import signal

    import httpx

    up = UpProcess(tmp_path)
    try:
        await up.start()
        assert "no users yet" in up.text and "touchpoint demo" in up.text
        children = _children(up.proc.pid)
        assert len(children) == 3, up.text  # Redis, web and worker
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{up.port}") as http:
            health = (await http.get("/health")).json()
            assert health["database"] == "ok" and health["redis"] == "ok", health
            assert (await http.get("/login")).status_code == 200
        redis_port = up.redis_port
        up.proc.send_signal(signal.SIGTERM)
        assert await up.wait() == 0, up.text
        assert "Stopped." in up.text
        assert not _port_open(up.port) and not _port_open(redis_port)
        assert not any(_alive(pid) for pid in children)
    finally:
        await up.kill()


async def test_up_stops_the_rest_and_fails_when_a_child_dies(tmp_path):
    up = UpProcess(tmp_path)
    try:
        await up.start()
        worker = next(pid for pid in _children(up.proc.pid) if b"worker" in _cmdline(pid))
        os.kill(worker, 9)
        assert await up.wait() == 1
        assert "worker exited" in up.text
        assert not _port_open(up.port) and not _port_open(up.redis_port)
    finally:
        await up.kill()


# -- the command's outbox events ---------------------------------------------------------

#: a command's unit of work that records one event (as a use case does), then
#: prints the event's id
RECORD_EVENT = """
from ideas import outbox
from touchpoint import cli

cli._settings()
print(cli._run_db(lambda: outbox.record_event(idea_id=None, kind="note", note="from the CLI")))
"""


async def python(script: str, env: dict[str, str] | None = None) -> Run:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return Run(proc.returncode, out.decode(), err.decode())


async def test_a_commands_events_are_enqueued_right_after_its_work(redis_client):
    """The command line flushes its unit of work's outbox after the commit, as
    the web and the workers do: the delivery job is on the queue at once, not
    left to the sweep's grace period."""
    from ideas import outbox
    from ideas.tables import Event

    run = await python(RECORD_EVENT)
    assert run.code == 0, run.err
    event_id = int(run.out.strip())
    assert await Event.exists().where(Event.id == event_id).run()
    job_id = outbox.job_id_for(event_id)
    assert await redis_client.exists(f"arq:job:{job_id}")
    assert await redis_client.zscore("arq:queue", job_id) is not None


async def test_a_command_with_redis_down_leaves_its_events_to_the_sweep(redis_client):
    """Redis unreachable: the command still succeeds and says nothing about
    it; the committed event waits for the workers' sweep."""
    from ideas.tables import Event
    from tests.conftest import free_port

    run = await python(RECORD_EVENT, env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert run.code == 0, run.err
    assert run.err == ""
    event_id = int(run.out.strip())
    [row] = await Event.select(Event.dispatched_at).where(Event.id == event_id).run()
    assert row["dispatched_at"] is None
    assert not await redis_client.keys("arq:*")
