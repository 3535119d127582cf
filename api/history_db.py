"""Reads of the DB writer's tables (docs/db-writer.md) that complete what the engine and Redis keep.

- :func:`stored_order`: an order the engine has forgotten (it keeps closed orders ~24 h), as the
  ``orders`` row of its final state plus the ``trades`` naming it, rendered by ``shared.views`` exactly as
  the engine renders a live order.
- :func:`trades_before`: public trades older than the ones in the Redis list, newest first (PostgreSQL
  away: none, so that market data keeps working without it).
- :func:`fetch`: one query on the API's pool; no tables yet (the writer never ran) is no rows, PostgreSQL
  away is ``503 SERVICE_UNAVAILABLE``.

Everything is integers (ticks, lots, minor units; NUMERIC columns come back as exact ``Decimal`` integers
and are turned into ``int``) until ``shared.views`` renders the decimal strings.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg

from api.errors import SERVICE_UNAVAILABLE, ApiError
from api.services import Services
from shared.events import Fill, OrderState, Trade
from shared.markets import Market
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from shared.views import order_view, trade_view

log = logging.getLogger("api.history")

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

_ORDER = """
SELECT order_id, user_id, market, side, order_type, price, quantity, executed_quantity, executed_quote,
       status, time_in_force, post_only, client_order_id, created_at, updated_at
FROM orders WHERE market = $1 AND order_id = $2 AND user_id = $3
"""
# An order's fills: the trades naming it, found through the (user, ts) indexes of each side within the
# order's life (created_at .. the command that last changed it), so no extra index per trade is needed.
_ORDER_FILLS = """
SELECT trade_id, price, quantity, ts FROM (
    SELECT trade_id, price, quantity, ts FROM trades
    WHERE maker_user_id = $3 AND ts BETWEEN $4 AND $5 AND market = $1 AND maker_order_id = $2
    UNION ALL
    SELECT trade_id, price, quantity, ts FROM trades
    WHERE taker_user_id = $3 AND ts BETWEEN $4 AND $5 AND market = $1 AND taker_order_id = $2
) AS fills ORDER BY trade_id
"""
_TRADES_BEFORE = """
SELECT trade_id, price, quantity, quote_quantity, taker_side, ts FROM trades
WHERE market = $1 AND trade_id < $2 ORDER BY trade_id DESC LIMIT $3
"""


async def fetch(services: Services, query: str, *args: Any) -> list[Any]:
    """The rows of ``query``; [] before the writer created its tables; 503 when PostgreSQL is away."""
    try:
        return await services.auth.pool.fetch(query, *args)
    except asyncpg.UndefinedTableError:
        return []  # the DB writer has not created its tables yet: no history so far
    except _DB_ERRORS as exc:
        log.warning("PostgreSQL unavailable: %s", exc)
        raise ApiError(SERVICE_UNAVAILABLE, "the history database is unavailable", status=503) from exc


async def stored_order(services: Services, user: str, market: Market, order_id: int) -> dict[str, Any] | None:
    """The order object of the caller's order from the database; None when it has no such order."""
    rows = await fetch(services, _ORDER, market.symbol, order_id, user)
    if not rows:
        return None
    row = rows[0]
    fills = await fetch(services, _ORDER_FILLS, market.symbol, order_id, user, row["created_at"],
                        row["updated_at"])
    state = OrderState(
        row["order_id"], row["user_id"], row["market"], Side(row["side"]), OrderType(row["order_type"]),
        row["price"], row["quantity"], row["executed_quantity"], int(row["executed_quote"]),
        OrderStatus(row["status"]), TimeInForce(row["time_in_force"]), row["post_only"],
        row["client_order_id"], row["created_at"],
        tuple(Fill(f["trade_id"], f["price"], f["quantity"], f["ts"]) for f in fills))
    return order_view(state, market)


async def trades_before(services: Services, market: Market, before_id: int,
                        limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` public trades of ``market`` with an id below ``before_id``, newest first.

    Market data must not depend on PostgreSQL: when it is away this answers [] (the caller has the
    trades Redis holds). A market with fewer trades than asked for would otherwise query the database
    on every request; after a short answer, the same question is answered [] for ``_NOTHING_OLDER_S``
    (the writer may still be storing older trades: it follows the engine by up to ~2 s).
    """
    key = (services.config.common.database_url, market.symbol, before_id)
    now = time.monotonic()
    if _nothing_older.get(key, 0.0) > now:
        return []
    try:
        rows = await fetch(services, _TRADES_BEFORE, market.symbol, before_id, limit)
    except ApiError:
        return []
    if len(rows) < limit:
        if len(_nothing_older) > 1000:
            _nothing_older.clear()
        _nothing_older[key] = now + _NOTHING_OLDER_S
    # The view needs only these fields of a trade; the others (seq, orders, users) are not public.
    return [trade_view(Trade(0, row["ts"], market.symbol, row["trade_id"], row["price"], row["quantity"],
                             int(row["quote_quantity"]), Side(row["taker_side"]), 0, 0, "", ""), market)
            for row in rows]


_NOTHING_OLDER_S = 1.0
_nothing_older: dict[tuple[str, str, int], float] = {}  # (db, market, before id) -> until when it had too few
