"""Consistency checks over the whole engine state, for tests and replays (not the hot path)."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

from engine.core import Engine
from engine.order import Order
from shared.types import Side


class InvariantError(AssertionError):
    """The engine state is inconsistent: a bug."""


def check_invariants(engine: Engine) -> None:
    """Raise InvariantError at the first broken rule: books, order index, locks, balances."""
    expected_locks: dict[tuple[str, str], int] = defaultdict(int)
    resting: set[int] = set()
    for symbol, book in engine.books.items():
        market = engine.markets[symbol]
        best_bid, best_ask = book.best_bid(), book.best_ask()
        if best_bid is not None and best_ask is not None and best_bid >= best_ask:
            raise InvariantError(f"{symbol}: crossed book, bid {best_bid} >= ask {best_ask}")
        for side, levels in ((Side.BUY, book.bids), (Side.SELL, book.asks)):
            for price, level in levels.items():
                orders = level.orders()
                if level.price != price or not orders or level.count != len(orders):
                    raise InvariantError(f"{symbol} {side} {price}: empty, mislabelled or miscounted level")
                if level.tail is not orders[-1] or any(o.prev is not p for p, o in pairwise(orders)):
                    raise InvariantError(f"{symbol} {side} {price}: broken FIFO links")
                if level.total != sum(o.remaining for o in orders):
                    raise InvariantError(f"{symbol} {side} {price}: level total differs from its orders")
                for order in orders:
                    _check_resting(engine, order, symbol, side, price)
                    resting.add(order.order_id)
                    if side is Side.BUY:
                        expected_locks[(order.user_id, market.quote.symbol)] += (
                            price * order.remaining * market.quote_per_tick_lot)
                    else:
                        expected_locks[(order.user_id, market.base.symbol)] += (
                            order.remaining * market.base_per_lot)
    indexed = {oid for orders in engine.open_by_user.values() for oid in orders}
    if indexed != resting:
        raise InvariantError("the per-user open-order index differs from the books")
    for user, account in engine.accounts.items():
        for asset, balance in account.items():
            available, locked = balance.available, balance.locked
            if balance.touched or balance.user_id != user or balance.asset != asset:
                raise InvariantError(f"{user} {asset}: balance record is mislabelled or left touched")
            if available < 0 or locked < 0:
                raise InvariantError(f"{user} {asset}: negative balance {available}/{locked}")
            if locked != expected_locks.pop((user, asset), 0):
                raise InvariantError(f"{user} {asset}: locked {locked} differs from its open orders")
    if any(expected_locks.values()):
        raise InvariantError(f"locks without a balance row: {dict(expected_locks)}")
    for order in engine.closed:
        order_id = order.order_id
        if order.closed_at is None or order.status.is_open or order_id in resting:
            raise InvariantError(f"order {order_id}: listed closed but open")
    for (user, client_id), order_id in engine.client_ids.items():
        order = engine.orders.get(order_id)
        if order is None or order.user_id != user or order.client_order_id != client_id:
            raise InvariantError(f"clientOrderId {client_id!r} of {user} points at the wrong order")


def _check_resting(engine: Engine, order: Order, symbol: str, side: Side, price: int) -> None:
    if (order.market != symbol or order.side is not side or order.price != price or order.remaining <= 0
            or not order.status.is_open or order.closed_at is not None
            or engine.orders.get(order.order_id) is not order):
        raise InvariantError(f"order {order.order_id}: resting record is inconsistent")
