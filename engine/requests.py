"""Turn wire requests into engine commands or queries and render their replies (pure, no I/O).

The engine runner calls :meth:`RequestHandler.handle` for every request of a batch with the batch's
``ts``. A request with a state change becomes a command (applied, journaled, its events published); a
read-only request is answered from the engine's state now. A request that does not follow the protocol
gets an INVALID_REQUEST reply and touches nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from engine.core import Engine
from shared.commands import CancelAll, CancelOrder, Command, Deposit, PlaceOrder
from shared.errors import HTTP_STATUS, ErrorCode
from shared.events import Event, OrderUpdated, Rejected
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from shared.views import balances_view, format_order_id, order_json, orders_json, quote_view
from shared.wire import Request, error_body

PING_BODY = b'{"status":"ok"}'
# Plain dict lookups (a KeyError is a malformed request): calling an Enum class is slow Python code.
_SIDES: dict[object, Side] = {side.value: side for side in Side}
_TYPES: dict[object, OrderType] = {kind.value: kind for kind in OrderType}
_TIFS: dict[object, TimeInForce] = {tif.value: tif for tif in TimeInForce}


class Outcome:
    """The reply to one request and, when it changed the engine, the command and its events.

    A plain class, not a dataclass: compiled, its constructor is native (one per request).
    """

    __slots__ = ("body", "command", "events", "status")

    def __init__(self, status: int, body: bytes, command: Command | None = None,
                 events: list[Event] | None = None) -> None:
        self.status = status
        self.body = body
        self.command = command
        self.events: list[Event] = [] if events is None else events


class BadRequest(ValueError):
    """A request whose fields do not fit its op (the API sent something it should not have)."""


class RequestHandler:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._decimals = {symbol: asset.decimals for symbol, asset in engine.assets.items()}
        # Order JSON rendered for replies, by id() of the OrderState, so that the ``orders`` stream of
        # the same batch reuses it (render once). The entry holds the OrderState too, so its id cannot
        # be reused by another object while cached. The runner clears it after each batch.
        self.rendered: dict[int, tuple[object, bytes]] = {}

    def handle(self, request: Request, ts: int) -> Outcome:
        deadline = request.fields.get("deadline")
        if isinstance(deadline, int) and not isinstance(deadline, bool) and ts > deadline:
            # The API gave up on it (and answered 503): applying it now would surprise the client.
            return _error(ErrorCode.ENGINE_UNAVAILABLE, "the request expired before the engine took it")
        try:
            return self._dispatch(request, ts)
        except (BadRequest, TypeError, ValueError, KeyError) as exc:
            return _error(ErrorCode.INVALID_REQUEST, f"malformed engine request: {exc}")

    def _dispatch(self, request: Request, ts: int) -> Outcome:
        f = request.fields
        op = request.op
        if op == "place":
            command: Command = PlaceOrder(
                _text(f, "user"), _text(f, "market"), _SIDES[_text(f, "side")], _TYPES[_text(f, "type")],
                f.get("price"), f.get("quantity"), _TIFS[f.get("tif", "GTC")],
                f.get("postOnly", False), f.get("clientOrderId"), ts)
            return self._apply(command, 201)
        if op == "cancel":
            return self._cancel(_text(f, "user"), _text(f, "market"), f.get("orderId"), ts)
        if op == "cancel_all":
            return self._apply(CancelAll(_text(f, "user"), f.get("market"), ts), 200)
        if op == "deposit":
            return self._apply(Deposit(_text(f, "user"), _text(f, "asset"), f.get("amount"), ts), 200)
        if op == "order":
            return self._get_order(_text(f, "user"), _text(f, "market"), f.get("orderId"))
        if op == "orders":
            return self._open_orders(_text(f, "user"), f.get("market"))
        if op == "balances":
            return self._balances(_text(f, "user"))
        if op == "quote":
            return self._quote(_text(f, "market"), _SIDES[_text(f, "side")], f.get("quantity"))
        if op == "ping":
            return Outcome(200, PING_BODY)
        raise BadRequest(f"unknown op {op!r}")

    # ---------------------------------------------------------------- commands

    def _apply(self, command: Command, ok_status: int) -> Outcome:
        events = self.engine.apply(command)
        seq = self.engine.seq
        first = events[0] if events else None
        if isinstance(first, Rejected):
            return Outcome(*self._rejection(first), command=command, events=events)
        if isinstance(command, PlaceOrder):
            body = self._order_body(_own_order(events, seq))
        elif isinstance(command, CancelAll):
            cancelled = [e.order for e in events
                         if isinstance(e, OrderUpdated) and e.order.status is OrderStatus.CANCELLED]
            body = orders_json(cancelled, self.engine.markets)
        elif isinstance(command, CancelOrder):
            body = self._order_body(_own_order(events, command.order_id))
        else:
            assert isinstance(command, Deposit)
            body = orjson.dumps(balances_view(self.engine.balances(command.user_id), self._decimals))
        return Outcome(ok_status, body, command=command, events=events)

    def _cancel(self, user: str, market: str, order_id: object, ts: int) -> Outcome:
        if not isinstance(order_id, int) or isinstance(order_id, bool):
            raise BadRequest("orderId must be an integer")
        known = self.engine.orders.get(order_id)
        if known is not None and known.user_id == user and known.market != market:
            # The public id names another market: it is not this order.
            return _error(ErrorCode.ORDER_NOT_FOUND, "no such order")
        return self._apply(CancelOrder(user, order_id, ts), 200)

    def _rejection(self, rejected: Rejected) -> tuple[int, bytes]:
        extra: dict[str, Any] = {}
        if rejected.code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID and rejected.order_id is not None:
            existing = self.engine.get_order(rejected.user_id, rejected.order_id)
            if existing is not None:  # always: clientOrderIds point at orders the engine retains
                extra["orderId"] = format_order_id(existing.market, existing.order_id)
        return HTTP_STATUS[rejected.code], error_body(rejected.code.value, rejected.message, **extra)

    # ---------------------------------------------------------------- queries

    def _get_order(self, user: str, market: str, order_id: object) -> Outcome:
        if not isinstance(order_id, int) or isinstance(order_id, bool):
            raise BadRequest("orderId must be an integer")
        order = self.engine.get_order(user, order_id)
        if order is None or order.market != market:
            return _error(ErrorCode.ORDER_NOT_FOUND, "no such order")
        return Outcome(200, self._order_body(order))

    def _open_orders(self, user: str, market: object) -> Outcome:
        if market is not None and not isinstance(market, str):
            raise BadRequest("market must be a string or null")
        if market is not None and market not in self.engine.markets:
            return _error(ErrorCode.UNKNOWN_MARKET, f"unknown market {market!r}")
        orders = self.engine.open_orders(user, market)
        return Outcome(200, orders_json(orders, self.engine.markets))

    def _balances(self, user: str) -> Outcome:
        return Outcome(200, orjson.dumps(balances_view(self.engine.balances(user), self._decimals)))

    def _quote(self, market_name: str, side: Side, quantity: object) -> Outcome:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise BadRequest("quantity must be a positive integer")
        market = self.engine.markets.get(market_name)
        if market is None:
            return _error(ErrorCode.UNKNOWN_MARKET, f"unknown market {market_name!r}")
        result = self.engine.quote(market_name, side, quantity)
        return Outcome(200, orjson.dumps(quote_view(market, side, quantity, result.fillable,
                                                    result.quote_quantity, result.worst_price)))

    def _order_body(self, order: Any) -> bytes:
        body = order_json(order, self.engine.markets[order.market])
        self.rendered[id(order)] = (order, body)
        return body


def _own_order(events: list[Event], order_id: int) -> Any:
    for event in reversed(events):
        if isinstance(event, OrderUpdated) and event.order.order_id == order_id:
            return event.order
    raise AssertionError(f"no OrderUpdated for order {order_id}")  # the engine always emits one


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def _error(code: ErrorCode, message: str) -> Outcome:
    return Outcome(HTTP_STATUS[code], error_body(code.value, message))
