"""RequestHandler: every op of the wire protocol, its reply body and status, refusal of malformed requests.

Bodies are parsed with orjson and compared with exact values (decimal strings, public ids).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from engine.core import Engine
from engine.requests import Outcome, RequestHandler
from engine.snapshot import state_hash
from shared.commands import CancelAll, CancelOrder, Deposit, PlaceOrder
from shared.errors import HTTP_STATUS, ErrorCode
from shared.events import Rejected, Trade
from shared.types import OrderType, Side, TimeInForce
from shared.wire import Request
from tests.support.factories import T0, frozen_state, markets

MARKET = "TATA-INR"
ZERO_BALANCES = {"INR": {"available": "0.00", "locked": "0.00"}, "TATA": {"available": "0", "locked": "0"},
                 "RELIANCE": {"available": "0", "locked": "0"}, "INFY": {"available": "0", "locked": "0"}}

# ---------------------------------------------------------------------------------------------- helpers


def call(handler: RequestHandler, op: str, ts: int = T0, **fields: Any) -> Outcome:
    return handler.handle(Request("api-1:7", "mudra:reply:api-1", op, fields), ts)


def body(outcome: Outcome) -> Any:
    return orjson.loads(outcome.body)


def ok(handler: RequestHandler, op: str, ts: int = T0, **fields: Any) -> Any:
    outcome = call(handler, op, ts, **fields)
    assert outcome.status in (200, 201), outcome.body
    return body(outcome)


def new_handler() -> RequestHandler:
    return RequestHandler(Engine(markets()))


def place_fields(user: str, side: str, price: int | None, quantity: int, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"user": user, "market": MARKET, "side": side,
                              "type": "limit" if price is not None else "market", "price": price,
                              "quantity": quantity, "tif": "GTC", "postOnly": False, "clientOrderId": None}
    fields.update(extra)
    return fields


def place(handler: RequestHandler, user: str, side: str, price: int | None, quantity: int, ts: int = T0,
          **extra: Any) -> Any:
    outcome = call(handler, "place", ts, **place_fields(user, side, price, quantity, **extra))
    assert outcome.status == 201, outcome.body
    return body(outcome)


def deposit(handler: RequestHandler, user: str, asset: str, amount: int) -> Any:
    return ok(handler, "deposit", user=user, asset=asset, amount=amount)


def order_json(order_id: int, price: str | None, quantity: str, *, kind: str = "buy", type_: str = "limit",
               executed: str = "0", executed_quote: str = "0.00", status: str = "new", tif: str = "GTC",
               post_only: bool = False, client_order_id: str | None = None, created_at: int = T0,
               fills: list[dict[str, str]] | None = None, market: str = MARKET) -> dict[str, Any]:
    """The contract's order object."""
    return {"orderId": f"{market}-{order_id}", "clientOrderId": client_order_id, "market": market,
            "kind": kind, "type": type_, "price": price, "quantity": quantity, "executedQuantity": executed,
            "executedQuoteQuantity": executed_quote, "fillStatus": status, "timeInForce": tif,
            "postOnly": post_only, "createdAt": created_at, "fills": fills or []}


def fill(trade_id: int, price: str, quantity: str) -> dict[str, str]:
    return {"tradeId": f"TATA-INR-{trade_id}", "price": price, "quantity": quantity}


def state(handler: RequestHandler) -> tuple[int, str]:
    return handler.engine.seq, state_hash(handler.engine)


def assert_error(outcome: Outcome, code: ErrorCode, status: int, **extra: Any) -> dict[str, Any]:
    assert outcome.status == status
    assert HTTP_STATUS[code] == status
    data = body(outcome)
    assert set(data) == {"error"}
    error = data["error"]
    assert set(error) == {"code", "message", *extra}
    assert error["code"] == code.value
    assert isinstance(error["message"], str) and error["message"]
    for key, value in extra.items():
        assert error[key] == value
    return error


def book_handler() -> RequestHandler:
    """bob (seller, 100 TATA) asks 3 @ 100.00 (seq 3), 2 @ 100.01 (seq 4), 5 @ 101.60 (seq 5);
    carol (buyer) bids 4 @ 99.00 (seq 7); alice has 100000.00 INR (seq 2)."""
    handler = new_handler()
    deposit(handler, "bob", "TATA", 100)
    deposit(handler, "alice", "INR", 10_000_000)
    place(handler, "bob", "sell", 10_000, 3)
    place(handler, "bob", "sell", 10_001, 2)
    place(handler, "bob", "sell", 10_160, 5)
    deposit(handler, "carol", "INR", 1_000_000)
    place(handler, "carol", "buy", 9_900, 4)
    assert handler.engine.seq == 7
    return handler


# ---------------------------------------------------------------------------------------------- place


