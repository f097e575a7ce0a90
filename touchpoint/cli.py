"""The `touchpoint` command: run the app, manage people, load the demo.

It stands above `web/` and `workers/` (it starts them as child processes)
and imports the domain lazily, after the environment has been checked, so a
bad setting is one line naming the variable (exit status 2), not a traceback.

Exit status: 0 done, 1 refused (bad input, duplicate, a child that died),
2 bad configuration or usage.

Size: over 400 lines: the command's whole argument tree with its help texts;
every subcommand calls the domain through one unit of work.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROLE_CHOICES = ("council", "leader", "admin")
STOP_TIMEOUT = 20.0


class Refused(Exception):
    """A request the command turns down: printed as one line, exit status 1."""


# -- plumbing ------------------------------------------------------------------


def _say(message: str = "") -> None:
    print(message, flush=True)


def _err(message: str) -> None:
    print(f"touchpoint: {message}", file=sys.stderr, flush=True)


def _settings():
    """Check the whole environment once (raises ConfigError on a bad value)."""
    from ideas.config import load_settings, reset_settings

    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
    settings = load_settings()
    reset_settings(settings)
    return settings


def _run_db(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work()` with the database open (a small pool on PostgreSQL), in the
    command's unit of work; its outbox events go to Redis after it (`_flush_events`)."""

    async def runner() -> T:
        from piccolo.engine.postgres import PostgresEngine

        from ideas import context, db

        engine = db.engine()
        if isinstance(engine, PostgresEngine) and engine.pool is None:
            await engine.start_connection_pool(min_size=1, max_size=4)
        try:
            # the command's unit of work: the command line acts, one `now`;
            # each service call opens its own transaction (ideas.context)
            async with context.unit_of_work(
                context.COMMAND_LINE, transaction=False, flush=False
            ) as ctx:
                result = await work()
            await _flush_events(ctx.events)
            return result
        finally:
            await db.close_pool()

    return asyncio.run(runner())


async def _flush_events(events: list) -> None:
    """After the commit, hand the command's outbox events to Redis as the
    workers do (`outbox.flush`), so its notices go out at once. Without
    REDIS_URL, or when Redis does not answer, nothing is said: the events are
    committed and the workers' sweep delivers them after its grace period."""
    if not events:
        return
    from ideas.config import get_settings

    url = get_settings().redis_url
    if not url:
        return
    from arq.connections import ArqRedis

    from ideas import outbox

    redis = ArqRedis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        await outbox.flush(events, redis, raise_errors=True)
    except Exception:  # noqa: BLE001, S110 - Redis down or refused: the sweep catches up
        pass
    finally:
        await redis.aclose()


def _domain_error_text(exc: Exception) -> str:
    from ideas.errors import Invalid

    if isinstance(exc, Invalid):
        return f"{exc.field}: {exc.reason}"
    return getattr(exc, "detail", None) or str(exc)


# -- up / web / worker / migrate -------------------------------------------------


def _migrate() -> None:
    from ideas import db

    applied = _run_db(db.run_migrations)
    if applied:
        _say(f"Applied {applied} migration{'s' if applied != 1 else ''}.")
    else:
        _say("The database is up to date.")


