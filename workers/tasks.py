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
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from arq import Retry

from ideas import clock, context, editing, embedding, mail, term_index, triage, vector_index
from ideas.board.similar import index_terms as write_terms
from ideas.config import WorkerTuning, get_settings
from ideas.integrations import webhooks
from ideas.notify import digest, fanout, mailing, reminders
from ideas.outbox import DELIVER_EVENT, JOB_STATS_KEY, job_id_for
from ideas.term_index import TERMS_JOB
from ideas.vector_index import EMBED_JOB

log = logging.getLogger("touchpoint.jobs")

#: arq function name of the per-notice e-mail job
SEND_MAIL = "send_pending_email"
#: e-mail jobs have their own queue (and worker slots), so a slow or hung
#: mail server never delays the in-app notices of the default queue
MAIL_QUEUE = "arq:queue:mail"


DELIVER_WEBHOOK = webhooks.DELIVER_WEBHOOK
webhook_job_id = webhooks.job_id


def mail_job_id(notification_id: int) -> str:
    return f"mail:{notification_id}"


#: the worker's knobs, checked once with the rest of the configuration
Tuning = WorkerTuning


def tuning() -> Tuning:
    """The worker's timings and limits (`TOUCHPOINT_*`, see `ideas.config`)."""
    return get_settings().worker


def backoff(job_try: int, t: Tuning | None = None) -> float:
    t = t or tuning()
    return min(t.retry_cap_s, t.retry_base_s * 2 ** max(0, job_try - 1))


async def count(ctx: dict, job: str, outcome: str) -> None:
    try:
        await ctx["redis"].hincrby(JOB_STATS_KEY, f"{job}:{outcome}", 1)
    except Exception:  # counters are best effort; the log line is the record
        pass


@asynccontextmanager
async def job_line(ctx: dict, job: str, **fields: Any) -> AsyncIterator[dict]:
    """One structured log line per job run: what, outcome, duration."""
    started = time.monotonic()
    line: dict[str, Any] = {"job": job, **fields, "try": ctx.get("job_try", 1)}
    try:
        # the job's unit of work: the worker acts, one `now`, its outbox
        # events enqueued when it ends (services commit their own transactions)
        async with context.unit_of_work(context.WORKER, redis=ctx.get("redis"), transaction=False):
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
            *(
                redis.enqueue_job(SEND_MAIL, i, _job_id=mail_job_id(i), _queue_name=MAIL_QUEUE)
                for i in part
            ),
            return_exceptions=True,
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        queued += sum(1 for r in results if r is not None and not isinstance(r, BaseException))
        if failed:
            log.warning("enqueue of e-mail jobs failed (%s); the sweep will retry", failed[0])
            break
    return queued


async def enqueue_webhooks(
    redis: Any, items: Sequence[tuple[int, int]], defer_until: dt.datetime | None = None
) -> int:
    """One attempt job per (delivery id, attempts so far); a Redis failure
    stops here: the sweep enqueues due deliveries later.

    `defer_until` is a moment of the product's clock (ideas.clock); arq
    compares a `_defer_until` with the machine's, so the wait is handed over
    as a duration."""
    defer_by = None
    if defer_until is not None:
        defer_by = max(defer_until - clock.now(), dt.timedelta(0))
    queued = 0
    for delivery_id, attempts in items:
        try:
            job = await redis.enqueue_job(
                DELIVER_WEBHOOK,
                delivery_id,
                _job_id=webhook_job_id(delivery_id, attempts),
                _defer_by=defer_by,
            )
        except Exception as exc:
            log.warning("enqueue of webhook jobs failed (%s); the sweep will retry", exc)
            break
        queued += job is not None
    return queued


# -- per-event and per-notice jobs -------------------------------------------------------