def test_place_limit_that_partially_fills_201_exact_order_json_with_fills():
    handler = book_handler()
    outcome = call(handler, "place", T0 + 7, user="alice", market=MARKET, side="buy", type="limit",
                   price=10_150, quantity=10, tif="GTC", postOnly=False, clientOrderId="my-id-1")
    assert outcome.status == 201
    assert body(outcome) == order_json(
        8, "101.50", "10", executed="5", executed_quote="500.02", status="partially_filled",
        client_order_id="my-id-1", created_at=T0 + 7,
        fills=[fill(1, "100.00", "3"), fill(2, "100.01", "2")])
    assert outcome.command == PlaceOrder("alice", MARKET, Side.BUY, OrderType.LIMIT, 10_150, 10,
                                         TimeInForce.GTC, False, "my-id-1", T0 + 7)
    trades = [e for e in outcome.events if isinstance(e, Trade)]
    assert [(t.trade_id, t.price, t.quantity) for t in trades] == [(1, 10_000, 3), (2, 10_001, 2)]
    # locked: 5 x 101.50 = 507.50; available: 100000.00 - 500.02 - 507.50
    assert ok(handler, "balances", user="alice")["INR"] == {"available": "98992.48", "locked": "507.50"}


def test_place_order_id_is_market_and_command_seq():
    handler = book_handler()
    deposit(handler, "alice", "INR", 1)  # seq 8
    assert place(handler, "alice", "buy", 9_000, 1)["orderId"] == "TATA-INR-9"
    assert call(handler, "balances", user="alice").status == 200  # queries take no seq
    assert place(handler, "alice", "buy", 9_000, 1)["orderId"] == "TATA-INR-10"


def test_place_defaults_tif_gtc_post_only_false_client_id_null_when_omitted():
    handler = book_handler()
    outcome = call(handler, "place", T0 + 1, user="alice", market=MARKET, side="buy", type="limit",
                   price=9_800, quantity=2)
    assert outcome.status == 201
    assert body(outcome) == order_json(8, "98.00", "2", created_at=T0 + 1)
    assert outcome.command == PlaceOrder("alice", MARKET, Side.BUY, OrderType.LIMIT, 9_800, 2,
                                         TimeInForce.GTC, False, None, T0 + 1)


def test_place_filled_limit_buy_gets_filled_status_and_trade_ids_count_up():
    handler = book_handler()
    first = place(handler, "alice", "buy", 10_000, 2)
    assert first == order_json(8, "100.00", "2", executed="2", executed_quote="200.00", status="filled",
                               fills=[fill(1, "100.00", "2")])
    second = place(handler, "alice", "buy", 10_001, 2)
    assert second == order_json(9, "100.01", "2", executed="2", executed_quote="200.01", status="filled",
                                fills=[fill(2, "100.00", "1"), fill(3, "100.01", "1")])


def test_place_market_buy_price_null_type_market_and_walks_book():
    handler = book_handler()
    data = place(handler, "alice", "buy", None, 6, clientOrderId="mkt-1")
    assert data == order_json(8, None, "6", type_="market", executed="6", executed_quote="601.62",
                              status="filled", client_order_id="mkt-1",
                              fills=[fill(1, "100.00", "3"), fill(2, "100.01", "2"), fill(3, "101.60", "1")])


def test_place_market_sell_on_partial_bids_expires_remainder():
    handler = book_handler()
    deposit(handler, "dave", "TATA", 10)
    data = place(handler, "dave", "sell", None, 6, tif="IOC")
    assert data == order_json(9, None, "6", kind="sell", type_="market", executed="4",
                              executed_quote="396.00",
                              status="expired", tif="IOC", fills=[fill(1, "99.00", "4")])


def test_place_ioc_and_post_only_flags_are_echoed():
    handler = book_handler()
    ioc = place(handler, "alice", "buy", 10_000, 5, tif="IOC")
    assert ioc == order_json(8, "100.00", "5", executed="3", executed_quote="300.00", status="expired",
                             tif="IOC", fills=[fill(1, "100.00", "3")])
    post = place(handler, "alice", "buy", 9_950, 1, postOnly=True)
    assert post == order_json(9, "99.50", "1", post_only=True)


def test_place_fok_that_fills_completely_201_filled():
    handler = book_handler()
    data = place(handler, "alice", "buy", 10_001, 5, tif="FOK")
    assert data == order_json(8, "100.01", "5", executed="5", executed_quote="500.02", status="filled",
                              tif="FOK", fills=[fill(1, "100.00", "3"), fill(2, "100.01", "2")])


# ---------------------------------------------------------------------------------------------- cancel


def test_cancel_open_order_200_cancelled_order_json_and_funds_released():
    handler = book_handler()
    place(handler, "alice", "buy", 10_001, 4)  # seq 8: fills 3 @ 100.00, 1 @ 100.01; bob's seq 4 keeps 1
    outcome = call(handler, "cancel", T0 + 9, user="bob", market=MARKET, orderId=4)
    assert outcome.status == 200
    assert body(outcome) == order_json(4, "100.01", "2", kind="sell", executed="1", executed_quote="100.01",
                                       status="cancelled", fills=[fill(2, "100.01", "1")])
    assert outcome.command == CancelOrder("bob", 4, T0 + 9)
    assert ok(handler, "balances", user="bob")["TATA"] == {"available": "91", "locked": "5"}


