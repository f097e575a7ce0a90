"""`python -m workers.run`: the arq workers with Touchpoint's logging (INFO
lines of every job on stderr). `touchpoint worker` does the same.

One process runs two arq workers: the default queue (in-app delivery and
the scheduled jobs) and the mail queue, each with its own slots, so mail
never holds up an in-app notice. SIGTERM or SIGINT stops both (their running
jobs are queued again by arq); if one stops, so does the other.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from arq.worker import Worker, create_worker


def make_workers() -> list[Worker]:
    from workers.settings import MailWorkerSettings, WorkerSettings

    return [
        create_worker(WorkerSettings, handle_signals=False),
        create_worker(MailWorkerSettings, handle_signals=False),
    ]


def run_workers() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    workers = make_workers()

    def stop(signum: int) -> None:
        for w in workers:
            w.handle_sig(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)

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
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_workers()


if __name__ == "__main__":
    main()
