"""Funds: locking on rest, release on cancel/expiry, exact balances, conservation, never negative."""

import random

from engine.invariants import check_invariants
from shared.commands import Deposit
from shared.errors import ErrorCode
from shared.events import BalanceChanged, Rejected
from shared.types import Side, TimeInForce
from tests.support.factories import (
    ALL_ASSETS,
    apply_ok,
    apply_rejected,
    balance,
    cancel,
    cancel_all,
    deposit,
    fund,
    limit,
    market_order,
    new_engine,
    of_type,
    place,
)


def totals(engine, users, asset):
    return sum(sum(balance(engine, u, asset)) for u in users)


def test_limit_buy_locks_price_times_quantity_of_quote():
    engine = new_engine()
    fund(engine, "bob", inr=500_000)
    place(engine, limit("bob", "buy", 10_150, 10))  # 10 x 101.50 = 1015.00
    assert balance(engine, "bob", "INR") == (398_500, 101_500)


def test_limit_sell_locks_quantity_of_base():
    engine = new_engine()
    fund(engine, "alice", tata=25)
    place(engine, limit("alice", "sell", 99_999, 10))
    assert balance(engine, "alice", "TATA") == (15, 10)
    assert balance(engine, "alice", "INR") == (0, 0)


def test_limit_buy_with_exactly_enough_quote_accepted_leaving_zero_available():
    engine = new_engine()
    fund(engine, "bob", inr=101_500)
    place(engine, limit("bob", "buy", 10_150, 10))
    assert balance(engine, "bob", "INR") == (0, 101_500)


def test_limit_buy_one_paisa_short_rejected_insufficient_balance():
    engine = new_engine()
    fund(engine, "bob", inr=101_499)
    apply_rejected(engine, limit("bob", "buy", 10_150, 10), ErrorCode.INSUFFICIENT_BALANCE)


def test_limit_sell_one_share_short_rejected_insufficient_balance():
    engine = new_engine()
    fund(engine, "alice", tata=9)
    apply_rejected(engine, limit("alice", "sell", 10_000, 10), ErrorCode.INSUFFICIENT_BALANCE)


def test_locked_quote_is_not_available_for_second_order():
    engine = new_engine()
    fund(engine, "bob", inr=15_000)
    place(engine, limit("bob", "buy", 10_000, 1))
    apply_rejected(engine, limit("bob", "buy", 5_001, 1), ErrorCode.INSUFFICIENT_BALANCE)
    place(engine, limit("bob", "buy", 5_000, 1))
    assert balance(engine, "bob", "INR") == (0, 15_000)


def test_locked_base_is_not_available_for_second_sell():
    engine = new_engine()
    fund(engine, "alice", tata=5)
    place(engine, limit("alice", "sell", 10_000, 4))
    apply_rejected(engine, limit("alice", "sell", 10_000, 2), ErrorCode.INSUFFICIENT_BALANCE)


def test_quote_locked_in_one_market_not_available_in_another():
    engine = new_engine()
    fund(engine, "bob", inr=10_000)
    place(engine, limit("bob", "buy", 10_000, 1, market="RELIANCE-INR"))
    apply_rejected(engine, limit("bob", "buy", 1, 1), ErrorCode.INSUFFICIENT_BALANCE)


def test_cancel_buy_releases_locked_quote():
    engine = new_engine()
    fund(engine, "bob", inr=200_000)
    oid, _ = place(engine, limit("bob", "buy", 10_150, 10))
    apply_ok(engine, cancel("bob", oid))
    assert balance(engine, "bob", "INR") == (200_000, 0)


def test_cancel_sell_releases_locked_base():
    engine = new_engine()
    fund(engine, "alice", tata=12)
    oid, _ = place(engine, limit("alice", "sell", 10_150, 10))
    apply_ok(engine, cancel("alice", oid))
    assert balance(engine, "alice", "TATA") == (12, 0)


def test_cancel_partially_filled_buy_releases_only_remainder():
    engine = new_engine()
    fund(engine, "bob", inr=200_000)
    fund(engine, "alice", tata=10)
    oid, _ = place(engine, limit("bob", "buy", 10_000, 10))
    place(engine, limit("alice", "sell", 10_000, 4))
    assert balance(engine, "bob", "INR") == (100_000, 60_000)
    apply_ok(engine, cancel("bob", oid))
    assert balance(engine, "bob", "INR") == (160_000, 0)
    assert balance(engine, "bob", "TATA") == (4, 0)


def test_ioc_expiry_releases_lock_of_unfilled_remainder():
    engine = new_engine()
    fund(engine, "bob", inr=200_000)
    fund(engine, "alice", tata=10)
    place(engine, limit("alice", "sell", 10_000, 1))
    place(engine, limit("bob", "buy", 10_000, 10, tif=TimeInForce.IOC))
    assert balance(engine, "bob", "INR") == (190_000, 0)


def test_ioc_sell_expiry_releases_base():
    engine = new_engine()
    fund(engine, "alice", tata=10)
    place(engine, limit("alice", "sell", 10_000, 10, tif=TimeInForce.IOC))
    assert balance(engine, "alice", "TATA") == (10, 0)


def test_self_trade_expiry_releases_lock():
    engine = new_engine()
    fund(engine, "bob", inr=200_000, tata=10)
    place(engine, limit("bob", "sell", 10_000, 2))
    place(engine, limit("bob", "buy", 10_000, 5))
    assert balance(engine, "bob", "INR") == (200_000, 0)
    assert balance(engine, "bob", "TATA") == (8, 2)