def cmd_migrate(args: argparse.Namespace) -> int:
    _settings()
    _migrate()
    _say("Migrations are up to date.")
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    settings = _settings()
    import uvicorn

    if not settings.redis_url:
        _err(
            "REDIS_URL is unset: notices are queued only by the workers' sweep and rate "
            "limits are off (use `touchpoint up` for an embedded Redis)"
        )
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_level=args.log_level,
        # X-Forwarded-For only from the proxies named in FORWARDED_ALLOW_IPS:
        # otherwise anyone on the host could pick the address rate limits see
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        server_header=False,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import logging.config

    settings = _settings()
    if not settings.redis_url:
        _err("REDIS_URL: required by `touchpoint worker` (`touchpoint up` embeds a Redis)")
        return 2
    from arq.logs import default_log_config

    try:
        from workers.run import run_workers
    except ImportError as exc:
        _err(f"the worker is not available in this build ({exc})")
        return 1
    logging.config.dictConfig(default_log_config(verbose=args.verbose))
    if not args.verbose:
        # one line per job at INFO is thousands of lines on a first start:
        # routine runs are logged at debug level, problems stay visible
        logging.getLogger("arq.worker").setLevel(logging.WARNING)
    code = 0
    try:
        code = run_workers()  # the default, mail and index queues, one process
    except asyncio.CancelledError:
        # On SIGTERM arq cancels the running jobs (they are queued again) and
        # may re-raise a cancellation from its close(): the stop itself is done.
        pass
    # A job cancelled in the middle of a SQLite query can leave an aiosqlite
    # thread behind that would hold the interpreter's exit for its busy
    # timeout; every job has been cancelled or finished, so leave now.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _child(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child process in its own session (Ctrl-C reaches only us, and we stop
    the children in order) that dies with us even if we are killed."""
    from touchpoint.redis_server import _parent_death_hook

    return subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "touchpoint", *argv],
        env=env,
        start_new_session=True,
        preexec_fn=_parent_death_hook(),  # noqa: PLW1509
    )


def _stop_children(children: list[tuple[str, subprocess.Popen]]) -> None:
    for _name, proc in children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _err(f"{name} did not stop within {STOP_TIMEOUT:g} s; killing it")
            proc.kill()
            proc.wait()


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def _first_run_hint() -> str:
    return (
        "The database has no users yet. Create the first admin:\n"
        "    touchpoint users add --email you@example.com --name 'Your Name' "
        "--title 'Administrator' --department IT --role admin\n"
        "or load the demo organisation:\n"
        "    touchpoint demo"
    )


def cmd_up(args: argparse.Namespace) -> int:
    settings = _settings()
    _say(f"Data directory: {settings.data_dir}")
    _say("Applying migrations ...")
    _migrate()

    browse_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    url = f"http://{browse_host}:{args.port}"
    env = dict(os.environ)
    env["TOUCHPOINT_DATA_DIR"] = str(settings.data_dir)
    env.setdefault("BASE_URL", url)

    from ideas.people import accounts

    users = _run_db(accounts.active_user_count)
    demo_logins = ""
    if users == 0 and args.demo:
        from touchpoint import demo

        _say("Empty database: loading the demo organisation ...")
        loaded = _run_db(lambda: demo.load_demo(env["BASE_URL"]))
        _say(loaded.describe(logins=False))
        # the logins are the last thing printed, once everything runs
        demo_logins = loaded.logins_box()
    elif users == 0:
        _say(_first_run_hint())

    redis_server = None
    if not settings.redis_url:
        from touchpoint.redis_server import EmbeddedRedis

        redis_server = EmbeddedRedis(
            executable=settings.redis_server_bin, persist_dir=settings.data_dir / "redis"
        ).start()
        env["REDIS_URL"] = redis_server.url
        _say(f"Embedded Redis on {redis_server.url} (data in {redis_server.data_dir})")

    stopping = threading.Event()
    got: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        got.append(signum)
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children: list[tuple[str, subprocess.Popen]] = []
    status = 0
    try:
        web_argv = ["web", "--host", args.host, "--port", str(args.port)]
        children.append(("web", _child(web_argv, env)))
        children.append(("worker", _child(["worker"], env)))
        if _wait_until_up(url, children[0][1]):
            _say(f"\nTouchpoint is running at {url}  (Ctrl-C stops it)\n")
            if demo_logins:
                _say(demo_logins)
        elif children[0][1].poll() is None:
            _err(f"the web server does not answer {url}/health yet; still waiting")
        while not stopping.wait(0.5):
            dead = [(name, p.returncode) for name, p in children if p.poll() is not None]
            if dead:
                for name, code in dead:
                    _err(f"{name} exited with status {code}; stopping the rest")
                status = 1
                break
            if redis_server is not None and not redis_server.running:
                _err(f"the embedded Redis stopped:\n{redis_server.log_tail()}")
                status = 1
                break
    finally:
        if got:
            _say("Stopping ...")
        _stop_children(children)
        if redis_server is not None:
            redis_server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status == 0:
        _say("Stopped.")
    return status


# -- users -------------------------------------------------------------------------


def _password_for(args: argparse.Namespace, who: str) -> str:
    """--password, else TOUCHPOINT_PASSWORD, else a prompt (twice) in a terminal."""
    from ideas import security
    from ideas.config import get_settings

    password = getattr(args, "password", None) or get_settings().cli_password
    if not password:
        if not sys.stdin.isatty():
            raise Refused(
                "no password given: pass --password, set TOUCHPOINT_PASSWORD, "
                "or run in a terminal to be asked"
            )
        password = getpass.getpass(f"Password for {who}: ")
        if getpass.getpass("Same password again: ") != password:
            raise Refused("the two passwords differ")
    problem = security.password_problem(password)
    if problem:
        raise Refused(f"password: {problem}")
    return password


def _roles_text(roles: Sequence[str] | frozenset[str]) -> str:
    from ideas.viewer import sorted_roles

    return ", ".join(sorted_roles(frozenset(roles) | {"staff"}))


def _as_command_line(use_case: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`use_case(ctx, *args)` in the command's unit of work (the command line acts)."""
    from ideas import context

    return _run_db(lambda: use_case(context.current(), *args))


