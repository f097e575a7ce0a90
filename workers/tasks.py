"""arq tasks. Each takes ids only, calls the domain in `ideas/`, and is
idempotent: arq delivers at least once (a killed worker's job runs again).

Every job writes one structured log line (JSON) with what it did, its
outcome and duration, and counts its outcome in Redis (`touchpoint:job_stats`,
reported by /health), so a failing job is visible without blocking others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from arq import Retry

from ideas import mail, notify
from ideas.outbox import DELIVER_EVENT, job_id_for

log = logging.getLogger("touchpoint.jobs")

#: arq function name of the per-notice e-mail job
SEND_MAIL = "send_pending_email"
STATS_KEY = notify.JOB_STATS_KEY


def mail_job_id(notification_id: int) -> str:
    return f"mail:{notification_id}"


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        return default


@dataclass(frozen=True)
class Tuning:
    """Knobs read from the environment (short values in tests)."""

    #: the sweep leaves events this young to the after-commit enqueue
    grace_s: float
    #: notices per fan-out statement, and a pause between statements
    fanout_chunk: int
    fanout_pause_s: float
    #: exponential backoff of retries: base * 2**(try-1), capped
    retry_base_s: float
    retry_cap_s: float
    #: tries of a delivery job, and of one e-mail (enough for hours of outage)
    job_max_tries: int
    mail_max_tries: int
    #: deliveries of one event tried at most this often before the sweep gives up
    event_max_attempts: int
    job_timeout_s: float
    sweep_every_s: int
    sweep_limit: int


def tuning() -> Tuning:
    return Tuning(
        grace_s=_env_float("TOUCHPOINT_OUTBOX_GRACE_S", 10),
        fanout_chunk=max(1, int(_env_float("TOUCHPOINT_FANOUT_CHUNK", 1000))),
        fanout_pause_s=_env_float("TOUCHPOINT_FANOUT_PAUSE_MS", 0) / 1000,
        retry_base_s=_env_float("TOUCHPOINT_RETRY_BASE_S", 5),
        retry_cap_s=_env_float("TOUCHPOINT_RETRY_CAP_S", 900),
        job_max_tries=max(1, int(_env_float("TOUCHPOINT_JOB_MAX_TRIES", 5))),
        mail_max_tries=max(1, int(_env_float("TOUCHPOINT_MAIL_MAX_TRIES", 20))),
        event_max_attempts=max(1, int(_env_float("TOUCHPOINT_EVENT_MAX_ATTEMPTS", 20))),
        job_timeout_s=_env_float("TOUCHPOINT_JOB_TIMEOUT_S", 300),
        sweep_every_s=min(60, max(1, int(_env_float("TOUCHPOINT_SWEEP_EVERY_S", 60)))),
        sweep_limit=max(1, int(_env_float("TOUCHPOINT_SWEEP_LIMIT", 5000))),
    )


def backoff(job_try: int, t: Tuning | None = None) -> float:
    t = t or tuning()
    return min(t.retry_cap_s, t.retry_base_s * 2 ** max(0, job_try - 1))


async def count(ctx: dict, job: str, outcome: str) -> None:
    try:
        await ctx["redis"].hincrby(STATS_KEY, f"{job}:{outcome}", 1)
    except Exception:  # counters are best effort; the log line is the record
        pass


@asynccontextmanager
async def job_line(ctx: dict, job: str, **fields: Any) -> AsyncIterator[dict]:
    """One structured log line per job run: what, outcome, duration."""
    started = time.monotonic()
    line: dict[str, Any] = {"job": job, **fields, "try": ctx.get("job_try", 1)}
    try:
        yield line
    except Retry:
        line.setdefault("outcome", "retry")
        raise
    except BaseException as exc:
        line["outcome"] = "failed"
        line.setdefault("error", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        line.setdefault("outcome", "ok")
        line["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        if line["outcome"] == "failed":
            level = logging.ERROR
        elif line["outcome"] == "retry":
            level = logging.WARNING
        elif line.get("routine"):
            level = logging.DEBUG  # ran and found nothing to do: every second, all day
        else:
            level = logging.INFO
        log.log(level, json.dumps(line, default=str, ensure_ascii=False), extra={"job": line})
        await count(ctx, job, line["outcome"])


async def enqueue_mail(redis: Any, ids: Sequence[int]) -> int:
    """One e-mail job per notice, with a deterministic job id. A Redis
    failure stops here: the sweep finds the pending e-mails later."""
    queued = 0
    for start in range(0, len(ids), 100):
        part = ids[start : start + 100]
        results = await asyncio.gather(
            *(redis.enqueue_job(SEND_MAIL, i, _job_id=mail_job_id(i)) for i in part),
            return_exceptions=True,
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        queued += sum(1 for r in results if r is not None and not isinstance(r, BaseException))
        if failed:
            log.warning("enqueue of e-mail jobs failed (%s); the sweep will retry", failed[0])
            break
    return queued


# -- per-event and per-notice jobs -------------------------------------------------------


async def deliver_event(ctx: dict, event_id: int) -> str:
    """Every in-app notice of one event, then one e-mail job per notice."""
    t = tuning()
    job_try = ctx.get("job_try", 1)
    async with job_line(ctx, DELIVER_EVENT, event=event_id) as line:
        try:
            result = await notify.deliver_event(
                event_id, chunk=t.fanout_chunk, pause_s=t.fanout_pause_s
            )
        except Exception as exc:
            if job_try < t.job_max_tries:
                line["outcome"] = "retry"
                line["error"] = f"{type(exc).__name__}: {exc}"
                raise Retry(defer=backoff(job_try, t)) from exc
            raise
        line.update(
            kind=result.kind,
            recipients=result.recipients,
            new_notices=result.inserted,
            outcome=result.outcome,
        )
        line["mail_queued"] = await enqueue_mail(ctx["redis"], result.mail_ids)
        return result.outcome


async def send_pending_email(ctx: dict, notification_id: int) -> str:
    """The e-mail of one notice: retried with backoff while the server is
    unreachable; a permanent failure is recorded and does not retry."""
    t = tuning()
    job_try = ctx.get("job_try", 1)
    final = job_try >= t.mail_max_tries
    async with job_line(ctx, SEND_MAIL, notice=notification_id) as line:
        try:
            result = await notify.email_notice(notification_id, final=final)
        except (notify.NoticeGone, mail.MailPermanentError) as exc:
            line.update(outcome="failed", error=str(exc))
            return "failed"
        except mail.MailTemporaryError as exc:
            line["error"] = str(exc)
            if final:
                line["outcome"] = "failed"
                return "failed"
            delay = backoff(job_try, t)
            line.update(outcome="retry", retry_in_s=delay)
            raise Retry(defer=delay) from exc
        line.update(outcome=result.outcome, kind=result.kind)
        if result.detail:
            line["detail"] = result.detail
        return result.outcome


# -- cron jobs --------------------------------------------------------------------------


async def sweep_outbox(ctx: dict) -> str:
    """Enqueue what the after-commit enqueue missed: events still undispatched
    and e-mails still pending after the grace period (deterministic job ids:
    nothing already queued is queued twice)."""
    t = tuning()
    async with job_line(ctx, "sweep_outbox") as line:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=t.grace_s)
        events = await notify.undispatched_events(cutoff, t.event_max_attempts, t.sweep_limit)
        queued = 0
        for event_id in events:
            job = await ctx["redis"].enqueue_job(
                DELIVER_EVENT, event_id, _job_id=job_id_for(event_id)
            )
            queued += job is not None
        mails = await notify.unsent_mail(cutoff, t.sweep_limit)
        line.update(
            events=len(events),
            events_queued=queued,
            mails=len(mails),
            mails_queued=await enqueue_mail(ctx["redis"], mails),
        )
        if not events and not mails:
            line["routine"] = True
        return "ok"


async def _scheduled(ctx: dict, job: str, run) -> str:
    async with job_line(ctx, job) as line:
        result = await run(dt.datetime.now(dt.UTC))
        line.update(period=result.key, outcome=result.outcome, recipients=result.notices)
        if result.outcome in ("not_due", "already"):
            line["routine"] = True
        line["mail_queued"] = await enqueue_mail(ctx["redis"], result.mail_ids)
        return result.outcome


async def sla_reminders(ctx: dict) -> str:
    """Once a day: the council hears of ideas past the triage SLA."""
    return await _scheduled(ctx, "sla_reminders", notify.send_sla_reminders)


async def action_reminders(ctx: dict) -> str:
    """Once a day: owners hear of actions due soon or overdue."""
    return await _scheduled(ctx, "action_reminders", notify.send_action_reminders)


async def weekly_digest(ctx: dict) -> str:
    """Once a week: the digest for everyone who wants one."""
    return await _scheduled(ctx, "weekly_digest", notify.send_weekly_digest)
