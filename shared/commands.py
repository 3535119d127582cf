"""Commands: what the engine is asked to do. Immutable, integer units only.

Every command carries ``ts``, the time in ms at which the engine runner accepted it: the engine never
reads a clock, so the same commands always produce the same events. Commands are
:class:`shared.messages.Message` records (why not NamedTuples: see that module).
"""

from __future__ import annotations

from typing import ClassVar, Final, final

from shared.messages import Message
from shared.types import OrderType, Side, TimeInForce


@final
class Deposit(Message):
    """Credit a user's available balance (the demo on-ramp)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("user_id", "asset", "amount", "ts")
    __slots__ = FIELDS

    def __init__(self, user_id: str, asset: str, amount: int, ts: int) -> None:
        self.user_id: Final = user_id
        self.asset: Final = asset
        self.amount: Final = amount  # minor units of the asset
        self.ts: Final = ts


@final
class PlaceOrder(Message):
    """Place a limit or market order."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "user_id", "market", "side", "order_type", "price", "quantity", "time_in_force", "post_only",
        "client_order_id", "ts",
    )
    __slots__ = FIELDS

    def __init__(
        self,
        user_id: str,
        market: str,
        side: Side,
        order_type: OrderType,
        price: int | None,
        quantity: int,
        time_in_force: TimeInForce,
        post_only: bool,
        client_order_id: str | None,
        ts: int,
    ) -> None:
        self.user_id: Final = user_id
        self.market: Final = market
        self.side: Final = side
        self.order_type: Final = order_type
        self.price: Final = price  # ticks; None for a market order
        self.quantity: Final = quantity  # lots
        self.time_in_force: Final = time_in_force
        self.post_only: Final = post_only
        self.client_order_id: Final = client_order_id
        self.ts: Final = ts


@final
class CancelOrder(Message):
    """Cancel one of the user's open orders."""

    FIELDS: ClassVar[tuple[str, ...]] = ("user_id", "order_id", "ts")
    __slots__ = FIELDS

    def __init__(self, user_id: str, order_id: int, ts: int) -> None:
        self.user_id: Final = user_id
        self.order_id: Final = order_id
        self.ts: Final = ts


@final
class CancelAll(Message):
    """Cancel all the user's open orders, of one market or (market None) of all."""

    FIELDS: ClassVar[tuple[str, ...]] = ("user_id", "market", "ts")
    __slots__ = FIELDS

    def __init__(self, user_id: str, market: str | None, ts: int) -> None:
        self.user_id: Final = user_id
        self.market: Final = market
        self.ts: Final = ts


Command = Deposit | PlaceOrder | CancelOrder | CancelAll