def test_cancel_market_not_matching_order_404_order_not_found_and_state_unchanged():
    handler = book_handler()
    before = state(handler)
    outcome = call(handler, "cancel", user="bob", market="INFY-INR", orderId=3)
    assert_error(outcome, ErrorCode.ORDER_NOT_FOUND, 404)
    assert outcome.command is None and outcome.events == []
    assert state(handler) == before
    assert ok(handler, "order", user="bob", market=MARKET, orderId=3)["fillStatus"] == "new"


def test_cancel_unknown_market_name_for_existing_order_404():
    handler = book_handler()
    before = state(handler)
    assert_error(call(handler, "cancel", user="bob", market="NOPE-INR", orderId=3), ErrorCode.ORDER_NOT_FOUND,
                 404)
    assert state(handler) == before


def test_cancel_other_users_order_404_and_order_stays_open():
    handler = book_handler()
    outcome = call(handler, "cancel", user="alice", market=MARKET, orderId=3)
    assert_error(outcome, ErrorCode.ORDER_NOT_FOUND, 404)
    assert ok(handler, "order", user="bob", market=MARKET, orderId=3)["fillStatus"] == "new"


def test_cancel_filled_order_409_order_not_open():
    handler = book_handler()
    place(handler, "alice", "buy", 10_000, 3)
    assert_error(call(handler, "cancel", user="bob", market=MARKET, orderId=3), ErrorCode.ORDER_NOT_OPEN, 409)


# ---------------------------------------------------------------------------------------------- cancel_all


def test_cancel_all_of_market_returns_cancelled_orders_oldest_first():
    handler = book_handler()
    deposit(handler, "bob", "INFY", 5)  # seq 8
    place(handler, "bob", "sell", 150_000, 5, market="INFY-INR")  # seq 9
    outcome = call(handler, "cancel_all", T0 + 3, user="bob", market=MARKET)
    assert outcome.status == 200
    assert body(outcome) == [
        order_json(3, "100.00", "3", kind="sell", status="cancelled"),
        order_json(4, "100.01", "2", kind="sell", status="cancelled"),
        order_json(5, "101.60", "5", kind="sell", status="cancelled"),
    ]
    assert outcome.command == CancelAll("bob", MARKET, T0 + 3)
    assert [o["orderId"] for o in ok(handler, "orders", user="bob", market=None)] == ["INFY-INR-9"]
    assert ok(handler, "orders", user="carol", market=None)[0]["orderId"] == "TATA-INR-7"


def test_cancel_all_without_market_cancels_every_market():
    handler = book_handler()
    deposit(handler, "bob", "INFY", 5)
    place(handler, "bob", "sell", 150_000, 5, market="INFY-INR")
    data = ok(handler, "cancel_all", user="bob", market=None)
    assert [(o["orderId"], o["fillStatus"]) for o in data] == [
        ("TATA-INR-3", "cancelled"), ("TATA-INR-4", "cancelled"), ("TATA-INR-5", "cancelled"),
        ("INFY-INR-9", "cancelled")]
    assert ok(handler, "balances", user="bob")["TATA"] == {"available": "100", "locked": "0"}
    assert ok(handler, "orders", user="bob", market=None) == []


def test_cancel_all_with_nothing_open_returns_empty_list():
    handler = book_handler()
    outcome = call(handler, "cancel_all", user="nobody", market=None)
    assert outcome.status == 200
    assert body(outcome) == []


def test_cancel_all_unknown_market_400_unknown_market():
    handler = book_handler()
    assert_error(call(handler, "cancel_all", user="bob", market="NOPE-INR"), ErrorCode.UNKNOWN_MARKET, 400)
    assert len(ok(handler, "orders", user="bob", market=None)) == 3


# ---------------------------------------------------------------------------------------------- deposit


def test_deposit_returns_balances_of_every_asset():
    handler = new_handler()
    outcome = call(handler, "deposit", T0 + 4, user="alice", asset="INR", amount=12_345)
    assert outcome.status == 200
    assert body(outcome) == {**ZERO_BALANCES, "INR": {"available": "123.45", "locked": "0.00"}}
    assert outcome.command == Deposit("alice", "INR", 12_345, T0 + 4)
    data = ok(handler, "deposit", user="alice", asset="INFY", amount=7)
    assert data == {**ZERO_BALANCES, "INR": {"available": "123.45", "locked": "0.00"},
                    "INFY": {"available": "7", "locked": "0"}}


