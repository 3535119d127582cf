"""Matching: price-time priority, maker price, price improvement, partial fills, self-trade prevention."""

from shared.events import Fill, Trade
from shared.types import OrderStatus, Side, TimeInForce
from tests.support.factories import (
    MARKET,
    RICH,
    T0,
    apply_ok,
    balance,
    fund,
    funded,
    limit,
    market_order,
    of_type,
    order_update,
    place,
)

# ---------------------------------------------------------------------------------------------- priority


def test_buy_matches_lowest_ask_first_even_if_placed_later():
    engine = funded("alice", "carol", "bob")
    place(engine, limit("alice", "sell", 10_100, 1))
    cheaper, _ = place(engine, limit("carol", "sell", 10_000, 1))
    _oid, events = place(engine, limit("bob", "buy", 10_100, 1))
    [trade] = of_type(events, Trade)
    assert (trade.maker_order_id, trade.price, trade.quantity) == (cheaper, 10_000, 1)
    assert engine.depth(MARKET, 10)[1:] == ([], [(10_100, 1)])


def test_sell_matches_highest_bid_first_even_if_placed_later():
    engine = funded("alice", "carol", "bob")
    place(engine, limit("bob", "buy", 9_900, 1))
    higher, _ = place(engine, limit("carol", "buy", 10_000, 1))
    _oid, events = place(engine, limit("alice", "sell", 9_900, 1))
    [trade] = of_type(events, Trade)
    assert (trade.maker_order_id, trade.price) == (higher, 10_000)
    assert engine.depth(MARKET, 10)[1:] == ([(9_900, 1)], [])


def test_same_price_level_fills_first_in_first_out():
    engine = funded("alice", "carol", "dave", "bob")
    first, _ = place(engine, limit("alice", "sell", 10_000, 2))
    second, _ = place(engine, limit("carol", "sell", 10_000, 2))
    third, _ = place(engine, limit("dave", "sell", 10_000, 2))
    _oid, events = place(engine, limit("bob", "buy", 10_000, 3))
    assert [(t.maker_order_id, t.quantity) for t in of_type(events, Trade)] == [(first, 2), (second, 1)]
    assert engine.get_order("alice", first).status is OrderStatus.FILLED
    assert engine.get_order("carol", second).status is OrderStatus.PARTIALLY_FILLED
    assert engine.get_order("dave", third).status is OrderStatus.NEW
    assert engine.depth(MARKET, 10)[1:] == ([], [(10_000, 3)])


def test_partially_filled_maker_keeps_its_place_at_front_of_level():
    engine = funded("alice", "carol", "bob")
    first, _ = place(engine, limit("alice", "sell", 10_000, 5))
    second, _ = place(engine, limit("carol", "sell", 10_000, 5))
    place(engine, limit("bob", "buy", 10_000, 2))
    _, events = place(engine, limit("bob", "buy", 10_000, 4))
    assert [(t.maker_order_id, t.quantity) for t in of_type(events, Trade)] == [(first, 3), (second, 1)]


def test_buy_sweeps_levels_in_price_order():
    engine = funded("alice", "bob")
    o3, _ = place(engine, limit("alice", "sell", 10_200, 1))
    o1, _ = place(engine, limit("alice", "sell", 10_000, 1))
    o2, _ = place(engine, limit("alice", "sell", 10_100, 1))
    _, events = place(engine, limit("bob", "buy", 10_200, 3))
    assert [(t.maker_order_id, t.price) for t in of_type(events, Trade)] == [
        (o1, 10_000), (o2, 10_100), (o3, 10_200)]


def test_sell_sweeps_levels_in_price_order():
    engine = funded("alice", "bob")
    o2, _ = place(engine, limit("bob", "buy", 9_900, 1))
    o1, _ = place(engine, limit("bob", "buy", 10_000, 1))
    o3, _ = place(engine, limit("bob", "buy", 9_800, 1))
    _, events = place(engine, limit("alice", "sell", 9_800, 3))
    assert [(t.maker_order_id, t.price) for t in of_type(events, Trade)] == [
        (o1, 10_000), (o2, 9_900), (o3, 9_800)]


