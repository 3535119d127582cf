"""SQL-level tests of the store: candles against a hand-checked fixture, idempotency, NUMERIC amounts.

These read the ``candles_*`` relations, which are tables on plain PostgreSQL and continuous aggregates
with TimescaleDB, so the same tests hold on both paths (this machine and CI run the plain one).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio

from db_writer.migrate import migrate
from db_writer.rows import decode_entries
from db_writer.store import Store
from shared.database import ensure_database
from shared.events import (
    BalanceChanged,
    Event,
    OrderState,
    OrderUpdated,
    Trade,
    encode_events,
    encode_stored_rows,
)
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from tests.support.history import expected_tables, fetch_tables
from tests.support.kline_fixture import BATCHES, EXPECTED, FIXTURE, H, T


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, Store]]:
    """A migrated database and a connection to it."""
    await ensure_database(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        flavour = await migrate(conn)
        yield conn, Store(flavour)
    finally:
        await conn.close()


async def write(conn: asyncpg.Connection, store: Store, *entries: list[Event]) -> None:
    """Write stream entries (each a list of events) as one batch, through the stream format."""
    batch, bad = decode_entries([(b"%d-0" % i, {b"s": b"all", b"e": encode_events(events)})
                                 for i, events in enumerate(entries)])
    assert bad == []
    await store.write_batch(conn, batch)


@pytest.mark.asyncio
async def test_candles_match_the_hand_checked_fixture_whatever_the_arrival_order(db):
    conn, store = db
    for ids in BATCHES:
        await write(conn, store, [FIXTURE[i] for i in ids])
    tables = await fetch_tables(conn)
    for table, candles in EXPECTED.items():
        assert tables[table] == candles, table
    # ...and with the independent computation from the trades (tests/support/history.py).
    expected = expected_tables(FIXTURE.values())
    for table in EXPECTED:
        assert tables[table] == expected[table], table
    assert await conn.fetchval("SELECT count(*) FROM trades") == len(FIXTURE)


@pytest.mark.asyncio
async def test_a_batch_with_trades_of_one_bucket_in_several_entries_is_one_upsert(db):
    conn, store = db
    await write(conn, store, [FIXTURE[10]], [FIXTURE[9]], [FIXTURE[9], FIXTURE[10]])
    tables = await fetch_tables(conn)
    assert tables["candles_1s"] == {(T, H + 3_599_000): (10_200, 10_200, 10_150, 10_150, 2, 20_350, 2, 9, 10)}


def order(order_id: int, status: OrderStatus, executed: int) -> OrderState:
    return OrderState(order_id, "alice", "TATA-INR", Side.BUY, OrderType.LIMIT, 10_000, 10, executed,
                      executed * 10_000, status, TimeInForce.GTC, False, None, H, ())


@pytest.mark.asyncio
async def test_an_order_keeps_its_latest_state_whatever_arrives_later(db):
    conn, store = db
    placed = OrderUpdated(7, H, order(7, OrderStatus.NEW, 0))
    filled = OrderUpdated(9, H + 5, order(7, OrderStatus.PARTIALLY_FILLED, 4))
    cancelled = OrderUpdated(12, H + 9, order(7, OrderStatus.CANCELLED, 4))
    await write(conn, store, [placed], [cancelled])
    await write(conn, store, [filled])  # an older state replayed late changes nothing
    await write(conn, store, [placed, filled])
    row = await conn.fetchrow(
        "SELECT status, executed_quantity, executed_quote, updated_at, seq FROM order_states")
    assert tuple(row) == ("cancelled", 4, 40_000, H + 9, 12)


@pytest.mark.asyncio
async def test_later_states_are_appended_to_order_updates_once_each(db, monkeypatch):
    conn, store = db
    taken = paths_taken(store, monkeypatch)
    placed = OrderUpdated(7, H, order(7, OrderStatus.NEW, 0))
    partly = OrderUpdated(9, H + 5, order(7, OrderStatus.PARTIALLY_FILLED, 4))
    filled = OrderUpdated(12, H + 9, order(7, OrderStatus.FILLED, 10))
    await write(conn, store, [placed])
    await write(conn, store, [partly], [filled])  # one batch: its last state of the order only
    assert taken == [FAST_T, FAST_B] * 2
    stored = "SELECT status, seq FROM {} ORDER BY seq"
    assert [tuple(r) for r in await conn.fetch(stored.format("orders"))] == [("new", 7)]
    assert [tuple(r) for r in await conn.fetch(stored.format("order_updates"))] == [("filled", 12)]
    taken.clear()
    await write(conn, store, [partly], [filled])  # redelivered: the direct COPY fails, nothing doubles
    await write(conn, store, [partly])  # an older state arriving late is kept but is not the newest
    assert taken == [FAST_T, IDEMPOTENT_T, FAST_B, FAST_T, FAST_B]
    assert [tuple(r) for r in await conn.fetch(stored.format("order_updates"))] == [
        ("partially_filled", 9), ("filled", 12)]
    assert await fetch_tables(conn) == expected_tables([placed, partly, filled])


@pytest.mark.asyncio
async def test_writing_everything_twice_changes_nothing(db):
    conn, store = db
    events: list[Event] = [*FIXTURE.values(), OrderUpdated(3, H, order(3, OrderStatus.NEW, 0)),
                           BalanceChanged(3, H, "alice", "INR", 900, 100, -100, 100)]
    await write(conn, store, events)
    before = await fetch_tables(conn)
    await write(conn, store, events)
    await write(conn, store, events[::-1])
    assert await fetch_tables(conn) == before == expected_tables(events)


@pytest.mark.asyncio
async def test_the_timescale_statements_list_replayed_trades_in_user_fills_once(db, monkeypatch):
    """Store("timescale") leaves candles to the continuous aggregates; its trades statements (which touch
    only tables of both flavours) run here on plain PostgreSQL: a replay, partly new, lists each trade
    once for each of its users."""
    conn, _ = db
    store = Store("timescale")
    taken = paths_taken(store, monkeypatch)
    trades = list(FIXTURE.values())
    await write(conn, store, trades[:5])
    await write(conn, store, trades[3:])  # two trades already stored: the idempotent statements
    assert taken == [FAST_T, FAST_B, FAST_T, IDEMPOTENT_T, FAST_B]
    tables = await fetch_tables(conn)
    expected = expected_tables(trades)
    assert (tables["trades"], tables["user_fills"]) == (expected["trades"], expected["user_fills"])
    assert tables["candles_1m"] == {}


@pytest.mark.asyncio
async def test_amounts_beyond_bigint_are_stored_exactly_as_numeric(db):
    conn, store = db
    big = 2**63 + 5  # the engine's JSON (orjson) carries integers up to 2**64 - 1
    events: list[Event] = [BalanceChanged(1, H, "whale", "INR", big, 0, big, 0),
                           Trade(2, H, "TATA-INR", 1, 10**9, 10**9, 2**64 - 1, Side.SELL, 1, 2, "a", "b")]
    await write(conn, store, events)
    assert await fetch_tables(conn) == expected_tables(events)


@pytest.mark.asyncio
async def test_a_batch_the_database_refuses_leaves_nothing_behind(db):
    conn, store = db
    bad: Any = OrderUpdated(5, H, order(5, OrderStatus.NEW, 0).replace(status="lost"))  # CHECK violation
    with pytest.raises(asyncpg.CheckViolationError):
        await write(conn, store, [FIXTURE[1], BalanceChanged(5, H, "alice", "INR", 1, 0, 1, 0), bad])
    for table in ("trades", "orders", "balance_changes", "candles_1s"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table


FAST_T, IDEMPOTENT_T = ("trades", True), ("trades", False)
FAST_B, IDEMPOTENT_B = ("balances", True), ("balances", False)


def paths_taken(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Record each lane's path (True: fast, direct COPY; False: idempotent), in order."""
    taken: list[tuple[str, bool]] = []
    write_once = store._write

    async def recording(conn: asyncpg.Connection, lane: str, batch: Any, fast: bool, data: Any) -> None:
        taken.append((lane, fast))
        await write_once(conn, lane, batch, fast, data)

    monkeypatch.setattr(store, "_write", recording)
    return taken


