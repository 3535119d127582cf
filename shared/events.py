"""Events: what the engine did. Immutable, integer units only, each with its command's ``seq`` and ``ts``.

One command produces, in this order: for every fill a ``Trade`` then the maker's ``OrderUpdated``;
then the command's own order(s) ``OrderUpdated``; then one ``BalanceChanged`` per (user, asset) it
touched; then one ``DepthUpdate`` per market whose book it changed. A rejected command produces exactly
one ``Rejected`` and changes nothing. These are enough for the API reply, every WebSocket stream and
the DB writer, so none of them re-derives engine state.

An order's id is the ``seq`` of the command that placed it (unique and increasing within an engine).

Events are :class:`shared.messages.Message` records (why not NamedTuples: see that module).
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, final

import orjson

from shared.errors import ErrorCode
from shared.messages import Message
from shared.types import OrderStatus, OrderType, Side, TimeInForce


@final
class Fill(Message):
    """A trade as one order saw it."""

    FIELDS: ClassVar[tuple[str, ...]] = ("trade_id", "price", "quantity", "ts")
    __slots__ = FIELDS

    def __init__(self, trade_id: int, price: int, quantity: int, ts: int) -> None:
        self.trade_id: Final = trade_id
        self.price: Final = price  # ticks
        self.quantity: Final = quantity  # lots
        self.ts: Final = ts

    def astuple(self) -> tuple[Any, ...]:
        return (self.trade_id, self.price, self.quantity, self.ts)


@final
class OrderState(Message):
    """An order as it stands: the API's order object, in integer units."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "order_id", "user_id", "market", "side", "order_type", "price", "quantity", "executed_quantity",
        "executed_quote", "status", "time_in_force", "post_only", "client_order_id", "created_at", "fills",
    )
    __slots__ = FIELDS

    def __init__(
        self,
        order_id: int,
        user_id: str,
        market: str,
        side: Side,
        order_type: OrderType,
        price: int | None,
        quantity: int,
        executed_quantity: int,
        executed_quote: int,
        status: OrderStatus,
        time_in_force: TimeInForce,
        post_only: bool,
        client_order_id: str | None,
        created_at: int,
        fills: tuple[Fill, ...],
    ) -> None:
        self.order_id: Final = order_id
        self.user_id: Final = user_id
        self.market: Final = market
        self.side: Final = side
        self.order_type: Final = order_type
        self.price: Final = price  # ticks; None for a market order
        self.quantity: Final = quantity  # lots
        self.executed_quantity: Final = executed_quantity  # lots
        self.executed_quote: Final = executed_quote  # quote minor units
        self.status: Final = status
        self.time_in_force: Final = time_in_force
        self.post_only: Final = post_only
        self.client_order_id: Final = client_order_id
        self.created_at: Final = created_at
        self.fills: Final = fills  # oldest first

    def astuple(self) -> tuple[Any, ...]:
        return (
            self.order_id, self.user_id, self.market, self.side, self.order_type, self.price, self.quantity,
            self.executed_quantity, self.executed_quote, self.status, self.time_in_force, self.post_only,
            self.client_order_id, self.created_at, self.fills
        )


@final
class OrderUpdated(Message):
    """An order changed (placed, filled, cancelled, expired): its state after the command."""

    FIELDS: ClassVar[tuple[str, ...]] = ("seq", "ts", "order")
    __slots__ = FIELDS

    def __init__(self, seq: int, ts: int, order: OrderState) -> None:
        self.seq: Final = seq
        self.ts: Final = ts
        self.order: Final = order

    def astuple(self) -> tuple[Any, ...]:
        return (self.seq, self.ts, self.order)


@final
class Trade(Message):
    """One match between a resting (maker) order and an incoming (taker) order."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "seq", "ts", "market", "trade_id", "price", "quantity", "quote_quantity", "taker_side",
        "maker_order_id", "taker_order_id", "maker_user_id", "taker_user_id",
    )
    __slots__ = FIELDS

    def __init__(
        self,
        seq: int,
        ts: int,
        market: str,
        trade_id: int,
        price: int,
        quantity: int,
        quote_quantity: int,
        taker_side: Side,
        maker_order_id: int,
        taker_order_id: int,
        maker_user_id: str,
        taker_user_id: str,
    ) -> None:
        self.seq: Final = seq
        self.ts: Final = ts
        self.market: Final = market
        self.trade_id: Final = trade_id
        self.price: Final = price  # ticks, the maker's price
        self.quantity: Final = quantity  # lots
        self.quote_quantity: Final = quote_quantity  # quote minor units
        self.taker_side: Final = taker_side
        self.maker_order_id: Final = maker_order_id
        self.taker_order_id: Final = taker_order_id
        self.maker_user_id: Final = maker_user_id
        self.taker_user_id: Final = taker_user_id

    @property
    def is_buyer_maker(self) -> bool:
        return self.taker_side is Side.SELL

    def astuple(self) -> tuple[Any, ...]:
        return (
            self.seq, self.ts, self.market, self.trade_id, self.price, self.quantity, self.quote_quantity,
            self.taker_side, self.maker_order_id, self.taker_order_id, self.maker_user_id,
            self.taker_user_id
        )


@final
class BalanceChanged(Message):
    """A user's balance of one asset after the command, with the command's change."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "seq", "ts", "user_id", "asset", "available", "locked", "delta_available", "delta_locked",
    )
    __slots__ = FIELDS

    def __init__(
        self,
        seq: int,
        ts: int,
        user_id: str,
        asset: str,
        available: int,
        locked: int,
        delta_available: int,
        delta_locked: int,
    ) -> None:
        self.seq: Final = seq
        self.ts: Final = ts
        self.user_id: Final = user_id
        self.asset: Final = asset
        self.available: Final = available  # minor units after the command
        self.locked: Final = locked
        self.delta_available: Final = delta_available  # change made by this command
        self.delta_locked: Final = delta_locked

    def astuple(self) -> tuple[Any, ...]:
        return (
            self.seq, self.ts, self.user_id, self.asset, self.available, self.locked, self.delta_available,
            self.delta_locked
        )


