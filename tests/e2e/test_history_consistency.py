"""Market data that outlives a process: candles on the WebSocket and in GET /klines agree with each other
and with the trades; the rolling 24 h ticker is the same after the engine or the API restarts.

Every service runs as a real process (engine, api, ws, db_writer) on real Redis and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from engine.marketdata import KLINE_INTERVALS, MarketData
from shared.events import Event, encode_events
from shared.keys import Keys
from shared.markets import load_markets
from tests.support.history import candles
from tests.support.kline_fixture import BATCHES, FIXTURE, R, T
from tests.support.redis_ns import REDIS_URL
from tests.support.services import Exchange
from tests.support.writer import wait_drained

pytestmark = pytest.mark.asyncio
MARKETS = load_markets().markets
CANDLE_FIELDS = ("open", "high", "low", "close", "volume", "quoteVolume", "trades")


def rendered_candles(market: str, width: int) -> dict[int, dict[str, Any]]:
    """openTime -> the candle API.md shows, computed from the fixture's trades alone."""
    m = MARKETS[market]
    trades = [t for t in FIXTURE.values() if t.market == market]
    return {open_time: {"openTime": open_time, "closeTime": open_time + width - 1,
                        "open": m.format_price(o), "high": m.format_price(h), "low": m.format_price(lo),
                        "close": m.format_price(c), "volume": m.format_quantity(v),
                        "quoteVolume": m.format_quote(qv), "trades": n}
            for (_, open_time), (o, h, lo, c, v, qv, n, _, _) in candles(trades, width).items()}


async def test_klines_from_the_database_and_the_websocket_agree_with_the_trades(exchange: Exchange):
    """The fixture's trades (across second, minute, hour and day edges) go down both paths the engine
    feeds: its market-data frames (engine/marketdata.py, as the engine publishes them) through Redis
    pub/sub and ``python -m ws`` to a client, and its DB events stream through ``python -m db_writer``
    (in scrambled batches with replays) to PostgreSQL and GET /klines."""
    keys = Keys(exchange.env["MUDRA_NAMESPACE"])
    redis = Redis.from_url(REDIS_URL, socket_timeout=None)
    streams = [f"kline.{i}@{m}" for m in (T, R) for i in KLINE_INTERVALS]
    last: dict[tuple[str, int], dict[str, Any]] = {}  # (stream, openTime) -> the latest frame's candle
    writer = exchange.spawn("db_writer")
    try:
        async with connect(exchange.ws_url) as ws:
            await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}).decode())
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 5)) == {"id": 1, "result": None}
            # The engine's market data, batch by batch in time order (several batches cross an edge).
            market_data = MarketData(MARKETS)
            best = dict.fromkeys(MARKETS, (None, None))
            ordered = sorted(FIXTURE.values(), key=lambda t: (t.ts, t.trade_id))
            frames = 0
            for start in range(0, len(ordered), 3):
                batch: list[Event] = list(ordered[start:start + 3])
                out = market_data.on_batch(batch, batch[-1].ts, best)
                for market, market_frames in out.market_frames.items():
                    await redis.publish(keys.market_channel(market), b"\n".join(market_frames))
                frames += sum(1 for fs in out.market_frames.values() for f in fs if b'"stream":"kline.' in f)
            for _ in range(frames):
                event = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                data = event["data"]
                assert data.pop("closed") is False
                last[(event["stream"], data["openTime"])] = data
        # The same trades as DB events, in the fixture's scrambled batches with replays.
        for ids in BATCHES:
            await redis.xadd(keys.db_events(), {"s": "all", "e": encode_events([FIXTURE[i] for i in ids])})
        await wait_drained(redis, keys, alive=lambda: None if writer.poll() is None
                           else pytest.fail(exchange.log("db_writer")))
        async with httpx.AsyncClient(base_url=exchange.api_url, timeout=10) as http:
            for market in (T, R):
                for interval, width in {**KLINE_INTERVALS, "1d": 86_400_000}.items():
                    response = await http.get("/klines", params={"market": market, "interval": interval,
                                                                 "limit": 1000})
                    assert response.status_code == 200, response.text
                    from_db = {k["openTime"]: k for k in response.json()}
                    expected = rendered_candles(market, width)
                    assert from_db == expected, (market, interval)
                    if interval == "1d":
                        continue  # no kline.1d stream
                    stream = f"kline.{interval}@{market}"
                    from_ws = {t: c for (s, t), c in last.items() if s == stream}
                    assert from_ws == expected, stream
    finally:
        await redis.aclose()