def cmd_users_add(args: argparse.Namespace) -> int:
    _settings()
    from ideas.people import accounts, directory, roles, service

    # Everything that can be refused is checked before asking for a password.
    email = directory.normalise_email(args.email)
    roles.check_roles(args.role)
    data = service.checked(
        service.PersonIn,
        email=email,
        name=args.name,
        title=args.title,
        department_id=0,  # the department is found (or made) by name below
        roles=list(args.role),
        invite=False,
    )
    if _run_db(lambda: accounts.user_by_email(email)) is not None:
        raise Refused(f"a user with email {email} already exists")
    password = None if args.no_password else _password_for(args, email)

    async def add(ctx):
        from ideas.db import write_transaction

        async with write_transaction():
            department_id = await directory.department_by_name(args.department, create=True)
            person = data.model_copy(update={"department_id": department_id})
            return await service.add_person(ctx, person, password=password)

    _as_command_line(add)
    password_note = "" if password else " (no password yet: use `users set-password`)"
    _say(
        f"Added {data.name} <{email}>, {args.department.strip()}; "
        f"roles: {_roles_text(args.role)}{password_note}"
    )
    return 0


def _print_plan(plan: Any) -> None:
    for title, rows in (("Created", plan.created), ("Updated", plan.updated)):
        _say(f"{title}: {len(rows)}")
        for r in rows:
            changed = f"  ({', '.join(r.changes)} changed)" if getattr(r, "changes", None) else ""
            _say(
                f"  line {r.line}: {r.email}, {r.department}; roles: {', '.join(r.roles)}{changed}"
            )
    if plan.unchanged:
        _say(f"Unchanged: {len(plan.unchanged)}")
    _say(f"Rejected: {len(plan.rejected)}")
    for r in plan.rejected:
        _say(f"  line {r.line}: {r.email or '(no email)'}: {r.reason}")
    if plan.new_departments:
        _say(f"New departments: {', '.join(plan.new_departments)}")


def cmd_users_import(args: argparse.Namespace) -> int:
    _settings()
    from ideas.people import import_file, imports

    path = Path(args.file)
    if not path.is_file():
        raise Refused(f"{path}: no such file")
    rows = import_file.parse_people_csv(import_file.decode_upload(path.read_bytes()))

    async def work(ctx):
        plan = await imports.plan_import(ctx, rows)
        if args.dry_run or not plan.writes:
            return plan, None
        return plan, await imports.apply_import(ctx, plan, invite=args.invite)

    plan, result = _as_command_line(work)
    _print_plan(plan)
    if args.dry_run:
        _say("Dry run: nothing written.")
    elif result is not None:
        _say(f"Written: {len(result.created)} created, {len(result.updated)} updated.")
        if result.invited:
            _say(f"Invitations sent: {len(result.invited)}{_mail_note()}")
        for email in result.invite_failed:
            _err(f"could not mail the invitation to {email} (`touchpoint users invite` again)")
        if result.created and not args.invite:
            _say("New people have no password yet: `touchpoint users invite EMAIL`.")
    else:
        _say("Nothing to write.")
    if plan.rejected:
        _err(
            f"{len(plan.rejected)} row(s) rejected and not written; fix them and import the "
            "file again (people already imported are updated, never duplicated)"
        )
        return 1
    return 0


