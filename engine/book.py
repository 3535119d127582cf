"""One market's order book: per side a sorted map of price -> FIFO level, plus the level totals.

A level keeps its orders in an ``OrderedDict`` keyed by order id: FIFO iteration from the front and
O(1) removal of any order (cancel) are both C-speed. The order-id index that finds an order's level
lives in the engine (it spans markets).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from sortedcontainers import SortedDict

from engine.order import Order
from shared.types import Side


class Level:
    __slots__ = ("orders", "price", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: OrderedDict[int, Order] = OrderedDict()
        self.total = 0  # sum of the orders' remaining lots


class OrderBook:
    __slots__ = ("asks", "bids", "depth_seq", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids: SortedDict[int, Level] = SortedDict()  # best = highest = last
        self.asks: SortedDict[int, Level] = SortedDict()  # best = lowest = first
        self.depth_seq = 0

    def side(self, side: Side) -> SortedDict[int, Level]:
        return self.bids if side is Side.BUY else self.asks

    def best_bid(self) -> int | None:
        bids = self.bids
        return bids.keys()[-1] if bids else None

    def best_ask(self) -> int | None:
        asks = self.asks
        return asks.keys()[0] if asks else None

    def add(self, order: Order) -> None:
        """Append a resting order at the back of its price level."""
        levels = self.bids if order.side is Side.BUY else self.asks
        price = order.price
        level = levels.get(price)
        if level is None:
            level = levels[price] = Level(price)  # type: ignore[index]
        level.orders[order.order_id] = order
        level.total += order.remaining

    def remove(self, order: Order) -> None:
        """Take a resting order out of its level (its ``remaining`` must be what the level counted)."""
        levels = self.bids if order.side is Side.BUY else self.asks
        level = levels[order.price]
        del level.orders[order.order_id]
        level.total -= order.remaining
        if not level.orders:
            del levels[order.price]

    def level_total(self, side: Side, price: int) -> int:
        level = (self.bids if side is Side.BUY else self.asks).get(price)
        return 0 if level is None else level.total

    def levels(self, side: Side) -> Iterator[Level]:
        """Levels of one side, best first."""
        if side is Side.BUY:
            return reversed(self.bids.values())
        return iter(self.asks.values())

    def depth(self, limit: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Up to ``limit`` (price, total lots) levels per side, best first."""
        bids = self.bids
        asks = self.asks
        n_bids = min(limit, len(bids))
        n_asks = min(limit, len(asks))
        bid_prices = bids.keys()[len(bids) - n_bids :] if n_bids else []
        ask_prices = asks.keys()[:n_asks] if n_asks else []
        return (
            [(p, bids[p].total) for p in reversed(bid_prices)],
            [(p, asks[p].total) for p in ask_prices],
        )