@pytest.mark.asyncio
async def test_a_redelivered_batch_fails_the_direct_copy_and_is_rewritten_the_idempotent_way(db, monkeypatch):
    conn, store = db
    taken = paths_taken(store, monkeypatch)
    first: list[Event] = [FIXTURE[1], OrderUpdated(3, H, order(3, OrderStatus.NEW, 0)),
                          BalanceChanged(3, H, "alice", "INR", 900, 100, -100, 100)]
    later: list[Event] = [FIXTURE[9], FIXTURE[10], OrderUpdated(20, H, order(20, OrderStatus.NEW, 0)),
                          BalanceChanged(20, H, "bob", "TATA", 5, 0, 5, 0)]
    await write(conn, store, first)
    assert taken == [FAST_T, FAST_B]
    # The first entry again (a crash before XACK) with a new one: its rows fail their keys in the COPY,
    # nothing of that lane's attempt stays, and its idempotent path stores the new rows once.
    taken.clear()
    await write(conn, store, first, later)
    assert taken == [FAST_T, IDEMPOTENT_T, FAST_B, IDEMPOTENT_B]
    assert await fetch_tables(conn) == expected_tables([*first, *later])
    taken.clear()
    await write(conn, store, later)  # each of the three tables alone holds the replayed rows too
    assert taken == [FAST_T, IDEMPOTENT_T, FAST_B, IDEMPOTENT_B]
    taken.clear()
    await write(conn, store, [first[1]])
    assert taken == [FAST_T, FAST_B, IDEMPOTENT_B]
    taken.clear()
    await write(conn, store, [first[2]])
    assert taken == [FAST_T, FAST_B, IDEMPOTENT_B]
    assert await fetch_tables(conn) == expected_tables([*first, *later])