def test_deposit_shows_locked_funds_of_open_orders():
    handler = book_handler()
    data = ok(handler, "deposit", user="bob", asset="INR", amount=5)
    assert data == {**ZERO_BALANCES, "INR": {"available": "0.05", "locked": "0.00"},
                    "TATA": {"available": "90", "locked": "10"}}


# ---------------------------------------------------------------------------------------------- queries


def test_order_returns_order_with_all_fills_so_far():
    handler = book_handler()
    place(handler, "alice", "buy", 10_000, 1)  # trade 1
    place(handler, "alice", "buy", 10_000, 1)  # trade 2
    outcome = call(handler, "order", user="bob", market=MARKET, orderId=3)
    assert outcome.status == 200
    assert body(outcome) == order_json(3, "100.00", "3", kind="sell", executed="2", executed_quote="200.00",
                                       status="partially_filled",
                                       fills=[fill(1, "100.00", "1"), fill(2, "100.00", "1")])
    assert outcome.command is None


def test_order_closed_order_still_returned_with_final_status():
    handler = book_handler()
    place(handler, "alice", "buy", 10_000, 3)
    data = ok(handler, "order", user="alice", market=MARKET, orderId=8)
    assert data == order_json(8, "100.00", "3", executed="3", executed_quote="300.00", status="filled",
                              fills=[fill(1, "100.00", "3")])


@pytest.mark.parametrize(("user", "market", "order_id"), [
    pytest.param("alice", MARKET, 3, id="other-users-order"),
    pytest.param("bob", "INFY-INR", 3, id="wrong-market"),
    pytest.param("bob", MARKET, 999, id="unknown-id"),
    pytest.param("bob", MARKET, 2, id="id-of-a-deposit"),
    pytest.param("bob", MARKET, -1, id="negative-id"),
])
def test_order_not_visible_404_order_not_found(user, market, order_id):
    handler = book_handler()
    before = state(handler)
    outcome = call(handler, "order", user=user, market=market, orderId=order_id)
    assert_error(outcome, ErrorCode.ORDER_NOT_FOUND, 404)
    assert state(handler) == before


def test_orders_lists_open_orders_oldest_first_filtered_by_market():
    handler = book_handler()
    deposit(handler, "bob", "INFY", 5)
    place(handler, "bob", "sell", 150_000, 5, market="INFY-INR")
    place(handler, "alice", "buy", 10_000, 3)  # fills bob's seq 3 completely
    everything = ok(handler, "orders", user="bob", market=None)
    assert everything == [
        order_json(4, "100.01", "2", kind="sell"),
        order_json(5, "101.60", "5", kind="sell"),
        order_json(9, "1500.00", "5", kind="sell", market="INFY-INR"),
    ]
    assert ok(handler, "orders", user="bob", market="INFY-INR") == [everything[2]]
    assert ok(handler, "orders", user="bob", market="RELIANCE-INR") == []
    assert ok(handler, "orders", user="bob") == everything  # market omitted: all
    assert ok(handler, "orders", user="nobody", market=None) == []


def test_orders_unknown_market_400_unknown_market():
    handler = book_handler()
    assert_error(call(handler, "orders", user="bob", market="NOPE-INR"), ErrorCode.UNKNOWN_MARKET, 400)


def test_balances_lists_every_asset_zeros_included():
    handler = book_handler()
    assert ok(handler, "balances", user="nobody") == ZERO_BALANCES
    assert ok(handler, "balances", user="carol") == {
        **ZERO_BALANCES, "INR": {"available": "9604.00", "locked": "396.00"}}


def test_ping_200_status_ok():
    outcome = call(new_handler(), "ping")
    assert outcome.status == 200
    assert body(outcome) == {"status": "ok"}
    assert outcome.command is None


# ---------------------------------------------------------------------------------------------- quote


def quote_handler(*asks: tuple[int, int]) -> RequestHandler:
    """A book with the given (price ticks, lots) asks, each its own order, placed in order."""
    handler = new_handler()
    deposit(handler, "maker", "TATA", sum(q for _, q in asks) or 1)
    for price, quantity in asks:
        place(handler, "maker", "sell", price, quantity)
    return handler


def quote(handler: RequestHandler, side: str, quantity: int) -> Any:
    return ok(handler, "quote", market=MARKET, side=side, quantity=quantity)


def test_quote_non_terminating_average_rounds_half_even_to_8_decimals():
    # 300.02 / 3 = 100.00666666... -> 100.00666667
    handler = quote_handler((10_000, 1), (10_001, 2))
    assert quote(handler, "buy", 3) == {
        "market": MARKET, "kind": "buy", "quantity": "3", "fillableQuantity": "3",
        "averagePrice": "100.00666667", "worstPrice": "100.01", "quoteQuantity": "300.02",
        "fullyFillable": True}


def test_quote_non_terminating_average_rounds_down_when_below_half():
    # 300.01 / 3 = 100.00333333...
    handler = quote_handler((10_000, 2), (10_001, 1))
    assert quote(handler, "buy", 3)["averagePrice"] == "100.00333333"


