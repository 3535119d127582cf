"""Write one :class:`db_writer.rows.Batch` in one PostgreSQL transaction, idempotently.

Almost every batch is new: its trades, balance changes and newly placed orders are COPYed straight into
their tables, and a primary-key violation (a replay) sends the batch down the idempotent path instead
(:class:`Store`). That path, and the upsert of orders placed by earlier commands on both paths, use
temporary staging tables (the orders one lives with the connection, ``ON COMMIT DELETE ROWS``; the others
are created by the rare transaction that needs them, ``ON COMMIT DROP``): the rows go into them with
binary COPY, then statements move them into the real tables:

- trades: ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` the rows actually inserted, and (plain
  PostgreSQL only) the candles of every interval are upserted from those returned rows alone, in the same
  statement. A trade already stored is therefore never counted twice, whatever is replayed.
- orders: upsert that keeps the state with the highest (shard, seq).
- balance changes: ``INSERT ... ON CONFLICT DO NOTHING`` on (shard, seq, user, asset).

So writing the same batch twice, or batches out of order, gives the same tables.

Staging columns are BIGINT (asyncpg's binary COPY of NUMERIC from an int costs ~10x more); the target
columns for quote amounts and balances are NUMERIC (the direct COPY is in text, which has no such limit).
A value beyond BIGINT (asyncpg raises OverflowError while encoding, which aborts the transaction before
anything is stored) makes :func:`write_batch` redo the transaction through NUMERIC staging tables.
"""

from __future__ import annotations

import io
from typing import Any

import asyncpg

from db_writer import copytext
from db_writer.migrate import Flavour
from db_writer.rows import BALANCE_COLUMNS, ORDER_COLUMNS, TRADE_COLUMNS, Batch, candles

# interval name -> (candle table, width in ms). 1d buckets are UTC days (epoch ms are UTC).
CANDLE_INTERVALS: dict[str, tuple[str, int]] = {
    "1s": ("candles_1s", 1_000),
    "1m": ("candles_1m", 60_000),
    "1h": ("candles_1h", 3_600_000),
    "1d": ("candles_1d", 86_400_000),
}

_NOT_BIGINT = {  # staging column -> SQL type; every other column is an integer: bigint
    "market": "text", "taker_side": "text", "maker_user_id": "text", "taker_user_id": "text",
    "shard": "text", "user_id": "text", "side": "text", "order_type": "text", "status": "text",
    "time_in_force": "text", "post_only": "boolean", "client_order_id": "text", "asset": "text",
}
_WIDE = {"quote_quantity", "executed_quote", "delta_available", "delta_locked", "available", "locked"}


def _staging_ddl(table: str, columns: tuple[str, ...], wide: bool, on_commit: str) -> str:
    def sql_type(column: str) -> str:
        if column in _NOT_BIGINT:
            return _NOT_BIGINT[column]
        return "numeric" if wide and column in _WIDE else "bigint"

    body = ", ".join(f"{column} {sql_type(column)}" for column in columns)
    return f"CREATE TEMP TABLE IF NOT EXISTS {table} ({body}) ON COMMIT {on_commit};"


_STAGED = (("trades", TRADE_COLUMNS), ("orders", ORDER_COLUMNS), ("balances", BALANCE_COLUMNS))
# Every commit of a transaction that touched a temporary table truncates each ON COMMIT DELETE ROWS table
# of the session (with its TOAST table and index), whether the transaction used it or not: ~0.5 ms of
# server CPU per table and commit here. So only the table every fast-path transaction may use lives with
# the connection (the orders placed by earlier commands); the idempotent path's trades and balances
# staging (a replay: rare) and the NUMERIC tables (an amount beyond BIGINT: rare) are created by the
# transaction that needs them and dropped at its commit.
STAGING_DDL = _staging_ddl("stage_orders", ORDER_COLUMNS, False, "DELETE ROWS")
IDEMPOTENT_STAGING_DDL = "\n".join(_staging_ddl(f"stage_{name}", columns, False, "DROP")
                                   for name, columns in _STAGED if name != "orders")
WIDE_STAGING_DDL = "\n".join(_staging_ddl(f"stage_{name}_wide", columns, True, "DROP")
                              for name, columns in _STAGED)


async def create_staging(conn: asyncpg.Connection) -> None:
    """Create this connection's staging tables (the pool's ``init``: once per new connection)."""
    await conn.execute(STAGING_DDL)


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


