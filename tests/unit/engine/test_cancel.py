"""Cancel one order and cancel all."""

from shared.errors import ErrorCode
from shared.events import BalanceChanged, DepthUpdate, OrderUpdated
from shared.types import OrderStatus, TimeInForce
from tests.support.factories import (
    MARKET,
    RICH,
    T0,
    apply_ok,
    apply_rejected,
    balance,
    cancel,
    cancel_all,
    funded,
    limit,
    market_order,
    new_engine,
    order_update,
    place,
)


def test_cancel_resting_buy_is_cancelled_releases_funds_and_removes_level():
    engine = funded("bob")
    oid, _ = place(engine, limit("bob", "buy", 10_000, 3))
    events = apply_ok(engine, cancel("bob", oid, ts=T0 + 5))
    seq = engine.seq
    state = engine.get_order("bob", oid)
    assert state.status is OrderStatus.CANCELLED
    assert state.order_id == oid and state.executed_quantity == 0
    assert events == [
        OrderUpdated(seq, T0 + 5, state),
        BalanceChanged(seq, T0 + 5, "bob", "INR", RICH, 0, 30_000, -30_000),
        DepthUpdate(seq, T0 + 5, MARKET, 2, ((10_000, 0),), ()),
    ]
    assert engine.open_orders("bob") == []
    assert engine.depth(MARKET, 10) == (2, [], [])


def test_cancel_resting_sell_releases_base_and_keeps_others_in_level():
    engine = funded("alice", "carol")
    oid, _ = place(engine, limit("alice", "sell", 10_000, 3))
    place(engine, limit("carol", "sell", 10_000, 4))
    events = apply_ok(engine, cancel("alice", oid))
    assert balance(engine, "alice", "TATA") == (1_000, 0)
    assert events[-1] == DepthUpdate(engine.seq, T0, MARKET, 3, (), ((10_000, 4),))


def test_cancel_partially_filled_order_keeps_fills_and_executed():
    engine = funded("alice", "bob")
    oid, _ = place(engine, limit("bob", "buy", 10_000, 5))
    place(engine, limit("alice", "sell", 10_000, 2))
    events = apply_ok(engine, cancel("bob", oid))
    state = order_update(events, oid)
    assert (state.status, state.executed_quantity, state.executed_quote, len(state.fills)) == (
        OrderStatus.CANCELLED, 2, 20_000, 1)
    assert balance(engine, "bob", "INR") == (RICH - 20_000, 0)


def test_cancel_someone_elses_order_rejected_order_not_found():
    engine = funded("alice", "bob")
    oid, _ = place(engine, limit("alice", "sell", 10_000, 3))
    rejected = apply_rejected(engine, cancel("bob", oid), ErrorCode.ORDER_NOT_FOUND)
    assert rejected.user_id == "bob"
    assert engine.get_order("alice", oid).status is OrderStatus.NEW


def test_cancel_unknown_order_id_rejected_order_not_found():
    engine = funded("bob")
    place(engine, limit("bob", "buy", 10_000, 3))
    apply_rejected(engine, cancel("bob", 999), ErrorCode.ORDER_NOT_FOUND)
    apply_rejected(engine, cancel("bob", 0), ErrorCode.ORDER_NOT_FOUND)
    apply_rejected(engine, cancel("bob", -1), ErrorCode.ORDER_NOT_FOUND)


def test_cancel_filled_order_rejected_order_not_open():
    engine = funded("alice", "bob")
    oid, _ = place(engine, limit("alice", "sell", 10_000, 3))
    place(engine, limit("bob", "buy", 10_000, 3))
    assert engine.get_order("alice", oid).status is OrderStatus.FILLED
    rejected = apply_rejected(engine, cancel("alice", oid), ErrorCode.ORDER_NOT_OPEN)
    assert rejected.user_id == "alice"


def test_cancel_already_cancelled_order_rejected_order_not_open():
    engine = funded("bob")
    oid, _ = place(engine, limit("bob", "buy", 10_000, 3))
    apply_ok(engine, cancel("bob", oid))
    apply_rejected(engine, cancel("bob", oid), ErrorCode.ORDER_NOT_OPEN)


def test_cancel_expired_ioc_order_rejected_order_not_open():
    engine = funded("bob")
    oid, _ = place(engine, limit("bob", "buy", 10_000, 3, tif=TimeInForce.IOC))
    apply_rejected(engine, cancel("bob", oid), ErrorCode.ORDER_NOT_OPEN)