def test_quote_tie_at_ninth_decimal_rounds_to_even_digit_down():
    # 127 x 100.00 + 1 x 100.01 = 12800.01; / 128 = 100.000078125 -> 100.00007812 (half-up: ...13)
    handler = quote_handler((10_000, 127), (10_001, 1))
    data = quote(handler, "buy", 128)
    assert data["quoteQuantity"] == "12800.01"
    assert data["averagePrice"] == "100.00007812"


def test_quote_tie_at_ninth_decimal_rounds_to_even_digit_up():
    # 125 x 100.00 + 3 x 100.01 = 12800.03; / 128 = 100.000234375 -> 100.00023438 (half-down: ...37)
    handler = quote_handler((10_000, 125), (10_001, 3))
    data = quote(handler, "buy", 128)
    assert data["quoteQuantity"] == "12800.03"
    assert data["averagePrice"] == "100.00023438"


def test_quote_exact_average_trims_trailing_zeros_to_tick_decimals():
    assert quote(quote_handler((10_010, 5)), "buy", 2)["averagePrice"] == "100.10"
    assert quote(quote_handler((10_000, 5)), "buy", 5)["averagePrice"] == "100.00"
    # 100.12 + 100.13 = 200.25; / 2 = 100.125: more decimals than the tick, kept, zeros trimmed
    assert quote(quote_handler((10_012, 1), (10_013, 1)), "buy", 2)["averagePrice"] == "100.125"


def test_quote_short_liquidity_fillable_less_than_quantity_not_fully_fillable():
    handler = quote_handler((10_000, 1), (10_001, 2))
    assert quote(handler, "buy", 10) == {
        "market": MARKET, "kind": "buy", "quantity": "10", "fillableQuantity": "3",
        "averagePrice": "100.00666667", "worstPrice": "100.01", "quoteQuantity": "300.02",
        "fullyFillable": False}


def test_quote_sell_walks_bids_best_first():
    handler = book_handler()
    deposit(handler, "carol", "INR", 1_000_000)
    place(handler, "carol", "buy", 9_850, 2)
    place(handler, "carol", "buy", 9_800, 10)
    # 4 @ 99.00 + 2 @ 98.50 + 1 @ 98.00 = 396.00 + 197.00 + 98.00 = 691.00; / 7 = 98.71428571428...
    assert quote(handler, "sell", 7) == {
        "market": MARKET, "kind": "sell", "quantity": "7", "fillableQuantity": "7",
        "averagePrice": "98.71428571", "worstPrice": "98.00", "quoteQuantity": "691.00",
        "fullyFillable": True}


def test_quote_empty_book_nulls_and_zero_quote_quantity():
    handler = new_handler()
    for side in ("buy", "sell"):
        assert quote(handler, side, 5) == {
            "market": MARKET, "kind": side, "quantity": "5", "fillableQuantity": "0", "averagePrice": None,
            "worstPrice": None, "quoteQuantity": "0", "fullyFillable": False}


def test_quote_changes_nothing():
    handler = book_handler()
    before = state(handler)
    quote(handler, "buy", 1_000)
    quote(handler, "sell", 1_000)
    assert state(handler) == before


def test_quote_unknown_market_400_unknown_market():
    handler = new_handler()
    assert_error(call(handler, "quote", market="NOPE-INR", side="buy", quantity=1), ErrorCode.UNKNOWN_MARKET,
                 400)


# ---------------------------------------------------------------------------------------------- rejections


