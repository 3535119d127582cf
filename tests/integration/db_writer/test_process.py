"""``python -m db_writer`` as a real process: refuses a bad configuration, reports its health, stops on
SIGTERM, and killed with SIGKILL mid-way then restarted leaves no row missing and none twice."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import orjson
import pytest

from db_writer.writer import GROUP
from tests.support.history import assert_exact
from tests.support.services import ROOT, module_command
from tests.support.writer import connect, wait_drained


def test_a_bad_setting_stops_it_at_once_naming_the_variable(service_env):
    for variable, value in (("DB_WRITER_BATCH_SIZE", "0"), ("DATABASE_URL", "postgresql://h:5432"),
                            ("REDIS_URL", "nowhere")):
        result = subprocess.run(module_command("db_writer"), cwd=ROOT, env={**service_env, variable: value},
                                capture_output=True, timeout=30)
        assert result.returncode == 2
        assert variable in result.stderr.decode()


async def wait_for(condition, timeout: float = 30, process=None) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if process is not None:
            assert process.proc.poll() is None, process.log()
        assert time.monotonic() < deadline, process.log() if process else "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_it_reports_health_and_stops_cleanly_on_sigterm(engine, trader, aredis, keys, service_env,
                                                              start_process, database_url):
    writer = start_process("db_writer", {**service_env, "DB_WRITER_HEALTH_SECONDS": "1"})
    await trader.fund()
    await trader.trade(100)
    await wait_drained(aredis, keys, alive=lambda: None if writer.proc.poll() is None else pytest.fail(
        writer.log()))

    async def healthy_and_current() -> bool:
        raw = await aredis.get(keys.db_writer_health())
        return raw is not None and orjson.loads(raw)["written"]["entries"] > 0

    await wait_for(healthy_and_current, process=writer)
    health = orjson.loads(await aredis.get(keys.db_writer_health()))
    assert health["status"] == "ok" and health["consumer"] == "writer-1"
    writer.proc.send_signal(signal.SIGTERM)
    assert writer.proc.wait(20) == 0
    assert "stopped after" in writer.log()
    await assert_exact(aredis, keys, database_url, trader)


@pytest.mark.asyncio
async def test_killed_mid_way_and_restarted_no_row_is_missing_or_doubled(engine, trader, aredis, keys,
                                                                         service_env, start_process,
                                                                         database_url):
    env = {**service_env, "DB_WRITER_BATCH_SIZE": "3"}
    await trader.fund()
    await trader.trade(1500, per_push=3)  # a backlog of ~500 entries, so that kills land in the middle
    kills_with_pending = 0
    for _ in range(3):
        writer = start_process("db_writer", env)

        async def some_written() -> bool:
            try:
                async with connect(database_url) as conn:
                    return bool(await conn.fetchval("SELECT count(*) FROM trades"))
            except Exception:  # the writer has not created the database or the tables yet
                return False

        await wait_for(some_written, process=writer)
        await asyncio.sleep(0.1)
        writer.proc.kill()  # SIGKILL: no clean-up at all
        writer.proc.wait(10)
        pending = (await aredis.xpending(keys.db_events(), GROUP))["pending"]
        kills_with_pending += pending > 0
        await trader.trade(150, per_push=3)  # the engine keeps trading while the writer is away
    assert kills_with_pending >= 1, "no kill landed while entries were in flight"
    assert await aredis.xlen(keys.db_events()) > 0
    final = start_process("db_writer", env)
    await wait_drained(aredis, keys, timeout=120, alive=lambda: None if final.proc.poll() is None
                       else pytest.fail(final.log()))
    await assert_exact(aredis, keys, database_url, trader)