def test_buy_limit_stops_at_its_price():
    engine = funded("alice", "bob")
    place(engine, limit("alice", "sell", 10_000, 1))
    place(engine, limit("alice", "sell", 10_001, 1))
    _oid, events = place(engine, limit("bob", "buy", 10_000, 2))
    assert [t.price for t in of_type(events, Trade)] == [10_000]
    assert engine.depth(MARKET, 10)[1:] == ([(10_000, 1)], [(10_001, 1)])


# ---------------------------------------------------------------------------------------------- prices


def test_buy_taker_trades_at_maker_ask_price():
    engine = funded("alice", "bob")
    maker, _ = place(engine, limit("alice", "sell", 10_000, 2))
    taker, events = place(engine, limit("bob", "buy", 10_500, 2))
    [trade] = of_type(events, Trade)
    assert trade == Trade(taker, T0, MARKET, 1, 10_000, 2, 20_000, Side.BUY, maker, taker, "alice", "bob")
    assert trade.is_buyer_maker is False
    assert balance(engine, "alice", "INR") == (RICH + 20_000, 0)


def test_sell_taker_trades_at_maker_bid_price():
    engine = funded("alice", "bob")
    maker, _ = place(engine, limit("bob", "buy", 10_500, 2))
    taker, events = place(engine, limit("alice", "sell", 10_000, 2))
    [trade] = of_type(events, Trade)
    assert trade == Trade(taker, T0, MARKET, 1, 10_500, 2, 21_000, Side.SELL, maker, taker, "bob", "alice")
    assert trade.is_buyer_maker is True
    assert balance(engine, "alice", "INR") == (RICH + 21_000, 0)
    assert balance(engine, "alice", "TATA") == (998, 0)
    assert balance(engine, "bob", "INR") == (RICH - 21_000, 0)
    assert balance(engine, "bob", "TATA") == (1_002, 0)


def test_buy_filling_below_limit_unlocks_difference_at_once():
    engine = funded("alice")
    fund(engine, "bob", inr=1_000_000)
    place(engine, limit("alice", "sell", 10_000, 2))
    # locks 5 x 102.00 = 510.00, pays 2 x 100.00 = 200.00, 3 rest at 102.00 = 306.00 locked.
    oid, events = place(engine, limit("bob", "buy", 10_200, 5))
    assert balance(engine, "bob", "INR") == (1_000_000 - 20_000 - 30_600, 30_600)
    assert balance(engine, "bob", "TATA") == (2, 0)
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (
        OrderStatus.PARTIALLY_FILLED, 2, 20_000)


def test_ioc_buy_fully_filled_below_limit_locks_nothing_afterwards():
    engine = funded("alice")
    fund(engine, "bob", inr=100_000)
    place(engine, limit("alice", "sell", 9_000, 4))
    place(engine, limit("alice", "sell", 9_500, 4))
    place(engine, limit("bob", "buy", 10_000, 6, tif=TimeInForce.IOC))
    assert balance(engine, "bob", "INR") == (100_000 - 4 * 9_000 - 2 * 9_500, 0)


def test_buy_whose_limit_lock_uses_all_funds_fills_cheaper_and_keeps_difference():
    engine = funded("alice")
    fund(engine, "bob", inr=50_000)
    place(engine, limit("alice", "sell", 9_000, 5))
    oid, _ = place(engine, limit("bob", "buy", 10_000, 5))
    assert engine.get_order("bob", oid).status is OrderStatus.FILLED
    assert balance(engine, "bob", "INR") == (5_000, 0)


def test_sell_filling_above_limit_receives_maker_price():
    engine = funded("bob")
    fund(engine, "alice", tata=10)
    place(engine, limit("bob", "buy", 10_300, 3))
    place(engine, limit("bob", "buy", 10_100, 3))
    oid, events = place(engine, limit("alice", "sell", 10_000, 5))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (
        OrderStatus.FILLED, 5, 3 * 10_300 + 2 * 10_100)
    assert balance(engine, "alice", "INR") == (51_100, 0)
    assert balance(engine, "alice", "TATA") == (5, 0)


