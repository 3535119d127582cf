"""Placing orders: limit GTC / IOC / FOK, postOnly, and market orders."""

from shared.commands import PlaceOrder
from shared.errors import ErrorCode
from shared.events import BalanceChanged, DepthUpdate, OrderUpdated, Trade
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from tests.support.factories import (
    MARKET,
    T0,
    apply_rejected,
    balance,
    fund,
    limit,
    market_order,
    new_engine,
    of_type,
    order_update,
    place,
)

GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
RICH = 10_000_000  # 100,000.00 INR in paise


def seller_book():
    """alice asks 3 @ 100.00, carol asks 4 @ 100.50, dave asks 5 @ 101.00; bob holds RICH INR."""
    engine = new_engine()
    fund(engine, "alice", tata=100)
    fund(engine, "carol", tata=100)
    fund(engine, "dave", tata=100)
    fund(engine, "bob", inr=RICH)
    a, _ = place(engine, limit("alice", "sell", 10_000, 3))
    c, _ = place(engine, limit("carol", "sell", 10_050, 4))
    d, _ = place(engine, limit("dave", "sell", 10_100, 5))
    return engine, a, c, d


def buyer_book():
    """bob bids 2 @ 99.00, carol bids 3 @ 98.00; alice holds 100 TATA."""
    engine = new_engine()
    fund(engine, "bob", inr=RICH)
    fund(engine, "carol", inr=RICH)
    fund(engine, "alice", tata=100)
    b, _ = place(engine, limit("bob", "buy", 9_900, 2))
    c, _ = place(engine, limit("carol", "buy", 9_800, 3))
    return engine, b, c


# ---------------------------------------------------------------------------------------------- GTC


def test_limit_buy_gtc_on_empty_book_rests_new_and_locks_quote():
    engine = new_engine()
    fund(engine, "bob", inr=1_000_000)
    oid, events = place(engine, limit("bob", "buy", 10_150, 10, client_order_id="my-id-1"))
    state = engine.get_order("bob", oid)
    assert state is not None
    assert (state.order_id, state.status, state.quantity, state.executed_quantity, state.executed_quote) == (
        oid, OrderStatus.NEW, 10, 0, 0)
    assert (state.price, state.order_type, state.time_in_force, state.post_only) == (
        10_150, OrderType.LIMIT, GTC, False)
    assert (state.client_order_id, state.created_at, state.fills) == ("my-id-1", T0, ())
    assert events == [
        OrderUpdated(oid, T0, state),
        BalanceChanged(oid, T0, "bob", "INR", 1_000_000 - 101_500, 101_500, -101_500, 101_500),
        DepthUpdate(oid, T0, MARKET, 1, ((10_150, 10),), ()),
    ]
    assert balance(engine, "bob", "INR") == (898_500, 101_500)
    assert engine.depth(MARKET, 10) == (1, [(10_150, 10)], [])
    assert engine.open_orders("bob") == [state]


def test_limit_sell_gtc_on_empty_book_rests_new_and_locks_base():
    engine = new_engine()
    fund(engine, "alice", tata=50)
    oid, events = place(engine, limit("alice", "sell", 10_200, 20))
    assert order_update(events, oid).status is OrderStatus.NEW
    assert balance(engine, "alice", "TATA") == (30, 20)
    assert balance(engine, "alice", "INR") == (0, 0)
    assert engine.depth(MARKET, 10) == (1, [], [(10_200, 20)])


def test_order_id_is_seq_of_placing_command():
    engine = new_engine()
    fund(engine, "alice", tata=50)  # seq 1
    oid, events = place(engine, limit("alice", "sell", 10_200, 1))
    assert oid == 2
    assert order_update(events, 2).order_id == 2
    oid2, _ = place(engine, limit("alice", "sell", 10_200, 1))
    assert oid2 == 3


