"""Every rejection code the engine produces; a rejection changes nothing; the order of the checks.

``apply_rejected`` asserts exactly one ``Rejected`` with the expected code and that the whole engine state
(the snapshot with ``seq`` set aside, plus the clientOrderId index) is unchanged.
"""


import pytest

from shared.commands import CancelAll, PlaceOrder
from shared.errors import ErrorCode
from shared.events import BalanceChanged
from shared.types import OrderType, Side, TimeInForce
from tests.support.factories import (
    MARKET,
    T0,
    apply_ok,
    apply_rejected,
    cancel,
    deposit,
    fund,
    limit,
    market_order,
    new_engine,
    place,
)

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET_TYPE = OrderType.LIMIT, OrderType.MARKET
GTC, FOK = TimeInForce.GTC, TimeInForce.FOK
MAX_TICKS = 100_000_000_000  # 1,000,000,000.00 INR in ticks of 0.01
MAX_LOTS = 1_000_000_000


def busy_engine():
    """A non-trivial state: resting orders on both sides, a fill, a cancelled order, a clientOrderId."""
    engine = new_engine()
    fund(engine, "alice", inr=5_000_000, tata=500)
    fund(engine, "bob", inr=5_000_000, tata=500)
    place(engine, limit("alice", "sell", 10_100, 10, client_order_id="alice-1"))
    place(engine, limit("alice", "sell", 10_200, 5))
    place(engine, limit("bob", "buy", 9_900, 10, client_order_id="bob-1"))
    place(engine, limit("bob", "buy", 10_100, 2))
    oid, _ = place(engine, limit("bob", "buy", 9_800, 1, client_order_id="bob-2"))
    apply_ok(engine, cancel("bob", oid))
    return engine


def order(user="bob", side=BUY, order_type=LIMIT, price=10_000, quantity=1, tif=GTC, post_only=False,
          coid=None, market=MARKET, ts=T0):
    return PlaceOrder(user, market, side, order_type, price, quantity, tif, post_only, coid, ts)


# ---------------------------------------------------------------------------------------------- codes


# Wrong *types* (a str side, a float price, a bool quantity...) cannot even be built into a command:
# tests/unit/shared/test_commands.py. These are well-typed commands with bad *values*.
@pytest.mark.parametrize("field, value", [
    ("user", ""),
    ("user", "u" * 65),
    ("coid", "bad id"),
])
def test_place_malformed_field_rejected_invalid_request(field, value):
    engine = busy_engine()
    apply_rejected(engine, order(**{field: value}), ErrorCode.INVALID_REQUEST)


def test_unknown_command_type_rejected_invalid_request():
    engine = busy_engine()
    apply_rejected(engine, ("deposit", "bob", "INR", 5, T0), ErrorCode.INVALID_REQUEST)  # type: ignore[arg-type]


@pytest.mark.parametrize("market", ["FOO-INR", "tata-inr", "TATA", ""])
def test_place_unknown_market_rejected_unknown_market(market):
    engine = busy_engine()
    apply_rejected(engine, order(market=market), ErrorCode.UNKNOWN_MARKET)


@pytest.mark.parametrize("price", [None, 0, -1, MAX_TICKS + 1])
def test_limit_bad_price_rejected_invalid_price(price):
    engine = busy_engine()
    apply_rejected(engine, order(price=price), ErrorCode.INVALID_PRICE)


def test_limit_price_at_bound_accepted():
    engine = new_engine()
    fund(engine, "bob", inr=MAX_TICKS)  # 1 lot at the highest price costs all of it
    place(engine, limit("bob", "buy", MAX_TICKS, 1))


def test_market_order_with_price_rejected_invalid_price():
    engine = busy_engine()
    apply_rejected(engine, order(order_type=MARKET_TYPE, price=10_000), ErrorCode.INVALID_PRICE)


