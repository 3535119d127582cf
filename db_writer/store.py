"""Write one :class:`db_writer.rows.Batch` into PostgreSQL, idempotently: two transactions on two
connections that commit together (the *lanes* of :class:`Store`), or one transaction on one connection.

Almost every batch is new: its trades, balance changes and orders are COPYed (CSV, copycsv.py) straight
into their tables: an order placed by a command of the batch into ``orders`` (its state at the end of the
batch), any other order's last state in the batch appended to ``order_updates`` (migration 0004; readers
use the ``order_states`` view, each order with its newest state). A key that is already stored (a
trade's, an order's or an order update's primary key, or a range of ``written_seqs``: a replay) sends the
batch down the idempotent path instead, which COPYs the rows into temporary staging tables of the same
columns and types as the real ones (created by the transaction that needs them, ``ON COMMIT DROP``), then
moves them into the real tables:

- trades: ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` the rows actually inserted, and (plain
  PostgreSQL only) the candles of every interval are upserted from those returned rows alone, in the same
  statement. A trade already stored is therefore never counted twice, whatever is replayed.
- orders: upsert that keeps the state with the highest (shard, seq); order updates: ``ON CONFLICT DO
  NOTHING`` (the key holds the (shard, seq) of the state).
- balance changes (no primary key: migration 0003): only those whose (shard, seq) lies in no range of
  ``written_seqs``, once each; then their seqs join ``written_seqs``.

So writing the same batch twice, or batches out of order, gives the same tables.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import asyncpg

from db_writer.copycsv import COPY_OPTIONS
from db_writer.migrate import Flavour
from db_writer.rows import (
    BALANCE_COLUMNS,
    FILL_COLUMNS,
    FILL_SPAN_MS,
    ORDER_COLUMNS,
    TRADE_COLUMNS,
    Batch,
    candles,
)

# interval name -> (candle table, width in ms). 1d buckets are UTC days (epoch ms are UTC).
CANDLE_INTERVALS: dict[str, tuple[str, int]] = {
    "1s": ("candles_1s", 1_000),
    "1m": ("candles_1m", 60_000),
    "1h": ("candles_1h", 3_600_000),
    "1d": ("candles_1d", 86_400_000),
}

# Staging tables only for the idempotent path (a replay: rare), created by the transaction that needs
# them and dropped at its commit. (A table living with the connection, ON COMMIT DELETE ROWS, would be
# truncated at every commit, used or not: ~0.5 ms of server CPU per table and commit here.)
TRADES_STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_trades (LIKE trades) ON COMMIT DROP;\n"
    "CREATE TEMP TABLE IF NOT EXISTS stage_order_updates (LIKE orders) ON COMMIT DROP;")
BALANCES_STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_balances (LIKE balance_changes) ON COMMIT DROP;\n"
    "CREATE TEMP TABLE IF NOT EXISTS stage_orders (LIKE orders) ON COMMIT DROP;")


# open/close replace the stored ones only when they come from an earlier/later trade than the stored
# first/last trade: the result does not depend on the order in which batches arrive.
_CANDLE_CONFLICT = """
ON CONFLICT (market, open_time) DO UPDATE SET
    open = CASE WHEN excluded.first_trade_id < c.first_trade_id THEN excluded.open ELSE c.open END,
    close = CASE WHEN excluded.last_trade_id > c.last_trade_id THEN excluded.close ELSE c.close END,
    high = greatest(c.high, excluded.high),
    low = least(c.low, excluded.low),
    volume = c.volume + excluded.volume,
    quote_volume = c.quote_volume + excluded.quote_volume,
    trades = c.trades + excluded.trades,
    first_trade_id = least(c.first_trade_id, excluded.first_trade_id),
    last_trade_id = greatest(c.last_trade_id, excluded.last_trade_id)"""
_CANDLE_TARGET = ("(market, open_time, open, high, low, close, volume, quote_volume, trades, first_trade_id, "
                  "last_trade_id)")


def _candle_upsert(table: str, width: int) -> str:
    """Upsert the candles of ``width`` ms from the CTE ``new`` (the trades this statement inserted).

    open/close come from the first/last trade by id of the bucket within the batch. Rows are locked in
    key order (no deadlock between two writers). The argmin/argmax by trade id is
    array_agg(... ORDER BY trade_id)[1].
    """
    return f"""
