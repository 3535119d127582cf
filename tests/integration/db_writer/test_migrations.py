"""Migrations against a real PostgreSQL: a missing database is created, applying twice is a no-op,
several processes at once apply each migration once, and a failing migration leaves nothing."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from db_writer.database import open_database
from db_writer.migrate import Migration, MigrationError, load_migrations, migrate
from shared.database import ensure_database
from tests.support.writer import connect

# Tables, columns (with types), indexes and constraints of the public schema, plus the migration log.
SCHEMA_QUERY = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || coalesce(numeric_precision::text, '')
FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'constraint', conrelid::regclass || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT 'migration', version || ' ' || name || ' ' || flavour || ' ' || checksum || ' ' || applied_at
FROM schema_migrations
ORDER BY 1, 2
"""


async def schema(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    return [tuple(row) for row in await conn.fetch(SCHEMA_QUERY)]


@pytest.mark.asyncio
async def test_a_missing_database_is_created_once(database_url):
    assert await ensure_database(database_url) is True
    assert await ensure_database(database_url) is False
    async with connect(database_url) as conn:
        assert await conn.fetchval("SELECT current_database()") == database_url.rsplit("/", 1)[1]


@pytest.mark.asyncio
async def test_migrating_twice_is_a_no_op(database_url):
    await ensure_database(database_url)
    async with connect(database_url) as conn:
        assert await migrate(conn) == "plain"  # no TimescaleDB on this machine or in CI
        first = await schema(conn)
        assert await migrate(conn) == "plain"
        assert await schema(conn) == first
        versions = await conn.fetch("SELECT version, name, flavour FROM schema_migrations ORDER BY version")
        assert [tuple(v) for v in versions] == [(1, "history", "plain"), (2, "candles", "plain"),
                                                (3, "written_seqs", "plain"), (4, "order_updates", "plain"),
                                                (5, "trade_keys_collation", "plain"),
                                                (6, "user_fills", "plain")]
        tables = {r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert tables == {"schema_migrations", "trades", "orders", "order_updates", "balance_changes",
                          "written_seqs", "user_fills", "candles_1s", "candles_1m", "candles_1h",
                          "candles_1d"}


@pytest.mark.asyncio
async def test_writers_starting_together_apply_each_migration_once(database_url):
    await ensure_database(database_url)
    conns = [await asyncpg.connect(database_url) for _ in range(5)]
    try:
        flavours = await asyncio.gather(*(migrate(conn) for conn in conns))
        assert flavours == ["plain"] * 5
        assert await conns[0].fetchval("SELECT count(*) FROM schema_migrations") == 6  # each version once
    finally:
        for conn in conns:
            await conn.close()


@pytest.mark.asyncio
async def test_whole_writer_start_up_twice_creates_migrates_and_opens_the_pool(database_url):
    for _ in range(2):
        pool, flavour = await open_database(database_url)
        try:
            assert flavour == "plain"
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM order_states") == 0
        finally:
            await pool.close()


@pytest.mark.asyncio
async def test_a_failing_migration_leaves_the_database_as_it_was(database_url):
    await ensure_database(database_url)
    migrations = [Migration(1, "good", None, "CREATE TABLE good (x int)"),
                  Migration(2, "bad", None, "CREATE TABLE bad (x int); SELECT 1 / 0")]
    async with connect(database_url) as conn:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate(conn, migrations)
        assert await conn.fetchval("SELECT to_regclass('good')") is None
        assert await conn.fetchval("SELECT to_regclass('schema_migrations')") is None


@pytest.mark.asyncio
async def test_a_migration_changed_after_it_was_applied_is_refused(database_url):
    await ensure_database(database_url)
    shipped = load_migrations()
    edited = [Migration(m.version, m.name, m.flavour, m.sql + "\n-- edited") if m.version == 1 else m
              for m in shipped]
    async with connect(database_url) as conn:
        await migrate(conn, shipped)
        with pytest.raises(MigrationError, match="0001_history was changed"):
            await migrate(conn, edited)


@pytest.mark.asyncio
async def test_balance_changes_stored_before_written_seqs_existed_count_as_written(database_url):
    """0003 drops balance_changes' primary key: what is already stored must still be refused as a replay."""
    await ensure_database(database_url)
    shipped = load_migrations()
    async with connect(database_url) as conn:
        await migrate(conn, [m for m in shipped if m.version < 3])
        await conn.execute(
            "INSERT INTO balance_changes (shard, seq, user_id, asset, delta_available, delta_locked, "
            "available, locked, ts) VALUES ('all', 4, 'a', 'INR', 1, 0, 1, 0, 1), "
            "('all', 4, 'b', 'INR', 1, 0, 1, 0, 1), ('all', 9, 'a', 'INR', 1, 0, 2, 0, 2)")
        await migrate(conn, shipped)
        ranges = await conn.fetch("SELECT shard, lower(seqs), upper(seqs) FROM written_seqs ORDER BY 2")
        assert [tuple(r) for r in ranges] == [("all", 4, 5), ("all", 9, 10)]  # [4,4] and [9,9]
        assert await conn.fetchval("SELECT count(*) FROM pg_constraint WHERE conrelid = "
                                   "'balance_changes'::regclass AND contype = 'p'") == 0
        with pytest.raises(asyncpg.ExclusionViolationError):  # a range holding seq 9 again
            await conn.execute("INSERT INTO written_seqs VALUES ('all', int8range(5, 9, '[]'))")
        await conn.execute("INSERT INTO written_seqs VALUES ('all', int8range(5, 8, '[]')), "
                           "('other', int8range(1, 20, '[]'))")  # no overlap; another shard


@pytest.mark.asyncio
async def test_orders_stored_before_order_updates_existed_keep_their_state(database_url):
    """0004: the orders rows already stored are each order's state until a newer one is appended."""
    await ensure_database(database_url)
    shipped = load_migrations()
    columns = ("market, order_id, user_id, side, order_type, price, quantity, executed_quantity, "
               "executed_quote, status, time_in_force, post_only, client_order_id, created_at, updated_at, "
               "seq, shard")
    async with connect(database_url) as conn:
        await migrate(conn, [m for m in shipped if m.version < 4])
        await conn.execute(f"INSERT INTO orders ({columns}) VALUES "
                           "('TATA-INR', 7, 'a', 'buy', 'limit', 100, 10, 4, 400, 'partially_filled', 'GTC', "
                           "false, NULL, 1, 5, 9, 'all')")
        await migrate(conn, shipped)
        state = "SELECT status, executed_quantity, updated_at, seq FROM order_states WHERE order_id = 7"
        assert tuple(await conn.fetchrow(state)) == ("partially_filled", 4, 5, 9)
        update = (f"INSERT INTO order_updates ({columns}) VALUES ('TATA-INR', 7, 'a', 'buy', 'limit', 100, "
                  "10, {}, 'GTC', false, NULL, 1, {}, 'all')")
        await conn.execute(update.format("4, 400, 'cancelled'", "8, 8"))  # older than the stored state
        assert tuple(await conn.fetchrow(state)) == ("partially_filled", 4, 5, 9)
        await conn.execute(update.format("10, 1000, 'filled'", "6, 11"))
        await conn.execute(update.format("6, 600, 'partially_filled'", "5, 10"))
        assert tuple(await conn.fetchrow(state)) == ("filled", 10, 6, 11)


@pytest.mark.asyncio
async def test_text_key_columns_compare_bytes(database_url):
    """0004/0005: the indexed text columns of trades, orders and order_updates use the "C" collation."""
    await ensure_database(database_url)
    async with connect(database_url) as conn:
        await migrate(conn)
        rows = await conn.fetch(
            "SELECT a.attrelid::regclass::text AS t, a.attname::text AS c, l.collname::text AS collation "
            "FROM pg_attribute a JOIN pg_collation l ON l.oid = a.attcollation "
            "WHERE a.attrelid IN ('trades'::regclass, 'orders'::regclass, 'order_updates'::regclass) "
            "AND a.attname IN ('market', 'user_id', 'maker_user_id', 'taker_user_id')")
        assert {(r["t"], r["c"]): r["collation"] for r in rows} == {
            ("trades", "market"): "C", ("trades", "maker_user_id"): "C", ("trades", "taker_user_id"): "C",
            ("orders", "market"): "C", ("orders", "user_id"): "C",
            ("order_updates", "market"): "C", ("order_updates", "user_id"): "C"}


@pytest.mark.asyncio
async def test_trades_stored_before_user_fills_existed_are_listed_for_both_users(database_url):
    """0006: the trades already stored go into user_fills (maker and taker, one row per user and minute),
    and the per-trade user indexes it replaces are gone."""
    await ensure_database(database_url)
    shipped = load_migrations()
    columns = ("market, trade_id, price, quantity, quote_quantity, taker_side, maker_order_id, "
               "taker_order_id, maker_user_id, taker_user_id, ts, seq, shard")
    async with connect(database_url) as conn:
        await migrate(conn, [m for m in shipped if m.version < 6])
        await conn.execute(f"INSERT INTO trades ({columns}) VALUES "
                           "('TATA-INR', 1, 100, 1, 100, 'buy', 1, 2, 'a', 'b', 59999, 2, 'all'), "
                           "('INFY-INR', 1, 100, 1, 100, 'sell', 3, 4, 'b', 'a', 60000, 4, 'all'), "
                           "('TATA-INR', 2, 100, 1, 100, 'buy', 5, 6, 'c', 'a', 60001, 6, 'all')")
        await migrate(conn, shipped)
        rows = await conn.fetch("SELECT user_id, first_ts, last_ts, markets, trade_ids, ts FROM user_fills "
                                "ORDER BY user_id, first_ts")
        assert [tuple(r) for r in rows] == [
            ("a", 59999, 59999, ["TATA-INR"], [1], [59999]),
            ("a", 60000, 60001, ["INFY-INR", "TATA-INR"], [1, 2], [60000, 60001]),
            ("b", 59999, 59999, ["TATA-INR"], [1], [59999]),
            ("b", 60000, 60000, ["INFY-INR"], [1], [60000]),
            ("c", 60001, 60001, ["TATA-INR"], [2], [60001])]
        indexes = await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'trades'")
        assert [r["indexname"] for r in indexes] == ["trades_pkey"]
        with pytest.raises(asyncpg.CheckViolationError):  # trades of two minutes in one row
            await conn.execute("INSERT INTO user_fills VALUES ('a', 59999, 60000, '{X,X}', '{1,2}', "
                               "'{59999,60000}')")
        with pytest.raises(asyncpg.CheckViolationError):  # bounds that do not enclose its trades' times
            await conn.execute("INSERT INTO user_fills VALUES ('a', 3, 3, '{X}', '{1}', '{2}')")
        with pytest.raises(asyncpg.CheckViolationError):  # arrays of different lengths
            await conn.execute("INSERT INTO user_fills VALUES ('a', 2, 2, '{X}', '{1,2}', '{2,2}')")
