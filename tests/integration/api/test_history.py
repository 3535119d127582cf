"""GET /klines and GET /fills, read from what the DB writer stored (real PostgreSQL, Redis and engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from db_writer.migrate import migrate
from db_writer.rows import decode_entries
from db_writer.store import CANDLE_INTERVALS, Store
from shared.database import ensure_database
from shared.events import Event, encode_events
from shared.markets import load_markets
from tests.integration.api.conftest import error_code, sign_up
from tests.support.kline_fixture import BATCHES, EXPECTED, FIXTURE, NEXT_DAY, H, R, T
from tests.support.redis_ns import REDIS_URL
from tests.support.writer import running_writer, wait_drained

MARKETS = load_markets().markets


@pytest.fixture
def database_url(own_database: str) -> str:
    """A database of this test's own: other tests' history must not mix into this one's."""
    return own_database


@pytest_asyncio.fixture
async def stored_fixture(database_url: str) -> None:
    """The hand-checked trades of tests/support/kline_fixture.py, written as the DB writer writes them."""
    await ensure_database(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        store = Store(await migrate(conn))
        for ids in BATCHES:
            events: list[Event] = [FIXTURE[i] for i in ids]
            batch, _ = decode_entries([(b"1-0", {b"s": b"all", b"e": encode_events(events)})])
            await store.write_batch(conn, batch)
    finally:
        await conn.close()


def rendered(table: str, market: str) -> list[dict[str, object]]:
    """EXPECTED[table] for one market as API.md renders candles, oldest first."""
    width = next(w for t, w in CANDLE_INTERVALS.values() if t == table)
    m = MARKETS[market]
    return [{"openTime": open_time, "closeTime": open_time + width - 1, "open": m.format_price(o),
             "high": m.format_price(h), "low": m.format_price(lo), "close": m.format_price(c),
             "volume": m.format_quantity(v), "quoteVolume": m.format_quote(qv), "trades": n}
            for (sym, open_time), (o, h, lo, c, v, qv, n, _, _) in sorted(EXPECTED[table].items())
            if sym == market]


@pytest.mark.asyncio
@pytest.mark.usefixtures("stored_fixture")
@pytest.mark.parametrize("interval", ["1s", "1m", "1h", "1d"])
async def test_klines_are_the_hand_checked_candles(client, interval):
    response = await client.get("/klines", params={"market": T, "interval": interval})
    assert response.status_code == 200
    assert response.json() == rendered(f"candles_{interval}", T)
    other = await client.get("/klines", params={"market": R, "interval": interval})
    assert other.json() == rendered(f"candles_{interval}", R)


@pytest.mark.asyncio
@pytest.mark.usefixtures("stored_fixture")
async def test_a_candle_is_rendered_in_decimal_strings(client):
    response = await client.get("/klines", params={"market": T, "interval": "1s", "startTime": H, "limit": 1})
    assert response.json() == [{"openTime": H, "closeTime": H + 999, "open": "100.50", "high": "101.00",
                                "low": "99.90", "close": "101.00", "volume": "9", "quoteVolume": "903.30",
                                "trades": 4}]


@pytest.mark.asyncio
@pytest.mark.usefixtures("stored_fixture")
async def test_start_end_and_limit_select_by_open_time(client):
    async def open_times(**params: object) -> list[int]:
        response = await client.get("/klines", params={"market": T, "interval": "1m", **params})
        assert response.status_code == 200, response.text
        return [k["openTime"] for k in response.json()]

    every = [t for (m, t) in sorted(EXPECTED["candles_1m"]) if m == T]
    assert await open_times() == every
    assert await open_times(limit=2) == every[-2:]  # without startTime: the newest, oldest first
    assert await open_times(startTime=H, limit=2) == [H, H + 60_000]  # with it: from there on
    assert await open_times(startTime=H, endTime=H) == [H]  # both inclusive
    assert await open_times(startTime=H + 1, endTime=H + 60_000) == [H + 60_000]
    assert await open_times(endTime=H + 60_000, limit=2) == [H, H + 60_000]
    assert await open_times(startTime=NEXT_DAY + 1) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("params, code", [
    ({"market": "GOLD-INR", "interval": "1m"}, "UNKNOWN_MARKET"),
    ({"market": T, "interval": "5m"}, "INVALID_REQUEST"),
    ({"market": T}, "INVALID_REQUEST"),
    ({"interval": "1m"}, "INVALID_REQUEST"),
    ({"market": T, "interval": "1m", "limit": 0}, "INVALID_REQUEST"),
    ({"market": T, "interval": "1m", "limit": 1001}, "INVALID_REQUEST"),
    ({"market": T, "interval": "1m", "startTime": "soon"}, "INVALID_REQUEST"),
    ({"market": T, "interval": "1m", "startTime": 10, "endTime": 9}, "INVALID_REQUEST"),
    ({"market": "GOLD-INR", "interval": "5m"}, "INVALID_REQUEST"),  # the request's shape comes first
])
async def test_bad_kline_queries_are_refused(client, params, code):
    response = await client.get("/klines", params=params)
    assert response.status_code == 400
    assert error_code(response) == code


@pytest.mark.asyncio
async def test_before_the_writer_has_run_there_is_no_history_yet(client):
    response = await client.get("/klines", params={"market": T, "interval": "1h"})
    assert (response.status_code, response.json()) == (200, [])
    _, headers = await sign_up(client)
    response = await client.get("/fills", headers=headers)
    assert (response.status_code, response.json()) == (200, [])


@pytest_asyncio.fixture
async def aredis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_timeout=None)
    try:
        yield client
    finally:
        await client.aclose()