def _mail_note() -> str:
    from ideas.config import get_settings

    settings = get_settings()
    if settings.smtp_url:
        return ""
    return f" (SMTP_URL is unset: the mail is in {settings.data_dir / 'outbox-mail'})"


def cmd_users_set_roles(args: argparse.Namespace) -> int:
    _settings()
    from ideas.people import directory, roles, service

    email = directory.normalise_email(args.email)
    roles.check_roles(args.role)

    async def work(ctx):
        return await service.set_roles(ctx, await directory.person_id_by_email(email), args.role)

    person = _as_command_line(work)
    _say(f"{email}: roles now {_roles_text(frozenset(person.roles))}")
    return 0


def cmd_users_set_password(args: argparse.Namespace) -> int:
    _settings()
    from ideas.people import accounts, directory, service

    email = directory.normalise_email(args.email)
    if _run_db(lambda: accounts.user_by_email(email)) is None:
        raise Refused(f"no user with email {email}")
    password = _password_for(args, email)
    _as_command_line(service.set_password, email, password)
    _say(f"{email}: password set")
    return 0


def _set_active(email: str, active: bool) -> None:
    from ideas.people import directory, service

    async def work(ctx):
        await service.set_active(ctx, await directory.person_id_by_email(email), active)

    _as_command_line(work)


def cmd_users_deactivate(args: argparse.Namespace) -> int:
    _settings()
    from ideas.people import directory

    email = directory.normalise_email(args.email)
    _set_active(email, False)
    _say(f"{email}: deactivated (log-in refused, API tokens revoked, open links retired)")
    return 0


def cmd_users_reactivate(args: argparse.Namespace) -> int:
    _settings()
    from ideas.people import directory

    email = directory.normalise_email(args.email)
    _set_active(email, True)
    _say(f"{email}: active again")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    _settings()

    async def rows() -> list[dict]:
        from ideas.tables import User

        return (
            await User.select(
                User.email,
                User.name,
                User.department.name.as_alias("department"),
                User.is_council,
                User.is_leader,
                User.is_admin,
                User.active,
                User.password_hash,
            )
            .order_by(User.email)
            .run()
        )

    from ideas.viewer import roles_of

    found = _run_db(rows)
    for r in found:
        flags = [] if r["active"] else ["deactivated"]
        if not r["password_hash"]:
            flags.append("no password")
        extra = f"  [{', '.join(flags)}]" if flags else ""
        _say(
            f"{r['email']:<36} {r['name']:<28} {r['department']:<16} "
            f"{_roles_text(roles_of(r))}{extra}"
        )
    _say(f"{len(found)} user(s)")
    return 0


def cmd_users_invite(args: argparse.Namespace) -> int:
    _settings()
    from ideas.people import invitations

    result = _as_command_line(invitations.invite_user, args.email)
    for email in result.invited:
        if email in result.failed:
            raise Refused(f"the invitation for {email} exists but could not be mailed")
        _say(f"Invitation sent to {email}{_mail_note()}")
    return 0


def cmd_scim_token_create(args: argparse.Namespace) -> int:
    _settings()
    from ideas.integrations import scim

    token = _as_command_line(scim.create_token, args.name)
    _say(token)
    _err(f"SCIM token {args.name!r} made; it is shown only this once: give it to the provider.")
    return 0


# -- demo --------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    _settings()
    _migrate()
    from touchpoint import demo

    result = _run_db(demo.load_demo)
    _say(result.describe())
    return 0


