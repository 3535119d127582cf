"""Desired quotes vs the orders that rest: what to cancel and what to place, pure.

The live side is the exchange's own answer (``GET /orders``), so whatever a crash, a retry or an older
run left behind is seen here and reconciled: per (side, price) at most one order is kept, every other
order is cancelled. Nothing moves when nothing changed: an order at a desired price is kept unless too
little of it is left (less than half: a mostly eaten level is refilled) or it is larger than wanted.
Cancels are sent before places, so a new quote never crosses the maker's own stale one and the funds of
the cancelled ones are free for the new ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from market_maker.strategy import Quote
from shared.markets import Market
from shared.money import parse_decimal, to_units
from shared.types import Side


@dataclass(frozen=True, slots=True)
class LiveOrder:
    """One of the maker's open orders, in integers."""

    order_id: str
    market: str
    side: Side
    price: int  # ticks
    remaining: int  # lots
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    cancels: tuple[LiveOrder, ...]
    places: tuple[Quote, ...]  # best levels first

    @property
    def empty(self) -> bool:
        return not self.cancels and not self.places


def keeps(order: LiveOrder, quote: Quote) -> bool:
    """Whether a resting order serves a desired quote at the same side and price as it is."""
    return quote.quantity >= order.remaining and 2 * order.remaining >= quote.quantity


def plan(desired: Sequence[Quote], live: Iterable[LiveOrder]) -> Plan:
    """The cancels and places that turn ``live`` (oldest first) into ``desired`` with the least churn."""
    wanted = {(q.side, q.price): q for q in desired}
    kept: set[tuple[Side, int]] = set()
    cancels: list[LiveOrder] = []
    for order in live:
        key = (order.side, order.price)
        quote = wanted.get(key)
        if quote is not None and key not in kept and keeps(order, quote):
            kept.add(key)
        else:
            cancels.append(order)
    places = tuple(q for q in desired if (q.side, q.price) not in kept)
    return Plan(tuple(cancels), places)


def live_order(view: Mapping[str, Any], market: Market) -> LiveOrder:
    """An order object of the API (decimal strings) -> LiveOrder (integers), exactly."""
    return LiveOrder(
        order_id=str(view["orderId"]),
        market=market.symbol,
        side=Side(view["kind"]),
        price=market.parse_price(view["price"]),
        remaining=lots(view["quantity"], market) - lots(view["executedQuantity"], market),
        client_order_id=view.get("clientOrderId"),
    )


def lots(text: object, market: Market) -> int:
    """A quantity string -> lots, exactly; "0" is 0 (to_units refuses zero; minQuantity is no bound here)."""
    if parse_decimal(text) == 0:
        return 0
    return to_units(text, market.lot_size)


def own_mid(orders: Iterable[LiveOrder]) -> int | None:
    """The middle of the maker's own best bid and best ask (ticks, rounded down); None without both."""
    bids = [o.price for o in orders if o.side is Side.BUY]
    asks = [o.price for o in orders if o.side is Side.SELL]
    if not bids or not asks:
        return None
    return (max(bids) + min(asks)) // 2
