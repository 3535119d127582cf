"""The pure matching engine: commands in, events out. No I/O, no clock, no randomness.

``Engine.apply`` takes one command and returns its events (see shared/events.py for their order).
Everything is an integer: prices in ticks, quantities in lots, balances in minor units. A rejected
command returns a single ``Rejected`` event and leaves the state exactly as it was: every check runs
before the first change. An exception escaping ``apply`` is a bug.

Funds: a limit order locks what it may spend when it is accepted (buy: price x quantity of quote; sell:
quantity of base), fills consume the lock, and whatever no longer rests is released. A buy that fills
below its limit gets the difference back at once. A market sell locks its quantity of base; a market
buy spends available quote directly and stops at the last whole lot it can pay for.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any, Final, NamedTuple

from engine.balances import Balance
from engine.book import Level, OrderBook
from engine.order import Order
from shared.commands import CancelAll, CancelOrder, Deposit, PlaceOrder
from shared.errors import ErrorCode
from shared.events import (
    BalanceChanged,
    DepthUpdate,
    Event,
    Fill,
    OrderState,
    OrderUpdated,
    Rejected,
    Trade,
)
from shared.markets import MarketsConfig
from shared.money import MAX_UNITS
from shared.types import OrderStatus, OrderType, Side, TimeInForce

DAY_MS: Final = 86_400_000
CLIENT_ORDER_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,36}")

BUY: Final = Side.BUY
SELL: Final = Side.SELL
LIMIT: Final = OrderType.LIMIT
MARKET: Final = OrderType.MARKET
GTC: Final = TimeInForce.GTC
IOC: Final = TimeInForce.IOC
FOK: Final = TimeInForce.FOK
NEW: Final = OrderStatus.NEW
PARTIAL: Final = OrderStatus.PARTIALLY_FILLED
FILLED: Final = OrderStatus.FILLED
CANCELLED: Final = OrderStatus.CANCELLED
EXPIRED: Final = OrderStatus.EXPIRED


class QuoteResult(NamedTuple):
    """What a market order of ``quantity`` would get from the book now (no user, no balance limit)."""

    fillable: int  # lots
    quote_quantity: int  # quote minor units
    worst_price: int | None  # ticks; None when nothing is fillable


class Engine:
    """All books, balances and orders of the markets one engine process owns."""

    def __init__(self, markets: MarketsConfig, closed_order_retention_ms: int = DAY_MS) -> None:
        self.config = markets
        self.markets = markets.markets
        self.assets = markets.assets
        self.retention_ms = closed_order_retention_ms
        self.books: dict[str, OrderBook] = {
            symbol: OrderBook(symbol, market.max_price_ticks) for symbol, market in self.markets.items()
        }
        self.seq = 0
        self.next_trade_id = 1
        self.accounts: dict[str, dict[str, Balance]] = {}  # user -> asset -> balance
        self.orders: dict[int, Order] = {}  # open orders and closed ones still retained
        self.open_by_user: dict[str, dict[int, Order]] = {}  # oldest first
        self.closed: deque[Order] = deque()  # closed orders in closing order, for retention
        self.client_ids: dict[tuple[str, str], int] = {}  # (user, clientOrderId) -> order id
        self._forget_from = 0  # no closed order can be forgotten before this ts
        # Scratch of the command being applied: what it touched, to emit one event per balance/book.
        self._touched_balances: list[Balance] = []
        self._touched_books: list[OrderBook] = []

    # ------------------------------------------------------------------ commands

    def apply(self, command: object) -> list[Event]:
        """Apply one command; return its events. The command's seq is ``self.seq`` afterwards.

        Closed orders past their retention are forgotten first, by the command's own time, so the
        command that reaches the end of the window can already reuse a freed clientOrderId.
        """
        self.seq += 1
        seq = self.seq
        if isinstance(command, PlaceOrder):
            if command.ts >= self._forget_from:
                self._forget_closed(command.ts)
            return self._place(command, seq)
        if isinstance(command, CancelOrder):
            if command.ts >= self._forget_from:
                self._forget_closed(command.ts)
            return self._cancel_one(command, seq)
        if isinstance(command, CancelAll):
            if command.ts >= self._forget_from:
                self._forget_closed(command.ts)
            return self._cancel_all(command, seq)
        if isinstance(command, Deposit):
            if command.ts >= self._forget_from:
                self._forget_closed(command.ts)
            return self._deposit(command, seq)
        return [Rejected(seq, 0, "", ErrorCode.INVALID_REQUEST, "unknown command", None)]

    def _deposit(self, cmd: Deposit, seq: int) -> list[Event]:
        asset = self.assets.get(cmd.asset)
        if asset is None:
            return self._reject(seq, cmd, ErrorCode.INVALID_REQUEST, f"unknown asset {cmd.asset!r}")
        amount = cmd.amount
        if amount <= 0 or amount > MAX_UNITS.scaleb(asset.decimals):
            return self._reject(seq, cmd, ErrorCode.INVALID_QUANTITY,
                                f"amount must be greater than 0 and at most {MAX_UNITS} {asset.symbol}")
        if not _valid_user(cmd.user_id):
            return self._reject(seq, cmd, ErrorCode.INVALID_REQUEST, "invalid user")
        self._balance(cmd.user_id, asset.symbol).available += amount
        return self._finish(seq, cmd.ts, [])

    def _place(self, cmd: PlaceOrder, seq: int) -> list[Event]:
        rejection = self._check_order(cmd)
        if rejection is not None:
            code, message, existing = rejection
            return [Rejected(seq, cmd.ts, cmd.user_id, code, message, existing)]
        ts = cmd.ts
        user = cmd.user_id
        market = self.markets[cmd.market]
        book = self.books[cmd.market]
        side = cmd.side
        price = cmd.price
        quantity = cmd.quantity
        order = Order(seq, user, cmd.market, side, cmd.order_type, price, quantity,
                      cmd.time_in_force, cmd.post_only,
                      cmd.client_order_id, ts)
        self.orders[seq] = order
        if cmd.client_order_id is not None:
            self.client_ids[(user, cmd.client_order_id)] = seq
        qpt = market.quote_per_tick_lot
        bpl = market.base_per_lot
        if side is BUY:
            if price is not None:
                lock = price * quantity * qpt
                balance = self._balance(user, market.quote.symbol)
                balance.available -= lock
                balance.locked += lock
        else:
            lock = quantity * bpl
            balance = self._balance(user, market.base.symbol)
            balance.available -= lock
            balance.locked += lock

        events: list[Event] = []
        stopped_by_self = False
        if (price is None or price >= book.top_ask) if side is BUY else (
                book.top_bid and (price is None or price <= book.top_bid)):
            stopped_by_self = self._match(order, book, qpt, bpl, seq, ts, events)
        remaining = order.remaining
        if remaining == 0:
            order.status = FILLED
            self._close(order, ts)
        elif price is not None and order.time_in_force is GTC and not stopped_by_self:
            order.status = PARTIAL if remaining != quantity else NEW
            book.add(order)
            user_open = self.open_by_user.get(user)
            if user_open is None:
                user_open = self.open_by_user[user] = {}
            user_open[seq] = order
            self._touch_level(book, side, price)
        else:
            order.status = EXPIRED
            self._release(order, market.quote.symbol if side is BUY else market.base.symbol, qpt, bpl)
            self._close(order, ts)
        events.append(OrderUpdated(seq, ts, order.state()))
        return self._finish(seq, ts, events)

    def _cancel_one(self, cmd: CancelOrder, seq: int) -> list[Event]:
        order = self.orders.get(cmd.order_id)
        if order is None or order.user_id != cmd.user_id:
            return self._reject(seq, cmd, ErrorCode.ORDER_NOT_FOUND, "no such order")
        if order.closed_at is not None:
            return self._reject(seq, cmd, ErrorCode.ORDER_NOT_OPEN, f"the order is already {order.status}",
                                order.order_id)
        events: list[Event] = []
        self._cancel(order, seq, cmd.ts, events)
        return self._finish(seq, cmd.ts, events)

    def _cancel_all(self, cmd: CancelAll, seq: int) -> list[Event]:
        if cmd.market is not None and cmd.market not in self.markets:
            return self._reject(seq, cmd, ErrorCode.UNKNOWN_MARKET, f"unknown market {cmd.market!r}")
        user_open = self.open_by_user.get(cmd.user_id)
        if not user_open:
            return []
        targets = [o for o in user_open.values() if cmd.market is None or o.market == cmd.market]
        events: list[Event] = []
        for order in targets:
            self._cancel(order, seq, cmd.ts, events)
        return self._finish(seq, cmd.ts, events)

    # ------------------------------------------------------------------ checks

    def _check_order(self, cmd: PlaceOrder) -> tuple[ErrorCode, str, int | None] | None:
        """Every reason to reject a new order, in API.md's order; None when it is accepted."""
        if not _valid_user(cmd.user_id):
            return ErrorCode.INVALID_REQUEST, "invalid user", None
        coid = cmd.client_order_id
        if coid is not None and not CLIENT_ORDER_ID.fullmatch(coid):
            return ErrorCode.INVALID_REQUEST, "clientOrderId must be 1-36 characters of A-Z a-z 0-9 _ -", None
        side, tif, price, quantity = cmd.side, cmd.time_in_force, cmd.price, cmd.quantity
        # Values wrong in any market come before UNKNOWN_MARKET (API.md: shape and values first).
        if cmd.order_type is LIMIT:
            if price is None or price <= 0:
                return ErrorCode.INVALID_PRICE, "a limit order needs a price greater than 0", None
        elif price is not None:
            return ErrorCode.INVALID_PRICE, "a market order takes no price", None
        if quantity <= 0:
            return ErrorCode.INVALID_QUANTITY, "quantity must be greater than 0", None
        market = self.markets.get(cmd.market)
        if market is None:
            return ErrorCode.UNKNOWN_MARKET, f"unknown market {cmd.market!r}", None
        if price is not None and price > market.max_price_ticks:
            return ErrorCode.INVALID_PRICE, f"price must be at most {MAX_UNITS}", None
        if not market.min_lots <= quantity <= market.max_lots:
            return ErrorCode.INVALID_QUANTITY, (
                f"quantity must be at least {market.min_quantity} and at most {MAX_UNITS}"), None
        if coid is not None:
            existing = self.client_ids.get((cmd.user_id, coid))
            if existing is not None:
                return ErrorCode.DUPLICATE_CLIENT_ORDER_ID, "clientOrderId already used", existing
        if side is BUY:
            available = self._available(cmd.user_id, market.quote.symbol)
            if price is not None:
                if available < price * quantity * market.quote_per_tick_lot:
                    return ErrorCode.INSUFFICIENT_BALANCE, f"not enough {market.quote.symbol} available", None
            elif available <= 0:
                return ErrorCode.INSUFFICIENT_BALANCE, f"no {market.quote.symbol} available", None
        elif self._available(cmd.user_id, market.base.symbol) < quantity * market.base_per_lot:
            return ErrorCode.INSUFFICIENT_BALANCE, f"not enough {market.base.symbol} available", None
        if price is not None and (cmd.post_only or tif is FOK):
            book = self.books[cmd.market]
            if cmd.post_only and (book.top_ask <= price if side is BUY else 0 < price <= book.top_bid):
                return ErrorCode.WOULD_CROSS, "a postOnly order would trade on arrival", None
            if tif is FOK and self._fillable(book, side, price, quantity, cmd.user_id) < quantity:
                return ErrorCode.UNFILLABLE, "a FOK order cannot be filled completely now", None
        return None

    def _fillable(self, book: OrderBook, side: Side, limit: int, wanted: int, user: str) -> int:
        """Lots an order could take now before its limit, the end of the book or the user's own order."""
        found = 0
        for level in book.levels(SELL if side is BUY else BUY):
            if level.price > limit if side is BUY else level.price < limit:
                break
            maker = level.head
            while maker is not None:
                if maker.user_id == user:
                    return found
                found += maker.remaining
                if found >= wanted:
                    return found
                maker = maker.next
        return found

    # ------------------------------------------------------------------ matching

    def _match(self, taker: Order, book: OrderBook, qpt: int, bpl: int, seq: int, ts: int,
               events: list[Event]) -> bool:
        """Trade ``taker`` against the opposite side; return True if it met its own user's order."""
        market = self.markets[taker.market]
        base_asset, quote_asset = market.base.symbol, market.quote.symbol
        user = taker.user_id
        is_buy = taker.side is BUY
        limit = taker.price
        levels = book.asks if is_buy else book.bids
        opposite = SELL if is_buy else BUY
        touched_prices = book.touched_asks if is_buy else book.touched_bids
        if not book.touched:
            book.touched = True
            self._touched_books.append(book)
        # A market buy spends its available quote, so it needs the running figure.
        budget = self._available(user, quote_asset) if is_buy and limit is None else -1
        remaining = taker.remaining
        spent = 0  # quote minor units traded
        stopped_by_self = False
        out_of_budget = False
        while remaining:
            if is_buy:
                price = book.top_ask
                if price == book.no_ask or (limit is not None and price > limit):
                    break
            else:
                price = book.top_bid
                if price == 0 or (limit is not None and price < limit):
                    break
            level: Level = levels[price]
            lot_cost = price * qpt
            traded_here = False
            while remaining:
                maker = level.head
                if maker is None:
                    break
                if maker.user_id == user:
                    stopped_by_self = True
                    break
                qty = remaining if remaining < maker.remaining else maker.remaining
                if budget >= 0:
                    affordable = budget // lot_cost
                    if affordable < qty:
                        qty = affordable
                        out_of_budget = True
                        if qty == 0:
                            break
                    budget -= qty * lot_cost
                quote_amount = qty * lot_cost
                base_amount = qty * bpl
                trade_id = self.next_trade_id
                self.next_trade_id = trade_id + 1
                fill = Fill(trade_id, price, qty, ts)
                taker.fills.append(fill)
                maker.fills.append(fill)
                if qty == maker.remaining:
                    level.unlink(maker)  # subtracts its remaining from the level total
                    maker.remaining = 0
                else:
                    maker.remaining -= qty
                    level.total -= qty
                maker.executed_quote += quote_amount
                remaining -= qty
                spent += quote_amount
                if is_buy:
                    self._balance(maker.user_id, base_asset).locked -= base_amount
                    self._balance(maker.user_id, quote_asset).available += quote_amount
                else:
                    self._balance(maker.user_id, quote_asset).locked -= quote_amount
                    self._balance(maker.user_id, base_asset).available += base_amount
                events.append(Trade(seq, ts, taker.market, trade_id, price, qty, quote_amount, taker.side,
                             maker.order_id, taker.order_id, maker.user_id, user))
                if maker.remaining == 0:
                    maker.status = FILLED
                    self._close(maker, ts)
                else:
                    maker.status = PARTIAL
                events.append(OrderUpdated(seq, ts, maker.state()))
                traded_here = True
                if out_of_budget:
                    break
            if traded_here:
                touched_prices[price] = None
                if level.head is None:
                    book.drop_level(opposite, price)
            if stopped_by_self or out_of_budget:
                break
        executed = taker.remaining - remaining
        if executed:
            taker.remaining = remaining
            taker.executed_quote += spent
            if is_buy:
                self._balance(user, base_asset).available += executed * bpl
                quote_balance = self._balance(user, quote_asset)
                if limit is None:
                    quote_balance.available -= spent
                else:
                    reserved = limit * executed * qpt
                    quote_balance.locked -= reserved
                    quote_balance.available += reserved - spent
            else:
                self._balance(user, base_asset).locked -= executed * bpl
                self._balance(user, quote_asset).available += spent
        return stopped_by_self

    def _cancel(self, order: Order, seq: int, ts: int, events: list[Event]) -> None:
        market = self.markets[order.market]
        book = self.books[order.market]
        book.remove(order)
        assert order.price is not None
        self._touch_level(book, order.side, order.price)
        asset = market.quote.symbol if order.side is BUY else market.base.symbol
        self._release(order, asset, market.quote_per_tick_lot, market.base_per_lot)
        order.status = CANCELLED
        self._close(order, ts)
        events.append(OrderUpdated(seq, ts, order.state()))

    def _release(self, order: Order, asset: str, qpt: int, bpl: int) -> None:
        """Unlock what the order's unfilled remainder still holds (nothing for a market buy)."""
        if order.side is BUY:
            if order.price is None:
                return
            amount = order.price * order.remaining * qpt
        else:
            amount = order.remaining * bpl
        if amount:
            balance = self._balance(order.user_id, asset)
            balance.locked -= amount
            balance.available += amount

    def _close(self, order: Order, ts: int) -> None:
        order.closed_at = ts
        self.closed.append(order)
        due = ts + self.retention_ms + 1
        if due < self._forget_from:  # only when ts went backwards: keep replays exact even then
            self._forget_from = due
        user_open = self.open_by_user.get(order.user_id)
        if user_open is not None and user_open.pop(order.order_id, None) is not None and not user_open:
            del self.open_by_user[order.user_id]

    def _forget_closed(self, now: int) -> None:
        """Drop closed orders older than the retention (and free their clientOrderIds).

        Only the oldest closed order is examined, so this is O(1) unless something is due; ``apply``
        calls it only once ``now`` reaches ``_forget_from``, the earliest time anything can be due.
        """
        closed = self.closed
        horizon = now - self.retention_ms
        while closed:
            order = closed[0]
            closed_at = order.closed_at
            assert closed_at is not None
            if closed_at >= horizon:
                self._forget_from = closed_at + self.retention_ms + 1
                return
            closed.popleft()
            del self.orders[order.order_id]
            if order.client_order_id is not None:
                self.client_ids.pop((order.user_id, order.client_order_id), None)
        # Whatever closes from now on closes at ``now`` or later (or is kept longer: still "at least").
        self._forget_from = now + self.retention_ms + 1

    # ------------------------------------------------------------------ bookkeeping

    def _available(self, user: str, asset: str) -> int:
        account = self.accounts.get(user)
        if account is None:
            return 0
        balance = account.get(asset)
        return 0 if balance is None else balance.available

    def _balance(self, user: str, asset: str) -> Balance:
        """The user's balance of ``asset`` (created at zero), noting its value before this command."""
        account = self.accounts.get(user)
        if account is None:
            account = self.accounts[user] = {}
        balance = account.get(asset)
        if balance is None:
            balance = account[asset] = Balance(user, asset)
        if not balance.touched:
            balance.touched = True
            balance.start_available = balance.available
            balance.start_locked = balance.locked
            self._touched_balances.append(balance)
        return balance

    def _touch_level(self, book: OrderBook, side: Side, price: int) -> None:
        if not book.touched:
            book.touched = True
            self._touched_books.append(book)
        if side is BUY:
            book.touched_bids[price] = None
        else:
            book.touched_asks[price] = None

    def _finish(self, seq: int, ts: int, events: list[Event]) -> list[Event]:
        """Append one BalanceChanged per touched balance and one DepthUpdate per touched book."""
        balances = self._touched_balances
        if balances:
            for b in balances:
                b.touched = False
                available, locked = b.available, b.locked
                if available != b.start_available or locked != b.start_locked:
                    events.append(BalanceChanged(seq, ts, b.user_id, b.asset, available, locked,
                                                 available - b.start_available, locked - b.start_locked))
            balances.clear()
        books = self._touched_books
        if books:
            for book in books:
                book.touched = False
                bid_prices, ask_prices = book.touched_bids, book.touched_asks
                if bid_prices or ask_prices:
                    book.depth_seq += 1
                    events.append(DepthUpdate(seq, ts, book.symbol, book.depth_seq,
                                              _levels(book.bids, bid_prices, True),
                                              _levels(book.asks, ask_prices, False)))
                    bid_prices.clear()
                    ask_prices.clear()
            books.clear()
        return events

    def _reject(self, seq: int, cmd: Any, code: ErrorCode, message: str,
                order_id: int | None = None) -> list[Event]:
        return [Rejected(seq, cmd.ts, cmd.user_id, code, message, order_id)]

    # ------------------------------------------------------------------ queries (read-only)

    def get_order(self, user_id: str, order_id: int) -> OrderState | None:
        """The user's order (open, or closed and still retained); None if unknown or someone else's."""
        order = self.orders.get(order_id)
        if order is None or order.user_id != user_id:
            return None
        return order.state()

    def open_orders(self, user_id: str, market: str | None = None) -> list[OrderState]:
        """The user's open orders, oldest first, optionally of one market."""
        user_open = self.open_by_user.get(user_id, {})
        return [o.state() for o in user_open.values() if market is None or o.market == market]

    def balances(self, user_id: str) -> dict[str, tuple[int, int]]:
        """(available, locked) of every asset of the exchange, zeros included."""
        account = self.accounts.get(user_id, {})
        result: dict[str, tuple[int, int]] = {}
        for asset in self.assets:
            balance = account.get(asset)
            result[asset] = (0, 0) if balance is None else (balance.available, balance.locked)
        return result

    def depth(self, market: str, limit: int) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]]]:
        """(depth_seq, bids, asks) with up to ``limit`` levels per side, best first."""
        book = self.books[market]
        bids, asks = book.depth(limit)
        return book.depth_seq, bids, asks

    def quote(self, market: str, side: Side, quantity: int) -> QuoteResult:
        """Walk the book as a market order of ``quantity`` would, changing nothing."""
        book = self.books[market]
        qpt = self.markets[market].quote_per_tick_lot
        fillable = 0
        quote_quantity = 0
        worst: int | None = None
        for level in book.levels(SELL if side is BUY else BUY):
            if fillable >= quantity:
                break
            take = min(level.total, quantity - fillable)
            fillable += take
            quote_quantity += take * level.price * qpt
            worst = level.price
        return QuoteResult(fillable, quote_quantity, worst)


def _valid_user(user_id: object) -> bool:
    return type(user_id) is str and 0 < len(user_id) <= 64


def _levels(levels: Any, prices: dict[int, None], descending: bool) -> tuple[tuple[int, int], ...]:
    """(price, total) of the given levels now, best first; total 0 for a level that is gone."""
    if not prices:
        return ()
    if len(prices) == 1:
        for price in prices:
            level: Level | None = dict.get(levels, price)  # SortedDict is a dict: the C lookup
            return ((price, 0 if level is None else level.total),)
    result = []
    for price in sorted(prices, reverse=descending):
        level = dict.get(levels, price)
        result.append((price, 0 if level is None else level.total))
    return tuple(result)
