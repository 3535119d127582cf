"""PostgreSQL's CPU per table for the writer's COPYs, placed orders grouped by user (as the writer sends
them) or in command order (as the engine wrote them).

The same synthetic batches as bench/db_writer_bench.py (20 entries of 500 trades, 1,000 users), decoded by
the writer's own code (``db_writer.rows``). Each batch is COPYed into two fresh databases, one per row
order, alternating which goes first, in one transaction per batch and database (trades, their
``user_fills`` rows, placed orders, order updates, balance changes: the fast path's tables, without
candles or ``written_seqs``; the trades go in command order to both since migration 0006). The backend's
CPU time around each COPY comes from ``/proc/<pid>/schedstat`` (nanoseconds), so the figures are
PostgreSQL's own work per table, not the writer's, and the two orders see the same box at the same time
(its speed swings within minutes). Prints figures; asserts only that both databases hold the same rows.

Run: .venv/bin/python bench/db_copy_order_bench.py [--batches 30]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from db_writer_bench import PG_BASE, Events, create_database, drop_database  # noqa: E402

from db_writer.copycsv import COPY_OPTIONS  # noqa: E402
from db_writer.migrate import migrate  # noqa: E402
from db_writer.rows import (  # noqa: E402
    BALANCE_COLUMNS,
    FILL_COLUMNS,
    ORDER_COLUMNS,
    TRADE_COLUMNS,
    Batch,
    decode_entries,
)

TABLES = {"trades": TRADE_COLUMNS, "user_fills": FILL_COLUMNS, "orders": ORDER_COLUMNS,
          "order_updates": ORDER_COLUMNS, "balance_changes": BALANCE_COLUMNS}
ORDERS = ("grouped", "command order")


def on_cpu_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0])


def copies(batch: Batch) -> dict[str, dict[str, bytes]]:
    """Each table's COPY data in both row orders."""
    placed, updated = batch.order_copies()
    same = {"trades": batch.trades_copy(), "user_fills": batch.fills_copy(), "order_updates": updated,
            "balance_changes": b"".join(batch.balance_copy)}
    placed_set = batch.placed
    placed_keys = [key for key in batch.orders if key in placed_set]  # in command order
    return {"grouped": {**same, "orders": placed},
            "command order": {**same, "orders": batch.order_copy(placed_keys)}}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=30, help="batches of 20 entries of 500 trades")
    args = parser.parse_args()
    events, ts = Events(), 1_700_000_000_000
    names = {order: await create_database() for order in ORDERS}
    conns: dict[str, tuple[asyncpg.Connection, int]] = {}
    try:
        for order, name in names.items():
            conn = await asyncpg.connect(f"{PG_BASE}/{name}")
            await migrate(conn)
            conns[order] = (conn, await conn.fetchval("SELECT pg_backend_pid()"))
        spent = {order: dict.fromkeys(TABLES, 0) for order in ORDERS}
        trades = 0
        for number in range(args.batches):
            entries = [(b"%d-0" % i, events.entry(500, ts + (number * 20 + i) * 50)) for i in range(20)]
            batch, bad = decode_entries(entries)
            assert not bad and batch.raw_orders
            trades += batch.trades
            data = copies(batch)
            for order in (ORDERS if number % 2 else ORDERS[::-1]):
                conn, pid = conns[order]
                async with conn.transaction():
                    for table, columns in TABLES.items():
                        before = on_cpu_ns(pid)
                        await conn.copy_to_table(table, source=memoryview(data[order][table]),
                                                 columns=columns, **COPY_OPTIONS)
                        spent[order][table] += on_cpu_ns(pid) - before
        count = ("SELECT (SELECT count(*) FROM trades) + (SELECT count(*) FROM orders) "
                 "+ (SELECT count(*) FROM order_updates) + (SELECT count(*) FROM balance_changes)")
        counts = [await conns[order][0].fetchval(count) for order in ORDERS]
        assert counts[0] == counts[1], counts
        print(f"{trades:,} trades, {counts[0]:,} rows in each database; PostgreSQL CPU per trade (us):")
        for order in ORDERS:
            per_table = "  ".join(f"{table} {ns / trades / 1000:.2f}" for table, ns in spent[order].items())
            print(f"  {order:>13}: {per_table}  all {sum(spent[order].values()) / trades / 1000:.2f}")
    finally:
        for conn, _ in conns.values():
            await conn.close()
        for name in names.values():
            await drop_database(name)


if __name__ == "__main__":
    asyncio.run(main())
