"""What the history tables must hold, computed independently of db_writer: from engine events, by name.

The expected rows come from the events themselves (attributes read by column name, candles from a plain
sort-and-group), never from db_writer.rows or its SQL, so a test comparing them with the tables checks
the writer rather than restating it. ``replay_journal`` rebuilds the events of a running engine process
from its journal with a fresh in-process engine (the engine is deterministic: same commands, same events).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import asyncpg

from db_writer.rows import BALANCE_COLUMNS, ORDER_COLUMNS, TRADE_COLUMNS
from db_writer.store import CANDLE_INTERVALS
from engine.core import Engine
from engine.journal import decode_batch
from shared.events import BalanceChanged, Event, OrderUpdated, Trade
from shared.keys import Keys
from shared.markets import load_markets

CANDLE_FIELDS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "first_trade_id",
                 "last_trade_id")


async def replay_journal(redis: Any, keys: Keys, shard: str = "all") -> list[Event]:
    """Every event of the shard's commands so far (needs the whole journal: no snapshot taken yet).

    ``redis`` is a redis.asyncio client (typed Any: redis-py types its replies as bytes | str)."""
    engine = Engine(load_markets())
    events: list[Event] = []
    for _, fields in await redis.xrange(keys.journal(shard)):
        for command in decode_batch(fields[b"b"]):
            events.extend(engine.apply(command))
    return events


def candles(trades: Iterable[Trade], width: int) -> dict[tuple[str, int], tuple[int, ...]]:
    """(market, open_time) -> OHLCV etc. of ``width`` ms buckets: open/close by trade id."""
    buckets: dict[tuple[str, int], list[Trade]] = defaultdict(list)
    for trade in trades:
        buckets[(trade.market, trade.ts - trade.ts % width)].append(trade)
    result: dict[tuple[str, int], tuple[int, ...]] = {}
    for key, group in buckets.items():
        group.sort(key=lambda t: t.trade_id)
        prices = [t.price for t in group]
        result[key] = (group[0].price, max(prices), min(prices), group[-1].price,
                       sum(t.quantity for t in group), sum(t.quote_quantity for t in group), len(group),
                       group[0].trade_id, group[-1].trade_id)
    return result


def expected_tables(events: Iterable[Event], shard: str = "all") -> dict[str, Any]:
    """The rows every table must hold after ``events`` were written (order-free shapes; orders: each
    order's newest state, as the ``order_states`` view gives it)."""
    events = list(events)
    trades = [e for e in events if isinstance(e, Trade)]
    orders: dict[tuple[str, int], tuple[Any, ...]] = {}
    # An order is listed once the event of its placement (by the command of its number) is stored.
    placed = {(e.order.market, e.order.order_id) for e in events
              if isinstance(e, OrderUpdated) and e.seq == e.order.order_id}
    for event in events:
        if isinstance(event, OrderUpdated) and (event.order.market, event.order.order_id) in placed:
            order = event.order
            named = {"seq": event.seq, "updated_at": event.ts, "shard": shard}
            orders[(order.market, order.order_id)] = tuple(
                named[c] if c in named else getattr(order, c) for c in ORDER_COLUMNS)
    balances = {(*(getattr(e, c) for c in BALANCE_COLUMNS[:-1]), shard)
                for e in events if isinstance(e, BalanceChanged)}
    return {
        "trades": {(*(getattr(t, c) for c in TRADE_COLUMNS[:-1]), shard) for t in trades},
        "orders": orders,
        "balance_changes": balances,
        # each trade listed once for its maker and once for its taker (a Counter: no duplicate allowed)
        "user_fills": Counter((user, t.market, t.trade_id, t.ts) for t in trades
                              for user in (t.maker_user_id, t.taker_user_id)),
        **{table: candles(trades, width) for table, width in CANDLE_INTERVALS.values()},
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        assert value == value.to_integral_value(), value
        return int(value)
    return value


async def fetch_tables(conn: asyncpg.Connection) -> dict[str, Any]:
    """The same shapes, read from the database."""
    trades = await conn.fetch(f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades")
    orders = await conn.fetch(f"SELECT {', '.join(ORDER_COLUMNS)} FROM order_states")
    balances = await conn.fetch(f"SELECT {', '.join(BALANCE_COLUMNS)} FROM balance_changes")
    result: dict[str, Any] = {
        "trades": {tuple(map(_plain, row)) for row in trades},
        "orders": {(row["market"], row["order_id"]): tuple(map(_plain, row)) for row in orders},
        "balance_changes": {tuple(map(_plain, row)) for row in balances},
    }
    assert len(result["trades"]) == len(trades) and len(result["balance_changes"]) == len(balances)
    result["user_fills"] = Counter()
    for row in await conn.fetch("SELECT user_id, first_ts, last_ts, markets, trade_ids, ts FROM user_fills"):
        # what readers rely on (api/history_db.py): the row's bounds, all of its trades in one minute
        assert row["first_ts"] == min(row["ts"]) and row["last_ts"] == max(row["ts"]), row
        assert row["first_ts"] // 60_000 == row["last_ts"] // 60_000, row
        result["user_fills"].update((row["user_id"], market, trade_id, ts) for market, trade_id, ts
                                    in zip(row["markets"], row["trade_ids"], row["ts"], strict=True))
    for table, _ in CANDLE_INTERVALS.values():
        rows = await conn.fetch(f"SELECT market, open_time, {', '.join(CANDLE_FIELDS)} FROM {table}")
        result[table] = {(row["market"], row["open_time"]): tuple(_plain(row[f]) for f in CANDLE_FIELDS)
                         for row in rows}
    return result


async def balance_sums(conn: asyncpg.Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """(user, asset) -> (sum of delta_available, sum of delta_locked) over balance_changes."""
    rows = await conn.fetch("SELECT user_id, asset, sum(delta_available) AS a, sum(delta_locked) AS l "
                            "FROM balance_changes GROUP BY user_id, asset")
    return {(row["user_id"], row["asset"]): (_plain(row["a"]), _plain(row["l"])) for row in rows}


async def assert_exact(redis: Any, keys: Keys, database_url: str, trader: Any) -> dict[str, Any]:
    """Every table equals what the engine's events say (replayed from its journal), and the balance
    changes add up to the balances the running engine answers (``trader.balances()``, minor units)."""
    events = await replay_journal(redis, keys)
    conn = await asyncpg.connect(database_url)
    try:
        tables = await fetch_tables(conn)
        sums = await balance_sums(conn)
    finally:
        await conn.close()
    for table, rows in expected_tables(events).items():
        assert tables[table] == rows, table
    engine_balances = await trader.balances()
    assert {key: sums.get(key, (0, 0)) for key in engine_balances} == engine_balances
    assert set(sums) <= set(engine_balances)
    return tables


_CSV_FIELD = re.compile(rb'"((?:[^"]|"")*)"|([^,\n"]*)')


def copy_rows(data: bytes) -> list[tuple[Any, ...]]:
    """The rows of COPY CSV data as the writer sends it (db_writer/copycsv.py), values typed back:
    quoted -> str, ``null`` -> None, ``true``/``false`` -> bool, anything else -> int."""
    rows: list[tuple[Any, ...]] = []
    row: list[Any] = []
    pos = 0
    while pos < len(data):
        match = _CSV_FIELD.match(data, pos)
        assert match is not None, data[pos:pos + 80]
        quoted, bare = match.groups()
        if quoted is not None:
            row.append(quoted.replace(b'""', b'"').decode())
        else:
            token = bare.decode()
            row.append({"null": None, "true": True, "false": False}.get(token) if token in
                       ("null", "true", "false") else int(token))
        pos = match.end()
        separator = data[pos:pos + 1]
        pos += 1
        if separator == b"\n":
            rows.append(tuple(row))
            row = []
        else:
            assert separator == b",", (separator, data[pos - 40:pos + 40])
    assert not row, row
    return rows
