"""Commands: what the engine is asked to do. Immutable, integer units only.

Every command carries ``ts``, the time in ms at which the engine runner accepted it: the engine never
reads a clock, so the same commands always produce the same events. Commands are NamedTuples rather than
frozen dataclasses: just as immutable, and several times cheaper to build and read on the hot path
(see docs/benchmarks.md).
"""

from __future__ import annotations

from typing import NamedTuple

from shared.types import OrderType, Side, TimeInForce


class Deposit(NamedTuple):
    user_id: str
    asset: str
    amount: int  # minor units of the asset
    ts: int


class PlaceOrder(NamedTuple):
    user_id: str
    market: str
    side: Side
    order_type: OrderType
    price: int | None  # ticks; None for a market order
    quantity: int  # lots
    time_in_force: TimeInForce
    post_only: bool
    client_order_id: str | None
    ts: int


class CancelOrder(NamedTuple):
    user_id: str
    order_id: int
    ts: int


class CancelAll(NamedTuple):
    user_id: str
    market: str | None  # None: every market
    ts: int


Command = Deposit | PlaceOrder | CancelOrder | CancelAll
