"""Enumerations shared by the engine, the API and the other services (their values are the JSON ones)."""

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        return self is OrderStatus.NEW or self is OrderStatus.PARTIALLY_FILLED


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"
