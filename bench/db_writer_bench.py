"""DB writer benchmark: synthetic engine events in the stream -> PostgreSQL, candles kept current.

Events are written straight into a fresh namespace's ``{ns}:events`` stream in the documented format
(docs/internals.md, "DB events"; each entry one engine batch). Every command is one taker order
matching one resting maker order, so per trade the writer gets what the engine would emit: the Trade, the
maker's and the taker's OrderUpdated and four BalanceChanged (base and quote of both users); depth
updates and rejections are not sent to the stream (shared.events.STORED_EVENT_TYPES). Three markets,
1,000 users. Prints figures; asserts nothing but that the tables hold every trade at the end.

1. sustained: N trades queued, then an in-process writer (its production loop, ``Writer.run``) drains
   them; trades/s from its start to the stream being empty (database creation and migrations excluded).
2. rate: ``python -m db_writer`` runs while this process appends entries at a fixed trades/s (one entry
   every 50 ms, as a busy engine commits); the lag (age of the oldest entry not yet stored) is sampled
   every 100 ms, as the writer itself computes it for its health key.

Run: .venv/bin/python bench/db_writer_bench.py [--trades 200000] [--rate 10000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db_writer.config import DEFAULT_CONNECTIONS  # noqa: E402
from db_writer.writer import Writer  # noqa: E402
from shared.keys import Keys  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PG_BASE = os.environ.get("BENCH_DATABASE_BASE", "postgresql://postgres@127.0.0.1:5432")
MARKETS = [("TATA-INR", "TATA"), ("RELIANCE-INR", "RELIANCE"), ("INFY-INR", "INFY")]
USERS = [f"u_{i:012x}" for i in range(1000)]


class Events:
    """Synthetic engine output, one matched command at a time (ids and seqs increase like the engine's)."""

    def __init__(self, seed: int = 42) -> None:
        self.rng = random.Random(seed)
        self.seq = itertools.count(1)
        self.trade_ids = itertools.count(1)
        self.balances: dict[tuple[str, str], list[int]] = {}

    def _balance(self, seq: int, ts: int, user: str, asset: str, delta_available: int,
                 delta_locked: int) -> list[Any]:
        held = self.balances.setdefault((user, asset), [10**12, 0])
        held[0] += delta_available
        held[1] += delta_locked
        return ["balance", seq, ts, user, asset, held[0], held[1], delta_available, delta_locked]

    def command(self, ts: int) -> list[list[Any]]:
        rng = self.rng
        seq = next(self.seq)
        trade_id = next(self.trade_ids)
        market, base = rng.choice(MARKETS)
        maker, taker = rng.sample(USERS, 2)
        price, quantity = rng.randint(99_000, 101_000), rng.randint(1, 100)
        quote = price * quantity
        taker_side = rng.choice(["buy", "sell"])
        maker_side = "sell" if taker_side == "buy" else "buy"
        maker_order = seq - rng.randint(1, 500)
        fill = [[trade_id, price, quantity, ts]]

        def order(order_id: int, user: str, side: str, total: int, status: str, created: int) -> list[Any]:
            return [order_id, user, market, side, "limit", price, total, quantity, quote, status, "GTC",
                    False, None, created, fill]

        buyer, seller = (taker, maker) if taker_side == "buy" else (maker, taker)
        return [
            ["trade", seq, ts, market, trade_id, price, quantity, quote, taker_side, maker_order, seq, maker,
             taker],
            ["order", seq, ts, order(maker_order, maker, maker_side, 2 * quantity, "partially_filled", ts)],
            ["order", seq, ts, order(seq, taker, taker_side, quantity, "filled", ts)],
            self._balance(seq, ts, buyer, "INR", -quote if buyer == taker else 0,
                          0 if buyer == taker else -quote),
            self._balance(seq, ts, buyer, base, quantity, 0),
            self._balance(seq, ts, seller, base, 0 if seller == maker else -quantity,
                          -quantity if seller == maker else 0),
            self._balance(seq, ts, seller, "INR", quote, 0),
        ]

    def entry(self, trades: int, ts: int) -> dict[bytes, bytes]:
        """One stream entry as the engine writes it: rows grouped per table (encode_stored_rows)."""
        events = [event for _ in range(trades) for event in self.command(ts)]
        groups: dict[str, list[list[Any]]] = {"trade": [], "order": [], "balance": []}
        for kind, *fields in events:
            # an order event is [seq, ts, state]: a row is seq, ts and the state without its fills
            groups[kind].append([*fields[:2], *fields[2][:-1]] if kind == "order" else fields)
        return {b"s": b"all", b"t": orjson.dumps(groups["trade"]), b"o": orjson.dumps(groups["order"]),
                b"b": orjson.dumps(groups["balance"])}


async def create_database() -> str:
    name = f"mudra_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(f"{PG_BASE}/postgres")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(f"{PG_BASE}/postgres")
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def check_tables(url: str, trades: int) -> str:
    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM trades")
        in_candles = [await conn.fetchval(f"SELECT coalesce(sum(trades), 0) FROM candles_{i}")
                      for i in ("1s", "1m", "1h", "1d")]
        rows = await conn.fetchval("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM "
                                   "order_updates) + (SELECT count(*) FROM balance_changes)")
    finally:
        await conn.close()
    assert stored == trades and in_candles == [trades] * 4, (stored, in_candles, trades)
    return f"{stored:,} trades, {rows:,} order and balance rows; every candle interval counts {trades:,}"


async def sustained(redis: Redis, trades: int, per_entry: int, batch_size: int, connections: int) -> None:
    keys = Keys(f"bench-{uuid.uuid4().hex[:8]}")
    database = await create_database()
    url = f"{PG_BASE}/{database}"
    try:
        events = Events()
        ts = 1_700_000_000_000
        pipe = redis.pipeline(transaction=False)
        for n in range(trades // per_entry):
            pipe.xadd(keys.db_events(), events.entry(per_entry, ts + n * 50))  # ~ a few minutes of buckets
        await pipe.execute()
        writer = Writer(redis, url, keys, batch_size=batch_size, health_every_s=3600, connections=connections)
        await writer.open()  # database created and migrated before the clock starts
        started = time.perf_counter()
        cpu_started = time.process_time()
        times_started = os.times()
        machine_started = machine_cpu()
        task = asyncio.create_task(writer.run())
        while await redis.xlen(keys.db_events()):
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        writer_cpu = time.process_time() - cpu_started
        times = os.times()
        machine_busy, machine_total = (b - a for a, b in zip(machine_started, machine_cpu(), strict=True))
        writer_system = times.system - times_started.system
        postgres_cpu = await backends_cpu(database)  # the pool's connections, opened by run()
        writer.stop()
        await task
        count = (trades // per_entry) * per_entry
        print(f"sustained: {count:,} trades ({per_entry} per entry, {batch_size} entries per transaction, "
              f"{connections} in flight) "
              f"in {elapsed:.2f} s = {count / elapsed:,.0f} trades/s "
              f"({writer.counters.events / elapsed:,.0f} events/s)")
        total_cpu = writer_cpu + postgres_cpu
        print(f"  CPU: writer process {writer_cpu:.2f} s ({writer_system:.2f} s of it in the kernel), "
              f"PostgreSQL backends {postgres_cpu:.2f} s = "
              f"{total_cpu / count * 1e6:.1f} us per trade ({count / total_cpu:,.0f} trades per CPU-second)")
        print(f"  machine: {machine_busy / machine_total:.0%} of {os.cpu_count()} cores busy over the run "
              "(every process: the writer, PostgreSQL's backends and background workers, Redis)")
        print(f"  {await check_tables(url, count)}")
    finally:
        await redis.delete(keys.db_events(), keys.db_writer_health())
        await drop_database(database)


def reference_loop_ms() -> float:
    """CPU time of a fixed pure-Python loop (~100 ms on this box when it runs fast): the same code's
    figures swing ~30% with the shared box's speed within minutes, and this tells which phase a run saw."""
    started = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i & 7
    assert total == 7_000_000
    return (time.process_time() - started) * 1000


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat; busy is all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


async def backends_cpu(database: str) -> float:
    """CPU seconds (user + system) used so far by the server processes of ``database``'s connections
    (Linux /proc; PostgreSQL on this machine). The box is shared: CPU time is the stable figure."""
    conn = await asyncpg.connect(f"{PG_BASE}/postgres")
    try:
        pids = [row["pid"] for row in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", database)]
    finally:
        await conn.close()
    return sum(map(process_cpu, pids))


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (0 when it is not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:  # not on this machine, or gone
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


async def at_rate(redis: Redis, rate: int, seconds: float, batch_size: int, connections: int) -> None:
    keys = Keys(f"bench-{uuid.uuid4().hex[:8]}")
    database = await create_database()
    url = f"{PG_BASE}/{database}"
    env = {**os.environ, "REDIS_URL": REDIS_URL, "DATABASE_URL": url, "MUDRA_NAMESPACE": keys.ns,
           "DB_WRITER_BATCH_SIZE": str(batch_size), "DB_WRITER_CONNECTIONS": str(connections),
           "DB_WRITER_HEALTH_SECONDS": "5"}
    proc = subprocess.Popen([sys.executable, "-m", "db_writer"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    probe = Writer(redis, url, keys)  # only its lag() is used: what the health key reports
    try:
        while await redis.exists(keys.db_events()) == 0 or not await redis.xinfo_groups(keys.db_events()):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            await asyncio.sleep(0.05)
        events = Events()
        interval = 0.05
        per_entry = max(1, round(rate * interval))
        lags: list[float] = []
        sent = 0
        started = time.perf_counter()
        next_at = started
        next_probe = started
        while time.perf_counter() - started < seconds:
            now = time.perf_counter()
            if now >= next_at:
                await redis.xadd(keys.db_events(), events.entry(per_entry, int(time.time() * 1000)))
                sent += per_entry
                next_at += interval
            if now >= next_probe:
                lags.append((await probe.lag()).behind_s)
                next_probe += 0.1
            await asyncio.sleep(max(0.0, min(next_at, next_probe) - time.perf_counter()))
        achieved = sent / (time.perf_counter() - started)
        drain_started = time.perf_counter()
        while (await probe.lag()).behind_s > 0 or await redis.xlen(keys.db_events()):
            await asyncio.sleep(0.02)
        drain = time.perf_counter() - drain_started
        writer_cpu, postgres_cpu = process_cpu(proc.pid), await backends_cpu(database)
        lags.sort()
        print(f"at {achieved:,.0f} trades/s for {seconds:.0f} s ({per_entry} trades per entry every 50 ms): "
              f"lag p50 {statistics.median(lags):.3f} s, p99 {lags[int(len(lags) * 0.99)]:.3f} s, "
              f"max {lags[-1]:.3f} s; caught up {drain:.2f} s after the last entry")
        print(f"  CPU: writer process {writer_cpu:.2f} s, PostgreSQL backends {postgres_cpu:.2f} s = "
              f"{(writer_cpu + postgres_cpu) / sent * 1e6:.1f} us per trade (writer start-up included)")
        print(f"  {await check_tables(url, sent)}")
    finally:
        proc.terminate()
        proc.wait(30)
        await redis.delete(keys.db_events(), keys.db_writer_health())
        await drop_database(database)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=200_000, help="trades for the sustained run")
    parser.add_argument("--per-entry", type=int, default=500, help="trades per stream entry (sustained)")
    parser.add_argument("--batch-size", type=int, default=20, help="DB_WRITER_BATCH_SIZE")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS,
                        help="DB_WRITER_CONNECTIONS: batches in flight (default: the writer's)")
    parser.add_argument("--rate", type=int, default=10_000, help="trades/s for the lag run (0: skip)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the lag run")
    args = parser.parse_args()
    redis = Redis.from_url(REDIS_URL, socket_timeout=None)
    try:
        load = os.getloadavg()
        print(f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
              f"reference loop {reference_loop_ms():.0f} ms of CPU (the box's speed now: lower is faster)")
        if args.trades:
            await sustained(redis, args.trades, args.per_entry, args.batch_size, args.connections)
        if args.rate:
            await at_rate(redis, args.rate, args.seconds, args.batch_size, args.connections)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    import uvloop

    from shared.runtime import tune_gc

    tune_gc()  # as python -m db_writer runs (db_writer/__main__.py)
    uvloop.run(main())