INSERT INTO {table} AS c {_CANDLE_TARGET}
SELECT market, ts - ts % {width},
       (array_agg(price ORDER BY trade_id))[1], max(price), min(price),
       (array_agg(price ORDER BY trade_id DESC))[1],
       sum(quantity), sum(quote_quantity), count(*), min(trade_id), max(trade_id)
FROM new GROUP BY 1, 2 ORDER BY 1, 2{_CANDLE_CONFLICT}"""


def _upsert_candles(rows: list[tuple[Any, ...]]) -> str:
    """Upsert candles aggregated by the writer (rows.candles, in key order), one statement per interval.

    The values are written into the SQL text (integers, and market symbols as quoted literals) so that
    they travel in the same round trip as the other statements, instead of one more COPY.
    """
    by_width: dict[int, list[str]] = {}
    for width, market, *values in rows:
        literal = "'" + str(market).replace("'", "''") + "'"
        by_width.setdefault(width, []).append(f"({literal},{','.join(str(int(v)) for v in values)})")
    return "\n".join(
        f"INSERT INTO {table} AS c {_CANDLE_TARGET}\nVALUES {','.join(by_width[width])}{_CANDLE_CONFLICT};"
        for table, width in CANDLE_INTERVALS.values() if width in by_width)


# The user_fills rows of the trades the statement inserted (CTE ``new``): each trade once for its maker
# and once for its taker, one row per user and minute (rows.fill_lists does the same for the fast path).
_INSERT_FILLS = f"""
INSERT INTO user_fills ({", ".join(FILL_COLUMNS)})
SELECT user_id, min(ts), max(ts), array_agg(market ORDER BY ts, market, trade_id),
       array_agg(trade_id ORDER BY ts, market, trade_id), array_agg(ts ORDER BY ts, market, trade_id)
FROM (SELECT maker_user_id AS user_id, market, trade_id, ts FROM new
      UNION ALL
      SELECT taker_user_id, market, trade_id, ts FROM new) AS sides
GROUP BY user_id, ts - ts % {FILL_SPAN_MS}"""


def _insert_trades(source: str, flavour: Flavour) -> str:
    """Insert the staged trades that are not stored yet; list them in user_fills and (plain PostgreSQL)
    upsert their candles, from the rows actually inserted (RETURNING): a trade stored before counts
    nowhere again. Data-modifying CTEs run exactly once whether or not the main statement reads them."""
    columns = ", ".join(TRADE_COLUMNS)
    insert = f"INSERT INTO trades ({columns}) SELECT {columns} FROM {source} ON CONFLICT DO NOTHING"
    returning = ("RETURNING market, trade_id, price, quantity, quote_quantity, ts, maker_user_id, "
                 "taker_user_id")
    head = f"WITH new AS ({insert}\n    {returning})"
    if flavour == "timescale":  # the continuous aggregates follow the hypertable by themselves
        return head + _INSERT_FILLS + ";"
    candles = list(CANDLE_INTERVALS.values())
    ctes = [f"upsert_{table} AS ({_candle_upsert(table, width)})" for table, width in candles]
    return head + ",\n" + ",\n".join(ctes) + _INSERT_FILLS + ";"


def _upsert_orders(source: str) -> str:
    columns = ", ".join(ORDER_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in ORDER_COLUMNS if c not in ("market", "order_id"))
    return (f"INSERT INTO orders AS o ({columns}) SELECT {columns} FROM {source}\n"
            "ORDER BY market, order_id\n"
            f"ON CONFLICT (market, order_id) DO UPDATE SET {updates}\n"
            "WHERE (o.shard, o.seq) < (excluded.shard, excluded.seq);")


def _insert_order_updates(source: str) -> str:
    columns = ", ".join(ORDER_COLUMNS)
    return f"INSERT INTO order_updates ({columns}) SELECT {columns} FROM {source} ON CONFLICT DO NOTHING;"


def _insert_balances(source: str) -> str:
    """Claim the seqs of the balance changes in written_seqs, then store the changes of the seqs claimed
    (each once).

    Claiming first needs no lock: a range another transaction is inserting at the same time (a batch
    holding the same commands) makes this insert wait for it, then skip the seq if it committed (its
    balance changes are stored) or claim it if it rolled back.
    """
    columns = ", ".join(BALANCE_COLUMNS)
    return f"""WITH claimed AS (
    INSERT INTO written_seqs (shard, seqs)
    SELECT DISTINCT shard, int8range(seq, seq, '[]') FROM {source}
    ON CONFLICT DO NOTHING RETURNING shard, seqs)
