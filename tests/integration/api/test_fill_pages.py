"""GET /fills' reading of user_fills (api/history_db.newest_fills) against the trades themselves: many rows
per user (several pages), times out of order across batches, ties on time, a market filter."""

from __future__ import annotations

import random
from types import SimpleNamespace

import asyncpg
import pytest

from api.history_db import FILL_PAGE_ROWS, newest_fills
from db_writer.migrate import migrate
from db_writer.rows import decode_entries
from db_writer.store import Store
from shared.database import ensure_database
from shared.events import Trade, encode_events
from shared.types import Side

USERS = ("alice", "bob", "carol")
MARKETS = ("TATA-INR", "INFY-INR")
T0 = 1_699_999_980_000  # a minute's start


@pytest.fixture
def database_url(own_database: str) -> str:
    """A database of this test's own: its trades must not show in other tests' history."""
    return own_database


def random_trades(count: int, seed: int) -> list[Trade]:
    rng = random.Random(seed)
    trades = []
    for i in range(1, count + 1):
        maker, taker = rng.sample(USERS, 2)
        # three minutes; many rows spanning a whole minute (a trade at each end) and many ties
        ts = T0 + rng.randint(0, 2) * 60_000 + rng.choice([0, 59_999, 30_000, rng.randint(0, 59_999)])
        trades.append(Trade(i, ts, rng.choice(MARKETS), i, 100, 1, 100, Side.BUY, i, i, maker, taker))
    return trades


@pytest.mark.asyncio
async def test_newest_fills_are_the_users_trades_newest_first_page_after_page(database_url):
    await ensure_database(database_url)
    trades = random_trades(900, seed=3)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            store = Store(await migrate(conn))
            rng = random.Random(5)
            cuts = sorted(rng.sample(range(1, len(trades)), len(trades) // 3))
            batches = [trades[a:b] for a, b in zip([0, *cuts], [*cuts, len(trades)], strict=True)]
            rng.shuffle(batches)  # rows of later times written first
            for part in batches:
                batch, bad = decode_entries([(b"1-0", {b"s": b"all", b"e": encode_events(part)})])
                assert bad == []
                await store.write_batch(conn, batch)
            rows = await conn.fetchval("SELECT count(*) FROM user_fills WHERE user_id = 'alice'")
        assert rows > sum(FILL_PAGE_ROWS)  # several pages, the largest too
        services = SimpleNamespace(auth=SimpleNamespace(pool=pool))
        for user in USERS:
            for market in (None, *MARKETS):
                mine = sorted((t for t in trades if user in (t.maker_user_id, t.taker_user_id)
                               and market in (None, t.market)), key=lambda t: (-t.ts, t.market, -t.trade_id))
                for limit in (1, 7, 8, 64, 150, 1000):
                    got = await newest_fills(services, user, market, limit)  # type: ignore[arg-type]
                    assert [(r["market"], r["trade_id"]) for r in got] == \
                        [(t.market, t.trade_id) for t in mine[:limit]], (user, market, limit)
        assert await newest_fills(services, "nobody", None, 10) == []  # type: ignore[arg-type]
    finally:
        await pool.close()
