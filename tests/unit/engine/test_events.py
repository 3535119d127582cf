"""Events: order within a command, seq/ts, BalanceChanged deltas, DepthUpdate sequence and levels."""

import orjson

from shared.events import (
    BalanceChanged,
    DepthUpdate,
    Fill,
    OrderState,
    OrderUpdated,
    Rejected,
    Trade,
    encode_event,
    encode_events,
)
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from tests.support.factories import (
    MARKET,
    RICH,
    T0,
    apply_ok,
    cancel,
    cancel_all,
    deposit,
    fund,
    funded,
    limit,
    market_order,
    new_engine,
    of_type,
    place,
)


def depth_seq(engine, market=MARKET):
    return engine.depth(market, 1)[0]


# ---------------------------------------------------------------------------------------------- order


def test_multi_fill_command_emits_trade_then_maker_update_per_fill_then_own_order_balances_depth():
    engine = funded("alice", "carol", "bob")
    a, _ = place(engine, limit("alice", "sell", 10_000, 2))
    c, _ = place(engine, limit("carol", "sell", 10_100, 5))
    oid, events = place(engine, limit("bob", "buy", 10_100, 4, ts=T0 + 7))
    assert [type(e) for e in events] == [
        Trade, OrderUpdated, Trade, OrderUpdated, OrderUpdated,
        BalanceChanged, BalanceChanged, BalanceChanged, BalanceChanged, BalanceChanged, BalanceChanged,
        DepthUpdate,
    ]
    assert all(e.seq == oid and e.ts == T0 + 7 for e in events)
    t1, m1, t2, m2, own = events[:5]
    assert (t1.maker_order_id, t1.taker_order_id, t1.trade_id) == (a, oid, 1)
    assert m1.order.order_id == a and m1.order.status is OrderStatus.FILLED
    assert (t2.maker_order_id, t2.trade_id) == (c, 2)
    assert m2.order.order_id == c and m2.order.status is OrderStatus.PARTIALLY_FILLED
    assert own.order == OrderState(oid, "bob", MARKET, Side.BUY, OrderType.LIMIT, 10_100, 4, 4, 40_200,
                                   OrderStatus.FILLED, TimeInForce.GTC, False, None, T0 + 7,
                                   (Fill(1, 10_000, 2, T0 + 7), Fill(2, 10_100, 2, T0 + 7)))
    balances = {(e.user_id, e.asset): e for e in of_type(events, BalanceChanged)}
    assert balances[("bob", "INR")] == BalanceChanged(oid, T0 + 7, "bob", "INR", RICH - 40_200, 0, -40_200, 0)
    assert balances[("bob", "TATA")] == BalanceChanged(oid, T0 + 7, "bob", "TATA", 1_004, 0, 4, 0)
    assert balances[("alice", "TATA")] == BalanceChanged(oid, T0 + 7, "alice", "TATA", 998, 0, 0, -2)
    assert balances[("alice", "INR")] == BalanceChanged(oid, T0 + 7, "alice", "INR", RICH + 20_000, 0,
                                                        20_000, 0)
    assert balances[("carol", "TATA")] == BalanceChanged(oid, T0 + 7, "carol", "TATA", 995, 3, 0, -2)
    assert balances[("carol", "INR")] == BalanceChanged(oid, T0 + 7, "carol", "INR", RICH + 20_200, 0,
                                                        20_200, 0)
    assert events[-1] == DepthUpdate(oid, T0 + 7, MARKET, 3, (), ((10_000, 0), (10_100, 3)))


def test_resting_order_events_are_order_then_balance_then_depth():
    engine = funded("bob")
    _oid, events = place(engine, limit("bob", "buy", 10_000, 2))
    assert [type(e) for e in events] == [OrderUpdated, BalanceChanged, DepthUpdate]


def test_deposit_emits_only_balance_changed():
    engine = new_engine()
    events = apply_ok(engine, deposit("bob", "INR", 5))
    assert [type(e) for e in events] == [BalanceChanged]


def test_rejected_command_emits_exactly_one_rejected():
    engine = new_engine()
    events = engine.apply(limit("bob", "buy", 10_000, 1))
    assert len(events) == 1 and isinstance(events[0], Rejected)
    assert (events[0].seq, events[0].ts, events[0].user_id) == (1, T0, "bob")


# ---------------------------------------------------------------------------------------------- balances


def test_balance_changed_only_for_balances_that_changed():
    engine = funded("bob")
    # IOC on an empty book locks then releases: no net change, no BalanceChanged.
    _, events = place(engine, limit("bob", "buy", 10_000, 2, tif=TimeInForce.IOC))
    assert of_type(events, BalanceChanged) == []