def _insert_trades(source: str, flavour: Flavour) -> str:
    columns = ", ".join(TRADE_COLUMNS)
    insert = f"INSERT INTO trades ({columns}) SELECT {columns} FROM {source} ON CONFLICT DO NOTHING"
    if flavour == "timescale":  # the continuous aggregates follow the hypertable by themselves
        return insert + ";"
    candles = list(CANDLE_INTERVALS.values())
    # Data-modifying CTEs run exactly once whether or not the main statement reads them.
    ctes = [f"upsert_{table} AS ({_candle_upsert(table, width)})" for table, width in candles[:-1]]
    returning = "RETURNING market, trade_id, price, quantity, quote_quantity, ts"
    return (f"WITH new AS ({insert}\n    {returning}),\n" + ",\n".join(ctes) + "\n"
            + _candle_upsert(*candles[-1]) + ";")


def _upsert_orders(source: str) -> str:
    columns = ", ".join(ORDER_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in ORDER_COLUMNS if c not in ("market", "order_id"))
    return (f"INSERT INTO orders AS o ({columns}) SELECT {columns} FROM {source}\n"
            "ORDER BY market, order_id\n"
            f"ON CONFLICT (market, order_id) DO UPDATE SET {updates}\n"
            "WHERE (o.shard, o.seq) < (excluded.shard, excluded.seq);")


def _insert_balances(source: str) -> str:
    columns = ", ".join(BALANCE_COLUMNS)
    return f"INSERT INTO balance_changes ({columns}) SELECT {columns} FROM {source}\nON CONFLICT DO NOTHING;"


# Every write transaction first takes this transaction-level lock, so the writer's transactions (on its
# several connections, and of several writers) run one after the other in PostgreSQL. Batches written at
# the same time share order and candle rows: the newer one's upsert of an order the older one places
# waited for it, while the older one's COPY could wait for a row the newer one's upsert had just inserted:
# deadlocks, each costing both transactions and a new connection (5 in each 100,000-trade sustained
# benchmark run without the lock, 2026-11-26, at half the throughput; the staging path had them too,
# more rarely). The writer still reads, decodes and encodes the next batch while one is written.
# (Tried: a session-level lock given up by the last statement before COMMIT, so that the WAL flush
# overlaps the next transaction: no better in 2 interleaved runs.)
WRITE_LOCK_ID = 0x6D75_6472_6177  # "mudraw", distinct from migrate.LOCK_ID
_SERIALIZE = f"SELECT pg_advisory_xact_lock({WRITE_LOCK_ID})"


class Replayed(Exception):
    """The fast path met a row that is already stored: the batch is written again the idempotent way."""


