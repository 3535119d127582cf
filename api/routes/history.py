"""History read from PostgreSQL, as the DB writer stores it (docs/db-writer.md): klines, fills and the
caller's order history (``GET /orders/history``, an extension of API.md: docs/api-service.md).

These follow the engine by the writer's lag (API.md: within 2 s). Before the writer has created its
tables there is no history yet: empty lists, not an error. PostgreSQL away: 503 SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CurrentUser, ServicesDep
from api.errors import invalid_request
from api.history_db import fetch, newest_fills, user_orders
from api.responses import json_response
from api.schemas import Kline, Order, UserFill, error_responses
from api.validation import market_for
from db_writer.store import CANDLE_INTERVALS
from shared.events import Trade
from shared.markets import Market
from shared.types import Side
from shared.views import user_fill_view

router = APIRouter()

MAX_KLINES = 1000
MAX_FILLS = 1000
MAX_ORDERS = 1000

Interval = Literal["1s", "1m", "1h", "1d"]
MarketParam = Annotated[str, Query(description="market symbol", examples=["TATA-INR"])]
TimeParam = Annotated[int | None, Query(ge=0, description="ms since the epoch, inclusive on openTime")]
CreatedParam = Annotated[int | None, Query(ge=0, le=2**63 - 1,
                                           description="ms since the epoch, inclusive on createdAt")]

_CANDLE_COLUMNS = "open_time, open, high, low, close, volume, quote_volume, trades"
# Per interval: the oldest `limit` candles from startTime, or (no startTime) the newest `limit`.
_KLINES_FROM_START = {
    interval: f"SELECT {_CANDLE_COLUMNS} FROM {table} WHERE market = $1 AND open_time >= $2 "
              f"AND open_time <= $3 ORDER BY open_time LIMIT $4"
    for interval, (table, _) in CANDLE_INTERVALS.items()
}
_KLINES_NEWEST = {
    interval: f"SELECT * FROM (SELECT {_CANDLE_COLUMNS} FROM {table} WHERE market = $1 AND open_time <= $2 "
              f"ORDER BY open_time DESC LIMIT $3) AS newest ORDER BY open_time"
    for interval, (table, _) in CANDLE_INTERVALS.items()
}
_NO_END = 2**63 - 1



@router.get("/klines", response_model=list[Kline], responses=error_responses(400, 503), tags=["market data"])
async def klines(services: ServicesDep, market: MarketParam, interval: Annotated[Interval, Query()],
                 start_time: Annotated[TimeParam, Query(alias="startTime")] = None,
                 end_time: Annotated[TimeParam, Query(alias="endTime")] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_KLINES)] = 500) -> Response:
    """Candles oldest first; without startTime the newest ``limit``. Buckets without trades are absent."""
    if start_time is not None and end_time is not None and start_time > end_time:
        raise invalid_request("startTime must not be after endTime")
    m = market_for(market, services.markets)
    end = _NO_END if end_time is None else end_time
    if start_time is None:
        rows = await fetch(services, _KLINES_NEWEST[interval], market, end, limit)
    else:
        rows = await fetch(services, _KLINES_FROM_START[interval], market, start_time, end, limit)
    width = CANDLE_INTERVALS[interval][1]
    return json_response([kline_view(row, m, width) for row in rows])


@router.get("/fills", response_model=list[UserFill], responses=error_responses(400, 401, 429, 503),
            tags=["orders"])
async def fills(services: ServicesDep, user: CurrentUser,
                market: Annotated[str | None, Query(description="only this market")] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_FILLS)] = 100) -> Response:
    """The caller's fills (maker or taker side of each trade), newest first."""
    markets = services.markets
    if market is not None:
        market_for(market, markets)
    rows = await newest_fills(services, user, market, limit)
    return json_response([user_fill_view(_trade(row), markets.markets[row["market"]], user) for row in rows
                          if row["market"] in markets.markets])


@router.get("/orders/history", response_model=list[Order], responses=error_responses(400, 401, 429, 503),
            tags=["orders"])
async def order_history(
        services: ServicesDep, user: CurrentUser,
        market: Annotated[str | None, Query(min_length=1, max_length=64, description="only this market",
                                            examples=["TATA-INR"])] = None,
        start_time: Annotated[CreatedParam, Query(alias="startTime")] = None,
        end_time: Annotated[CreatedParam, Query(alias="endTime")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ORDERS)] = 100) -> Response:
    """The caller's orders as the DB writer stored them, newest first (createdAt, then order number).

    Every stored order: closed ones in their final state, open ones in their last stored state; each
    with its fills, as ``GET /order`` shows it. Follows trading by the writer's lag (up to ~2 s).
    """
    if start_time is not None and end_time is not None and start_time > end_time:
        raise invalid_request("startTime must not be after endTime")
    m = None if market is None else market_for(market, services.markets)
    start = 0 if start_time is None else start_time
    end = _NO_END if end_time is None else end_time
    return json_response(await user_orders(services, user, m, start, end, limit))


def kline_view(row: Any, market: Market, width: int) -> dict[str, Any]:
    """One candle as API.md shows it (volumes are exact NUMERIC integers: lots and quote minor units)."""
    open_time = row["open_time"]
    return {
        "openTime": open_time,
        "closeTime": open_time + width - 1,
        "open": market.format_price(row["open"]),
        "high": market.format_price(row["high"]),
        "low": market.format_price(row["low"]),
        "close": market.format_price(row["close"]),
        "volume": market.format_quantity(int(row["volume"])),
        "quoteVolume": market.format_quote(int(row["quote_volume"])),
        "trades": row["trades"],
    }


def _trade(row: Any) -> Trade:
    """A stored trade as the engine's event (seq is not needed to render a fill: 0)."""
    return Trade(0, row["ts"], row["market"], row["trade_id"], row["price"], row["quantity"],
                 int(row["quote_quantity"]), Side(row["taker_side"]), row["maker_order_id"],
                 row["taker_order_id"], row["maker_user_id"], row["taker_user_id"])