def test_balance_changed_deltas_sum_to_change_over_several_commands():
    engine = funded("alice", "bob")
    start = engine.balances("bob")
    commands = [
        limit("bob", "buy", 10_000, 5),
        limit("alice", "sell", 9_900, 3),
        cancel_all("bob"),
        limit("alice", "buy", 10_000, 2),
        market_order("bob", "sell", 2),
        deposit("bob", "INR", 77),
    ]
    deltas = {asset: [0, 0] for asset in start}
    for command in commands:
        for event in apply_ok(engine, command):
            if isinstance(event, BalanceChanged) and event.user_id == "bob":
                deltas[event.asset][0] += event.delta_available
                deltas[event.asset][1] += event.delta_locked
    end = engine.balances("bob")
    for asset in start:
        assert (start[asset][0] + deltas[asset][0], start[asset][1] + deltas[asset][1]) == end[asset]
    assert end["INR"] == (RICH - 3 * 10_000 + 2 * 10_000 + 77, 0)
    assert end["TATA"] == (1_001, 0)


# ---------------------------------------------------------------------------------------------- depth


def test_depth_seq_increments_once_per_book_changing_command():
    engine = funded("alice", "bob")
    assert depth_seq(engine) == 0
    _, e1 = place(engine, limit("bob", "buy", 9_900, 1))
    _, e2 = place(engine, limit("bob", "buy", 9_800, 1))
    b3, e3 = place(engine, limit("alice", "sell", 10_100, 1))
    e4 = apply_ok(engine, cancel("alice", b3))
    _, e5 = place(engine, limit("alice", "sell", 9_800, 2))  # sweeps two levels in one command
    assert [e.depth_seq for events in (e1, e2, e3, e4, e5) for e in of_type(events, DepthUpdate)] == [
        1, 2, 3, 4, 5]
    assert depth_seq(engine) == 5


def test_depth_seq_is_per_market():
    engine = funded("bob")
    place(engine, limit("bob", "buy", 9_900, 1))
    _, events = place(engine, limit("bob", "buy", 9_900, 1, market="INFY-INR"))
    assert of_type(events, DepthUpdate)[0].depth_seq == 1
    assert depth_seq(engine, "TATA-INR") == 1
    assert depth_seq(engine, "INFY-INR") == 1
    assert depth_seq(engine, "RELIANCE-INR") == 0


def test_depth_update_levels_are_absolute_totals():
    engine = funded("alice", "carol")
    _, e1 = place(engine, limit("alice", "sell", 10_000, 2))
    _, e2 = place(engine, limit("carol", "sell", 10_000, 3))
    assert of_type(e1, DepthUpdate)[0].asks == ((10_000, 2),)
    assert of_type(e2, DepthUpdate)[0].asks == ((10_000, 5),)


def test_depth_update_zero_removes_level_when_filled():
    engine = funded("alice", "bob")
    place(engine, limit("alice", "sell", 10_000, 2))
    _, events = place(engine, limit("bob", "buy", 10_000, 2))
    [update] = of_type(events, DepthUpdate)
    assert (update.bids, update.asks) == ((), ((10_000, 0),))


def test_depth_update_sweep_lists_bids_best_first_with_new_resting_ask():
    engine = funded("alice", "bob")
    place(engine, limit("bob", "buy", 9_800, 1))
    place(engine, limit("bob", "buy", 10_000, 1))
    place(engine, limit("bob", "buy", 9_900, 3))
    _, events = place(engine, limit("alice", "sell", 9_900, 5))
    [update] = of_type(events, DepthUpdate)
    assert update.bids == ((10_000, 0), (9_900, 0))
    assert update.asks == ((9_900, 1),)


def test_depth_update_asks_listed_lowest_first():
    engine = funded("alice", "bob")
    place(engine, limit("alice", "sell", 10_200, 1))
    place(engine, limit("alice", "sell", 10_000, 1))
    place(engine, limit("alice", "sell", 10_100, 1))
    _, events = place(engine, market_order("bob", "buy", 3))
    assert of_type(events, DepthUpdate)[0].asks == ((10_000, 0), (10_100, 0), (10_200, 0))


def test_depth_updates_applied_to_empty_book_give_depth():
    engine = funded("alice", "bob", "carol")
    commands = [
        limit("alice", "sell", 10_000, 5), limit("alice", "sell", 10_100, 5), limit("bob", "buy", 9_900, 4),
        limit("carol", "buy", 10_050, 7), limit("bob", "buy", 9_950, 1), market_order("carol", "sell", 3),
        cancel_all("alice"), limit("bob", "sell", 9_000, 1, tif=TimeInForce.IOC),
    ]
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    last = 0
    for command in commands:
        for update in of_type(apply_ok(engine, command), DepthUpdate):
            assert update.depth_seq == last + 1
            last = update.depth_seq
            for book, levels in ((bids, update.bids), (asks, update.asks)):
                for price, quantity in levels:
                    if quantity:
                        book[price] = quantity
                    else:
                        book.pop(price, None)
    seq, depth_bids, depth_asks = engine.depth(MARKET, 100)
    assert seq == last
    assert depth_bids == sorted(bids.items(), reverse=True)
    assert depth_asks == sorted(asks.items())


