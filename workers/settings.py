"""The arq worker: `touchpoint worker` (which `touchpoint up` starts).

Redis comes from REDIS_URL (the settings). Commands retry through a Redis outage (the
worker waits instead of dying) and the database pool is opened at start-up.
Timeouts, retries and the sweep interval come from `workers.tasks.tuning()`.
"""

from __future__ import annotations

import json
import logging
import sys

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func
from redis.asyncio.retry import Retry as RedisRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ideas import db
from ideas.config import get_settings
from ideas.outbox import DELIVER_EVENT, INDEX_QUEUE
from workers import tasks

#: scheduled jobs check every this many minutes whether their period is due
SCHEDULE_EVERY_MIN = 10


def redis_settings(url: str | None = None) -> RedisSettings:
    """RedisSettings from REDIS_URL, retrying commands through an outage."""
    settings = RedisSettings.from_dsn(url or get_settings().redis_url or "redis://127.0.0.1")
    settings.conn_timeout = 2
    settings.conn_retries = 1_000_000
    settings.retry_on_error = [RedisConnectionError, RedisTimeoutError]
    # OSError too: a refused connection is raised as such before redis wraps it
    settings.retry = RedisRetry(
        ExponentialBackoff(cap=2.0, base=0.1),
        retries=-1,
        supported_errors=(RedisConnectionError, RedisTimeoutError, OSError),
    )
    return settings


def functions() -> list:
    """The default queue's jobs: in-app delivery (and the scheduled ones)."""
    t = tasks.tuning()
    return [
        func(tasks.deliver_event, name=DELIVER_EVENT, max_tries=t.job_max_tries),
        # retries are new jobs (workers.tasks.deliver_webhook); a second try of
        # the same job happens only after a crash (kill -9)
        func(tasks.deliver_webhook, name=tasks.DELIVER_WEBHOOK, max_tries=3),
    ]


def index_functions() -> list:
    """The index queue's jobs: an idea's similar-search terms and its vector."""
    t = tasks.tuning()
    return [
        func(tasks.embed_ideas, name=tasks.EMBED_JOB, max_tries=t.job_max_tries),
        func(tasks.index_terms, name=tasks.TERMS_JOB, max_tries=t.job_max_tries),
    ]


def index_cron_jobs() -> list:
    return [
        # embeddings missed by the after-commit job, or of another model: once a minute
        cron(tasks.embed_sweep, second={0}, run_at_startup=True, max_tries=1),
        # similar-search terms of ideas whose after-commit job was lost, and of
        # those just published (a batch comes out as a minute turns; the job
        # leaves an idea out until then: ideas.term_index)
        cron(tasks.terms_sweep, second={2, 30}, run_at_startup=True, max_tries=1),
    ]


def mail_functions() -> list:
    """The mail queue's job."""
    t = tasks.tuning()
    return [func(tasks.send_pending_email, name=tasks.SEND_MAIL, max_tries=t.mail_max_tries)]


def cron_jobs() -> list:
    t = tasks.tuning()
    every = t.sweep_every_s
    sweep_seconds = set(range(0, 60, every)) if every < 60 else {0}
    schedule = set(range(0, 60, SCHEDULE_EVERY_MIN))
    return [
        cron(tasks.sweep_outbox, second=sweep_seconds, run_at_startup=True, max_tries=1),
        cron(tasks.webhook_sweep, second=sweep_seconds, run_at_startup=True, max_tries=1),
        cron(tasks.publish_batches, second={1}, run_at_startup=True, max_tries=1),
        cron(tasks.sla_reminders, minute=schedule, run_at_startup=True),
        cron(tasks.action_reminders, minute=schedule, run_at_startup=True),
        cron(tasks.weekly_digest, minute=schedule, run_at_startup=True),
    ]


def ensure_logging() -> None:
    """Job lines are INFO records of `touchpoint.*`: give them a handler when
    the launcher configured none (arq's own config covers only `arq`)."""
    ours = logging.getLogger("touchpoint")
    if logging.getLogger().handlers or ours.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)


async def _start(queue: str) -> None:
    ensure_logging()
    await db.open_pool()
    # one line that says the worker runs (its routine sweeps log at debug level)
    logging.getLogger("touchpoint.jobs").info(
        json.dumps({"job": "worker", "queue": queue, "outcome": "started"})
    )


async def startup(ctx: dict) -> None:
    await _start("default")


async def mail_startup(ctx: dict) -> None:
    await _start("mail")


async def index_startup(ctx: dict) -> None:
    await _start("index")


async def shutdown(ctx: dict) -> None:
    await db.close_pool()


class WorkerSettings:
    functions = functions()
    cron_jobs = cron_jobs()
    redis_settings = redis_settings()
    on_startup = startup
    on_shutdown = shutdown
    max_tries = tasks.tuning().job_max_tries
    job_timeout = tasks.tuning().job_timeout_s
    #: the database, not Redis, says what is done: keep results briefly
    keep_result = 60
    max_jobs = 10
    poll_delay = tasks.tuning().poll_delay_s
    health_check_interval = 60


class MailWorkerSettings:
    """The e-mail jobs, on their own queue with their own slots (run in the
    same process as WorkerSettings by `touchpoint worker`)."""

    queue_name = tasks.MAIL_QUEUE
    functions = mail_functions()
    redis_settings = redis_settings()
    on_startup = mail_startup
    on_shutdown = shutdown
    max_tries = tasks.tuning().mail_max_tries
    job_timeout = tasks.tuning().mail_job_timeout_s
    keep_result = 60
    max_jobs = 10
    poll_delay = tasks.tuning().poll_delay_s
    health_check_interval = 60


class IndexWorkerSettings:
    """Similar-search terms and embeddings, on their own queue (run in the same
    process by `touchpoint worker`): a thousand submits in a minute, or a
    reindex after a model change, queue here, not ahead of the notices. Two
    slots: the model runs on one thread per process anyway."""

    queue_name = INDEX_QUEUE
    functions = index_functions()
    cron_jobs = index_cron_jobs()
    redis_settings = redis_settings()
    on_startup = index_startup
    on_shutdown = shutdown
    max_tries = tasks.tuning().job_max_tries
    job_timeout = tasks.tuning().job_timeout_s
    keep_result = 60
    max_jobs = 2
    poll_delay = tasks.tuning().poll_delay_s
    health_check_interval = 60
