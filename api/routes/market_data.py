"""Public market data, read from the state keys the engine keeps in Redis (never by asking the engine).

A market the engine has not written yet has an empty book (sequence 0), no trades and an empty ticker.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import ServicesDep
from api.history_db import trades_before
from api.redis_values import to_bytes
from api.responses import json_response, raw_json
from api.schemas import Depth, MarketInfo, Ticker, Trade, error_responses
from api.validation import market_for

router = APIRouter(tags=["market data"])

MAX_DEPTH_LIMIT = 5000
MAX_TRADES_LIMIT = 1000

MarketParam = Annotated[str, Query(description="market symbol", examples=["TATA-INR"])]


@router.get("/markets", response_model=list[MarketInfo])
async def markets(services: ServicesDep) -> Response:
    """Every market of the exchange with its grid."""
    return raw_json(services.markets_body)


@router.get("/depth", response_model=Depth, responses=error_responses(400))
async def depth(services: ServicesDep, market: MarketParam,
                limit: Annotated[int, Query(ge=1, le=MAX_DEPTH_LIMIT)] = 100) -> Response:
    """Aggregated price levels, best first on each side."""
    market_for(market, services.markets)
    key = services.keys.depth(market)
    stored = await services.redis.get(key)
    if stored is None:
        return json_response({"market": market, "sequence": 0, "bids": [], "asks": []})
    raw = to_bytes(stored)
    if limit >= MAX_DEPTH_LIMIT:
        return raw_json(raw)
    book = _decoded_depth(key, raw)
    if len(book["bids"]) <= limit and len(book["asks"]) <= limit:
        return raw_json(raw)
    return json_response({**book, "bids": book["bids"][:limit], "asks": book["asks"][:limit]})


@router.get("/trades", response_model=list[Trade], responses=error_responses(400))
async def trades(services: ServicesDep, market: MarketParam,
                 limit: Annotated[int, Query(ge=1, le=MAX_TRADES_LIMIT)] = 100) -> Response:
    """The latest public trades, newest first.

    The engine keeps the latest ones in Redis (``TRADES_KEPT``); when that list holds fewer than
    ``limit`` (a fresh or restarted Redis), the older ones come from the DB writer's trades table.
    """
    m = market_for(market, services.markets)
    stored = await services.redis.lrange(services.keys.trades(market), 0, limit - 1)
    items = [to_bytes(item) for item in stored]
    if len(items) < limit:
        oldest = _trade_number(items[-1]) if items else _NO_TRADE_ABOVE
        older = await trades_before(services, m, oldest, limit - len(items))
        items.extend(orjson.dumps(trade) for trade in older)
    return raw_json(b"[" + b",".join(items) + b"]")


_NO_TRADE_ABOVE = 2**63 - 1


def _trade_number(trade_json: bytes) -> int:
    """The engine's trade id of a public trade (``"tradeId": "TATA-INR-42"`` -> 42)."""
    return int(orjson.loads(trade_json)["tradeId"].rpartition("-")[2])


@router.get("/ticker", response_model=Ticker, responses=error_responses(400))
async def ticker(services: ServicesDep, market: MarketParam) -> Response:
    """The rolling 24 h statistics of one market."""
    market_for(market, services.markets)
    raw = await services.redis.get(services.keys.ticker(market))
    return raw_json(to_bytes(raw)) if raw is not None else json_response(empty_ticker(market))


@router.get("/tickers", response_model=list[Ticker])
async def tickers(services: ServicesDep) -> Response:
    """The ticker of every market, in the markets file's order."""
    symbols = list(services.markets.markets)
    raws = await services.redis.mget([services.keys.ticker(m) for m in symbols])
    parts = [to_bytes(raw) if raw is not None else orjson.dumps(empty_ticker(symbol))
             for symbol, raw in zip(symbols, raws, strict=True)]
    return raw_json(b"[" + b",".join(parts) + b"]")


# The last depth value decoded per key: the engine rewrites a key at most every 50 ms, so under load
# most requests find the same bytes and skip decoding up to 2 x 5000 levels again.
_depth_decoded: dict[str, tuple[bytes, dict[str, Any]]] = {}


def _decoded_depth(key: str, raw: bytes) -> dict[str, Any]:
    cached = _depth_decoded.get(key)
    if cached is not None and cached[0] == raw:
        return cached[1]
    book: dict[str, Any] = orjson.loads(raw)
    _depth_decoded[key] = (raw, book)
    return book


def empty_ticker(market: str) -> dict[str, Any]:
    """The ticker of a market with no trade in the window (API.md: null prices, "0" volumes)."""
    return {"market": market, "lastPrice": None, "open": None, "high": None, "low": None,
            "volume": "0", "quoteVolume": "0", "priceChange": None, "priceChangePercent": None,
            "bestBid": None, "bestAsk": None, "trades": 0, "time": int(time.time() * 1000)}