def test_limit_buy_gtc_not_crossing_rests_beside_asks():
    engine, *_ = seller_book()
    oid, events = place(engine, limit("bob", "buy", 9_999, 2))
    assert of_type(events, Trade) == []
    assert order_update(events, oid).status is OrderStatus.NEW
    assert engine.depth(MARKET, 10)[1:] == ([(9_999, 2)], [(10_000, 3), (10_050, 4), (10_100, 5)])


def test_limit_buy_gtc_crossing_partially_fills_and_rests_remainder():
    engine, _a, _, _ = seller_book()
    oid, events = place(engine, limit("bob", "buy", 10_000, 5))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (
        OrderStatus.PARTIALLY_FILLED, 3, 30_000)
    assert engine.depth(MARKET, 10)[1:] == ([(10_000, 2)], [(10_050, 4), (10_100, 5)])
    assert balance(engine, "bob", "INR") == (RICH - 30_000 - 20_000, 20_000)
    assert balance(engine, "bob", "TATA") == (3, 0)
    assert [o.order_id for o in engine.open_orders("bob")] == [oid]


# ---------------------------------------------------------------------------------------------- IOC


def test_ioc_buy_fills_what_it_can_and_expires_rest():
    engine, _a, _, _ = seller_book()
    oid, events = place(engine, limit("bob", "buy", 10_000, 5, tif=IOC))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.EXPIRED, 3, 30_000)
    assert balance(engine, "bob", "INR") == (RICH - 30_000, 0)
    assert balance(engine, "bob", "TATA") == (3, 0)
    assert balance(engine, "alice", "INR") == (30_000, 0)
    assert balance(engine, "alice", "TATA") == (97, 0)
    assert engine.open_orders("bob") == []
    assert engine.depth(MARKET, 10)[1:] == ([], [(10_050, 4), (10_100, 5)])


def test_ioc_sell_fills_what_it_can_and_expires_rest():
    engine, _b, _ = buyer_book()
    oid, events = place(engine, limit("alice", "sell", 9_900, 5, tif=IOC))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.EXPIRED, 2, 19_800)
    assert balance(engine, "alice", "TATA") == (98, 0)
    assert balance(engine, "alice", "INR") == (19_800, 0)
    assert engine.depth(MARKET, 10)[1:] == ([(9_800, 3)], [])


def test_ioc_fully_filled_is_filled():
    engine, *_ = seller_book()
    oid, events = place(engine, limit("bob", "buy", 10_050, 7, tif=IOC))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.FILLED, 7, 70_200)


def test_ioc_on_empty_book_expires_with_only_its_order_event():
    engine = new_engine()
    fund(engine, "bob", inr=RICH)
    oid, events = place(engine, limit("bob", "buy", 10_000, 5, tif=IOC))
    assert len(events) == 1
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity) == (OrderStatus.EXPIRED, 0)
    assert balance(engine, "bob", "INR") == (RICH, 0)
    assert engine.depth(MARKET, 10) == (0, [], [])


def test_ioc_not_crossing_expires_and_leaves_book():
    engine, *_ = seller_book()
    depth_before = engine.depth(MARKET, 10)
    oid, events = place(engine, limit("bob", "buy", 9_999, 5, tif=IOC))
    assert [type(e) for e in events] == [OrderUpdated]
    assert order_update(events, oid).status is OrderStatus.EXPIRED
    assert engine.depth(MARKET, 10) == depth_before


# ---------------------------------------------------------------------------------------------- FOK


def test_fok_buy_fillable_across_levels_fills_completely():
    engine, a, c, _d = seller_book()
    oid, events = place(engine, limit("bob", "buy", 10_050, 7, tif=FOK))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.FILLED, 7, 70_200)
    assert [(t.maker_order_id, t.price, t.quantity) for t in of_type(events, Trade)] == [
        (a, 10_000, 3), (c, 10_050, 4)]
    assert balance(engine, "bob", "INR") == (RICH - 70_200, 0)
    assert balance(engine, "bob", "TATA") == (7, 0)


