"""Commands: what the engine is asked to do. Immutable, integer units only.

Every command carries ``ts``, the time in ms at which the engine runner accepted it: the engine never
reads a clock, so the same commands always produce the same events. Commands are
:class:`shared.messages.Message` records (why not NamedTuples: see that module).

A command checks the *types* of its fields when it is built and raises ``TypeError`` for a wrong one
(a bool is not an int, a str is not a Side), in the compiled and the pure-Python build alike. So an
ill-typed command never reaches the engine; the engine checks the *values* (market, grid, bounds,
balances) and answers with a ``Rejected`` event. The parameters are typed ``object`` on purpose: with
``int`` the compiled build would turn ``True`` into ``1`` before the check could see it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, final

import orjson

from shared.messages import Message
from shared.types import OrderType, Side, TimeInForce


def _int(name: str, value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _str(name: str, value: object) -> str:
    if type(value) is not str:
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _optional_int(name: str, value: object) -> int | None:
    return None if value is None else _int(name, value)


def _optional_str(name: str, value: object) -> str | None:
    return None if value is None else _str(name, value)


def _bool(name: str, value: object) -> bool:
    if type(value) is not bool:
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value


def _side(value: object) -> Side:
    if not isinstance(value, Side):
        raise TypeError(f"side must be a Side, not {type(value).__name__}")
    return value


def _order_type(value: object) -> OrderType:
    if not isinstance(value, OrderType):
        raise TypeError(f"order_type must be an OrderType, not {type(value).__name__}")
    return value


def _time_in_force(value: object) -> TimeInForce:
    if not isinstance(value, TimeInForce):
        raise TypeError(f"time_in_force must be a TimeInForce, not {type(value).__name__}")
    return value


@final
class Deposit(Message):
    """Credit a user's available balance (the demo on-ramp)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("user_id", "asset", "amount", "ts")
    __slots__ = FIELDS

    def __init__(self, user_id: object, asset: object, amount: object, ts: object) -> None:
        self.user_id: Final = _str("user_id", user_id)
        self.asset: Final = _str("asset", asset)
        self.amount: Final = _int("amount", amount)  # minor units of the asset
        self.ts: Final = _int("ts", ts)


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
        user_id: object,
        market: object,
        side: object,
        order_type: object,
        price: object,
        quantity: object,
        time_in_force: object,
        post_only: object,
        client_order_id: object,
        ts: object,
    ) -> None:
        self.user_id: Final = _str("user_id", user_id)
        self.market: Final = _str("market", market)
        self.side: Final = _side(side)
        self.order_type: Final = _order_type(order_type)
        self.price: Final = _optional_int("price", price)  # ticks; None for a market order
        self.quantity: Final = _int("quantity", quantity)  # lots
        self.time_in_force: Final = _time_in_force(time_in_force)
        self.post_only: Final = _bool("post_only", post_only)
        self.client_order_id: Final = _optional_str("client_order_id", client_order_id)
        self.ts: Final = _int("ts", ts)


@final
class CancelOrder(Message):
    """Cancel one of the user's open orders."""

    FIELDS: ClassVar[tuple[str, ...]] = ("user_id", "order_id", "ts")
    __slots__ = FIELDS

    def __init__(self, user_id: object, order_id: object, ts: object) -> None:
        self.user_id: Final = _str("user_id", user_id)
        self.order_id: Final = _int("order_id", order_id)
        self.ts: Final = _int("ts", ts)


@final
class CancelAll(Message):
    """Cancel all the user's open orders, of one market or (market None) of all."""

    FIELDS: ClassVar[tuple[str, ...]] = ("user_id", "market", "ts")
    __slots__ = FIELDS

    def __init__(self, user_id: object, market: object, ts: object) -> None:
        self.user_id: Final = _str("user_id", user_id)
        self.market: Final = _optional_str("market", market)
        self.ts: Final = _int("ts", ts)


Command = Deposit | PlaceOrder | CancelOrder | CancelAll


def command_row(command: Message) -> list[Any]:
    """A command as its journal row ``[kind, field, ...]`` (engine/journal.py decodes it); enums stay
    members, orjson writes their values. TypeError for anything that is not a command."""
    if isinstance(command, PlaceOrder):
        return ["place", command.user_id, command.market, command.side, command.order_type, command.price,
                command.quantity, command.time_in_force, command.post_only, command.client_order_id,
                command.ts]
    if isinstance(command, CancelOrder):
        return ["cancel", command.user_id, command.order_id, command.ts]
    if isinstance(command, CancelAll):
        return ["cancel_all", command.user_id, command.market, command.ts]
    if isinstance(command, Deposit):
        return ["deposit", command.user_id, command.asset, command.amount, command.ts]
    raise TypeError(f"not a command: {type(command).__name__}")


def encode_command_rows(commands: list[Command]) -> bytes:
    """The journal entry of a batch: its commands' rows as one JSON array (compiled: one per batch)."""
    return orjson.dumps([command_row(command) for command in commands])
