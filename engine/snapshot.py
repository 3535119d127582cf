"""Snapshot and restore: the whole engine state as canonical JSON bytes and back.

The bytes are canonical (sorted keys, orders listed in book/FIFO order), so equal states give equal
bytes and ``state_hash`` can compare two engines. A restored engine fed the rest of a command stream
produces exactly the events of one that never stopped.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from engine.balances import Balance
from engine.core import Engine
from engine.order import Order
from shared.events import Fill
from shared.markets import MarketsConfig
from shared.types import OrderStatus, OrderType, Side, TimeInForce

FORMAT_VERSION = 1


class SnapshotError(ValueError):
    """The snapshot does not fit these markets or is not a snapshot of this format."""


def dump(engine: Engine) -> bytes:
    """Serialise the engine's whole state."""
    return orjson.dumps(to_state(engine), option=orjson.OPT_SORT_KEYS)


def load(data: bytes, markets: MarketsConfig) -> Engine:
    """Rebuild an engine from ``dump`` output; the markets must be the ones it was taken with."""
    return from_state(orjson.loads(data), markets)


def to_state(engine: Engine) -> dict[str, Any]:
    """The engine's whole state as plain JSON-able data."""
    books = {}
    for symbol, book in engine.books.items():
        books[symbol] = {
            "depthSeq": book.depth_seq,
            "bids": [o.order_id for level in reversed(book.bids.values()) for o in level.orders()],
            "asks": [o.order_id for level in book.asks.values() for o in level.orders()],
        }
    state = {
        "version": FORMAT_VERSION,
        "markets": sorted(engine.markets),
        "retentionMs": engine.retention_ms,
        "seq": engine.seq,
        "nextTradeId": engine.next_trade_id,
        "accounts": {
            user: {asset: [b.available, b.locked] for asset, b in account.items()}
            for user, account in engine.accounts.items()
        },
        "orders": [_order_to_list(o) for o in engine.orders.values()],
        "closed": [order.order_id for order in engine.closed],
        "books": books,
    }
    return state


def from_state(state: dict[str, Any], markets: MarketsConfig) -> Engine:
    """Rebuild an engine from ``to_state`` data; the markets must be the ones it was taken with."""
    if state.get("version") != FORMAT_VERSION:
        raise SnapshotError(f"unsupported snapshot version {state.get('version')!r}")
    if state["markets"] != sorted(markets.markets):
        raise SnapshotError(f"snapshot markets {state['markets']} differ from {sorted(markets.markets)}")
    engine = Engine(markets, closed_order_retention_ms=state["retentionMs"])
    engine.seq = state["seq"]
    engine.next_trade_id = state["nextTradeId"]
    engine.accounts = {
        user: {asset: Balance(user, asset, available, locked)
               for asset, (available, locked) in account.items()}
        for user, account in state["accounts"].items()
    }
    for raw in state["orders"]:
        order = _order_from_list(raw)
        engine.orders[order.order_id] = order
        if order.client_order_id is not None:
            engine.client_ids[(order.user_id, order.client_order_id)] = order.order_id
    for order_id in state["closed"]:
        engine.closed.append(engine.orders[order_id])
    resting: list[Order] = []
    for symbol, raw_book in state["books"].items():
        book = engine.books[symbol]
        book.depth_seq = raw_book["depthSeq"]
        for order_id in raw_book["bids"] + raw_book["asks"]:
            order = engine.orders[order_id]
            book.add(order)
            resting.append(order)
    for order in sorted(resting, key=lambda o: o.order_id):
        engine.open_by_user.setdefault(order.user_id, {})[order.order_id] = order
    return engine


def state_hash(engine: Engine) -> str:
    """A digest of the whole state: equal for engines in the same state."""
    return hashlib.sha256(dump(engine)).hexdigest()


def _order_to_list(o: Order) -> list[Any]:
    return [o.order_id, o.user_id, o.market, o.side.value, o.order_type.value, o.price, o.quantity,
            o.remaining, o.executed_quote, o.status.value, o.time_in_force.value, o.post_only,
            o.client_order_id, o.created_at, o.closed_at, [list(f.astuple()) for f in o.fills]]


def _order_from_list(raw: list[Any]) -> Order:
    (order_id, user_id, market, side, order_type, price, quantity, remaining, executed_quote, status,
     time_in_force, post_only, client_order_id, created_at, closed_at, fills) = raw
    order = Order(order_id, user_id, market, Side(side), OrderType(order_type), price, quantity,
                  TimeInForce(time_in_force), post_only, client_order_id, created_at)
    order.remaining = remaining
    order.executed_quote = executed_quote
    order.status = OrderStatus(status)
    order.closed_at = closed_at
    order.fills = [Fill(*f) for f in fills]
    return order