class Store:
    """The SQL of one database flavour, built once.

    Two ways to write a batch, each one transaction:

    - *fast* (almost every batch: entries are new): trades, balance changes and the orders whose last
      state comes from the command that placed them (order id = that seq: no earlier batch can hold them)
      COPYed (text format, copytext.py) straight into their tables: each row is handled once by the
      server, without ``ON CONFLICT`` (which costs twice a plain insert) or a staging table; candles
      aggregated by the writer (rows.candles) and upserted one row per bucket. A row already stored (a
      replay; or a later batch, written at the same time on another connection, stored the order first)
      fails its primary key: the transaction is rolled back and the batch is written again
    - *idempotent* (a batch re-delivered after a crash, or holding the same trade twice) writes it with
      ``ON CONFLICT DO NOTHING`` and the candles from the trades the statement actually inserted.

    Other orders are always upserted (their state changes from batch to batch; the upsert keeps the
    highest (shard, seq), and waits for a concurrent batch that inserts the same order).
    """

    def __init__(self, flavour: Flavour) -> None:
        self.flavour = flavour
        self._scripts = {  # the idempotent path's statements, from BIGINT or NUMERIC staging
            wide: {
                "orders": _upsert_orders(f"stage_orders{suffix}"),
                "balances": _insert_balances(f"stage_balances{suffix}"),
                "trades": _insert_trades(f"stage_trades{suffix}", flavour),
            }
            for wide, suffix in ((False, ""), (True, "_wide"))
        }

    async def write_batch(self, conn: asyncpg.Connection, batch: Batch) -> None:
        """Store the batch in one transaction; an error leaves nothing of it behind."""
        try:
            await self._write_numeric(conn, batch, fast=True)
        except Replayed:
            await self._write_numeric(conn, batch, fast=False)

    async def _write_numeric(self, conn: asyncpg.Connection, batch: Batch, fast: bool) -> None:
        try:
            await self._write(conn, batch, wide=False, fast=fast)
        except OverflowError:  # an amount beyond BIGINT: nothing was stored, do it again with NUMERIC
            await self._write(conn, batch, wide=True, fast=fast)

    async def _write(self, conn: asyncpg.Connection, batch: Batch, wide: bool, fast: bool) -> None:
        if fast:
            await self._write_fast(conn, batch, wide)
            return
        suffix = "_wide" if wide else ""
        scripts = self._scripts[wide]
        statements: list[str] = []
        # Trades (and the candles they update, rows every batch shares) last: a concurrent batch waits
        # for those row locks for the shortest time.
        tables: list[tuple[str, tuple[str, ...], Any]] = [
            ("orders", ORDER_COLUMNS, list(batch.orders.values())),
            ("balances", BALANCE_COLUMNS, batch.balances),
            ("trades", TRADE_COLUMNS, batch.trades),
        ]
        async with conn.transaction():
            await conn.execute(_SERIALIZE)
            await conn.execute(WIDE_STAGING_DDL if wide else IDEMPOTENT_STAGING_DDL)
            for name, columns, rows in tables:
                if rows:
                    await conn.copy_records_to_table(f"stage_{name}{suffix}", records=rows, columns=columns)
                    statements.append(scripts[name])
            if statements:  # one round trip (simple query protocol: several statements, no parameters)
                await conn.execute("\n".join(statements))

    async def _write_fast(self, conn: asyncpg.Connection, batch: Batch, wide: bool) -> None:
        """COPY trades, balance changes and placed orders straight into their tables (text format).

        Every row is handled once by the server (no staging table, no ``INSERT ... SELECT``). A row
        that is already stored fails its primary key inside the COPY: :class:`Replayed`, nothing stored.
        Only the orders placed by an earlier command (an upsert) still go through staging.
        """
        placed: list[tuple[Any, ...]] = []
        updated: list[tuple[Any, ...]] = []
        for row in batch.orders.values():
            (placed if row[_ORDER_SEQ] == row[_ORDER_ID] else updated).append(row)
        # Encoded before the transaction begins: no lock is held while Python works. The text columns'
        # types are checked unless the typed decoder already did (rows.py).
        copies = [(table, columns, copytext.encode(rows, len(columns), () if batch.typed else typed,
                                                   nullable=table == "orders"))
                  for table, columns, rows, typed in (
                      ("orders", ORDER_COLUMNS, placed, _ORDER_TYPES),
                      ("balance_changes", BALANCE_COLUMNS, batch.balances, _BALANCE_TYPES),
                      ("trades", TRADE_COLUMNS, batch.trades, _TRADE_TYPES)) if rows]
        candle_sql = ""
        if self.flavour != "timescale" and batch.trades:
            candle_sql = _upsert_candles(candles(batch.trades, _WIDTHS))
        suffix = "_wide" if wide else ""
        try:
            async with conn.transaction():
                await conn.execute(_SERIALIZE)
                if updated:
                    # Binary into BIGINT staging: an amount beyond BIGINT raises OverflowError in the
                    # client before anything is sent (write_batch then redoes it with NUMERIC staging).
                    if wide:
                        await conn.execute(WIDE_STAGING_DDL)
                    await conn.copy_records_to_table(f"stage_orders{suffix}", records=updated,
                                                     columns=ORDER_COLUMNS)
                    await conn.execute(self._scripts[wide]["orders"])
                for table, columns, data in copies:
                    await conn.copy_to_table(table, source=io.BytesIO(data), columns=columns, format="text")
                if candle_sql:  # last: every batch updates these rows
                    await conn.execute(candle_sql)
        except asyncpg.UniqueViolationError as exc:
            raise Replayed from exc


_WIDTHS = tuple(width for _, width in CANDLE_INTERVALS.values())
_ORDER_SEQ = ORDER_COLUMNS.index("seq")
_ORDER_ID = ORDER_COLUMNS.index("order_id")


def _columns(columns: tuple[str, ...], *names: str) -> tuple[int, ...]:
    return tuple(columns.index(name) for name in names)


# The text and boolean columns of the rows COPYed as text, whose types copytext checks (rows.py checks
# the integer ones). client_order_id may be NULL: the server checks what is not NULL is text.
_TRADE_TYPES: list[copytext.Typed] = [
    (_columns(TRADE_COLUMNS, "market", "taker_side", "maker_user_id", "taker_user_id", "shard"), str)]
_BALANCE_TYPES: list[copytext.Typed] = [(_columns(BALANCE_COLUMNS, "user_id", "asset", "shard"), str)]
_ORDER_TYPES: list[copytext.Typed] = [
    (_columns(ORDER_COLUMNS, "user_id", "market", "side", "order_type", "status", "time_in_force", "shard"),
     str),
    (_columns(ORDER_COLUMNS, "post_only"), bool),
]