def rejection_cases() -> list[Any]:
    def place_req(user: str, side: str, price: int | None, quantity: int, **extra: Any) -> tuple[str, dict]:
        return "place", place_fields(user, side, price, quantity, **extra)

    return [
        pytest.param(place_req("alice", "buy", 9_000, 1, clientOrderId="bad id!"), ErrorCode.INVALID_REQUEST,
                     400, id="place-bad-client-order-id"),
        pytest.param(place_req("", "buy", 9_000, 1), ErrorCode.INVALID_REQUEST, 400, id="place-empty-user"),
        pytest.param(place_req("u" * 65, "buy", 9_000, 1), ErrorCode.INVALID_REQUEST, 400,
                     id="place-user-too-long"),
        pytest.param(("deposit", {"user": "", "asset": "INR", "amount": 1}), ErrorCode.INVALID_REQUEST, 400,
                     id="deposit-empty-user"),
        pytest.param(("deposit", {"user": "alice", "asset": "XYZ", "amount": 1}), ErrorCode.INVALID_REQUEST,
                     400, id="deposit-unknown-asset"),
        pytest.param(place_req("alice", "buy", 9_000, 1, market="NOPE-INR"), ErrorCode.UNKNOWN_MARKET, 400,
                     id="place-unknown-market"),
        pytest.param(place_req("alice", "buy", 0, 1), ErrorCode.INVALID_PRICE, 400, id="place-price-zero"),
        pytest.param(place_req("alice", "buy", -5, 1), ErrorCode.INVALID_PRICE, 400,
                     id="place-price-negative"),
        pytest.param(("place", {**place_fields("alice", "buy", 9_000, 1), "price": None}),
                     ErrorCode.INVALID_PRICE, 400, id="place-limit-without-price"),
        pytest.param(("place", {**place_fields("alice", "buy", None, 1), "price": 9_000}),
                     ErrorCode.INVALID_PRICE, 400, id="place-market-with-price"),
        pytest.param(place_req("alice", "buy", 100_000_000_001, 1), ErrorCode.INVALID_PRICE, 400,
                     id="place-price-too-large"),
        pytest.param(place_req("alice", "buy", 9_000, 0), ErrorCode.INVALID_QUANTITY, 400,
                     id="place-qty-zero"),
        pytest.param(place_req("alice", "buy", 1, 1_000_000_001), ErrorCode.INVALID_QUANTITY, 400,
                     id="place-qty-too-large"),
        pytest.param(("deposit", {"user": "alice", "asset": "INR", "amount": 0}), ErrorCode.INVALID_QUANTITY,
                     400, id="deposit-zero"),
        pytest.param(("deposit", {"user": "alice", "asset": "INR", "amount": -100}),
                     ErrorCode.INVALID_QUANTITY, 400, id="deposit-negative"),
        pytest.param(place_req("alice", "buy", 10_000_001, 1), ErrorCode.INSUFFICIENT_BALANCE, 400,
                     id="place-buy-not-enough-quote"),
        pytest.param(place_req("alice", "sell", 9_000, 1), ErrorCode.INSUFFICIENT_BALANCE, 400,
                     id="place-sell-no-base"),
        pytest.param(place_req("bob", "buy", None, 1), ErrorCode.INSUFFICIENT_BALANCE, 400,
                     id="place-market-buy-no-quote"),
        pytest.param(place_req("alice", "buy", 10_000, 1, postOnly=True), ErrorCode.WOULD_CROSS, 400,
                     id="place-post-only-crosses"),
        pytest.param(place_req("alice", "buy", 10_001, 6, tif="FOK"), ErrorCode.UNFILLABLE, 400,
                     id="place-fok-unfillable"),
        pytest.param(place_req("carol", "buy", 9_000, 1, clientOrderId="c-1"),
                     ErrorCode.DUPLICATE_CLIENT_ORDER_ID, 409, id="place-duplicate-client-order-id"),
        pytest.param(("cancel", {"user": "bob", "market": MARKET, "orderId": 999}), ErrorCode.ORDER_NOT_FOUND,
                     404, id="cancel-unknown-order"),
        pytest.param(("cancel", {"user": "alice", "market": MARKET, "orderId": 3}), ErrorCode.ORDER_NOT_FOUND,
                     404, id="cancel-other-users-order"),
        pytest.param(("cancel", {"user": "carol", "market": MARKET, "orderId": 9}), ErrorCode.ORDER_NOT_OPEN,
                     409, id="cancel-cancelled-order"),
        pytest.param(("cancel_all", {"user": "bob", "market": "NOPE-INR"}), ErrorCode.UNKNOWN_MARKET, 400,
                     id="cancel-all-unknown-market"),
    ]


def rejection_handler() -> RequestHandler:
    handler = book_handler()  # seq 7
    place(handler, "carol", "buy", 9_000, 1, clientOrderId="c-1")  # seq 8
    place(handler, "carol", "buy", 9_000, 1)  # seq 9
    ok(handler, "cancel", user="carol", market=MARKET, orderId=9)  # seq 10
    return handler


@pytest.mark.parametrize(("request_", "code", "status"), rejection_cases())
def test_engine_rejection_maps_to_http_status_and_error_envelope(request_, code, status):
    handler = rejection_handler()
    op, fields = request_
    seq = handler.engine.seq
    before = frozen_state(handler.engine)
    outcome = call(handler, op, T0 + 50, **fields)
    extra = {"orderId": "TATA-INR-8"} if code is ErrorCode.DUPLICATE_CLIENT_ORDER_ID else {}
    assert_error(outcome, code, status, **extra)
    # A rejected command still takes a seq and is journaled (the runner needs it to replay exactly).
    assert handler.engine.seq == seq + 1
    assert outcome.command is not None
    assert outcome.command.ts == T0 + 50
    assert len(outcome.events) == 1
    rejected = outcome.events[0]
    assert isinstance(rejected, Rejected)
    assert rejected.code is code
    assert frozen_state(handler.engine) == before