@pytest.mark.parametrize("quantity", [0, -1, MAX_LOTS + 1])
def test_limit_bad_quantity_rejected_invalid_quantity(quantity):
    engine = busy_engine()
    apply_rejected(engine, order(quantity=quantity, price=1), ErrorCode.INVALID_QUANTITY)


@pytest.mark.parametrize("quantity", [0, -3, MAX_LOTS + 1])
def test_market_bad_quantity_rejected_invalid_quantity(quantity):
    engine = busy_engine()
    apply_rejected(engine, order(order_type=MARKET_TYPE, price=None, quantity=quantity),
                   ErrorCode.INVALID_QUANTITY)


def test_quantity_at_bound_passes_validation():
    engine = new_engine()
    fund(engine, "alice", tata=MAX_LOTS)
    place(engine, limit("alice", "sell", 1, MAX_LOTS))


def test_limit_buy_without_funds_rejected_insufficient_balance():
    apply_rejected(busy_engine(), order(user="carol"), ErrorCode.INSUFFICIENT_BALANCE)


def test_limit_sell_without_base_rejected_insufficient_balance():
    apply_rejected(busy_engine(), order(user="carol", side=SELL), ErrorCode.INSUFFICIENT_BALANCE)


def test_market_buy_without_quote_rejected_insufficient_balance():
    apply_rejected(busy_engine(), market_order("carol", "buy", 1), ErrorCode.INSUFFICIENT_BALANCE)


def test_market_sell_without_full_base_rejected_insufficient_balance():
    # bob holds 502 TATA: 500 deposited, 2 bought.
    apply_rejected(busy_engine(), market_order("bob", "sell", 503), ErrorCode.INSUFFICIENT_BALANCE)


def test_post_only_crossing_rejected_would_cross():
    apply_rejected(busy_engine(), order(price=10_100, post_only=True), ErrorCode.WOULD_CROSS)


def test_fok_unfillable_rejected_unfillable():
    apply_rejected(busy_engine(), order(price=10_200, quantity=16, tif=FOK), ErrorCode.UNFILLABLE)