# ---------------------------------------------------------------------------------------------- fills


def test_maker_partial_fill_is_partially_filled_and_keeps_lock_for_rest():
    engine = funded("bob")
    fund(engine, "alice", tata=10)
    maker, _ = place(engine, limit("alice", "sell", 10_000, 10))
    _, events = place(engine, limit("bob", "buy", 10_000, 4))
    state = order_update(events, maker)
    assert (state.status, state.executed_quantity, state.executed_quote) == (
        OrderStatus.PARTIALLY_FILLED, 4, 40_000)
    assert balance(engine, "alice", "TATA") == (0, 6)
    assert balance(engine, "alice", "INR") == (40_000, 0)


def test_fills_recorded_on_maker_and_taker_with_same_trade_id_oldest_first():
    engine = funded("alice", "bob")
    maker, _ = place(engine, limit("alice", "sell", 10_000, 10))
    t1, _ = place(engine, limit("bob", "buy", 10_000, 3, ts=T0 + 1))
    t2, _ = place(engine, limit("bob", "buy", 10_000, 4, ts=T0 + 2))
    assert engine.get_order("bob", t1).fills == (Fill(1, 10_000, 3, T0 + 1),)
    assert engine.get_order("bob", t2).fills == (Fill(2, 10_000, 4, T0 + 2),)
    assert engine.get_order("alice", maker).fills == (Fill(1, 10_000, 3, T0 + 1), Fill(2, 10_000, 4, T0 + 2))


def test_trade_ids_increase_by_one_across_commands():
    engine = funded("alice", "bob")
    apply_ok(engine, limit("alice", "sell", 10_000, 3))
    _, events = place(engine, limit("bob", "buy", 10_000, 2))
    _, events2 = place(engine, limit("bob", "buy", 10_000, 1))
    assert [t.trade_id for t in of_type(events + events2, Trade)] == [1, 2]


def test_trade_quote_quantity_is_price_times_quantity_in_paise():
    engine = funded("alice", "bob")
    place(engine, limit("alice", "sell", 12_345, 7))
    _, events = place(engine, market_order("bob", "buy", 7))
    [trade] = of_type(events, Trade)
    assert trade.quote_quantity == 86_415


def test_resting_taker_remainder_then_matched_as_maker():
    engine = funded("alice", "bob", "carol")
    place(engine, limit("alice", "sell", 10_000, 2))
    rest, _ = place(engine, limit("bob", "buy", 10_100, 5))
    _, events = place(engine, limit("carol", "sell", 9_000, 3))
    [trade] = of_type(events, Trade)
    assert (trade.maker_order_id, trade.price, trade.quantity) == (rest, 10_100, 3)
    state = engine.get_order("bob", rest)
    assert (state.status, state.executed_quantity, state.executed_quote) == (
        OrderStatus.FILLED, 5, 20_000 + 30_300)
    assert balance(engine, "bob", "INR") == (RICH - 50_300, 0)


# ---------------------------------------------------------------------------------------------- self-trade


def test_self_trade_incoming_expires_at_own_order_and_earlier_trades_stand():
    engine = funded("alice", "bob", "carol")
    c, _ = place(engine, limit("carol", "sell", 10_000, 2))
    own, _ = place(engine, limit("bob", "sell", 10_000, 3))
    a, _ = place(engine, limit("alice", "sell", 10_000, 2))
    oid, events = place(engine, limit("bob", "buy", 10_000, 6))
    assert [(t.maker_order_id, t.quantity) for t in of_type(events, Trade)] == [(c, 2)]
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.EXPIRED, 2, 20_000)
    assert engine.get_order("bob", own).status is OrderStatus.NEW
    assert engine.get_order("alice", a).status is OrderStatus.NEW
    assert [o.order_id for o in engine.open_orders("bob")] == [own]
    assert engine.depth(MARKET, 10)[1:] == ([], [(10_000, 5)])
    assert balance(engine, "bob", "INR") == (RICH - 20_000, 0)
    assert balance(engine, "bob", "TATA") == (1_000 - 3 + 2, 3)