def test_duplicate_client_order_id_409_carries_order_id_of_closed_order():
    handler = book_handler()
    first = place(handler, "alice", "buy", 10_000, 3, clientOrderId="retry-1")  # fills: closed
    assert first["fillStatus"] == "filled"
    outcome = call(handler, "place", **place_fields("alice", "buy", 9_000, 1, clientOrderId="retry-1"))
    assert_error(outcome, ErrorCode.DUPLICATE_CLIENT_ORDER_ID, 409, orderId="TATA-INR-8")


def test_duplicate_client_order_id_of_other_market_reports_that_markets_order_id():
    handler = book_handler()
    deposit(handler, "bob", "INFY", 5)  # seq 8
    place(handler, "bob", "sell", 150_000, 5, market="INFY-INR", clientOrderId="x")  # seq 9
    outcome = call(handler, "place", **place_fields("bob", "sell", 10_500, 1, clientOrderId="x"))
    assert_error(outcome, ErrorCode.DUPLICATE_CLIENT_ORDER_ID, 409, orderId="INFY-INR-9")


def test_same_client_order_id_for_two_users_both_201():
    handler = book_handler()
    place(handler, "alice", "buy", 9_000, 1, clientOrderId="same")
    assert place(handler, "carol", "buy", 9_000, 1, clientOrderId="same")["clientOrderId"] == "same"


@pytest.mark.parametrize("code", list(ErrorCode))
def test_http_status_table_matches_contract(code):
    expected = {"INVALID_REQUEST": 400, "UNKNOWN_MARKET": 400, "INVALID_PRICE": 400, "INVALID_QUANTITY": 400,
                "INSUFFICIENT_BALANCE": 400, "WOULD_CROSS": 400, "UNFILLABLE": 400,
                "DUPLICATE_CLIENT_ORDER_ID": 409, "UNAUTHORIZED": 401, "FORBIDDEN": 403,
                "ORDER_NOT_FOUND": 404,
                "ORDER_NOT_OPEN": 409, "RATE_LIMITED": 429, "ENGINE_UNAVAILABLE": 503}
    assert HTTP_STATUS[code] == expected[code.value]


# ---------------------------------------------------------------------------------------------- malformed

GOOD_PLACE = place_fields("alice", "buy", 9_000, 1)


def without(fields: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != name}


def malformed_cases() -> list[Any]:
    cases: list[Any] = []

    def add(op: str, fields: dict[str, Any], name: str) -> None:
        cases.append(pytest.param(op, fields, id=f"{op}-{name}"))

    for name in ("user", "market", "side", "type", "quantity"):
        add("place", without(GOOD_PLACE, name), f"missing-{name}")
    for name, value, label in [
        ("user", 7, "user-int"), ("user", None, "user-null"), ("market", None, "market-null"),
        ("market", ["TATA-INR"], "market-list"), ("side", "BUY", "side-upper"),
        ("side", "long", "side-unknown"),
        ("side", None, "side-null"), ("side", 1, "side-int"), ("type", "stop", "type-unknown"),
        ("type", "LIMIT", "type-upper"), ("type", None, "type-null"), ("tif", "gtc", "tif-lower"),
        ("tif", "GTD", "tif-unknown"), ("tif", None, "tif-null"), ("tif", ["GTC"], "tif-list"),
        ("price", "90.00", "price-string"), ("price", 90.5, "price-float"),
        ("price", 9000.0, "price-whole-float"), ("price", True, "price-bool"),
        ("quantity", "1", "quantity-string"), ("quantity", True, "quantity-bool"),
        ("quantity", 1.0, "quantity-float"), ("quantity", None, "quantity-null"),
        ("postOnly", "false", "post-only-string"), ("postOnly", 1, "post-only-int"),
        ("postOnly", None, "post-only-null"), ("clientOrderId", 5, "client-order-id-int"),
        ("clientOrderId", True, "client-order-id-bool"),
    ]:
        add("place", {**GOOD_PLACE, name: value}, label)
    good_cancel = {"user": "bob", "market": MARKET, "orderId": 3}
    for name in good_cancel:
        add("cancel", without(good_cancel, name), f"missing-{name}")
    for name, value, label in [("orderId", "TATA-INR-3", "order-id-public-string"),
                               ("orderId", "3", "order-id-string"),
                               ("orderId", True, "order-id-bool"), ("orderId", 3.0, "order-id-float"),
                               ("orderId", None, "order-id-null"), ("user", 1, "user-int"),
                               ("market", 1, "market-int"), ("market", None, "market-null")]:
        add("cancel", {**good_cancel, name: value}, label)
    add("cancel_all", {"market": MARKET}, "missing-user")
    add("cancel_all", {"user": 5, "market": MARKET}, "user-int")
    add("cancel_all", {"user": "bob", "market": 5}, "market-int")
    add("cancel_all", {"user": "bob", "market": True}, "market-bool")
    add("cancel_all", {"user": "bob", "market": ["TATA-INR"]}, "market-list")
    good_deposit = {"user": "alice", "asset": "INR", "amount": 100}
    for name in good_deposit:
        add("deposit", without(good_deposit, name), f"missing-{name}")
    for name, value, label in [("amount", "100", "amount-string"), ("amount", True, "amount-bool"),
                               ("amount", 1.5, "amount-float"), ("amount", None, "amount-null"),
                               ("asset", 5, "asset-int"), ("asset", None, "asset-null"),
                               ("user", None, "user-null")]:
        add("deposit", {**good_deposit, name: value}, label)
    good_order = {"user": "bob", "market": MARKET, "orderId": 3}
    for name in good_order:
        add("order", without(good_order, name), f"missing-{name}")
    for name, value, label in [("orderId", "3", "order-id-string"),
                               ("orderId", "TATA-INR-3", "order-id-public"),
                               ("orderId", False, "order-id-bool"), ("orderId", 3.0, "order-id-float"),
                               ("market", None, "market-null"), ("user", 3, "user-int")]:
        add("order", {**good_order, name: value}, label)
    add("orders", {"market": MARKET}, "missing-user")
    add("orders", {"user": "bob", "market": 5}, "market-int")
    add("orders", {"user": "bob", "market": False}, "market-bool")
    add("balances", {}, "missing-user")
    add("balances", {"user": 5}, "user-int")
    add("balances", {"user": None}, "user-null")
    good_quote = {"market": MARKET, "side": "buy", "quantity": 3}
    for name in good_quote:
        add("quote", without(good_quote, name), f"missing-{name}")
    for name, value, label in [("side", "BUY", "side-upper"), ("side", "long", "side-unknown"),
                               ("quantity", "3", "quantity-string"), ("quantity", True, "quantity-bool"),
                               ("quantity", 3.0, "quantity-float"), ("quantity", 0, "quantity-zero"),
                               ("quantity", -1, "quantity-negative"), ("market", 5, "market-int")]:
        add("quote", {**good_quote, name: value}, label)
    add("transfer", {"user": "bob"}, "unknown-op")
    return cases


