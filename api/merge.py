"""Combining the replies of several engine shards into one answer (only when there are several).

With the default single shard (``all``) every reply is passed through unchanged; these run only for
GET /balances, POST /deposit, GET /orders and DELETE /orders across shards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from api.engine_client import EngineReply
from shared.markets import MarketsConfig
from shared.views import parse_order_id


def first_error(replies: Sequence[EngineReply]) -> EngineReply | None:
    return next((reply for reply in replies if not reply.ok), None)


def merge_orders(replies: Sequence[EngineReply]) -> bytes:
    """Lists of order objects from several shards -> one list, oldest first (createdAt, then id)."""
    orders: list[dict[str, Any]] = []
    for reply in replies:
        orders.extend(orjson.loads(reply.body))
    orders.sort(key=_order_key)
    return orjson.dumps(orders)


def _order_key(order: Mapping[str, Any]) -> tuple[int, int, str]:
    parsed = parse_order_id(order["orderId"])
    return order["createdAt"], parsed[1] if parsed else 0, order["orderId"]


def merge_balances(by_shard: Mapping[str, EngineReply], ownership: Mapping[str, str],
                   markets: MarketsConfig) -> bytes:
    """Every asset of the exchange, each taken from the shard that owns it (zeros when none does)."""
    decoded = {shard: orjson.loads(reply.body) for shard, reply in by_shard.items()}
    result: dict[str, Any] = {}
    for symbol, asset in markets.assets.items():
        owner = ownership.get(f"asset:{symbol}")
        balance = decoded.get(owner, {}).get(symbol) if owner is not None else None
        result[symbol] = balance or {"available": asset.format(0), "locked": asset.format(0)}
    return orjson.dumps(result)