def test_no_depth_update_for_ioc_on_empty_book():
    engine = funded("bob")
    _, events = place(engine, limit("bob", "buy", 10_000, 2, tif=TimeInForce.IOC))
    assert of_type(events, DepthUpdate) == []
    assert depth_seq(engine) == 0


def test_no_depth_update_for_ioc_that_does_not_cross():
    engine = funded("alice", "bob")
    place(engine, limit("alice", "sell", 10_100, 1))
    _, events = place(engine, limit("bob", "buy", 10_000, 2, tif=TimeInForce.IOC))
    assert of_type(events, DepthUpdate) == []
    assert depth_seq(engine) == 1


def test_no_depth_update_for_market_order_on_empty_book():
    engine = funded("bob")
    _, events = place(engine, market_order("bob", "sell", 2))
    assert of_type(events, DepthUpdate) == []
    assert depth_seq(engine) == 0


def test_no_depth_update_for_rejection_or_deposit():
    engine = funded("alice")
    place(engine, limit("alice", "sell", 10_100, 1))
    engine.apply(limit("nobody", "buy", 10_100, 1))
    apply_ok(engine, deposit("alice", "INR", 1))
    assert depth_seq(engine) == 1


def test_no_depth_update_when_self_trade_prevention_stops_before_any_trade():
    # The incoming order meets its own user's ask first: nothing trades, nothing rests, the book is as it was.
    engine = funded("bob")
    place(engine, limit("bob", "sell", 10_000, 3))
    _, events = place(engine, limit("bob", "buy", 10_000, 1, tif=TimeInForce.IOC))
    assert of_type(events, Trade) == []
    assert of_type(events, DepthUpdate) == []
    assert depth_seq(engine) == 1


def test_no_depth_update_when_market_buy_cannot_afford_one_lot():
    engine = funded("alice")
    fund(engine, "poor", inr=9_999)
    place(engine, limit("alice", "sell", 10_000, 3))
    _, events = place(engine, market_order("poor", "buy", 1))
    assert of_type(events, Trade) == []
    assert of_type(events, DepthUpdate) == []
    assert depth_seq(engine) == 1


def test_depth_update_lists_only_levels_the_command_changed():
    # The budget runs out after the first level: the second level is not traded and must not be listed.
    engine = funded("alice")
    fund(engine, "erin", inr=10_000)
    place(engine, limit("alice", "sell", 10_000, 1))
    place(engine, limit("alice", "sell", 20_000, 1))
    _, events = place(engine, market_order("erin", "buy", 2))
    [update] = of_type(events, DepthUpdate)
    assert update.asks == ((10_000, 0),)


def test_cancel_all_over_two_markets_emits_one_depth_update_per_market():
    engine = funded("bob")
    place(engine, limit("bob", "buy", 9_900, 1))
    place(engine, limit("bob", "buy", 9_800, 1))
    place(engine, limit("bob", "buy", 9_900, 1, market="INFY-INR"))
    events = apply_ok(engine, cancel_all("bob"))
    updates = of_type(events, DepthUpdate)
    assert [(u.market, u.depth_seq, u.bids) for u in updates] == [
        ("TATA-INR", 3, ((9_900, 0), (9_800, 0))), ("INFY-INR", 2, ((9_900, 0),))]


# ---------------------------------------------------------------------------------------------- encoding


def test_encode_event_is_type_name_then_fields():
    event = BalanceChanged(3, T0, "bob", "INR", 10, 5, -5, 5)
    assert orjson.loads(encode_event(event)) == ["balance", 3, T0, "bob", "INR", 10, 5, -5, 5]


def test_encode_events_nests_order_state_and_fills_as_lists():
    engine = funded("alice", "bob")
    place(engine, limit("alice", "sell", 10_000, 1))
    _, events = place(engine, limit("bob", "buy", 10_000, 1))
    decoded = orjson.loads(encode_events(events))
    assert [d[0] for d in decoded] == ["trade", "order", "order", "balance", "balance", "balance", "balance",
                                       "depth"]
    own = decoded[2]
    assert own[:3] == ["order", engine.seq, T0]
    assert own[3][:10] == [engine.seq, "bob", MARKET, "buy", "limit", 10_000, 1, 1, 10_000, "filled"]
    assert own[3][-1] == [[1, 10_000, 1, T0]]
    assert decoded[-1] == ["depth", engine.seq, T0, MARKET, 2, [], [[10_000, 0]]]