@final
class DepthUpdate(Message):
    """The levels of one market this command changed; quantity 0 removes a level.

    ``depth_seq`` counts the changes of this market's book: one per command that changed it."""

    FIELDS: ClassVar[tuple[str, ...]] = ("seq", "ts", "market", "depth_seq", "bids", "asks")
    __slots__ = FIELDS

    def __init__(
        self,
        seq: int,
        ts: int,
        market: str,
        depth_seq: int,
        bids: tuple[tuple[int, int], ...],
        asks: tuple[tuple[int, int], ...],
    ) -> None:
        self.seq: Final = seq
        self.ts: Final = ts
        self.market: Final = market
        self.depth_seq: Final = depth_seq
        self.bids: Final = bids  # (price ticks, total lots), best first
        self.asks: Final = asks

    def astuple(self) -> tuple[Any, ...]:
        return (self.seq, self.ts, self.market, self.depth_seq, self.bids, self.asks)


@final
class Rejected(Message):
    """The command was refused and changed nothing."""

    FIELDS: ClassVar[tuple[str, ...]] = ("seq", "ts", "user_id", "code", "message", "order_id")
    __slots__ = FIELDS

    def __init__(
        self,
        seq: int,
        ts: int,
        user_id: str,
        code: ErrorCode,
        message: str,
        order_id: int | None,
    ) -> None:
        self.seq: Final = seq
        self.ts: Final = ts
        self.user_id: Final = user_id
        self.code: Final = code
        self.message: Final = message
        self.order_id: Final = order_id  # the existing order, for DUPLICATE_CLIENT_ORDER_ID

    def astuple(self) -> tuple[Any, ...]:
        return (self.seq, self.ts, self.user_id, self.code, self.message, self.order_id)


Event = OrderUpdated | Trade | BalanceChanged | DepthUpdate | Rejected

EVENT_TYPES: dict[str, type[Message]] = {
    "order": OrderUpdated,
    "trade": Trade,
    "balance": BalanceChanged,
    "depth": DepthUpdate,
    "rejected": Rejected,
}
_TYPE_NAMES: dict[type[Message], str] = {cls: name for name, cls in EVENT_TYPES.items()}


# What the DB writer stores (db_writer/rows.py); depth updates and rejections are not sent to it.
STORED_EVENT_TYPES: frozenset[type[Message]] = frozenset({OrderUpdated, Trade, BalanceChanged})


def _plain(event: Message, with_fills: bool = True) -> list[Any]:
    """``[type, field1, ...]`` with nested records as lists too (orjson's ``default`` hook costs a
    Python call per nested record; the order with its fills is spelled out instead)."""
    if isinstance(event, OrderUpdated):
        o = event.order
        fills = [[f.trade_id, f.price, f.quantity, f.ts] for f in o.fills] if with_fills else []
        return ["order", event.seq, event.ts, [
            o.order_id, o.user_id, o.market, o.side, o.order_type, o.price, o.quantity, o.executed_quantity,
            o.executed_quote, o.status, o.time_in_force, o.post_only, o.client_order_id, o.created_at, fills]]
    return [_TYPE_NAMES[type(event)], *event.astuple()]


def encode_event(event: Message) -> bytes:
    """Serialise an event to canonical JSON bytes: ``[type, field1, field2, ...]`` in field order."""
    return orjson.dumps(_plain(event))


def encode_events(events: list[Event]) -> bytes:
    """Serialise a list of events the same way, as one JSON array."""
    return orjson.dumps([_plain(e) for e in events])


def stored_events(events: list[Event]) -> list[Event]:
    """The events the DB writer stores (STORED_EVENT_TYPES), in order."""
    return [e for e in events if type(e) in STORED_EVENT_TYPES]


def encode_stored_events(events: list[Event]) -> bytes:
    """The DB writer's stream entry as the engine wrote it until 2026-11-26 (field ``e``; the writer still
    reads it): like ``encode_events``, but every order state with ``fills`` empty.

    The writer takes fills from the trade events; an order's own list would repeat all of its fills so
    far in every update, so an order filled n times would send O(n**2) of them.
    """
    return orjson.dumps([_plain(e, False) for e in events])


def encode_stored_rows(events: list[Event]) -> tuple[bytes, bytes, bytes]:
    """The DB writer's stream entry, grouped per table: the JSON of the trades, of the order updates and
    of the balance changes, each an array of flat rows in the order of the writer's COPY columns.

    A trade or balance change is its ``FIELDS``; an order update is its command's ``seq`` and ``ts`` then
    the order's fields without ``fills`` (the writer takes fills from the trades). Grouped so that the
    writer can turn the engine's own JSON into COPY data table by table, without encoding it again.
    """
    trades: list[Any] = []
    orders: list[Any] = []
    balances: list[Any] = []
    for e in events:
        if isinstance(e, Trade):
            trades.append(e.astuple())
        elif isinstance(e, BalanceChanged):
            balances.append(e.astuple())
        elif isinstance(e, OrderUpdated):
            o = e.order
            orders.append((e.seq, e.ts, o.order_id, o.user_id, o.market, o.side, o.order_type, o.price,
                           o.quantity, o.executed_quantity, o.executed_quote, o.status, o.time_in_force,
                           o.post_only, o.client_order_id, o.created_at))
    return orjson.dumps(trades), orjson.dumps(orders), orjson.dumps(balances)