@pytest.mark.asyncio
async def test_text_copy_stores_strings_that_need_escaping_and_nulls_exactly(db, monkeypatch):
    conn, store = db
    taken = paths_taken(store, monkeypatch)
    awkward = ["tab\there", "new\nline", "back\\slash", "\\N", "None", "cr\rlf", "ünï©ødé ₹", ""]
    events: list[Event] = []
    for i, text in enumerate(awkward, start=1):
        state = order(i, OrderStatus.NEW, 0).replace(client_order_id=text, user_id=f"u\\{text}")
        events.append(OrderUpdated(i, H + i, state))
        events.append(BalanceChanged(i, H + i, f"u\\{text}", "INR", 2**63 + i, 0, -i, i))
    market = order(50, OrderStatus.CANCELLED, 0).replace(order_type=OrderType.MARKET, price=None,
                                                         post_only=True)
    events.append(OrderUpdated(50, H + 50, market))
    events.append(Trade(51, H + 51, "TATA-INR", 7, 10_000, 2, 2**64 - 1, Side.BUY, 1, 51, "m\tm", "t\\t"))
    # markets that an array literal (user_fills.markets) must quote: a bare NULL is a null element
    for i, market in enumerate(['we"ird,{x} \\ m', "NULL", "null", ""], start=52):
        events.append(Trade(i, H + i, market, i, 10_000, 1, 10_000, Side.SELL, 1, i, "m\tm", 'q"uote'))
    await write(conn, store, events)
    assert taken == [FAST_T, FAST_B]
    assert await fetch_tables(conn) == expected_tables(events)


@pytest.mark.asyncio
@pytest.mark.parametrize("spacing", ["indented", "spaced"])
async def test_grouped_rows_with_json_whitespace_are_stored_exactly(db, spacing):
    """JSON may hold whitespace between values (the engine's never does): the CSV made from such JSON
    would give PostgreSQL a text with a leading space (`` "alice"`` reads as `` alice``), so those
    rows are encoded value by value instead. Texts with spaces inside them are stored as they are."""
    conn, store = db
    events: list[Event] = [
        OrderUpdated(1, H + 1, order(1, OrderStatus.NEW, 0).replace(user_id="alice", client_order_id="a b")),
        BalanceChanged(1, H + 1, "alice", "INR", 2**63 + 1, 0, -1, 1),
        Trade(2, H + 2, "TATA-INR", 7, 10_000, 2, 2**64 - 1, Side.BUY, 1, 2, "bob", "alice"),
    ]
    groups = []
    for rows in encode_stored_rows(events):
        data = orjson.loads(rows)
        groups.append(orjson.dumps(data, option=orjson.OPT_INDENT_2) if spacing == "indented"
                      else json.dumps(data, separators=(", ", ": ")).encode())
    entry = {b"s": b"all", b"t": groups[0], b"o": groups[1], b"b": groups[2]}
    assert all(b" " in group for group in groups)
    batch, bad = decode_entries([(b"1-0", entry)])
    assert bad == []
    await store.write_batch(conn, batch)
    assert await fetch_tables(conn) == expected_tables(events)


def test_a_text_column_that_holds_no_string_is_refused_before_anything_is_sent():
    odd = ["trade", 4, H, "TATA-INR", 1, 10_000, 3, 30_000, "buy", 3, 4, 12345, "alice"]  # maker_user_id
    batch, bad = decode_entries([(b"1-0", {b"s": b"all", b"e": orjson.dumps([odd])})])
    assert [entry_id for entry_id, _ in bad] == [b"1-0"] and "str column holds int" in bad[0][1]
    assert not batch.has_rows()


