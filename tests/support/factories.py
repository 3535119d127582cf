"""Builders for commands and engines used across the tests."""

from __future__ import annotations

from engine.core import Engine
from shared.commands import CancelAll, CancelOrder, Deposit, PlaceOrder
from shared.markets import MarketsConfig, load_markets
from shared.types import OrderType, Side, TimeInForce

MARKET = "TATA-INR"
T0 = 1_700_000_000_000


def markets() -> MarketsConfig:
    return load_markets()


def new_engine(retention_ms: int | None = None) -> Engine:
    if retention_ms is None:
        return Engine(markets())
    return Engine(markets(), closed_order_retention_ms=retention_ms)


def deposit(user: str, asset: str, amount: int, ts: int = T0) -> Deposit:
    return Deposit(user, asset, amount, ts)


def limit(user: str, side: Side | str, price: int, quantity: int, *, market: str = MARKET,
          tif: TimeInForce = TimeInForce.GTC, post_only: bool = False, client_order_id: str | None = None,
          ts: int = T0) -> PlaceOrder:
    return PlaceOrder(user, market, Side(side), OrderType.LIMIT, price, quantity, tif, post_only,
                      client_order_id, ts)


def market_order(user: str, side: Side | str, quantity: int, *, market: str = MARKET,
                 client_order_id: str | None = None, ts: int = T0) -> PlaceOrder:
    return PlaceOrder(user, market, Side(side), OrderType.MARKET, None, quantity, TimeInForce.GTC, False,
                      client_order_id, ts)


def cancel(user: str, order_id: int, ts: int = T0) -> CancelOrder:
    return CancelOrder(user, order_id, ts)


def cancel_all(user: str, market: str | None = None, ts: int = T0) -> CancelAll:
    return CancelAll(user, market, ts)
