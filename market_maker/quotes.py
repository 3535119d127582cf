"""Desired quotes vs the orders that rest: what to cancel and what to place, pure.

The live side is the exchange's own answer (``GET /orders``), so whatever a crash, a retry or an older
run left behind is seen here and reconciled: per (side, price) at most one order is kept, every other
order is cancelled. Nothing moves when nothing changed: an order at a desired price is kept unless too
little of it is left (less than half: a mostly eaten level is refilled) or it is larger than wanted.

Places go out together with the cancels when that is safe (:func:`split`), so the book does not lose a
level for a round trip every time the ladder shifts; the others wait for the cancels: those that would
cross one of the maker's own orders being cancelled (postOnly would refuse them), that reuse the price of
one (the book would briefly show both) or that need the funds the cancels free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from market_maker.strategy import Holdings, Quote
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


def split(places: Sequence[Quote], cancels: Sequence[LiveOrder], free: Holdings,
          market: Market) -> tuple[tuple[Quote, ...], tuple[Quote, ...]]:
    """(places to send with the cancels, places to send after them); ``free`` is the available balance."""
    gone = {(o.side, o.price) for o in cancels}
    lowest_ask = min((o.price for o in cancels if o.side is Side.SELL), default=None)
    highest_bid = max((o.price for o in cancels if o.side is Side.BUY), default=None)
    quote_left, base_left = free.quote_minor, free.base_lots
    early: list[Quote] = []
    late: list[Quote] = []
    for quote in places:
        if quote.side is Side.BUY:
            cost = quote.price * quote.quantity * market.quote_per_tick_lot
            crosses = lowest_ask is not None and quote.price >= lowest_ask
            funded = cost <= quote_left
        else:
            cost = quote.quantity
            crosses = highest_bid is not None and quote.price <= highest_bid
            funded = cost <= base_left
        if crosses or not funded or (quote.side, quote.price) in gone:
            late.append(quote)
        elif quote.side is Side.BUY:
            early.append(quote)
            quote_left -= cost
        else:
            early.append(quote)
            base_left -= cost
    return tuple(early), tuple(late)


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