def cmd_similar_reindex(args: argparse.Namespace) -> int:
    """Embed every idea whose vector is missing, pending or from another model."""
    _settings()
    _migrate()

    async def work() -> int:
        from tqdm import tqdm

        from ideas import embedding, vector_index

        if await vector_index.load_embedder() is None:
            raise Refused(f"the similarity model cannot load: {embedding.status()}")
        todo = await vector_index.count_to_embed()
        done = 0
        with tqdm(total=todo, unit="idea", file=sys.stderr, disable=args.quiet) as bar:
            while True:
                stored = await vector_index.embed_pending(limit=500, progress=bar.update)
                done += stored
                if stored == 0:
                    return done

    done = _run_db(work)
    from ideas import embedding

    _say(f"{done} ideas embedded with {embedding.MODEL_VERSION}")
    return 0


# -- the parser ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="touchpoint",
        description=(
            "Touchpoint, the CX idea pipeline with blind review. Configuration comes from "
            "the environment (DATABASE_URL, REDIS_URL, SECRET_KEY, ...; see the README)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = sub.add_parser(
        "up",
        help="migrate, then run the web server and a worker (and an embedded Redis)",
        description=(
            "Apply migrations, start an embedded Redis when REDIS_URL is unset (data in "
            "<TOUCHPOINT_DATA_DIR>/redis), then the web server and an arq worker as child "
            "processes. Ctrl-C or SIGTERM stops them all; if one dies, the others are "
            "stopped and the exit status is 1."
        ),
    )
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    up.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    up.add_argument(
        "--demo",
        action="store_true",
        help="load the demo organisation first if the database has no users",
    )
    up.set_defaults(func=cmd_up)

    web = sub.add_parser(
        "web",
        help="run the web server only (production: beside `touchpoint worker`)",
        description="Serve the web app with uvicorn. Run `touchpoint migrate` first.",
    )
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    web.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    web.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (1)")
    web.add_argument("--access-log", action="store_true", help="log every request")
    web.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn log level (info)",
    )
    web.set_defaults(func=cmd_web)

    worker = sub.add_parser(
        "worker",
        help="run an arq worker only (needs REDIS_URL)",
        description=(
            "Run an arq worker: delivers notices and e-mails, digests and reminders, "
            "and indexes new ideas for similar-idea search. One process serves three "
            "queues (deliveries, e-mail, indexing), so neither mail nor indexing "
            "delays a notice. Any number may run; delivery is at least once and "
            "de-duplicated. "
            "A Redis outage is waited out; exit 1 if a queue's loop stops on an error."
        ),
    )
    worker.add_argument("--verbose", action="store_true", help="debug logging")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser(
        "migrate",
        help="apply pending database migrations",
        description="Apply every pending migration (forward only) to DATABASE_URL.",
    )
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser(
        "demo",
        help="fill an empty database with a demo organisation",
        description=(
            "Create a demo organisation: 9 departments, about 40 people in every role and "
            "about 60 ideas with votes in every status, then print the demo logins (one "
            "password for all). Refused if any user exists."
        ),
    )
    demo.set_defaults(func=cmd_demo)

    similar = sub.add_parser(
        "similar",
        help="similar-idea search: (re)build the idea vectors",
        description="Similar-idea search by meaning (sentence embeddings).",
    )
    ssub = similar.add_subparsers(dest="similar_command", metavar="ACTION", required=True)
    reindex = ssub.add_parser(
        "reindex",
        help="embed every idea that lacks a vector or has one from another model version",
        description=(
            "Embed, with a progress bar, every idea whose vector is missing, pending or "
            "from another model version (the worker does the same for new and edited "
            "ideas). Safe to run at any time and to interrupt."
        ),
    )
    reindex.add_argument("--quiet", action="store_true", help="no progress bar")
    reindex.set_defaults(func=cmd_similar_reindex)

    users = sub.add_parser(
        "users",
        help="add, import and manage people",
        description="Add, import and manage people.",
    )
    usub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = usub.add_parser(
        "add",
        help="add one person",
        description=(
            "Add one person (the department is created if missing). The password comes from "
            "--password, else TOUCHPOINT_PASSWORD, else a prompt."
        ),
    )
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--title", required=True, help="job title (hidden from reviewers)")
    add.add_argument("--department", required=True, help="department name")
    add.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE",
        help=f"one of {', '.join(ROLE_CHOICES)}; repeat for several (everyone is staff)",
    )
    add.add_argument("--password", help="the password (at least 10 characters)")
    add.add_argument("--no-password", action="store_true", help="create without a usable password")
    add.set_defaults(func=cmd_users_add)

    imp = usub.add_parser(
        "import",
        help="create or update people from a CSV file",
        description=(
            "Create or update people from a CSV file with the columns "
            "email,name,title,department,roles (roles separated by ';', may be empty). "
            "Prints the created, updated and rejected rows with the reason for each "
            "rejection; rejected rows write nothing. New people get no usable password "
            "(use `users invite` or `users set-password`). Exit status 1 when any row was "
            "rejected (the good rows are still written)."
        ),
    )
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    imp.add_argument(
        "--invite", action="store_true", help="mail each created person a set-password link"
    )
    imp.set_defaults(func=cmd_users_import)

    roles = usub.add_parser(
        "set-roles",
        help="replace a person's roles",
        description="Replace a person's roles; with no --role they are staff only.",
    )
    roles.add_argument("email")
    roles.add_argument(
        "--role", action="append", default=[], metavar="ROLE", help="council, leader or admin"
    )
    roles.set_defaults(func=cmd_users_set_roles)

    setpw = usub.add_parser(
        "set-password",
        help="set a person's password",
        description="Set a person's password: from TOUCHPOINT_PASSWORD, else a prompt.",
    )
    setpw.add_argument("email")
    setpw.set_defaults(func=cmd_users_set_password)

    deact = usub.add_parser(
        "deactivate",
        help="stop a person from logging in",
        description="Deactivate a person: log-in refused, API tokens revoked. Ideas stay.",
    )
    deact.add_argument("email")
    deact.set_defaults(func=cmd_users_deactivate)

    react = usub.add_parser(
        "reactivate", help="let a deactivated person log in again", description="Reactivate."
    )
    react.add_argument("email")
    react.set_defaults(func=cmd_users_reactivate)

    lst = usub.add_parser(
        "list", help="list people", description="List people with department and roles."
    )
    lst.set_defaults(func=cmd_users_list)

    invite = usub.add_parser(
        "invite",
        help="make a one-time link to set a password",
        description="Create an invitation link for a person (e-mailed when SMTP_URL is set).",
    )
    invite.add_argument("email")
    invite.set_defaults(func=cmd_users_invite)

    scim_cmd = sub.add_parser(
        "scim", help="SCIM provisioning", description="SCIM provisioning (see docs/sso.md)."
    )
    scim_sub = scim_cmd.add_subparsers(dest="scim_command", required=True)
    scim_token = scim_sub.add_parser(
        "token", help="SCIM bearer tokens", description="SCIM bearer tokens."
    )
    scim_token_sub = scim_token.add_subparsers(dest="token_command", required=True)
    create = scim_token_sub.add_parser(
        "create",
        help="make a SCIM bearer token (printed once)",
        description="Create a SCIM bearer token for an identity provider; it is printed once.",
    )
    create.add_argument("--name", required=True, help="what the token is for, e.g. Okta")
    create.set_defaults(func=cmd_scim_token_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ideas.config import ConfigError
    from ideas.errors import DomainError

    try:
        return args.func(args)
    except ConfigError as exc:
        _err(str(exc))
        return 2
    except (Refused, DomainError) as exc:
        _err(_domain_error_text(exc))
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        _err(f"database unavailable: {exc}")
        return 1


def _is_database_error(exc: Exception) -> bool:
    """A connection or server error of the database (one line, not a traceback)."""
    module = type(exc).__module__
    return isinstance(exc, OSError) or module.startswith(("asyncpg", "sqlite3"))