def test_cancel_expired_market_order_rejected_order_not_open():
    engine = funded("bob")
    oid, _ = place(engine, market_order("bob", "buy", 3))
    apply_rejected(engine, cancel("bob", oid), ErrorCode.ORDER_NOT_OPEN)


def test_cancel_closed_order_of_someone_else_rejected_order_not_found():
    engine = funded("alice", "bob")
    oid, _ = place(engine, limit("alice", "buy", 10_000, 3, tif=TimeInForce.IOC))
    apply_rejected(engine, cancel("bob", oid), ErrorCode.ORDER_NOT_FOUND)


# ---------------------------------------------------------------------------------------------- cancel all


def test_cancel_all_without_market_cancels_every_open_order_oldest_first():
    engine = funded("bob", "alice")
    o1, _ = place(engine, limit("bob", "buy", 10_000, 1))
    o2, _ = place(engine, limit("bob", "buy", 9_000, 2, market="RELIANCE-INR"))
    o3, _ = place(engine, limit("bob", "sell", 11_000, 3))
    other, _ = place(engine, limit("alice", "buy", 10_000, 1))
    events = apply_ok(engine, cancel_all("bob"))
    seq = engine.seq
    updates = [e.order for e in events if isinstance(e, OrderUpdated)]
    assert [(o.order_id, o.status) for o in updates] == [
        (o1, OrderStatus.CANCELLED), (o2, OrderStatus.CANCELLED), (o3, OrderStatus.CANCELLED)]
    assert [type(e) for e in events] == [OrderUpdated] * 3 + [BalanceChanged] * 2 + [DepthUpdate] * 2
    assert {(e.asset, e.available, e.locked) for e in events if isinstance(e, BalanceChanged)} == {
        ("INR", RICH, 0), ("TATA", 1_000, 0)}
    depth = {e.market: e for e in events if isinstance(e, DepthUpdate)}
    assert depth["TATA-INR"] == DepthUpdate(seq, T0, "TATA-INR", 4, ((10_000, 1),), ((11_000, 0),))
    assert depth["RELIANCE-INR"] == DepthUpdate(seq, T0, "RELIANCE-INR", 2, ((9_000, 0),), ())
    assert engine.open_orders("bob") == []
    assert engine.get_order("alice", other).status is OrderStatus.NEW
    assert balance(engine, "bob", "INR") == (RICH, 0)


def test_cancel_all_of_one_market_leaves_other_markets():
    engine = funded("bob")
    o1, _ = place(engine, limit("bob", "buy", 10_000, 1))
    o2, _ = place(engine, limit("bob", "buy", 9_000, 2, market="RELIANCE-INR"))
    events = apply_ok(engine, cancel_all("bob", "TATA-INR"))
    assert [e.order.order_id for e in events if isinstance(e, OrderUpdated)] == [o1]
    assert [o.order_id for o in engine.open_orders("bob")] == [o2]
    assert balance(engine, "bob", "INR") == (RICH - 18_000, 18_000)


def test_cancel_all_unknown_market_rejected_unknown_market():
    engine = funded("bob")
    place(engine, limit("bob", "buy", 10_000, 1))
    apply_rejected(engine, cancel_all("bob", "FOO-INR"), ErrorCode.UNKNOWN_MARKET)


def test_cancel_all_unknown_market_without_open_orders_rejected_unknown_market():
    apply_rejected(new_engine(), cancel_all("bob", "tata-inr"), ErrorCode.UNKNOWN_MARKET)


def test_cancel_all_with_nothing_open_produces_no_events():
    engine = funded("bob")
    seq = engine.seq
    assert engine.apply(cancel_all("bob")) == []
    assert engine.apply(cancel_all("bob", "TATA-INR")) == []
    assert engine.seq == seq + 2
    assert engine.depth(MARKET, 10) == (0, [], [])


def test_cancel_all_of_market_without_own_orders_there_produces_no_events():
    engine = funded("bob")
    oid, _ = place(engine, limit("bob", "buy", 10_000, 1, market="INFY-INR"))
    assert engine.apply(cancel_all("bob", "TATA-INR")) == []
    assert [o.order_id for o in engine.open_orders("bob")] == [oid]


def test_cancel_all_after_everything_closed_produces_no_events():
    engine = funded("bob")
    oid, _ = place(engine, limit("bob", "buy", 10_000, 1))
    apply_ok(engine, cancel("bob", oid))
    assert engine.apply(cancel_all("bob")) == []