async def advisory_locks(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")


@pytest.mark.asyncio
async def test_the_write_lock_is_released_whichever_way_a_transaction_ends(db, database_url):
    conn, store = db
    other = await asyncpg.connect(database_url)
    try:
        await write(conn, store, [FIXTURE[1]])  # committed
        assert await advisory_locks(other) == 0
        await write(conn, store, [FIXTURE[1]], [FIXTURE[9]])  # fast path refused, then idempotent
        assert await advisory_locks(other) == 0
        bad: Any = OrderUpdated(5, H, order(5, OrderStatus.NEW, 0).replace(status="lost"))
        with pytest.raises(asyncpg.CheckViolationError):  # refused by PostgreSQL: rolled back
            await write(conn, store, [FIXTURE[10], bad])
        assert await advisory_locks(other) == 0
        # another connection (another writer) still gets the lock
        await asyncio.wait_for(write(other, store, [FIXTURE[10]]), 10)
        assert await conn.fetchval("SELECT count(*) FROM trades") == 3
    finally:
        await other.close()


@pytest.mark.asyncio
async def test_no_staging_table_lives_with_the_connection(db):
    """Every commit truncates all of a session's ON COMMIT DELETE ROWS tables: none is kept."""
    conn, store = db
    temp = "SELECT array_agg(relname::text ORDER BY relname) FROM pg_class WHERE relpersistence = 't' " \
           "AND relkind = 'r'"
    assert await conn.fetchval(temp) is None
    await write(conn, store, [OrderUpdated(3, H, order(3, OrderStatus.NEW, 0))])
    await write(conn, store, [OrderUpdated(3, H, order(3, OrderStatus.NEW, 0)),
                              OrderUpdated(4, H, order(3, OrderStatus.CANCELLED, 0))])  # replayed: staging
    await write(conn, store, [FIXTURE[1], BalanceChanged(3, H, "alice", "INR", 900, 100, -100, 100)])
    await write(conn, store, [FIXTURE[1], BalanceChanged(3, H, "alice", "INR", 900, 100, -100, 100)])
    big = 2**63 + 5  # beyond BIGINT: the same tables
    await write(conn, store, [BalanceChanged(4, H, "whale", "INR", big, 0, big, 0)])
    await write(conn, store, [BalanceChanged(4, H, "whale", "INR", big, 0, big, 0)])
    assert await conn.fetchval(temp) is None
    assert await conn.fetchval("SELECT count(*) FROM balance_changes") == 2


@pytest.mark.asyncio
async def test_the_same_balance_change_twice_in_one_batch_is_stored_once(db, monkeypatch):
    conn, store = db
    taken = paths_taken(store, monkeypatch)
    change = BalanceChanged(3, H, "alice", "INR", 900, 100, -100, 100)
    other = BalanceChanged(4, H, "bob", "INR", 5, 0, 5, 0)
    await write(conn, store, [change], [change, other])  # the first entry delivered twice, say
    assert taken == [FAST_T, FAST_B, IDEMPOTENT_B]  # the overlapping ranges of seqs refused the direct COPY
    assert await fetch_tables(conn) == expected_tables([change, other])
    assert [tuple(r) for r in await conn.fetch(
        "SELECT lower(seqs), upper(seqs) FROM written_seqs ORDER BY 1")] == [(3, 4), (4, 5)]


@pytest.mark.asyncio
async def test_a_batch_of_both_entry_formats_is_stored_as_either_alone(db):
    """Entries the engine wrote before 2026-11-26 (events) and after (rows grouped per table) in one batch:
    the order state of each kind is encoded its own way, the later one kept."""
    conn, store = db
    old: list[Event] = [FIXTURE[1], OrderUpdated(3, H, order(3, OrderStatus.NEW, 0)),
                        BalanceChanged(3, H, "alice", "INR", 900, 100, -100, 100)]
    new: list[Event] = [FIXTURE[9], OrderUpdated(20, H + 5, order(3, OrderStatus.CANCELLED, 0)),
                        OrderUpdated(20, H + 5, order(20, OrderStatus.NEW, 0)),
                        BalanceChanged(20, H + 5, "alice", "INR", 1_000, 0, 100, -100)]
    trades, orders, balances = encode_stored_rows(new)
    batch, bad = decode_entries([(b"1-0", {b"s": b"all", b"e": encode_events(old)}),
                                 (b"2-0", {b"s": b"all", b"t": trades, b"o": orders, b"b": balances})])
    assert bad == []
    await store.write_batch(conn, batch)
    assert await fetch_tables(conn) == expected_tables([*old, *new])
    assert await conn.fetchval("SELECT status FROM order_states WHERE order_id = 3") == "cancelled"


@asynccontextmanager
async def connections(database_url: str, count: int) -> AsyncIterator[list[asyncpg.Connection]]:
    """More connections to the test's database (as the writer's pool's)."""
    opened = [await asyncpg.connect(database_url) for _ in range(count)]
    try:
        yield opened
    finally:
        for conn in opened:
            await conn.close()


def batch_of(*entries: list[Event]) -> Any:
    batch, bad = decode_entries([(b"%d-0" % i, {b"s": b"all", b"e": encode_events(events)})
                                 for i, events in enumerate(entries)])
    assert bad == []
    return batch


@pytest.mark.asyncio
async def test_two_lanes_on_two_connections_store_what_one_connection_does(db, database_url):
    _, store = db
    events: list[Event] = [*FIXTURE.values(), OrderUpdated(30, H, order(30, OrderStatus.NEW, 0)),
                           BalanceChanged(30, H, "alice", "INR", 900, 100, -100, 100)]
    async with connections(database_url, 2) as (trades_lane, balances_lane):
        await store.write_batch(trades_lane, batch_of(events), balances_lane)
        assert await fetch_tables(trades_lane) == expected_tables(events)
        # A replay in one lane only: the trades are stored, the order and balance change are new.
        more: list[Event] = [FIXTURE[1], OrderUpdated(31, H, order(31, OrderStatus.NEW, 0)),
                             BalanceChanged(31, H, "bob", "INR", 5, 0, 5, 0)]
        await store.write_batch(trades_lane, batch_of(more), balances_lane)
        assert await fetch_tables(trades_lane) == expected_tables([*events, *more[1:]])


@pytest.mark.asyncio
async def test_a_lane_the_database_refuses_leaves_nothing_of_the_other(db, database_url):
    _, store = db
    bad_order: Any = OrderUpdated(5, H, order(5, OrderStatus.NEW, 0).replace(status="lost"))  # CHECK
    bad_trade = Trade(6, H, "TATA-INR", 99, 2**63, 1, 1, Side.BUY, 1, 6, "a", "b")  # price beyond BIGINT
    good: list[Event] = [FIXTURE[1], OrderUpdated(7, H, order(7, OrderStatus.NEW, 0)),
                         BalanceChanged(7, H, "alice", "INR", 1, 0, 1, 0)]
    async with connections(database_url, 2) as (trades_lane, balances_lane):
        with pytest.raises(asyncpg.CheckViolationError):
            await store.write_batch(trades_lane, batch_of([*good, bad_order]), balances_lane)
        with pytest.raises(asyncpg.DataError):
            await store.write_batch(trades_lane, batch_of([*good, bad_trade]), balances_lane)
        for table in ("trades", "orders", "balance_changes", "written_seqs", "candles_1s"):
            assert await trades_lane.fetchval(f"SELECT count(*) FROM {table}") == 0, table
        assert await advisory_locks(trades_lane) == 0
        await store.write_batch(trades_lane, batch_of(good), balances_lane)  # the connections still work
        assert await fetch_tables(trades_lane) == expected_tables(good)


@pytest.mark.asyncio
async def test_batches_and_writers_at_the_same_time_never_wait_for_each_other_in_a_cycle(db, database_url):
    """Six batches at once, two writers' worth (two Store objects), each on its own pair of connections,
    sharing orders and candle buckets: every one finishes and the tables are as if written in turn."""
    _, store = db
    other_store = Store(store.flavour)
    batches: list[list[Event]] = []
    for i in range(6):
        seq = 100 + 10 * i
        batches.append([
            Trade(seq, H + i, "TATA-INR", 50 + i, 10_000 + i, 1, 10_000 + i, Side.BUY, 3, seq, "m", "t"),
            OrderUpdated(seq, H + i, order(3, OrderStatus.PARTIALLY_FILLED, i + 1)),  # the same order in each
            OrderUpdated(seq, H + i, order(seq, OrderStatus.FILLED, 1)),
            BalanceChanged(seq, H + i, "alice", "INR", 1_000 + i, 0, 1, 0),
        ])
    async with connections(database_url, 12) as conns:
        await asyncio.wait_for(asyncio.gather(*(
            (store if i % 2 else other_store).write_batch(conns[2 * i], batch_of(events), conns[2 * i + 1])
            for i, events in enumerate(batches))), 30)
        events = [e for batch in batches for e in batch]
        assert await fetch_tables(conns[0]) == expected_tables(events)


@pytest.mark.asyncio
async def test_the_same_batch_written_several_times_at_once_is_stored_once(db, database_url):
    """A redelivered batch in flight beside its original, twice: every row is stored once and nothing
    waits for ever (the lanes' locks order the transactions, so no two of them wait for each other across
    the commit pairing, where PostgreSQL could not see the cycle)."""
    _, store = db
    events: list[Event] = [
        FIXTURE[1], FIXTURE[9], FIXTURE[10],
        OrderUpdated(40, H, order(40, OrderStatus.NEW, 0)),
        OrderUpdated(41, H + 1, order(40, OrderStatus.PARTIALLY_FILLED, 2)),
        OrderUpdated(41, H + 1, order(7, OrderStatus.CANCELLED, 0)),
        BalanceChanged(40, H, "alice", "INR", 900, 100, -100, 100),
        BalanceChanged(41, H + 1, "alice", "INR", 880, 100, -20, 0),
        BalanceChanged(41, H + 1, "bob", "TATA", 5, 0, 5, 0),
    ]

    async def write_until_stored(trades_lane: asyncpg.Connection, balances_lane: asyncpg.Connection) -> None:
        for _ in range(10):
            try:
                return await store.write_batch(trades_lane, batch_of(events[:4], events[4:]), balances_lane)
            except asyncpg.TransactionRollbackError:  # a deadlock PostgreSQL broke: retried, as the writer
                await asyncio.sleep(0.01)
        raise AssertionError("never stored")

    for _ in range(3):
        async with connections(database_url, 6) as conns:
            await asyncio.wait_for(asyncio.gather(*(
                write_until_stored(conns[2 * i], conns[2 * i + 1]) for i in range(3))), 60)
            assert await fetch_tables(conns[0]) == expected_tables(events)
            assert await conns[0].fetchval("SELECT count(*) FROM balance_changes") == 3
            # order 40 (placed in the batch) only in orders; order 7's new state once in order_updates
            assert await conns[0].fetchval("SELECT count(*) FROM orders") == 1
            assert await conns[0].fetchval("SELECT count(*) FROM order_updates") == 1


@pytest.mark.asyncio
async def test_a_lane_whose_connection_dies_while_its_partner_waits_leaves_nothing(db, database_url):
    """The trades lane is done and waits (through the pair lock) for the balances lane, which waits for a
    row another transaction holds; its backend is then terminated: the trades lane rolls back too, no
    lock is left, and the batch is stored whole when written again."""
    _, store = db
    events: list[Event] = [FIXTURE[1], OrderUpdated(60, H, order(60, OrderStatus.NEW, 0)),
                           BalanceChanged(60, H, "alice", "INR", 900, 100, -100, 100)]
    async with connections(database_url, 4) as (trades_lane, balances_lane, blocker, watcher):
        blocking = blocker.transaction()
        await blocking.start()
        await blocker.execute(  # the same order key, not committed: the balances lane's COPY waits for it
            "INSERT INTO orders (market, order_id, "
            "user_id, side, order_type, price, quantity, executed_quantity, executed_quote, status, "
            "time_in_force, post_only, client_order_id, created_at, updated_at, seq, shard) VALUES "
            "('TATA-INR', 60, 'alice', 'buy', 'limit', 10000, 10, 0, 0, 'new', 'GTC', false, NULL, 1, 1, 1, "
            "'other')")
        write = asyncio.ensure_future(store.write_batch(trades_lane, batch_of(events), balances_lane))
        balances_pid = balances_lane.get_server_pid()
        for _ in range(200):  # until the balances lane waits for the blocker's row
            waiting = await watcher.fetchval(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", balances_pid)
            if waiting == "Lock":
                break
            await asyncio.sleep(0.02)
        assert waiting == "Lock"
        assert await watcher.fetchval("SELECT pg_terminate_backend($1)", balances_pid)
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await asyncio.wait_for(write, 10)
        await blocking.rollback()
        assert await watcher.fetchval("SELECT count(*) FROM trades") == 0  # the trades lane rolled back
        assert await advisory_locks(watcher) == 0
    async with connections(database_url, 2) as (trades_lane, balances_lane):
        await store.write_batch(trades_lane, batch_of(events), balances_lane)
        assert await fetch_tables(trades_lane) == expected_tables(events)
