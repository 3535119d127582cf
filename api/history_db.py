"""Reads of the DB writer's tables (docs/db-writer.md) that complete what the engine and Redis keep.

- :func:`stored_order`: an order the engine has forgotten (it keeps closed orders ~24 h), as the
  ``order_states`` row of its final state (the view of ``orders`` and ``order_updates``: each order with
  its newest state) plus the ``trades`` naming it, rendered by ``shared.views`` exactly as the engine
  renders a live order.
- :func:`user_orders`: the caller's orders as ``order_states`` holds them (closed ones in their final
  state, open ones in their last stored state), newest first, each with its fills, rendered the same way.
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
from itertools import count
from typing import Any

import asyncpg

from api.errors import SERVICE_UNAVAILABLE, ApiError
from api.services import Services
from db_writer.rows import FILL_SPAN_MS
from shared.events import Fill, OrderState, Trade
from shared.markets import Market
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from shared.views import order_view, trade_view

log = logging.getLogger("api.history")

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

_ORDER = """
SELECT order_id, user_id, market, side, order_type, price, quantity, executed_quantity, executed_quote,
       status, time_in_force, post_only, client_order_id, created_at, updated_at
FROM order_states WHERE market = $1 AND order_id = $2 AND user_id = $3
"""


def _user_trade_keys(user: str, start: str, end: str) -> str:
    """SQL of the keys (market, trade_id) of the user's trades of [start, end] (ms; the arguments are
    parameter placeholders), each once: from the user_fills rows that can hold them. A row's trades lie
    within one minute (last_ts - first_ts < FILL_SPAN_MS: migration 0006), so the scan of
    user_fills_user_last is bounded by the window."""
    return f"""
SELECT DISTINCT r.market, r.trade_id FROM user_fills f,
    unnest(f.markets, f.trade_ids, f.ts) AS r(market, trade_id, ts)
WHERE f.user_id = {user} AND f.last_ts >= {start} AND f.last_ts <= {end}::bigint + {FILL_SPAN_MS - 1}
    AND f.first_ts <= {end} AND r.ts BETWEEN {start} AND {end}"""


# An order's fills: the trades naming it among its user's trades within the order's life (created_at ..
# the command that last changed it), so no index per trade and order is needed.
_ORDER_FILLS = f"""
WITH mine AS ({_user_trade_keys("$3", "$4", "$5")})
SELECT t.trade_id, t.price, t.quantity, t.ts FROM trades t JOIN mine USING (market, trade_id)
WHERE t.market = $1 AND t.ts BETWEEN $4 AND $5
    AND ((t.maker_user_id = $3 AND t.maker_order_id = $2) OR (t.taker_user_id = $3 AND t.taker_order_id = $2))
ORDER BY t.trade_id
"""
_ORDER_COLUMNS = ("order_id, user_id, market, side, order_type, price, quantity, executed_quantity, "
                  "executed_quote, status, time_in_force, post_only, client_order_id, created_at, updated_at")
# The caller's orders newest first, along the (user_id, created_at) index read backwards; ties on createdAt
# by order number, then market (numbers are per engine shard, so two markets may share one).
_USER_ORDERS = f"""
SELECT {_ORDER_COLUMNS} FROM order_states
WHERE user_id = $1 AND created_at BETWEEN $2 AND $3 AND ($4::text IS NULL OR market = $4)
ORDER BY created_at DESC, order_id DESC, market DESC LIMIT $5
"""
# The fills of several of the user's orders at once: the user's trades within the orders' lives, matched
# against the (market, order id, last update) of each order, so a trade stored after the order row's state
# (a later batch) is not shown with it, exactly as _ORDER_FILLS does for one order.
_ORDERS_FILLS = f"""
WITH wanted AS (
    SELECT * FROM unnest($4::text[], $5::bigint[], $6::bigint[], $7::bigint[])
        AS w(market, order_id, created_at, updated_at)
), mine AS ({_user_trade_keys("$1", "$2", "$3")})
SELECT t.market, t.order_id, t.trade_id, t.price, t.quantity, t.ts FROM (
    SELECT t.market, CASE WHEN t.maker_user_id = $1 THEN t.maker_order_id ELSE t.taker_order_id END
               AS order_id, t.trade_id, t.price, t.quantity, t.ts
    FROM trades t JOIN mine USING (market, trade_id) WHERE t.ts BETWEEN $2 AND $3
) AS t JOIN wanted w ON w.market = t.market AND w.order_id = t.order_id
    AND t.ts BETWEEN w.created_at AND w.updated_at
ORDER BY t.trade_id
"""
# A page of the user's user_fills rows, newest (last_ts) first: every row with last_ts in [bound, $2],
# bound being the last_ts of the ($3 + 1)-th newest row at or before $2. Ties with it are all included,
# so the next page (before bound) misses none; bound NULL: no row is left after these. Of the page's
# fills (of market $4, or all) only the newest $5 come back, chosen in PostgreSQL (a market maker's row
# lists thousands), in the order newest_fills sorts them (market names byte by byte: "C"); then one
# more row, without a fill, carries the bound.
_FILL_PAGE = """
WITH bound AS (
    SELECT last_ts FROM user_fills WHERE user_id = $1 AND last_ts <= $2
    ORDER BY last_ts DESC OFFSET $3 LIMIT 1),