def test_maker_buy_filled_moves_locked_quote_to_seller():
    engine = new_engine()
    fund(engine, "bob", inr=100_000)
    fund(engine, "alice", tata=10)
    place(engine, limit("bob", "buy", 10_000, 5))
    place(engine, limit("alice", "sell", 10_000, 5))
    assert balance(engine, "bob", "INR") == (50_000, 0)
    assert balance(engine, "bob", "TATA") == (5, 0)
    assert balance(engine, "alice", "INR") == (50_000, 0)
    assert balance(engine, "alice", "TATA") == (5, 0)


def test_balances_lists_every_asset_with_zeros_for_unknown_user():
    engine = new_engine()
    assert engine.balances("nobody") == {asset: (0, 0) for asset in ALL_ASSETS}


def test_balances_lists_every_asset_with_zeros_after_one_deposit():
    engine = new_engine()
    fund(engine, "bob", inr=5)
    assert engine.balances("bob") == {"INR": (5, 0), "TATA": (0, 0), "RELIANCE": (0, 0), "INFY": (0, 0)}


def test_balance_changed_deltas_match_balances_before_and_after():
    engine = new_engine()
    users = ["alice", "bob", "carol"]
    for user in users:
        fund(engine, user, inr=1_000_000, tata=100)
    place(engine, limit("alice", "sell", 10_000, 3))
    place(engine, limit("carol", "sell", 10_100, 3))
    place(engine, limit("carol", "buy", 9_000, 2))
    before = {u: engine.balances(u) for u in users}
    events = apply_ok(engine, limit("bob", "buy", 10_200, 8))
    changes = of_type(events, BalanceChanged)
    seen = set()
    for change in changes:
        key = (change.user_id, change.asset)
        assert key not in seen, "one BalanceChanged per (user, asset)"
        seen.add(key)
        old_available, old_locked = before[change.user_id][change.asset]
        assert (change.available, change.locked) == balance(engine, change.user_id, change.asset)
        assert change.delta_available == change.available - old_available
        assert change.delta_locked == change.locked - old_locked
        assert (change.delta_available, change.delta_locked) != (0, 0)
    for user in users:
        for asset in ALL_ASSETS:
            if (user, asset) not in seen:
                assert engine.balances(user)[asset] == before[user][asset]
    assert seen == {("alice", "TATA"), ("alice", "INR"), ("carol", "TATA"), ("carol", "INR"),
                    ("bob", "TATA"), ("bob", "INR")}
    # Trades move value between users: each asset's deltas sum to zero.
    for asset in ("INR", "TATA"):
        assert sum(c.delta_available + c.delta_locked for c in changes if c.asset == asset) == 0


def test_trades_conserve_total_of_each_asset():
    engine = new_engine()
    users = ["alice", "bob", "carol"]
    for user in users:
        fund(engine, user, inr=1_000_000, tata=100)
    place(engine, limit("alice", "sell", 10_000, 30))
    place(engine, limit("bob", "buy", 10_050, 10))
    place(engine, market_order("carol", "buy", 25))
    place(engine, market_order("alice", "sell", 5))
    assert totals(engine, users, "INR") == 3_000_000
    assert totals(engine, users, "TATA") == 300


def test_random_command_stream_keeps_invariants_and_never_negative_balances():
    rng = random.Random(20241125)
    engine = new_engine()
    users = [f"u{i}" for i in range(6)]
    for user in users:
        fund(engine, user, inr=rng.randint(1, 300_000), tata=rng.randint(1, 40))
    expected = {"INR": totals(engine, users, "INR"), "TATA": totals(engine, users, "TATA")}
    open_ids: list[tuple[str, int]] = []
    for step in range(1_500):
        user = rng.choice(users)
        roll = rng.random()
        if roll < 0.55:
            side = rng.choice([Side.BUY, Side.SELL])
            tif = rng.choice([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])
            command = limit(user, side, rng.randint(9_950, 10_050), rng.randint(1, 12), tif=tif,
                            post_only=rng.random() < 0.1)
        elif roll < 0.7:
            command = market_order(user, rng.choice([Side.BUY, Side.SELL]), rng.randint(1, 15))
        elif roll < 0.9 and open_ids:
            owner, oid = rng.choice(open_ids)
            command = cancel(owner if rng.random() < 0.9 else user, oid)
        elif roll < 0.95:
            command = cancel_all(user, rng.choice([None, "TATA-INR"]))
        else:
            command = deposit(user, rng.choice(["INR", "TATA"]), rng.randint(1, 50_000))
        events = engine.apply(command)
        check_invariants(engine)
        if isinstance(command, Deposit) and not isinstance(events[0], Rejected):
            expected[command.asset] += command.amount
        assert {asset: totals(engine, users, asset) for asset in expected} == expected, step
        for event in events:
            if isinstance(event, BalanceChanged):
                assert event.available >= 0 and event.locked >= 0, (step, event)
            assert not isinstance(event, Rejected) or len(events) == 1
        for user_ in users:
            for available, locked in engine.balances(user_).values():
                assert available >= 0 and locked >= 0
        open_ids = [(o.user_id, o.order_id) for u in users for o in engine.open_orders(u)]
