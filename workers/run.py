"""`python -m workers.run`: the arq workers with Touchpoint's logging (INFO
lines of every job on stderr). `touchpoint worker` does the same.

One process runs three arq workers: the default queue (in-app delivery,
webhooks and the scheduled jobs), the mail queue and the index queue
(similar-search terms and embeddings), each with its own slots, so neither
mail nor a backlog of indexing ever holds up an in-app notice. SIGTERM or
SIGINT stops all three (their running jobs are queued again by arq); if one
stops, so do the others, and the reason is logged.

Redis going away never stops a worker: arq's poll loop raises when a
connection drops between a WATCH and its EXEC (redis-py turns the
ConnectionError into a WatchError, which arq does not expect there), so
`Worker` catches Redis errors around each poll, gives back the job slot arq
took for a job it could not start, and polls again once Redis answers.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import arq.worker
from arq.worker import get_kwargs
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

log = logging.getLogger("touchpoint.worker")

#: what a Redis outage raises in arq's poll loop (a refused connect is an OSError)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, WatchError, OSError)


class Worker(arq.worker.Worker):
    """arq's worker, kept alive through a Redis outage (see the module's text)."""

    #: seconds between polls while Redis fails (the client retries each command too)
    outage_pause_s = 0.5

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.redis_down = False

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except REDIS_DOWN:
                if job_id.decode() not in self.tasks:
                    # arq counted the job and took a slot before Redis failed
                    self.job_counter -= 1
                    self.sem.release()
                raise

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            if not self.redis_down:
                log.warning(
                    "Redis failed while the %s queue polled (%s: %s); polling again",
                    self.queue_name,
                    type(exc).__name__,
                    exc,
                )
            self.redis_down = True
            await asyncio.sleep(self.outage_pause_s)
            return
        if self.redis_down:
            log.warning("Redis answers again: the %s queue polls", self.queue_name)
            self.redis_down = False


def make_workers() -> list[Worker]:
    from workers.settings import IndexWorkerSettings, MailWorkerSettings, WorkerSettings

    return [
        Worker(**get_kwargs(WorkerSettings), handle_signals=False),
        Worker(**get_kwargs(MailWorkerSettings), handle_signals=False),
        Worker(**get_kwargs(IndexWorkerSettings), handle_signals=False),
    ]


def run_workers() -> int:
    """Run the workers until a signal stops them: 0, or 1 when one of them
    stopped on an error (logged)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    workers = make_workers()

    def stop(signum: int) -> None:
        for w in workers:
            w.handle_sig(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)

    failed: list[BaseException] = []

    async def main() -> None:
        for w in workers:
            w.main_task = loop.create_task(w.main())
        tasks = [w.main_task for w in workers]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in workers:
                if not w.main_task.done():
                    w.handle_sig(signal.SIGTERM)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for w, result in zip(workers, results, strict=True):
                if isinstance(result, Exception):
                    failed.append(result)
                    log.error("the %s queue's worker stopped", w.queue_name, exc_info=result)
            await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return 1 if failed else 0


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    raise SystemExit(run_workers())


if __name__ == "__main__":
    main()