def test_self_trade_own_order_at_best_price_expires_without_any_trade():
    engine = funded("alice", "bob")
    _own, _ = place(engine, limit("bob", "sell", 10_000, 3))
    place(engine, limit("alice", "sell", 10_050, 3))
    oid, events = place(engine, limit("bob", "buy", 10_100, 4))
    assert of_type(events, Trade) == []
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity) == (OrderStatus.EXPIRED, 0)
    assert balance(engine, "bob", "INR") == (RICH, 0)
    assert engine.depth(MARKET, 10)[1:] == ([], [(10_000, 3), (10_050, 3)])


def test_self_trade_on_next_level_stops_after_first_level():
    engine = funded("alice", "bob")
    a, _ = place(engine, limit("alice", "sell", 10_000, 2))
    place(engine, limit("bob", "sell", 10_050, 2))
    oid, events = place(engine, limit("bob", "buy", 10_100, 5, tif=TimeInForce.IOC))
    assert [t.maker_order_id for t in of_type(events, Trade)] == [a]
    assert order_update(events, oid).status is OrderStatus.EXPIRED
    assert order_update(events, oid).executed_quantity == 2


def test_self_trade_incoming_sell_expires_at_own_bid():
    engine = funded("alice", "bob", "carol")
    a, _ = place(engine, limit("alice", "buy", 10_000, 1))
    place(engine, limit("bob", "buy", 9_900, 1))
    place(engine, limit("carol", "buy", 9_800, 1))
    oid, events = place(engine, limit("bob", "sell", 9_800, 3))
    assert [t.maker_order_id for t in of_type(events, Trade)] == [a]
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity) == (OrderStatus.EXPIRED, 1)
    assert balance(engine, "bob", "TATA") == (999, 0)
    assert engine.depth(MARKET, 10)[1:] == ([(9_900, 1), (9_800, 1)], [])


def test_self_trade_market_buy_expires_at_own_order():
    engine = funded("carol", "bob")
    c, _ = place(engine, limit("carol", "sell", 10_000, 1))
    place(engine, limit("bob", "sell", 10_100, 1))
    oid, events = place(engine, market_order("bob", "buy", 3))
    assert [t.maker_order_id for t in of_type(events, Trade)] == [c]
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.EXPIRED, 1, 10_000)
    assert balance(engine, "bob", "INR") == (RICH - 10_000, 0)


def test_self_trade_market_sell_expires_at_own_order_and_unlocks_base():
    engine = funded("bob")
    place(engine, limit("bob", "buy", 10_000, 1))
    oid, events = place(engine, market_order("bob", "sell", 3))
    assert of_type(events, Trade) == []
    assert order_update(events, oid).status is OrderStatus.EXPIRED
    assert balance(engine, "bob", "TATA") == (1_000, 0)


def test_self_trade_stopped_gtc_remainder_does_not_rest():
    engine = funded("bob")
    own, _ = place(engine, limit("bob", "sell", 10_000, 1))
    oid, _ = place(engine, limit("bob", "buy", 10_000, 1))
    assert engine.get_order("bob", oid).status is OrderStatus.EXPIRED
    assert [o.order_id for o in engine.open_orders("bob")] == [own]
    assert balance(engine, "bob", "INR") == (RICH, 0)


def test_orders_of_other_users_at_same_level_as_own_behind_own_are_not_reached():
    engine = funded("alice", "bob")
    place(engine, limit("bob", "sell", 10_000, 1))
    a, _ = place(engine, limit("alice", "sell", 10_000, 1))
    _, events = place(engine, limit("bob", "buy", 10_000, 1))
    assert of_type(events, Trade) == []
    assert engine.get_order("alice", a).status is OrderStatus.NEW
