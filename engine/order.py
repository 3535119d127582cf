"""The engine's mutable order record. Only the engine changes it; others see :class:`OrderState`."""

from __future__ import annotations

from shared.events import Fill, OrderState
from shared.types import OrderStatus, OrderType, Side, TimeInForce


class Order:
    """One order: ``remaining`` lots are unfilled; once closed they are what was cancelled or expired."""

    __slots__ = (
        "client_order_id",
        "closed_at",
        "created_at",
        "executed_quote",
        "fills",
        "market",
        "next",
        "order_id",
        "order_type",
        "post_only",
        "prev",
        "price",
        "quantity",
        "remaining",
        "side",
        "status",
        "time_in_force",
        "user_id",
    )

    def __init__(
        self,
        order_id: int,
        user_id: str,
        market: str,
        side: Side,
        order_type: OrderType,
        price: int | None,
        quantity: int,
        time_in_force: TimeInForce,
        post_only: bool,
        client_order_id: str | None,
        created_at: int,
    ) -> None:
        self.order_id = order_id
        self.user_id = user_id
        self.market = market
        self.side = side
        self.order_type = order_type
        self.price = price
        self.quantity = quantity
        self.remaining = quantity
        self.executed_quote = 0
        self.status = OrderStatus.NEW
        self.time_in_force = time_in_force
        self.post_only = post_only
        self.client_order_id = client_order_id
        self.created_at = created_at
        self.closed_at: int | None = None
        self.fills: list[Fill] = []
        # Neighbours in its price level's FIFO while it rests (an intrusive doubly linked list).
        self.prev: Order | None = None
        self.next: Order | None = None

    def state(self) -> OrderState:
        """An immutable copy of the order as it stands now."""
        return OrderState(
            self.order_id,
            self.user_id,
            self.market,
            self.side,
            self.order_type,
            self.price,
            self.quantity,
            self.quantity - self.remaining,
            self.executed_quote,
            self.status,
            self.time_in_force,
            self.post_only,
            self.client_order_id,
            self.created_at,
            tuple(self.fills),
        )