# ------------------------------------------------------------------ the ticker across restarts


async def sign_up(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post("/users")
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['apiKey']}"}


async def place(http: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await http.post("/order", headers=headers, json={"market": T, **body})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def expected_ticker(trades: list[dict[str, Any]]) -> dict[str, Any]:
    """The window fields of the ticker from the public trades (newest first), in exact decimals."""
    prices = [Decimal(t["price"]) for t in trades]
    return {"lastPrice": trades[0]["price"], "open": trades[-1]["price"],
            "high": MARKETS[T].format_price(int(max(prices) * 100)),
            "low": MARKETS[T].format_price(int(min(prices) * 100)),
            "volume": str(sum(Decimal(t["quantity"]) for t in trades)),
            "quoteVolume": str(sum(Decimal(t["quoteQuantity"]) for t in trades)), "trades": len(trades)}


WINDOW_FIELDS = ("lastPrice", "open", "high", "low", "volume", "quoteVolume", "priceChange",
                 "priceChangePercent", "trades")


async def test_the_ticker_is_the_same_after_the_engine_or_the_api_restarts(exchange: Exchange):
    exchange.env["ENGINE_SNAPSHOT_SECONDS"] = "1"  # for the restarts below: snapshots while trading
    async with httpx.AsyncClient(base_url=exchange.api_url, timeout=10) as http:
        buyer, seller = await sign_up(http), await sign_up(http)
        for headers, asset, amount in ((buyer, "INR", "10000000"), (seller, "TATA", "100000")):
            response = await http.post("/deposit", headers=headers, json={"asset": asset, "amount": amount})
            assert response.status_code == 200, response.text
        step = iter(range(10_000))

        async def trade_round(n: int) -> None:
            for _ in range(n):
                k = next(step)
                price = f"{100 + (k * 37) % 23}.{k % 100:02d}"
                await place(http, seller, kind="sell", type="limit", price=price, quantity=str(1 + k % 7))
                await place(http, buyer, kind="buy", type="market", quantity=str(1 + k % 7))

        async def ticker() -> dict[str, Any]:
            response = await http.get("/ticker", params={"market": T})
            assert response.status_code == 200
            result: dict[str, Any] = response.json()
            return result

        async def recomputed() -> dict[str, Any]:
            """The ticker after a command that moves the best bid: the engine computes it anew."""
            before = (await ticker())["time"]
            price = f"1.{next(step) % 100:02d}"
            await place(http, buyer, kind="buy", type="limit", price=price, quantity="1")
            deadline = time.monotonic() + 5
            while (current := await ticker())["time"] == before:
                assert time.monotonic() < deadline, "the ticker was not recomputed"
                await asyncio.sleep(0.02)
            return current

        async def window() -> dict[str, Any]:
            trades = (await http.get("/trades", params={"market": T, "limit": 1000})).json()
            return expected_ticker(trades)

        await trade_round(15)
        first = await ticker()
        expected = await window()
        assert {f: first[f] for f in expected} == expected

        exchange.kill("api")  # the API keeps nothing: the same ticker after it restarts
        exchange.restart("api")
        assert await ticker() == first

        exchange.procs["engine"].terminate()  # a clean stop: the engine writes a snapshot on its way out
        exchange.procs["engine"].wait(20)
        exchange.restart("engine")
        assert await ticker() == first
        again = await recomputed()
        assert {f: again[f] for f in WINDOW_FIELDS} == {f: first[f] for f in WINDOW_FIELDS}

        await trade_round(10)
        await asyncio.sleep(1.5)  # a snapshot in the background, with the window as it is
        await trade_round(10)  # ... and trades after it: in the journal only
        before_kill = await ticker()
        exchange.kill("engine")  # kill -9: snapshot + journal replay
        exchange.restart("engine")
        assert await ticker() == before_kill
        after = await recomputed()
        assert {f: after[f] for f in WINDOW_FIELDS} == {f: before_kill[f] for f in WINDOW_FIELDS}
        expected = await window()
        assert {f: after[f] for f in expected} == expected
