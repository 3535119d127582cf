"""Public market data served from the Redis state keys in docs/internals.md's format (written here)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
import redis

from shared.keys import Keys
from tests.integration.api.conftest import error_code, json_of

TICKER_FIELDS = {"market", "lastPrice", "open", "high", "low", "volume", "quoteVolume", "priceChange",
                 "priceChangePercent", "bestBid", "bestAsk", "trades", "time"}


def trade(n: int, price: str) -> dict[str, object]:
    return {"tradeId": f"TATA-INR-{n}", "price": price, "quantity": "2", "quoteQuantity": "203.00",
            "time": 1_732_540_000_000 + n, "isBuyerMaker": n % 2 == 0}


@pytest.mark.asyncio
async def test_markets_lists_the_markets_file(client: httpx.AsyncClient) -> None:
    markets = json_of(await client.get("/markets"))
    assert {"symbol": "TATA-INR", "base": "TATA", "quote": "INR", "tickSize": "0.01", "lotSize": "1",
            "minQuantity": "1"} in markets
    assert {m["symbol"] for m in markets} >= {"TATA-INR", "RELIANCE-INR", "INFY-INR"}


@pytest.mark.asyncio
async def test_a_market_without_state_is_empty(client: httpx.AsyncClient) -> None:
    assert json_of(await client.get("/depth", params={"market": "TATA-INR"})) == {
        "market": "TATA-INR", "sequence": 0, "bids": [], "asks": []}
    assert json_of(await client.get("/trades", params={"market": "TATA-INR"})) == []
    ticker = json_of(await client.get("/ticker", params={"market": "TATA-INR"}))
    assert set(ticker) == TICKER_FIELDS
    assert ticker["market"] == "TATA-INR"
    assert ticker["volume"] == ticker["quoteVolume"] == "0"
    assert ticker["trades"] == 0
    assert all(ticker[f] is None for f in ("lastPrice", "open", "high", "low", "bestBid", "bestAsk"))
    assert abs(ticker["time"] - time.time() * 1000) < 60_000


@pytest.mark.asyncio
async def test_depth_is_the_stored_book_cut_to_the_limit(client: httpx.AsyncClient, sync_redis: redis.Redis,
                                                          keys: Keys) -> None:
    book: dict[str, Any] = {"market": "TATA-INR", "sequence": 42,
            "bids": [["101.40", "12"], ["101.30", "5"], ["101.00", "1"]],
            "asks": [["101.50", "3"], ["101.60", "7"]]}
    sync_redis.set(keys.depth("TATA-INR"), orjson.dumps(book))
    assert json_of(await client.get("/depth", params={"market": "TATA-INR"})) == book
    cut = json_of(await client.get("/depth", params={"market": "TATA-INR", "limit": 2}))
    assert cut == {**book, "bids": book["bids"][:2], "asks": book["asks"][:2]}
    one = json_of(await client.get("/depth", params={"market": "TATA-INR", "limit": 1}))
    assert one["bids"] == [["101.40", "12"]] and one["asks"] == [["101.50", "3"]]
    assert json_of(await client.get("/depth", params={"market": "TATA-INR", "limit": 5000})) == book


@pytest.mark.asyncio
async def test_trades_newest_first_up_to_the_limit(client: httpx.AsyncClient, sync_redis: redis.Redis,
                                                    keys: Keys) -> None:
    for n in range(1, 6):  # the engine LPUSHes, so the newest is first
        sync_redis.lpush(keys.trades("TATA-INR"), orjson.dumps(trade(n, f"101.{n}0")))
    trades = json_of(await client.get("/trades", params={"market": "TATA-INR"}))
    assert [t["tradeId"] for t in trades] == [f"TATA-INR-{n}" for n in range(5, 0, -1)]
    assert trades[0] == trade(5, "101.50")
    two = json_of(await client.get("/trades", params={"market": "TATA-INR", "limit": 2}))
    assert [t["tradeId"] for t in two] == ["TATA-INR-5", "TATA-INR-4"]


@pytest.mark.asyncio
async def test_ticker_and_tickers_are_the_stored_objects(client: httpx.AsyncClient, sync_redis: redis.Redis,
                                                          keys: Keys) -> None:
    stored = {"market": "INFY-INR", "lastPrice": "1500.00", "open": "1400.00", "high": "1510.00",
              "low": "1390.00", "volume": "12", "quoteVolume": "17500.00", "priceChange": "100.00",
              "priceChangePercent": "7.14", "bestBid": "1499.00", "bestAsk": "1501.00", "trades": 5,
              "time": 1_732_540_000_000}
    raw = orjson.dumps(stored)
    sync_redis.set(keys.ticker("INFY-INR"), raw)
    response = await client.get("/ticker", params={"market": "INFY-INR"})
    assert response.content == raw  # passed through as stored
    tickers = json_of(await client.get("/tickers"))
    assert [t["market"] for t in tickers] == ["TATA-INR", "RELIANCE-INR", "INFY-INR"]
    assert tickers[2] == stored
    assert tickers[0]["lastPrice"] is None and tickers[0]["volume"] == "0"


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/depth", "/trades", "/ticker"])
async def test_market_data_of_an_unknown_or_missing_market(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, params={"market": "DOGE-INR"})
    assert response.status_code == 400
    assert error_code(response) == "UNKNOWN_MARKET"
    missing = await client.get(path)
    assert missing.status_code == 400
    assert error_code(missing) == "INVALID_REQUEST"


@pytest.mark.asyncio
@pytest.mark.parametrize(("path", "limit"), [("/depth", "5001"), ("/depth", "0"), ("/depth", "ten"),
                                             ("/trades", "1001"), ("/trades", "-1")])
async def test_limit_out_of_range_is_invalid_request(client: httpx.AsyncClient, path: str,
                                                     limit: str) -> None:
    response = await client.get(path, params={"market": "TATA-INR", "limit": limit})
    assert response.status_code == 400
    assert error_code(response) == "INVALID_REQUEST"
    assert "limit" in response.json()["error"]["message"]


@pytest.mark.asyncio
async def test_limit_at_the_maximum_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await client.get("/depth", params={"market": "TATA-INR", "limit": 5000})).status_code == 200
    assert (await client.get("/trades", params={"market": "TATA-INR", "limit": 1000})).status_code == 200