def test_fok_buy_short_of_liquidity_rejected_unfillable():
    engine, *_ = seller_book()
    apply_rejected(engine, limit("bob", "buy", 10_100, 13, tif=FOK), ErrorCode.UNFILLABLE)


def test_fok_buy_liquidity_beyond_limit_not_counted_rejected_unfillable():
    engine, *_ = seller_book()
    apply_rejected(engine, limit("bob", "buy", 10_049, 4, tif=FOK), ErrorCode.UNFILLABLE)


def test_fok_buy_on_empty_book_rejected_unfillable():
    engine = new_engine()
    fund(engine, "bob", inr=RICH)
    apply_rejected(engine, limit("bob", "buy", 10_000, 1, tif=FOK), ErrorCode.UNFILLABLE)


def test_fok_sell_short_of_liquidity_rejected_unfillable():
    engine, *_ = buyer_book()
    apply_rejected(engine, limit("alice", "sell", 9_800, 6, tif=FOK), ErrorCode.UNFILLABLE)


def test_fok_sell_fillable_fills_completely():
    engine, _b, _c = buyer_book()
    oid, events = place(engine, limit("alice", "sell", 9_800, 5, tif=FOK))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (
        OrderStatus.FILLED, 5, 2 * 9_900 + 3 * 9_800)
    assert engine.depth(MARKET, 10)[1:] == ([], [])


def test_fok_exactly_available_liquidity_fills():
    engine, *_ = seller_book()
    oid, events = place(engine, limit("bob", "buy", 10_100, 12, tif=FOK))
    assert order_update(events, oid).status is OrderStatus.FILLED
    assert engine.depth(MARKET, 10)[1:] == ([], [])


def test_fok_counts_only_liquidity_before_own_order_rejected_unfillable():
    # asks at 100.00: alice 5 then bob's own 5; carol 5 at 101.00. Others offer 10 within the limit,
    # but only alice's 5 come before bob's own order, where self-trade prevention would stop him.
    engine = new_engine()
    fund(engine, "alice", tata=10)
    fund(engine, "carol", tata=10)
    fund(engine, "bob", inr=RICH, tata=10)
    place(engine, limit("alice", "sell", 10_000, 5))
    place(engine, limit("bob", "sell", 10_000, 5))
    place(engine, limit("carol", "sell", 10_100, 5))
    apply_rejected(engine, limit("bob", "buy", 10_100, 10, tif=FOK), ErrorCode.UNFILLABLE)
    apply_rejected(engine, limit("bob", "buy", 10_100, 6, tif=FOK), ErrorCode.UNFILLABLE)


def test_fok_fillable_before_own_order_fills_and_leaves_own_order():
    engine = new_engine()
    fund(engine, "alice", tata=10)
    fund(engine, "bob", inr=RICH, tata=10)
    a, _ = place(engine, limit("alice", "sell", 10_000, 5))
    own, _ = place(engine, limit("bob", "sell", 10_000, 5))
    oid, events = place(engine, limit("bob", "buy", 10_100, 5, tif=FOK))
    assert order_update(events, oid).status is OrderStatus.FILLED
    assert [t.maker_order_id for t in of_type(events, Trade)] == [a]
    assert engine.get_order("bob", own).status is OrderStatus.NEW
    assert engine.depth(MARKET, 10)[1:] == ([], [(10_000, 5)])


# ---------------------------------------------------------------------------------------------- postOnly


def test_post_only_buy_at_best_ask_rejected_would_cross():
    engine, *_ = seller_book()
    apply_rejected(engine, limit("bob", "buy", 10_000, 1, post_only=True), ErrorCode.WOULD_CROSS)


def test_post_only_buy_above_best_ask_rejected_would_cross():
    engine, *_ = seller_book()
    apply_rejected(engine, limit("bob", "buy", 10_075, 1, post_only=True), ErrorCode.WOULD_CROSS)


def test_post_only_sell_at_best_bid_rejected_would_cross():
    engine, *_ = buyer_book()
    apply_rejected(engine, limit("alice", "sell", 9_900, 1, post_only=True), ErrorCode.WOULD_CROSS)