async def post(client, path: str, headers: dict[str, str], **body: object) -> dict:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.mark.asyncio
async def test_fills_are_the_callers_side_of_each_trade_newest_first(client, engine, keys, aredis,
                                                                    database_url):
    _, alice = await sign_up(client)
    _, bob = await sign_up(client)
    await post(client, "/deposit", alice, asset="INR", amount="100000")
    await post(client, "/deposit", bob, asset="TATA", amount="100")
    resting = await post(client, "/order", bob, market=T, kind="sell", type="limit", price="101.50",
                         quantity="10")
    first = await post(client, "/order", alice, market=T, kind="buy", type="limit", price="102.00",
                       quantity="4")
    second = await post(client, "/order", alice, market=T, kind="buy", type="market", quantity="3")
    bid = await post(client, "/order", alice, market=T, kind="buy", type="limit", price="100.00",
                     quantity="5")
    hit = await post(client, "/order", bob, market=T, kind="sell", type="market", quantity="2")
    trade_ids = [f["tradeId"] for o in (first, second, hit) for f in o["fills"]]
    times = [o["createdAt"] for o in (first, second, hit)]
    async with running_writer(aredis, database_url, keys):
        await wait_drained(aredis, keys)
    response = await client.get("/fills", headers=alice)
    assert response.status_code == 200
    assert response.json() == [
        {"tradeId": trade_ids[2], "orderId": bid["orderId"], "market": T, "kind": "buy", "price": "100.00",
         "quantity": "2", "fee": "0", "time": times[2], "liquidity": "maker"},
        {"tradeId": trade_ids[1], "orderId": second["orderId"], "market": T, "kind": "buy", "price": "101.50",
         "quantity": "3", "fee": "0", "time": times[1], "liquidity": "taker"},
        {"tradeId": trade_ids[0], "orderId": first["orderId"], "market": T, "kind": "buy", "price": "101.50",
         "quantity": "4", "fee": "0", "time": times[0], "liquidity": "taker"},
    ]
    bobs = (await client.get("/fills", headers=bob)).json()
    assert [(f["tradeId"], f["orderId"], f["kind"], f["liquidity"]) for f in bobs] == [
        (trade_ids[2], hit["orderId"], "sell", "taker"), (trade_ids[1], resting["orderId"], "sell", "maker"),
        (trade_ids[0], resting["orderId"], "sell", "maker")]
    newest = (await client.get("/fills", params={"limit": 1}, headers=alice)).json()
    assert [f["tradeId"] for f in newest] == [trade_ids[2]]
    assert (await client.get("/fills", params={"market": "INFY-INR"}, headers=alice)).json() == []
    assert len((await client.get("/fills", params={"market": T}, headers=alice)).json()) == 3
    unknown = await client.get("/fills", params={"market": "GOLD-INR"}, headers=alice)
    assert (unknown.status_code, error_code(unknown)) == (400, "UNKNOWN_MARKET")
    too_many = await client.get("/fills", params={"limit": 1001}, headers=alice)
    assert (too_many.status_code, error_code(too_many)) == (400, "INVALID_REQUEST")
    anonymous = await client.get("/fills")
    assert (anonymous.status_code, error_code(anonymous)) == (401, "UNAUTHORIZED")
