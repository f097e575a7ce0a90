"""`python -m workers.run`: an arq worker with Touchpoint's logging (INFO
lines of every job on stderr). `touchpoint worker` does the same."""

from __future__ import annotations

import logging

from arq.worker import run_worker


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from workers.settings import WorkerSettings

    run_worker(WorkerSettings)


if __name__ == "__main__":
    main()