def test_post_only_crossing_own_order_rejected_would_cross():
    engine = new_engine()
    fund(engine, "bob", inr=RICH, tata=10)
    place(engine, limit("bob", "sell", 10_000, 5))
    apply_rejected(engine, limit("bob", "buy", 10_000, 1, post_only=True), ErrorCode.WOULD_CROSS)


def test_post_only_buy_not_crossing_rests_new():
    engine, *_ = seller_book()
    oid, events = place(engine, limit("bob", "buy", 9_999, 2, post_only=True))
    state = order_update(events, oid)
    assert (state.status, state.post_only, state.executed_quantity) == (OrderStatus.NEW, True, 0)
    assert of_type(events, Trade) == []
    assert balance(engine, "bob", "INR") == (RICH - 19_998, 19_998)
    assert engine.depth(MARKET, 1)[1:] == ([(9_999, 2)], [(10_000, 3)])


def test_post_only_sell_not_crossing_rests_new():
    engine, *_ = buyer_book()
    oid, events = place(engine, limit("alice", "sell", 9_901, 2, post_only=True))
    assert order_update(events, oid).status is OrderStatus.NEW
    assert balance(engine, "alice", "TATA") == (98, 2)


def test_post_only_on_empty_book_rests():
    engine = new_engine()
    fund(engine, "bob", inr=RICH)
    oid, events = place(engine, limit("bob", "buy", 10_000, 1, post_only=True))
    assert order_update(events, oid).status is OrderStatus.NEW


# ---------------------------------------------------------------------------------------------- market


def test_market_buy_fills_against_book_walking_levels():
    engine, a, c, _d = seller_book()
    oid, events = place(engine, market_order("bob", "buy", 5))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (
        OrderStatus.FILLED, 5, 3 * 10_000 + 2 * 10_050)
    assert (state.price, state.order_type) == (None, OrderType.MARKET)
    assert [(t.maker_order_id, t.price, t.quantity) for t in of_type(events, Trade)] == [
        (a, 10_000, 3), (c, 10_050, 2)]
    assert balance(engine, "bob", "INR") == (RICH - 50_100, 0)
    assert balance(engine, "bob", "TATA") == (5, 0)
    assert engine.get_order("carol", c).status is OrderStatus.PARTIALLY_FILLED
    assert engine.depth(MARKET, 10)[1:] == ([], [(10_050, 2), (10_100, 5)])


def test_market_buy_more_than_book_expires_remainder():
    engine, *_ = seller_book()
    oid, events = place(engine, market_order("bob", "buy", 20))
    state = order_update(events, oid)
    total = 3 * 10_000 + 4 * 10_050 + 5 * 10_100
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.EXPIRED, 12, total)
    assert balance(engine, "bob", "INR") == (RICH - total, 0)
    assert engine.depth(MARKET, 10)[1:] == ([], [])


def test_market_sell_fills_against_bids_and_expires_remainder_releasing_base():
    engine, _b, _c = buyer_book()
    oid, events = place(engine, market_order("alice", "sell", 7))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (
        OrderStatus.EXPIRED, 5, 2 * 9_900 + 3 * 9_800)
    assert [t.price for t in of_type(events, Trade)] == [9_900, 9_800]
    assert balance(engine, "alice", "TATA") == (95, 0)
    assert balance(engine, "alice", "INR") == (49_200, 0)


def test_market_sell_exactly_available_base_accepted():
    engine, *_ = buyer_book()
    fund(engine, "erin", tata=5)
    oid, events = place(engine, market_order("erin", "sell", 5))
    assert order_update(events, oid).status is OrderStatus.FILLED
    assert balance(engine, "erin", "TATA") == (0, 0)


def test_market_buy_on_empty_book_expires_with_zero_executed():
    engine = new_engine()
    fund(engine, "bob", inr=RICH)
    oid, events = place(engine, market_order("bob", "buy", 5))
    assert len(events) == 1
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote, state.fills) == (
        OrderStatus.EXPIRED, 0, 0, ())
    assert balance(engine, "bob", "INR") == (RICH, 0)


