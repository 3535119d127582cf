"""Commands as journal entries: JSON lists that decode back to the identical command.

The journal is the engine's input log: replaying its entries through a fresh engine (or one restored
from a snapshot) reproduces the state exactly, because each command carries its own ``ts``.
"""

from __future__ import annotations

from typing import Any

import orjson

from shared.commands import (
    CancelAll,
    CancelOrder,
    Command,
    Deposit,
    PlaceOrder,
    command_row,
    encode_command_rows,
)
from shared.types import OrderType, Side, TimeInForce


class JournalError(ValueError):
    """An entry that is not an encoded command."""


def encode_command(command: Command) -> list[Any]:
    """``[kind, field, ...]``; enums become their values when encoded (``shared.commands.command_row``)."""
    try:
        return command_row(command)
    except TypeError as exc:
        raise JournalError(str(exc)) from None


def decode_command(entry: list[Any]) -> Command:
    """The inverse of encode_command; JournalError for anything else."""
    if not isinstance(entry, list) or not entry:
        raise JournalError(f"a journal entry must be a non-empty list, not {entry!r:.80}")
    try:
        kind, *fields = entry
        if kind == "place":
            user, market, side, order_type, price, quantity, tif, post_only, client_id, ts = fields
            return PlaceOrder(user, market, Side(side), OrderType(order_type), price, quantity,
                              TimeInForce(tif), post_only, client_id, ts)
        if kind == "cancel":
            return CancelOrder(*fields)
        if kind == "cancel_all":
            return CancelAll(*fields)
        if kind == "deposit":
            return Deposit(*fields)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"bad journal entry {entry!r:.200}: {exc}") from exc
    raise JournalError(f"unknown journal entry kind {entry[0]!r:.40}")


def encode_batch(commands: list[Command]) -> bytes:
    try:
        return encode_command_rows(commands)
    except TypeError as exc:
        raise JournalError(str(exc)) from None


def decode_batch(raw: bytes) -> list[Command]:
    try:
        entries = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise JournalError(f"journal entry is not JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise JournalError("journal entry is not a list")
    return [decode_command(e) for e in entries]