async def deliver_event(ctx: dict, event_id: int) -> str:
    """Every in-app notice of one event, then one e-mail job per notice."""
    t = tuning()
    job_try = ctx.get("job_try", 1)
    async with job_line(ctx, DELIVER_EVENT, event=event_id) as line:
        if await fanout.not_yet(event_id):
            # dated at its batch's moment (a withdrawal): the sweep delivers it then
            line["outcome"] = "not yet"
            return "not yet"
        try:
            # webhook and channel deliveries first: once the event is marked
            # dispatched, the sweep no longer brings it back
            hooks = await webhooks.plan_event(event_id)
            result = await fanout.deliver_event(
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
        if hooks:
            line["webhooks_queued"] = await enqueue_webhooks(ctx["redis"], [(h, 0) for h in hooks])
        return result.outcome


async def deliver_webhook(ctx: dict, delivery_id: int) -> str:
    """One attempt of one webhook or chat delivery; a failure queues the next
    attempt after its back-off (a new job, the same message id)."""
    async with job_line(ctx, DELIVER_WEBHOOK, delivery=delivery_id) as line:
        result = await webhooks.attempt_delivery(delivery_id)
        line.update(outcome=result.outcome, attempts=result.attempts)
        if result.status_code is not None:
            line["status_code"] = result.status_code
        if result.disabled:
            line["endpoint_disabled"] = True
        if result.outcome == "retry" and result.retry_at is not None:
            await enqueue_webhooks(
                ctx["redis"], [(delivery_id, result.attempts)], defer_until=result.retry_at
            )
        return result.outcome


async def _index_terms(limit: int, ids: list[int] | None = None) -> int:
    rows = await term_index.ideas_without_terms(limit, ids)
    for row in rows:
        await write_terms(int(row["id"]), row["title"], row["problem"] or "")
    return len(rows)


async def index_terms(ctx: dict, idea_ids: list[int]) -> str:
    """The similar-search terms of ideas just submitted (ideas.term_index)."""
    async with job_line(ctx, TERMS_JOB, ideas=len(idea_ids)) as line:
        line["indexed"] = await _index_terms(len(idea_ids), idea_ids)
        return "ok"


async def terms_sweep(ctx: dict) -> str:
    """Ideas whose after-commit terms job was lost, or just published."""
    async with job_line(ctx, "terms_sweep") as line:
        line["indexed"] = await _index_terms(200)
        if not line["indexed"]:
            line["routine"] = True
        return "ok"


async def embed_ideas(ctx: dict, idea_ids: list[int]) -> str:
    """Embed ideas just submitted or edited (ideas.vector_index)."""
    async with job_line(ctx, EMBED_JOB, ideas=len(idea_ids)) as line:
        line["embedded"] = await vector_index.embed_pending(limit=len(idea_ids), ids=idea_ids)
        line["outcome"] = "ok" if line["embedded"] or embedding.status() == "ok" else "no model"
        return line["outcome"]


async def embed_sweep(ctx: dict) -> str:
    """What the after-commit job missed, and vectors of another model version."""
    async with job_line(ctx, "embed_sweep") as line:
        line["embedded"] = await vector_index.embed_pending(limit=200)
        line["outcome"] = "ok" if embedding.status() == "ok" else "no model"
        if not line["embedded"]:
            line["routine"] = True  # nothing to embed: every minute, all day
        return line["outcome"]


def accepted_key(notification_id: int) -> str:
    return f"touchpoint:mail_accepted:{notification_id}"


async def send_pending_email(ctx: dict, notification_id: int) -> str:
    """The e-mail of one notice: retried with backoff while the server is
    unreachable; a permanent failure is recorded and does not retry.

    Once the server accepted the message, that is noted in Redis before the
    database is told; a run that finds the note (the database failed after
    the accept, or the worker died there) only records `sent`: the
    bookkeeping is retried, never the send."""
    t = tuning()
    job_try = ctx.get("job_try", 1)
    final = job_try >= t.mail_max_tries
    redis = ctx["redis"]
    async with job_line(ctx, SEND_MAIL, notice=notification_id) as line:
        if await redis.exists(accepted_key(notification_id)):
            try:
                await mailing.mark_mail_sent(notification_id)
            except Exception as exc:
                line.update(outcome="retry", error=f"bookkeeping: {exc}")
                raise Retry(defer=backoff(job_try, t)) from exc
            line.update(outcome="sent", detail="accepted earlier; recorded now")
            return "sent"

        async def remember() -> None:
            await redis.set(accepted_key(notification_id), b"1", ex=7 * 24 * 3600)

        try:
            result = await mailing.email_notice(notification_id, final=final, on_accepted=remember)
        except mailing.MailBookkeepingFailed as exc:
            line.update(outcome="retry", error=f"bookkeeping: {exc}")
            raise Retry(defer=backoff(job_try, t)) from exc
        except (mailing.NoticeGone, mail.MailPermanentError) as exc:
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
        cutoff = clock.now() - dt.timedelta(seconds=t.grace_s)
        events = await fanout.undispatched_events(cutoff, t.event_max_attempts, t.sweep_limit)
        queued = 0
        for event_id in events:
            job = await ctx["redis"].enqueue_job(
                DELIVER_EVENT, event_id, _job_id=job_id_for(event_id)
            )
            queued += job is not None
        mails = await mailing.unsent_mail(cutoff, t.sweep_limit)
        line.update(
            events=len(events),
            events_queued=queued,
            mails=len(mails),
            mails_queued=await enqueue_mail(ctx["redis"], mails),
        )
        if not events and not mails:
            line["routine"] = True
        return "ok"


async def webhook_sweep(ctx: dict) -> str:
    """Every minute: release the batch of new ideas and comments whose window
    closed, the weekly summary of chat channels, and enqueue every delivery
    whose attempt is due and not queued (deterministic job ids)."""
    async with job_line(ctx, "webhook_sweep") as line:
        now = clock.now()
        released = await webhooks.release_batched(now)
        summaries = await webhooks.plan_summary(now)
        due = await webhooks.due_deliveries(now)
        line.update(
            released=len(released),
            summaries=len(summaries),
            due=len(due),
            queued=await enqueue_webhooks(ctx["redis"], due),
        )
        if not (released or summaries or due):
            line["routine"] = True
        return "ok"


async def publish_batches(ctx: dict) -> str:
    """Every minute: publish the submitters' answers whose batch has come
    (PUBLISH_DELAY_MINUTES), their events, notices and mail starting then;
    and apply the submitters' edits waiting for it."""
    async with job_line(ctx, "publish_batches") as line:
        work = context.current()  # job_line's unit of work: the worker, one `now`
        assert work is not None
        published = await triage.publish_due(work)
        edits = await editing.publish_due_changes(work)
        line.update(published=published, edits=edits)
        if not (published or edits):
            line["routine"] = True
        return "ok"


async def _scheduled(ctx: dict, job: str, run) -> str:
    """A scheduled notice job, run with the job's unit of work (its `now`)."""
    async with job_line(ctx, job) as line:
        result = await run(context.current())
        line.update(period=result.key, outcome=result.outcome, recipients=result.notices)
        if result.outcome in ("not_due", "already"):
            line["routine"] = True
        line["mail_queued"] = await enqueue_mail(ctx["redis"], result.mail_ids)
        return result.outcome


async def sla_reminders(ctx: dict) -> str:
    """Once a day: the council hears of ideas past the triage SLA."""
    return await _scheduled(ctx, "sla_reminders", reminders.send_sla_reminders)


async def action_reminders(ctx: dict) -> str:
    """Once a day: owners hear of actions due soon or overdue."""
    return await _scheduled(ctx, "action_reminders", reminders.send_action_reminders)


async def weekly_digest(ctx: dict) -> str:
    """Once a week: the digest for everyone who wants one."""
    return await _scheduled(ctx, "weekly_digest", digest.send_weekly_digest)
