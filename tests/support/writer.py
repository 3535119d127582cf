"""Run a DB writer in the test's event loop and wait for it to store everything (real Redis, PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from db_writer.writer import GROUP, Writer
from shared.keys import Keys


async def wait_drained(redis: Redis, keys: Keys, timeout: float = 60,
                       alive: Callable[[], None] | None = None) -> None:
    """Until every entry of the events stream is written and acknowledged (acked entries are deleted)."""
    deadline = time.monotonic() + timeout
    while True:
        length = await redis.xlen(keys.db_events())
        pending = 0
        with suppress(ResponseError):  # no group yet
            pending = (await redis.xpending(keys.db_events(), GROUP))["pending"]
        if length == 0 and pending == 0:
            return
        if alive is not None:
            alive()
        assert time.monotonic() < deadline, f"not drained: {length} entries, {pending} pending"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running_writer(redis: Redis, database_url: str, keys: Keys, **settings: Any
                         ) -> AsyncIterator[Writer]:
    """A writer running in this event loop; stopped (and its task checked) on exit."""
    writer = Writer(redis, database_url, keys, **{"health_every_s": 1.0, **settings})
    task = asyncio.create_task(writer.run())
    try:
        yield writer
    finally:
        writer.stop()
        await asyncio.wait_for(task, 30)


@asynccontextmanager
async def connect(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()