newest AS (
    SELECT r.ts, r.market, r.trade_id FROM user_fills f,
        unnest(f.markets, f.trade_ids, f.ts) AS r(market, trade_id, ts)
    WHERE f.user_id = $1 AND f.last_ts <= $2 AND f.last_ts >= coalesce((SELECT last_ts FROM bound), -1)
        AND ($4::text IS NULL OR r.market = $4)
    ORDER BY r.ts DESC, r.market COLLATE "C", r.trade_id DESC LIMIT $5)
SELECT ts, market, trade_id, NULL::bigint AS bound FROM newest
UNION ALL SELECT NULL, NULL, NULL, (SELECT last_ts FROM bound)
"""
# Rows per page: the first pages small (a market maker's rows list thousands of fills each), growing.
FILL_PAGE_ROWS = (8, 32, 128)
_NEWEST = 2**63 - 1  # a bound after every time
_FILL_COLUMNS = ("ts, market, trade_id, price, quantity, quote_quantity, taker_side, maker_order_id, "
                 "taker_order_id, maker_user_id, taker_user_id")
# Trades by key (a key given twice: the row twice); ts bounds them for TimescaleDB's chunks.
_TRADES_BY_KEY = f"""
SELECT {_FILL_COLUMNS} FROM trades JOIN unnest($1::text[], $2::bigint[]) AS k(market, trade_id)
    USING (market, trade_id)
WHERE ts BETWEEN $3 AND $4
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
    return _stored_view(row, fills, market)


async def user_orders(services: Services, user: str, market: Market | None, start: int, end: int,
                      limit: int) -> list[dict[str, Any]]:
    """The caller's stored orders created in [start, end] (of ``market`` or all), newest first.

    Each is the order object of ``GET /order`` as of the order's last stored state (two queries in all,
    whatever ``limit``). Orders of markets no longer listed are left out, as ``GET /fills`` does.
    """
    listed = services.markets.markets
    rows = [row for row in await fetch(services, _USER_ORDERS, user, start, end,
                                       None if market is None else market.symbol, limit)
            if row["market"] in listed]
    if not rows:
        return []
    fills: dict[tuple[str, int], list[Any]] = {}
    for fill in await fetch(services, _ORDERS_FILLS, user, min(r["created_at"] for r in rows),
                            max(r["updated_at"] for r in rows), [r["market"] for r in rows],
                            [r["order_id"] for r in rows], [r["created_at"] for r in rows],
                            [r["updated_at"] for r in rows]):
        fills.setdefault((fill["market"], fill["order_id"]), []).append(fill)
    return [_stored_view(row, fills.get((row["market"], row["order_id"]), []), listed[row["market"]])
            for row in rows]


async def newest_fills(services: Services, user: str, market: str | None, limit: int) -> list[Any]:
    """The trades (_FILL_COLUMNS) of the caller's newest ``limit`` fills, of ``market`` or all: by ts
    newest first, then market, then trade id newest first.

    Read from user_fills page by page, newest rows first, each page's newest ``limit`` fills chosen by
    PostgreSQL, until the ``limit`` newest fills found so far are all at least as new as every row not
    read yet; then those trades by key (two or three queries for most users, whatever ``limit``).
    """
    newest: list[tuple[int, str, int]] = []  # (ts, market, trade_id)
    before = _NEWEST
    for page in count():
        size = FILL_PAGE_ROWS[min(page, len(FILL_PAGE_ROWS) - 1)]
        rows = await fetch(services, _FILL_PAGE, user, before, size - 1, market, limit)
        if not rows:  # no tables yet
            return []
        *found, last = rows
        newest.extend((row["ts"], row["market"], row["trade_id"]) for row in found)
        newest.sort(key=_newest_first)
        del newest[limit:]
        bound = last["bound"]
        # Rows not read yet have last_ts < bound: none of their fills is newer than one at bound or later.
        if bound is None or (len(newest) == limit and newest[-1][0] >= bound):
            break
        before = bound - 1
    if not newest:
        return []
    trades = await fetch(services, _TRADES_BY_KEY, [ref[1] for ref in newest], [ref[2] for ref in newest],
                         newest[-1][0], newest[0][0])
    return sorted(trades, key=lambda row: _newest_first((row["ts"], row["market"], row["trade_id"])))


def _newest_first(ref: tuple[int, str, int]) -> tuple[int, str, int]:
    return -ref[0], ref[1], -ref[2]


def _stored_view(row: Any, fills: list[Any], market: Market) -> dict[str, Any]:
    """An ``orders`` row and its fills (oldest first) as the engine renders the live order."""
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