def test_duplicate_client_order_id_rejected_duplicate():
    rejected = apply_rejected(busy_engine(), order(coid="bob-1", price=9_000),
                              ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == 7


def test_cancel_unknown_order_rejected_order_not_found():
    apply_rejected(busy_engine(), cancel("bob", 12_345), ErrorCode.ORDER_NOT_FOUND)


def test_cancel_other_users_order_rejected_order_not_found():
    apply_rejected(busy_engine(), cancel("bob", 5), ErrorCode.ORDER_NOT_FOUND)


def test_cancel_closed_order_rejected_order_not_open():
    apply_rejected(busy_engine(), cancel("bob", 9), ErrorCode.ORDER_NOT_OPEN)


def test_cancel_all_unknown_market_rejected_unknown_market():
    apply_rejected(busy_engine(), CancelAll("bob", "FOO-INR", T0), ErrorCode.UNKNOWN_MARKET)


def test_deposit_unknown_asset_rejected_invalid_request():
    apply_rejected(busy_engine(), deposit("bob", "GOLD", 5), ErrorCode.INVALID_REQUEST)


def test_deposit_bad_amount_rejected_invalid_quantity():
    apply_rejected(busy_engine(), deposit("bob", "INR", 0), ErrorCode.INVALID_QUANTITY)


def test_rejected_message_is_human_readable_text():
    rejected = apply_rejected(busy_engine(), order(user="carol"), ErrorCode.INSUFFICIENT_BALANCE)
    assert isinstance(rejected.message, str) and rejected.message
    assert rejected.order_id is None


def test_rejection_leaks_nothing_into_next_command_events():
    engine = busy_engine()
    apply_rejected(engine, order(price=10_200, quantity=16, tif=FOK), ErrorCode.UNFILLABLE)
    apply_rejected(engine, order(user="carol"), ErrorCode.INSUFFICIENT_BALANCE)
    events = apply_ok(engine, deposit("carol", "INR", 7))
    assert events == [BalanceChanged(engine.seq, T0, "carol", "INR", 7, 0, 7, 0)]


def test_rejection_advances_seq_so_next_order_id_skips_it():
    engine = busy_engine()
    seq = engine.seq
    apply_rejected(engine, order(user="carol"), ErrorCode.INSUFFICIENT_BALANCE)
    oid, _ = place(engine, order(price=9_000))
    assert oid == seq + 2


# ---------------------------------------------------------------------------------------------- check order
# API.md: request shape and values -> UNKNOWN_MARKET -> DUPLICATE_CLIENT_ORDER_ID -> INSUFFICIENT_BALANCE
# -> WOULD_CROSS / UNFILLABLE.


def test_bad_client_order_id_and_unknown_market_rejected_invalid_request():
    apply_rejected(busy_engine(), order(coid="no spaces", market="FOO-INR"), ErrorCode.INVALID_REQUEST)


def test_zero_price_and_unknown_market_rejected_invalid_price():
    # A price <= 0 is a bad value whatever the market; values are checked before the market.
    apply_rejected(busy_engine(), order(price=0, market="FOO-INR"), ErrorCode.INVALID_PRICE)


def test_zero_quantity_and_unknown_market_rejected_invalid_quantity():
    apply_rejected(busy_engine(), order(quantity=0, market="FOO-INR"), ErrorCode.INVALID_QUANTITY)


def test_unknown_market_and_duplicate_rejected_unknown_market():
    apply_rejected(busy_engine(), order(coid="bob-1", market="FOO-INR"), ErrorCode.UNKNOWN_MARKET)


def test_bad_price_and_duplicate_rejected_invalid_price():
    apply_rejected(busy_engine(), order(coid="bob-1", price=0), ErrorCode.INVALID_PRICE)


def test_bad_quantity_and_duplicate_rejected_invalid_quantity():
    apply_rejected(busy_engine(), order(coid="bob-1", quantity=0), ErrorCode.INVALID_QUANTITY)


def test_duplicate_and_insufficient_balance_rejected_duplicate():
    rejected = apply_rejected(busy_engine(), order(coid="bob-1", quantity=10**6),
                              ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == 7


def test_duplicate_and_would_cross_rejected_duplicate():
    apply_rejected(busy_engine(), order(coid="bob-1", price=10_100, post_only=True),
                   ErrorCode.DUPLICATE_CLIENT_ORDER_ID)


def test_duplicate_and_unfillable_rejected_duplicate():
    apply_rejected(busy_engine(), order(coid="bob-2", price=10_200, quantity=16, tif=FOK),
                   ErrorCode.DUPLICATE_CLIENT_ORDER_ID)


def test_insufficient_balance_and_would_cross_rejected_insufficient_balance():
    apply_rejected(busy_engine(), order(user="carol", price=10_100, post_only=True),
                   ErrorCode.INSUFFICIENT_BALANCE)


def test_insufficient_balance_and_unfillable_rejected_insufficient_balance():
    apply_rejected(busy_engine(), order(user="carol", price=10_200, quantity=16, tif=FOK),
                   ErrorCode.INSUFFICIENT_BALANCE)


def test_insufficient_sell_and_would_cross_rejected_insufficient_balance():
    apply_rejected(busy_engine(), order(user="carol", side=SELL, price=9_900, post_only=True),
                   ErrorCode.INSUFFICIENT_BALANCE)


def test_cancel_someone_elses_closed_order_rejected_order_not_found_not_order_not_open():
    engine = busy_engine()
    apply_rejected(engine, cancel("alice", 9), ErrorCode.ORDER_NOT_FOUND)


def test_deposit_unknown_asset_and_invalid_user_rejected_invalid_request():
    apply_rejected(busy_engine(), deposit("", "GOLD", 5), ErrorCode.INVALID_REQUEST)