INSERT INTO balance_changes ({columns})
SELECT DISTINCT ON (shard, seq, user_id, asset) {columns} FROM {source} s
WHERE EXISTS (SELECT FROM claimed c WHERE c.shard = s.shard AND c.seqs @> s.seq);"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _mark_written(seqs: list[tuple[str, int, int]]) -> str:
    """Record each entry's range of seqs: one that overlaps a stored range fails (a replay)."""
    values = ",".join(f"({_literal(shard)},int8range({low},{high},'[]'))" for shard, low, high in seqs)
    return f"INSERT INTO written_seqs (shard, seqs) VALUES {values};"


# Two locks, so that batches in flight (of this writer, and of several writers) never wait for each other
# in a cycle that PostgreSQL cannot see:
#
# - The candle lock (WRITE_LOCK_ID, transaction-level): taken right before a candle upsert, the rows
#   every batch shares, and held to the commit, so those upserts run one after the other. Without any
#   lock, batches written at the same time deadlocked on candle rows (5 in each 100,000-trade run,
#   2026-11-26). Nothing else two batches write is shared (their rows have distinct keys), so all the
#   rest of each lane runs beside the other batches in flight.
# - The pair locks (session-level, (PAIR_LOCK_SPACE, the backend's pid)): each lane holds its own from
#   before either lane begins until its statements are done, and then waits for its partner by taking
#   and releasing the partner's. The two lanes of a batch commit only together, so a lane with
#   uncommitted rows waits for its partner; in asyncio alone, a partner waiting in PostgreSQL for another
#   batch's rows (a redelivered batch beside its original) closed a cycle PostgreSQL could not see, and
#   both hung for ever (test_store). Waiting through a lock makes every such cycle a deadlock that
#   PostgreSQL breaks (the writer retries the batch: a transient error).
#
# Before (until 2026-11-26), each lane held a lock of its own for its whole transaction, taken in a fixed
# order: safe, but a batch could not begin until the one before had committed both lanes; the machine
# was then 83-87% busy in the sustained benchmark against 88-91% now (db-writer.md, "Locks").
WRITE_LOCK_ID = 0x6D75_6472_6177  # "mudraw", distinct from migrate.LOCK_ID
_CANDLE_LOCK = f"SELECT pg_advisory_xact_lock({WRITE_LOCK_ID});"
PAIR_LOCK_SPACE = 0x6D75  # the first key of the pair locks (the two-key form: its own space)


@dataclass(frozen=True, slots=True)
class _FastData:
    """What the fast path sends for a batch, encoded before any transaction begins (no lock is held
    while Python works)."""

    trades: bytes
    fills: bytes  # user_fills rows of the trades
    candles_sql: str
    updated_orders: bytes  # last states of orders placed by an earlier batch: order_updates
    balances: bytes
    written_sql: str  # the entries' ranges of seqs
    placed_orders: bytes  # orders placed by a command of the batch: orders


class Replayed(Exception):
    """The fast path met a row that is already stored: the batch is written again the idempotent way."""


_ALREADY_STORED = (asyncpg.UniqueViolationError, asyncpg.ExclusionViolationError)


