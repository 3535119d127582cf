"""Events: what the engine did. Immutable, integer units only, each with its command's ``seq`` and ``ts``.

One command produces, in this order: for every fill a ``Trade`` then the maker's ``OrderUpdated``;
then the command's own order(s) ``OrderUpdated``; then one ``BalanceChanged`` per (user, asset) it
touched; then one ``DepthUpdate`` per market whose book it changed. A rejected command produces exactly
one ``Rejected`` and changes nothing. These are enough for the API reply, every WebSocket stream and
the DB writer, so none of them re-derives engine state.

An order's id is the ``seq`` of the command that placed it (unique and increasing within an engine).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from shared.errors import ErrorCode
from shared.types import OrderStatus, OrderType, Side, TimeInForce


class Fill(NamedTuple):
    trade_id: int
    price: int  # ticks
    quantity: int  # lots
    ts: int


class OrderState(NamedTuple):
    """An order as it stands: the API's order object, in integer units."""

    order_id: int
    user_id: str
    market: str
    side: Side
    order_type: OrderType
    price: int | None
    quantity: int
    executed_quantity: int
    executed_quote: int  # quote minor units
    status: OrderStatus
    time_in_force: TimeInForce
    post_only: bool
    client_order_id: str | None
    created_at: int
    fills: tuple[Fill, ...]


class OrderUpdated(NamedTuple):
    seq: int
    ts: int
    order: OrderState


class Trade(NamedTuple):
    seq: int
    ts: int
    market: str
    trade_id: int
    price: int  # ticks, the maker's price
    quantity: int  # lots
    quote_quantity: int  # quote minor units
    taker_side: Side
    maker_order_id: int
    taker_order_id: int
    maker_user_id: str
    taker_user_id: str

    @property
    def is_buyer_maker(self) -> bool:
        return self.taker_side is Side.SELL


class BalanceChanged(NamedTuple):
    seq: int
    ts: int
    user_id: str
    asset: str
    available: int  # minor units after the command
    locked: int
    delta_available: int  # change made by this command
    delta_locked: int


class DepthUpdate(NamedTuple):
    """The levels of one market this command changed; quantity 0 removes a level.

    ``depth_seq`` counts the changes of this market's book: one per command that changed it.
    """

    seq: int
    ts: int
    market: str
    depth_seq: int
    bids: tuple[tuple[int, int], ...]  # (price ticks, total lots), best first
    asks: tuple[tuple[int, int], ...]


class Rejected(NamedTuple):
    seq: int
    ts: int
    user_id: str
    code: ErrorCode
    message: str
    order_id: int | None  # the existing order, for DUPLICATE_CLIENT_ORDER_ID


Event = OrderUpdated | Trade | BalanceChanged | DepthUpdate | Rejected

EVENT_TYPES: dict[str, type[Any]] = {
    "order": OrderUpdated,
    "trade": Trade,
    "balance": BalanceChanged,
    "depth": DepthUpdate,
    "rejected": Rejected,
}
_TYPE_NAMES = {cls: name for name, cls in EVENT_TYPES.items()}


def _nested_tuple(value: object) -> list[Any]:
    # orjson serialises plain tuples but not their subclasses (the nested NamedTuples).
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_event(event: Event) -> bytes:
    """Serialise an event to canonical JSON bytes: ``[type, field1, field2, ...]`` in field order."""
    return orjson.dumps([_TYPE_NAMES[type(event)], *event], default=_nested_tuple)


def encode_events(events: list[Event]) -> bytes:
    """Serialise a list of events the same way, as one JSON array."""
    return orjson.dumps([[_TYPE_NAMES[type(e)], *e] for e in events], default=_nested_tuple)
