"""The writer in-process against a real ``python -m engine``: exact rows, redelivery, bad entries, lag,
and PostgreSQL connections terminated again and again while events flow."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

import asyncpg
import orjson
import pytest

from db_writer.rows import ORDER_COLUMNS
from db_writer.writer import GROUP, Writer
from shared.events import encode_events
from tests.support.history import assert_exact
from tests.support.services import PG_BASE
from tests.support.writer import running_writer, wait_drained


@pytest.mark.asyncio
async def test_tables_match_the_engines_events_and_balances_exactly(engine, trader, aredis, keys,
                                                                    database_url):
    await trader.fund()
    async with running_writer(aredis, database_url, keys):
        await trader.trade(600)
        await wait_drained(aredis, keys)
        tables = await assert_exact(aredis, keys, database_url, trader)
    assert len(tables["trades"]) > 100
    statuses = {row[ORDER_COLUMNS.index("status")] for row in tables["orders"].values()}
    assert statuses >= {"filled", "cancelled", "expired"}
    assert await aredis.xlen(keys.db_events()) == 0  # acknowledged entries are deleted


@pytest.mark.asyncio
async def test_entries_written_but_never_acknowledged_are_written_again_harmlessly(
        engine, trader, aredis, keys, database_url):
    await trader.fund()
    await trader.trade(300)
    # A writer that dies after each COMMIT and before its XACK: everything it wrote stays pending.
    crashing = Writer(aredis, database_url, keys, consumer="w", batch_size=3)

    async def no_ack(ids: list[bytes]) -> None:
        pass

    crashing._ack = no_ack  # type: ignore[method-assign]
    await crashing.open()
    while await crashing.step():
        pass
    await crashing.close()
    pending = (await aredis.xpending(keys.db_events(), GROUP))["pending"]
    assert pending == await aredis.xlen(keys.db_events()) > 0
    async with running_writer(aredis, database_url, keys, consumer="w"):  # the restart: same name
        await wait_drained(aredis, keys)
    await assert_exact(aredis, keys, database_url, trader)


@pytest.mark.asyncio
async def test_an_entry_it_cannot_store_is_set_aside_and_the_others_are_written(
        engine, trader, aredis, keys, database_url):
    await trader.fund()
    await trader.trade(100)
    await aredis.xadd(keys.db_events(), {"s": "all", "e": b"[[1]]"})  # not events at all
    order = ["order", 10**9, 1, [10**9, "u", "TATA-INR", "buy", "limit", 1, 1, 0, 0, "lost", "GTC", False,
                                 None, 1, []]]  # well-formed, but PostgreSQL refuses the status
    refused = await aredis.xadd(keys.db_events(), {"s": "all", "e": orjson.dumps([order])})
    await trader.trade(100)
    async with running_writer(aredis, database_url, keys, batch_size=50):
        await wait_drained(aredis, keys)
    await assert_exact(aredis, keys, database_url, trader)
    # Batches are written two at a time: the dead letters need not be in stream order.
    dead = sorted([fields for _, fields in await aredis.xrange(keys.db_writer_dead())],
                  key=lambda fields: tuple(map(int, fields[b"id"].split(b"-"))))
    assert [fields[b"e"] for fields in dead] == [b"[[1]]", orjson.dumps([order])]
    assert dead[1][b"id"] == refused and b"CheckViolation" in dead[1][b"reason"]


@pytest.mark.asyncio
async def test_the_lag_is_reported_in_the_health_key(engine, trader, aredis, keys, database_url):
    await trader.fund()
    await trader.trade(200, per_push=20)
    entries = await aredis.xlen(keys.db_events())
    await asyncio.sleep(0.3)
    writer = Writer(aredis, database_url, keys, batch_size=2, health_every_s=2)
    await writer.open()
    try:
        health = await writer.report()
        assert (health["status"], health["pending"], health["unread"]) == ("ok", 0, entries)
        assert health["behindSeconds"] >= 0.3
        await writer.step()
        health = await writer.report()
        assert (health["pending"], health["unread"]) == (0, entries - 2)
        assert health["lastEventTs"] > 0 and health["written"]["entries"] == 2
        stored = orjson.loads(await aredis.get(keys.db_writer_health()))
        assert stored == health
        assert 0 < await aredis.ttl(keys.db_writer_health()) <= 10
        while await writer.step():
            pass
        health = await writer.report()
        assert (health["pending"], health["unread"], health["behindSeconds"]) == (0, 0, 0.0)
    finally:
        await writer.close()


async def terminate_backends_forever(database: str, counter: list[int]) -> None:
    """The outage: every 20-300 ms, kill every connection to ``database`` (as an administrator could)."""
    rng = random.Random(3)
    admin = await asyncpg.connect(f"{PG_BASE}/postgres")
    try:
        while True:
            killed = await admin.fetchval(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()) AS t", database)
            counter[0] += killed
            await asyncio.sleep(rng.uniform(0.02, 0.3))
    finally:
        await admin.close()


@pytest.mark.asyncio
async def test_terminated_connections_are_retried_and_nothing_is_lost(engine, trader, aredis, keys,
                                                                      database_url, caplog):
    caplog.set_level(logging.INFO, logger="db_writer")
    await trader.fund()
    killed = [0]
    async with running_writer(aredis, database_url, keys, batch_size=5) as writer:
        await trader.trade(50)
        while not writer.counters.entries:  # the outage begins once the writer is up and writing
            await asyncio.sleep(0.05)
        before = writer.counters.entries
        terminator = asyncio.create_task(terminate_backends_forever(database_url.rsplit("/", 1)[1], killed))
        try:
            started = time.monotonic()
            while time.monotonic() - started < 5:
                await trader.trade(40, per_push=10)
        finally:
            terminator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await terminator
        during = writer.counters.entries - before
        await wait_drained(aredis, keys)
        assert killed[0] >= 10, killed
        assert during > 0, "nothing was written between the terminations"
    retries = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert retries, "the writer never saw the outage"
    await assert_exact(aredis, keys, database_url, trader)


@pytest.mark.asyncio
async def test_a_writer_started_while_postgres_refuses_connections_waits(aredis, keys, caplog):
    caplog.set_level(logging.INFO, logger="db_writer")
    url = "postgresql://postgres@127.0.0.1:1/nowhere"  # nothing listens there
    await aredis.xadd(keys.db_events(), {"s": "all", "e": encode_events([])})
    async with running_writer(aredis, url, keys) as writer:
        await asyncio.sleep(0.5)
        assert writer.status == "database_unavailable" and writer.pool is None
    assert any("database unavailable" in r.getMessage() for r in caplog.records)
    assert await aredis.xlen(keys.db_events()) == 1  # nothing acknowledged