class Store:
    """The SQL of one database flavour, built once.

    A batch is written in two *lanes*, tables that no statement of the other lane touches, each in its
    own transaction on its own connection, so that PostgreSQL works on both at once (two backends, two
    cores):

    - ``trades``: trades, their user_fills rows, the candles they update, and order updates;
    - ``balances``: balance changes, written_seqs (which says which balance changes are stored), and the
      orders placed by the batch.

    The split is by cost: each lane took about half of PostgreSQL's work for a batch (~9 and ~10 us of
    server CPU per trade, 2026-11-26), so that neither waits long for the other at the commit. Since
    user_fills (~6 and ~10) the orders placed and the order updates swapped lanes (~9 and ~7) made no
    difference in 4 interleaved pairs: the lanes of several batches run side by side. Both
    transactions commit only once both have run every statement (so an error in one, e.g. a row
    PostgreSQL refuses, leaves nothing of the batch behind); they wait for each other through the pair
    locks, and the trades lane takes the candle lock before its candle upsert (both above). Given one
    connection, both lanes run in one transaction, one after the other.

    In each lane, two ways to write the batch:

    - *fast* (almost every batch: entries are new): trades, balance changes, the orders placed by a
      command of the batch (order id = that seq: no earlier batch can hold them) and the new states of
      the other orders COPYed straight into their tables: each row is handled once by the server,
      without ``ON CONFLICT`` (which costs twice a plain insert) or a staging table; each entry's range
      of seqs into written_seqs; candles aggregated by the writer (rows.candles) and upserted one row per
      bucket. A row already stored (a replay; or a later batch, written first, stored the order) fails
      its key: the lane's work is rolled back to a savepoint and done the idempotent way;
    - *idempotent* (a batch re-delivered after a crash, or holding the same trade twice) writes it with
      ``ON CONFLICT DO NOTHING`` (orders: an upsert keeping the highest (shard, seq)), balance changes
      filtered by written_seqs, and the candles from the trades the statement actually inserted.
    """

    def __init__(self, flavour: Flavour) -> None:
        self.flavour = flavour
        self._upsert_orders = _upsert_orders("stage_orders")
        self._insert_order_updates = _insert_order_updates("stage_order_updates")
        self._insert_balances = _insert_balances("stage_balances")
        self._insert_trades = _insert_trades("stage_trades", flavour)

    async def write_batch(self, conn: asyncpg.Connection, batch: Batch,
                          other: asyncpg.Connection | None = None) -> None:
        """Store the batch: on ``conn`` alone in one transaction, or in two lanes on ``conn`` and
        ``other``. An error leaves nothing of it behind."""
        fast = self._encode_fast(batch)
        if other is None:
            async with conn.transaction():
                for lane in LANES:
                    await self._write_lane(conn, lane, batch, fast)
            return
        pair = _Pair()
        pids = (conn.get_server_pid(), other.get_server_pid())
        try:  # both pair locks held before either lane begins (a lane waits for its partner's)
            await asyncio.gather(conn.execute(_pair_lock(pids[0])), other.execute(_pair_lock(pids[1])))
        except BaseException:
            await asyncio.gather(_release_pair_locks(conn), _release_pair_locks(other))
            raise
        results = await asyncio.gather(  # each lane releases its pair lock however it ends
            self._write_paired(conn, LANES[0], batch, fast, pair, pids[1]),
            self._write_paired(other, LANES[1], batch, fast, pair, pids[0]), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException) and not isinstance(r, _Aborted)]
        if errors:
            raise errors[0]

    def _encode_fast(self, batch: Batch) -> _FastData:
        placed, updated = batch.order_copies()
        with_candles = self.flavour != "timescale" and batch.candle_trades
        return _FastData(
            trades=batch.trades_copy(),
            fills=batch.fills_copy(),
            candles_sql=_upsert_candles(candles(batch.candle_trades, _WIDTHS)) if with_candles else "",
            updated_orders=updated,
            balances=b"".join(batch.balance_copy),
            written_sql=_mark_written(batch.balance_seqs) if batch.balance_seqs else "",
            placed_orders=placed)

    async def _write_paired(self, conn: asyncpg.Connection, lane: str, batch: Batch, fast: _FastData,
                            pair: _Pair, partner_pid: int) -> None:
        """One lane in its transaction, committed once the partner lane has run every statement too."""
        try:
            async with conn.transaction():
                await self._write_lane(conn, lane, batch, fast)
                pair.done[lane].set()  # before the lock is released: the partner finds it set
                # Release this lane's lock, then wait for the partner's, which is free once the partner is
                # done or has failed (it releases the lock then, or its connection is gone): waiting in
                # PostgreSQL, a cycle through here is a deadlock it breaks. One round trip.
                await conn.execute(_pair_unlock(conn.get_server_pid()) + _pair_lock(partner_pid)
                                   + _pair_unlock(partner_pid))
                await pair.wait(pair.done[LANES[1] if lane == LANES[0] else LANES[0]])
        except BaseException:
            pair.failed.set()
            await _release_pair_locks(conn)  # the partner must not wait for this lane any longer
            raise

    async def _write_lane(self, conn: asyncpg.Connection, lane: str, batch: Batch, data: _FastData) -> None:
        try:
            async with conn.transaction():  # a savepoint
                await self._write(conn, lane, batch, True, data)
        except Replayed:
            await self._write(conn, lane, batch, False, data)

    async def _write(self, conn: asyncpg.Connection, lane: str, batch: Batch, fast: bool,
                     data: _FastData) -> None:
        if not fast:
            await (self._trades_idempotent if lane == "trades" else self._balances_idempotent)(conn, batch)
            return
        try:
            if lane == "trades":
                await self._trades_fast(conn, data)
            else:
                await self._balances_fast(conn, data)
        except _ALREADY_STORED as exc:
            raise Replayed from exc

    @staticmethod
    async def _trades_fast(conn: asyncpg.Connection, data: _FastData) -> None:
        """COPY trades, their user_fills rows and order updates straight into their tables, then the
        candles. A trade or an order's state already stored fails a key."""
        if data.trades:
            await _copy(conn, "trades", TRADE_COLUMNS, data.trades)
            await _copy(conn, "user_fills", FILL_COLUMNS, data.fills)
        if data.updated_orders:
            await _copy(conn, "order_updates", ORDER_COLUMNS, data.updated_orders)
        if data.candles_sql:  # last, under the candle lock: every batch updates these rows
            await conn.execute(_CANDLE_LOCK + "\n" + data.candles_sql)

    async def _trades_idempotent(self, conn: asyncpg.Connection, batch: Batch) -> None:
        statements: list[str] = []
        await conn.execute(_CANDLE_LOCK + "\n" + TRADES_STAGING_DDL)  # its insert of trades writes candles
        _, updated = batch.split_orders()
        if updated:
            await _copy(conn, "stage_order_updates", ORDER_COLUMNS, batch.order_copy(updated))
            statements.append(self._insert_order_updates)
        if batch.trades:  # the candles they update (rows every batch shares) last
            await _copy(conn, "stage_trades", TRADE_COLUMNS, batch.trades_copy())
            statements.append(self._insert_trades)
        if statements:
            await conn.execute("\n".join(statements))

    @staticmethod
    async def _balances_fast(conn: asyncpg.Connection, data: _FastData) -> None:
        """COPY balance changes and the orders placed in the batch straight into their tables, then the
        entries' ranges of seqs. A range of seqs or an order already stored fails a key."""
        if data.balances:
            await _copy(conn, "balance_changes", BALANCE_COLUMNS, data.balances)
        if data.placed_orders:
            await _copy(conn, "orders", ORDER_COLUMNS, data.placed_orders)
        if data.written_sql:
            await conn.execute(data.written_sql)

    async def _balances_idempotent(self, conn: asyncpg.Connection, batch: Batch) -> None:
        statements: list[str] = []
        await conn.execute(BALANCES_STAGING_DDL)
        if batch.balances:
            await _copy(conn, "stage_balances", BALANCE_COLUMNS, b"".join(batch.balance_copy))
            statements.append(self._insert_balances)
        placed, _ = batch.split_orders()
        if placed:
            await _copy(conn, "stage_orders", ORDER_COLUMNS, batch.order_copy(placed))
            statements.append(self._upsert_orders)
        if statements:
            await conn.execute("\n".join(statements))


