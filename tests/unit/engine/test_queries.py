"""Read-only queries: get_order and open_orders."""

from engine.snapshot import dump
from shared.events import Fill
from shared.types import OrderStatus, TimeInForce
from tests.support.factories import (
    T0,
    apply_ok,
    cancel,
    funded,
    limit,
    market_order,
    new_engine,
    order_update,
    place,
)


def test_get_order_returns_own_order_state_equal_to_last_event():
    engine = funded("bob")
    oid, events = place(engine, limit("bob", "buy", 10_000, 2))
    assert engine.get_order("bob", oid) == order_update(events, oid)


def test_get_order_of_someone_else_returns_none():
    engine = funded("alice", "bob")
    oid, _ = place(engine, limit("alice", "sell", 10_000, 2))
    assert engine.get_order("bob", oid) is None


def test_get_order_unknown_id_returns_none():
    engine = funded("bob")
    assert engine.get_order("bob", 12_345) is None
    assert engine.get_order("bob", 1) is None  # seq 1 was a deposit, not an order


def test_get_order_of_closed_order_shows_final_state_with_all_fills_oldest_first():
    engine = funded("alice", "bob")
    oid, _ = place(engine, limit("alice", "sell", 10_000, 5))
    place(engine, limit("bob", "buy", 10_000, 2, ts=T0 + 1))
    place(engine, limit("bob", "buy", 10_000, 3, ts=T0 + 2))
    state = engine.get_order("alice", oid)
    assert (state.status, state.executed_quantity, state.executed_quote) == (OrderStatus.FILLED, 5, 50_000)
    assert state.fills == (Fill(1, 10_000, 2, T0 + 1), Fill(2, 10_000, 3, T0 + 2))


def test_get_order_of_market_order_has_no_price():
    engine = funded("bob")
    oid, _ = place(engine, market_order("bob", "buy", 1))
    assert engine.get_order("bob", oid).price is None


def test_open_orders_oldest_first_and_only_open_ones():
    engine = funded("alice", "bob")
    o1, _ = place(engine, limit("bob", "buy", 9_000, 1))
    o2, _ = place(engine, limit("bob", "sell", 11_000, 1))
    o3, _ = place(engine, limit("bob", "buy", 9_500, 1, market="INFY-INR"))
    o4, _ = place(engine, limit("bob", "buy", 9_900, 1))
    apply_ok(engine, cancel("bob", o2))
    place(engine, limit("bob", "buy", 9_000, 1, tif=TimeInForce.IOC))
    place(engine, limit("alice", "buy", 9_000, 1))
    assert [o.order_id for o in engine.open_orders("bob")] == [o1, o3, o4]
    assert all(o.user_id == "bob" and o.status is OrderStatus.NEW for o in engine.open_orders("bob"))


def test_open_orders_filtered_by_market():
    engine = funded("bob")
    o1, _ = place(engine, limit("bob", "buy", 9_000, 1))
    place(engine, limit("bob", "buy", 9_500, 1, market="INFY-INR"))
    o3, _ = place(engine, limit("bob", "buy", 9_900, 1))
    assert [o.order_id for o in engine.open_orders("bob", "TATA-INR")] == [o1, o3]
    assert [o.market for o in engine.open_orders("bob", "INFY-INR")] == ["INFY-INR"]
    assert engine.open_orders("bob", "RELIANCE-INR") == []


def test_open_orders_include_partially_filled_keeping_original_position():
    engine = funded("alice", "bob")
    o1, _ = place(engine, limit("bob", "buy", 10_000, 5))
    o2, _ = place(engine, limit("bob", "buy", 9_000, 1))
    place(engine, limit("alice", "sell", 10_000, 2))
    states = engine.open_orders("bob")
    assert [(o.order_id, o.status, o.executed_quantity) for o in states] == [
        (o1, OrderStatus.PARTIALLY_FILLED, 2), (o2, OrderStatus.NEW, 0)]


def test_open_orders_of_unknown_user_empty():
    assert new_engine().open_orders("nobody") == []


def test_queries_change_nothing():
    engine = funded("alice", "bob")
    oid, _ = place(engine, limit("alice", "sell", 10_000, 5))
    before = dump(engine)
    engine.get_order("alice", oid)
    engine.get_order("bob", oid)
    engine.open_orders("alice")
    engine.open_orders("alice", "TATA-INR")
    engine.balances("carol")
    engine.depth("TATA-INR", 5)
    assert dump(engine) == before
