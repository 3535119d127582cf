"""One market's order book: per side a sorted map of price -> FIFO level, plus the level totals.

A level keeps its orders in an intrusive doubly linked list (each order knows its neighbours), as
exchange-core does: append, removal of any order (cancel) and taking the front are all O(1) and, once
compiled, a few pointer moves. The order-id index that finds an order lives in the engine (it spans
markets).
"""

from __future__ import annotations

from collections.abc import Iterator

from sortedcontainers import SortedDict

from engine.order import Order
from shared.types import Side


class Level:
    """The orders resting at one price, oldest (first to fill) at ``head``."""

    __slots__ = ("count", "head", "price", "tail", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.head: Order | None = None
        self.tail: Order | None = None
        self.count = 0
        self.total = 0  # sum of the orders' remaining lots

    def append(self, order: Order) -> None:
        tail = self.tail
        order.prev = tail
        order.next = None
        if tail is None:
            self.head = order
        else:
            tail.next = order
        self.tail = order
        self.count += 1
        self.total += order.remaining

    def unlink(self, order: Order) -> None:
        """Take ``order`` out of the FIFO (its ``remaining`` is subtracted from the total)."""
        prev, nxt = order.prev, order.next
        if prev is None:
            self.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev = prev
        order.prev = None
        order.next = None
        self.count -= 1
        self.total -= order.remaining

    def orders(self) -> list[Order]:
        """The orders, oldest first."""
        result = []
        order = self.head
        while order is not None:
            result.append(order)
            order = order.next
        return result


class OrderBook:
    """Both sides of one market. ``top_bid``/``top_ask`` cache the best prices as plain ints (0 and
    ``no_ask`` when a side is empty) so the common "does it cross?" test needs no sorted-map lookup."""

    __slots__ = ("asks", "bids", "depth_seq", "no_ask", "symbol", "top_ask", "top_bid", "touched",
                 "touched_asks", "touched_bids")

    def __init__(self, symbol: str, max_price: int) -> None:
        self.symbol = symbol
        self.bids: SortedDict = SortedDict()  # price -> Level; best = highest = last
        self.asks: SortedDict = SortedDict()  # price -> Level; best = lowest = first
        self.no_ask = max_price + 1  # above every valid price
        self.top_bid = 0
        self.top_ask = self.no_ask
        self.depth_seq = 0
        # Scratch of the command being applied: the prices whose level it changed.
        self.touched = False
        self.touched_bids: dict[int, None] = {}
        self.touched_asks: dict[int, None] = {}

    def best_bid(self) -> int | None:
        return self.top_bid if self.top_bid else None

    def best_ask(self) -> int | None:
        return self.top_ask if self.top_ask != self.no_ask else None

    def add(self, order: Order) -> None:
        """Append a resting order at the back of its price level."""
        levels = self.bids if order.side is Side.BUY else self.asks
        price = order.price
        assert price is not None
        level: Level | None = dict.get(levels, price)  # SortedDict is a dict: the C lookup
        if level is None:
            level = Level(price)
            levels[price] = level
            if order.side is Side.BUY:
                if price > self.top_bid:
                    self.top_bid = price
            elif price < self.top_ask:
                self.top_ask = price
        level.append(order)

    def remove(self, order: Order) -> None:
        """Take a resting order out of its level (its ``remaining`` must be what the level counted)."""
        levels = self.bids if order.side is Side.BUY else self.asks
        level: Level = levels[order.price]
        level.unlink(order)
        if level.head is None:
            self.drop_level(order.side, level.price)

    def drop_level(self, side: Side, price: int) -> None:
        """Delete an emptied level, moving the cached best price when it was the best."""
        if side is Side.BUY:
            bids = self.bids
            del bids[price]
            if price == self.top_bid:
                self.top_bid = bids.keys()[-1] if bids else 0
        else:
            asks = self.asks
            del asks[price]
            if price == self.top_ask:
                self.top_ask = asks.keys()[0] if asks else self.no_ask

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
        bid_prices: list[int] = list(bids.keys()[len(bids) - n_bids :]) if n_bids else []
        ask_prices: list[int] = list(asks.keys()[:n_asks]) if n_asks else []
        return (
            [(p, bids[p].total) for p in reversed(bid_prices)],
            [(p, asks[p].total) for p in ask_prices],
        )