LANES = ("trades", "balances")
_GONE = (asyncpg.InterfaceError, asyncpg.PostgresError, OSError)


def _pair_lock(pid: int) -> str:
    return f"SELECT pg_advisory_lock({PAIR_LOCK_SPACE}, {pid});"


def _pair_unlock(pid: int) -> str:
    return f"SELECT pg_advisory_unlock({PAIR_LOCK_SPACE}, {pid});"


async def _release_pair_locks(conn: asyncpg.Connection) -> None:
    """Release every session-level lock of the connection (only pair locks are taken that way); a
    connection that is gone took its locks with it."""
    with contextlib.suppress(*_GONE):
        await conn.execute("SELECT pg_advisory_unlock_all()")


class _Aborted(Exception):
    """The other lane of the batch failed: this one rolls back too."""


class _Pair:
    """What the two lanes of one batch wait for: each other's statements done, or a failure of either."""

    def __init__(self) -> None:
        self.done = {lane: asyncio.Event() for lane in LANES}
        self.failed = asyncio.Event()

    async def wait(self, event: asyncio.Event) -> None:
        if not (event.is_set() or self.failed.is_set()):
            waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.failed.wait())]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        if not event.is_set():
            raise _Aborted


async def _copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...], data: bytes) -> None:
    """COPY ``data`` into ``table``, sent in one piece.

    asyncpg takes a buffer as one message (a memoryview: bytes would be taken for a file name), which the
    transport buffers and the kernel passes on as PostgreSQL reads. A file-like source is read in 512 KB
    chunks, each through a thread of the default executor, and every chunk waits for the event loop:
    while the loop decoded the next batch, PostgreSQL waited for data, and the COPYs took 2-3x their
    server time (measured 2026-11-26).
    """
    await conn.copy_to_table(table, source=memoryview(data), columns=columns, **COPY_OPTIONS)


_WIDTHS = tuple(width for _, width in CANDLE_INTERVALS.values())