@pytest.mark.parametrize(("op", "fields"), malformed_cases())
def test_malformed_request_400_invalid_request_and_engine_unchanged(op, fields):
    handler = book_handler()
    before = state(handler)
    outcome = call(handler, op, T0 + 99, **fields)
    assert_error(outcome, ErrorCode.INVALID_REQUEST, 400)
    assert outcome.command is None
    assert outcome.events == []
    assert state(handler) == before


def test_malformed_request_then_valid_one_gets_next_seq():
    handler = book_handler()
    call(handler, "place", **{**GOOD_PLACE, "side": "BUY"})
    assert place(handler, "alice", "buy", 9_000, 1)["orderId"] == "TATA-INR-8"


# ---------------------------------------------------------------------------------------------- read-only


def test_read_only_ops_never_change_state_even_when_they_fail():
    handler = book_handler()
    place(handler, "alice", "buy", 10_000, 1)
    before = state(handler)
    snapshot = frozen_state(handler.engine)
    outcomes = [
        call(handler, "order", user="bob", market=MARKET, orderId=3),
        call(handler, "order", user="bob", market=MARKET, orderId=12345),
        call(handler, "order", user="zed", market=MARKET, orderId=3),
        call(handler, "orders", user="bob", market=None),
        call(handler, "orders", user="bob", market=MARKET),
        call(handler, "orders", user="zed", market="NOPE-INR"),
        call(handler, "balances", user="bob"),
        call(handler, "balances", user="never-seen"),
        call(handler, "quote", market=MARKET, side="buy", quantity=5),
        call(handler, "quote", market=MARKET, side="sell", quantity=1_000_000),
        call(handler, "quote", market="NOPE-INR", side="sell", quantity=1),
        call(handler, "ping"),
    ]
    assert [o.status for o in outcomes] == [200, 404, 404, 200, 200, 400, 200, 200, 200, 200, 400, 200]
    assert all(o.command is None and o.events == [] for o in outcomes)
    assert state(handler) == before
    assert frozen_state(handler.engine) == snapshot
    assert "never-seen" not in handler.engine.accounts
    assert "zed" not in handler.engine.accounts


# ---------------------------------------------------------------------------------------------- deadline


def test_request_past_its_deadline_503_engine_unavailable_and_not_applied():
    handler = new_handler()
    deposit(handler, "alice", "INR", 1_000_000)
    before = state(handler)
    outcome = call(handler, "place", T0 + 1, deadline=T0, **place_fields("alice", "buy", 10_000, 1))
    assert_error(outcome, ErrorCode.ENGINE_UNAVAILABLE, 503)
    assert outcome.command is None
    assert state(handler) == before


def test_request_within_its_deadline_is_applied():
    handler = new_handler()
    deposit(handler, "alice", "INR", 1_000_000)
    outcome = call(handler, "place", T0, deadline=T0, **place_fields("alice", "buy", 10_000, 1))
    assert outcome.status == 201