def test_market_sell_on_empty_book_expires_with_zero_executed_and_base_unlocked():
    engine = new_engine()
    fund(engine, "alice", tata=5)
    oid, events = place(engine, market_order("alice", "sell", 5))
    assert len(events) == 1
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity) == (OrderStatus.EXPIRED, 0)
    assert balance(engine, "alice", "TATA") == (5, 0)


def test_market_buy_stops_at_last_affordable_whole_lot_and_expires_rest():
    # 3 lots at 100.00 cost 300.00; 450.00 leaves 150.00: one more lot at 100.50, then 49.50 is not enough.
    engine, _a, c, _d = seller_book()
    fund(engine, "erin", inr=45_000)
    oid, events = place(engine, market_order("erin", "buy", 8))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.EXPIRED, 4, 40_050)
    assert balance(engine, "erin", "INR") == (4_950, 0)
    assert balance(engine, "erin", "TATA") == (4, 0)
    assert engine.get_order("carol", c).executed_quantity == 1
    assert engine.depth(MARKET, 10)[1:] == ([], [(10_050, 3), (10_100, 5)])


def test_market_buy_budget_within_one_level_buys_whole_lots_only():
    engine, a, _, _ = seller_book()
    fund(engine, "erin", inr=25_000)
    oid, events = place(engine, market_order("erin", "buy", 3))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.EXPIRED, 2, 20_000)
    assert balance(engine, "erin", "INR") == (5_000, 0)
    assert engine.get_order("alice", a).executed_quantity == 2


def test_market_buy_exact_budget_fills_completely():
    engine, *_ = seller_book()
    fund(engine, "erin", inr=30_000)
    oid, events = place(engine, market_order("erin", "buy", 3))
    assert order_update(events, oid).status is OrderStatus.FILLED
    assert balance(engine, "erin", "INR") == (0, 0)


def test_market_buy_budget_below_one_lot_expires_with_nothing_spent():
    engine, *_ = seller_book()
    fund(engine, "erin", inr=9_999)
    oid, events = place(engine, market_order("erin", "buy", 1))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity) == (OrderStatus.EXPIRED, 0)
    assert of_type(events, Trade) == []
    assert balance(engine, "erin", "INR") == (9_999, 0)


def test_market_buy_with_zero_available_quote_rejected_insufficient_balance():
    engine, *_ = seller_book()
    apply_rejected(engine, market_order("erin", "buy", 1), ErrorCode.INSUFFICIENT_BALANCE)


def test_market_buy_with_all_quote_locked_rejected_insufficient_balance():
    engine, *_ = seller_book()
    fund(engine, "erin", inr=9_000)
    place(engine, limit("erin", "buy", 9_000, 1))
    apply_rejected(engine, market_order("erin", "buy", 1), ErrorCode.INSUFFICIENT_BALANCE)


def test_market_sell_without_full_quantity_in_base_rejected_insufficient_balance():
    engine, *_ = buyer_book()
    fund(engine, "erin", tata=4)
    apply_rejected(engine, market_order("erin", "sell", 5), ErrorCode.INSUFFICIENT_BALANCE)


def test_market_sell_with_base_locked_in_own_ask_rejected_insufficient_balance():
    engine, *_ = buyer_book()
    fund(engine, "erin", tata=5)
    place(engine, limit("erin", "sell", 20_000, 3))
    apply_rejected(engine, market_order("erin", "sell", 3), ErrorCode.INSUFFICIENT_BALANCE)


def test_market_order_with_price_rejected_invalid_price():
    engine, *_ = seller_book()
    command = PlaceOrder("bob", MARKET, Side.BUY, OrderType.MARKET, 10_000, 1, GTC, False, None, T0)
    apply_rejected(engine, command, ErrorCode.INVALID_PRICE)
