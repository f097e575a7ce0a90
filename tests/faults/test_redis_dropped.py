"""A Redis connection that drops while the worker picks a job does not stop
the worker.

arq picks a job in a transaction (WATCH the job's in-progress key, EXISTS,
ZSCORE, MULTI/EXEC). When the connection drops after the WATCH, redis-py
raises a WatchError there, which arq does not catch: the worker's main loop
ended and `touchpoint worker` sat idle while Redis came back (it failed CI
once in about six runs of test_reliability's Redis test). Here a TCP proxy
in front of a real redis-server cuts the connection exactly at that moment,
the first time the worker asks whether a job is in progress.
"""

from __future__ import annotations

import asyncio

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import func

from tests.faults.procs import free_port
from touchpoint.redis_server import EmbeddedRedis
from workers.run import Worker
from workers.settings import redis_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]


class CuttingProxy:
    """Forwards TCP to Redis; closes the client's connection (once) when it
    sends EXISTS on an arq in-progress key."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.cuts = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> CuttingProxy:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def upward() -> None:
            while data := await reader.read(65536):
                if not self.cuts and b"EXISTS" in data and b"arq:in-progress:" in data:
                    self.cuts += 1
                    break  # the command never reaches Redis; both sides close
                up_writer.write(data)
                await up_writer.drain()

        async def downward() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()

        pumps = [asyncio.create_task(upward()), asyncio.create_task(downward())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for w in (writer, up_writer):
                w.close()


async def test_the_worker_polls_on_after_redis_drops_in_the_middle_of_picking_a_job():
    server = EmbeddedRedis(port=free_port()).start()
    proxy = await CuttingProxy(server.port).start()
    ran: list[str] = []
    done = asyncio.Event()

    async def ping(ctx: dict, word: str) -> None:
        ran.append(word)
        done.set()

    worker = Worker(
        functions=[func(ping, name="ping")],
        redis_settings=redis_settings(f"redis://127.0.0.1:{proxy.port}"),
        poll_delay=0.01,
        max_jobs=2,
        handle_signals=False,
    )
    worker.outage_pause_s = 0.05
    free_slots = worker.sem._value
    client = await create_pool(RedisSettings(port=server.port))
    main = asyncio.create_task(worker.main())
    try:
        await client.enqueue_job("ping", "after the cut")
        # the job ran, or the worker's loop ended, or 30 s passed (a hung test)
        waiting = asyncio.create_task(done.wait())
        await asyncio.wait({waiting, main}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if main.done():
            main.result()  # the worker's loop ended: show why
        assert proxy.cuts == 1, "the connection was never cut: the test did not test anything"
        assert ran == ["after the cut"]
        # it saw Redis answer again (the job may run before the poll that
        # started it returns, and the poll is what notes the recovery)
        for _ in range(200):
            if not worker.redis_down:
                break
            await asyncio.sleep(0.01)
        assert worker.redis_down is False
        # the slot arq took for the job it could not start was given back
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        # arq releases a finished job's slot in the task's done callback,
        # which runs on a later turn of the loop than the gather's wake-up
        for _ in range(200):
            if worker.job_counter == 0:
                break
            await asyncio.sleep(0.01)
        assert worker.job_counter == 0
        assert worker.sem._value == free_slots
    finally:
        main.cancel()
        await asyncio.gather(main, return_exceptions=True)
        await worker.close()
        await client.aclose()
        await proxy.stop()
        server.stop()
