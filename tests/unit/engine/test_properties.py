"""Property-based tests of the pure matching engine: random command streams, invariants after every command.

The streams come from tests/support/strategies.py. Every test runs its stream on a fresh engine, so the
i-th command has seq i. Properties (API.md "Orders" and "Precise rules", shared/events.py):

1. conservation of every asset against the accepted deposits;
2. no negative balance, ever;
3. engine.invariants.check_invariants after every command (uncrossed books, level totals, locks);
4. determinism: two engines, same stream, identical event bytes and state;
5. snapshot + load + replay of the rest == the uninterrupted run;
6. events agree with state (balances, depth diffs and depth_seq, trade ids, self-trade prevention);
7. a rejected command changes nothing but seq;
8. (also) each accepted order behaves as API.md "Orders" says for its type.
"""

from __future__ import annotations

from collections import defaultdict

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core import Engine
from engine.invariants import check_invariants
from engine.snapshot import dump, load, state_hash
from shared.commands import CancelAll, CancelOrder, Command, Deposit, PlaceOrder
from shared.events import BalanceChanged, DepthUpdate, Event, OrderUpdated, Rejected, Trade, encode_events
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from tests.support.strategies import ASSETS, MARKETS_CONFIG, Scenario, scenarios

STREAMS = scenarios(short_retention=None)  # both retentions: closed orders and clientOrderIds get forgotten
DEFAULT_RETENTION_STREAMS = scenarios(short_retention=False)
SHORT_RETENTION_STREAMS = scenarios(short_retention=True)
EXAMPLES = 100


def new_engine(scenario: Scenario) -> Engine:
    return Engine(MARKETS_CONFIG, closed_order_retention_ms=scenario.retention_ms)


def everyone(scenario: Scenario) -> set[str]:
    """Every user id the stream names (including invalid ones, whose balances must stay zero)."""
    return set(scenario.users) | {command.user_id for command in scenario.commands}


def is_rejected(events: list[Event]) -> bool:
    return any(type(e) is Rejected for e in events)


def describe(command: Command, events: list[Event]) -> str:
    return f"after {command!r}:\n  " + "\n  ".join(repr(e) for e in events)


# ---------------------------------------------------------------------------------------------- 1, 2, 3


@settings(max_examples=EXAMPLES, deadline=None)
@given(STREAMS)
def test_assets_are_conserved(scenario: Scenario) -> None:
    """For every asset, the users' available + locked always sum to what the accepted deposits brought in."""
    engine = new_engine(scenario)
    users = everyone(scenario)
    deposited: dict[str, int] = defaultdict(int)
    for command in scenario.commands:
        events = engine.apply(command)
        if type(command) is Deposit and not is_rejected(events):
            deposited[command.asset] += command.amount
        held: dict[str, int] = defaultdict(int)
        for user in users:
            for asset, (available, locked) in engine.balances(user).items():
                held[asset] += available + locked
        for asset in ASSETS:
            assert held[asset] == deposited[asset], f"{asset}: held {held[asset]} != deposited " \
                f"{deposited[asset]} {describe(command, events)}"


@settings(max_examples=EXAMPLES, deadline=None)
@given(STREAMS)
def test_no_balance_is_ever_negative(scenario: Scenario) -> None:
    engine = new_engine(scenario)
    users = everyone(scenario)
    for command in scenario.commands:
        events = engine.apply(command)
        for user in users:
            for asset, (available, locked) in engine.balances(user).items():
                assert available >= 0 and locked >= 0, (
                    f"{user} {asset}: {available}/{locked} {describe(command, events)}")


@settings(max_examples=EXAMPLES, deadline=None)
@given(STREAMS)
def test_invariants_hold_after_every_command(scenario: Scenario) -> None:
    """Books never crossed, level totals = their orders, locks = open orders, indexes consistent."""
    engine = new_engine(scenario)
    check_invariants(engine)
    for command in scenario.commands:
        engine.apply(command)
        check_invariants(engine)


# ---------------------------------------------------------------------------------------------- 4, 5


@settings(max_examples=EXAMPLES, deadline=None)
@given(STREAMS)
def test_same_stream_same_events_and_state(scenario: Scenario) -> None:
    first, second = new_engine(scenario), new_engine(scenario)
    for index, command in enumerate(scenario.commands):
        assert encode_events(first.apply(command)) == encode_events(second.apply(command)), index
    assert state_hash(first) == state_hash(second)
    assert dump(first) == dump(second)


@settings(max_examples=EXAMPLES, deadline=None)
@given(STREAMS, st.data())
def test_snapshot_restore_replay_equals_uninterrupted_run(scenario: Scenario, data: st.DataObject) -> None:
    commands = scenario.commands
    cut = data.draw(st.integers(0, len(commands)), label="snapshot after this many commands")
    uninterrupted = new_engine(scenario)
    expected = [encode_events(uninterrupted.apply(command)) for command in commands]

    interrupted = new_engine(scenario)
    for command in commands[:cut]:
        interrupted.apply(command)
    snapshot = dump(interrupted)
    restored = load(snapshot, MARKETS_CONFIG)
    assert dump(restored) == snapshot, "load(dump(engine)) does not dump to the same bytes"
    check_invariants(restored)
    for index in range(cut, len(commands)):
        actual = encode_events(restored.apply(commands[index]))
        assert actual == expected[index], f"command {index + 1} {commands[index]!r}"
    assert state_hash(restored) == state_hash(uninterrupted)
    assert dump(restored) == dump(uninterrupted)


# ---------------------------------------------------------------------------------------------- 6


class EventReplay:
    """Rebuilds what a consumer of the events knows (balances, depth books) and checks it as it goes."""

    def __init__(self) -> None:
        self.balances: dict[tuple[str, str], tuple[int, int]] = {}  # from the deltas
        self.last_balance: dict[tuple[str, str], tuple[int, int]] = {}  # from the absolute figures
        self.books: dict[str, tuple[dict[int, int], dict[int, int]]] = {
            m: ({}, {}) for m in MARKETS_CONFIG.markets}
        self.depth_seq: dict[str, int] = dict.fromkeys(MARKETS_CONFIG.markets, 0)
        self.last_trade_id = 0

    def observe(self, engine: Engine, command: Command, events: list[Event]) -> None:
        where = describe(command, events)
        # shared/events.py: every event carries its command's seq and ts; a rejection is a lone Rejected.
        assert all(e.seq == engine.seq and e.ts == command.ts for e in events), where
        if is_rejected(events):
            assert len(events) == 1, where
            return
        self._check_order_of_events(events, where)
        for event in events:
            if type(event) is BalanceChanged:
                key = (event.user_id, event.asset)
                available, locked = self.balances.get(key, (0, 0))
                self.balances[key] = (available + event.delta_available, locked + event.delta_locked)
                assert self.balances[key] == (event.available, event.locked), where
                self.last_balance[key] = (event.available, event.locked)
            elif type(event) is DepthUpdate:
                self._apply_depth(event, where)
            elif type(event) is Trade:
                assert event.trade_id > self.last_trade_id, where
                self.last_trade_id = event.trade_id
                assert event.maker_user_id != event.taker_user_id, where  # self-trade prevention
                assert event.taker_order_id == engine.seq, where
                assert event.maker_order_id < event.taker_order_id, where

    def _check_order_of_events(self, events: list[Event], where: str) -> None:
        """Trade + maker OrderUpdated pairs, then the command's own OrderUpdated(s), then one
        BalanceChanged per (user, asset), then one DepthUpdate per market."""
        index = 0
        while index < len(events) and type(events[index]) is Trade:
            trade, maker = events[index], events[index + 1] if index + 1 < len(events) else None
            assert type(maker) is OrderUpdated, where
            assert maker.order.order_id == trade.maker_order_id, where  # type: ignore[union-attr]
            index += 2
        ranks = [(OrderUpdated, BalanceChanged, DepthUpdate).index(type(e)) for e in events[index:]]
        assert ranks == sorted(ranks), where
        balances = [(e.user_id, e.asset) for e in events if type(e) is BalanceChanged]
        assert len(balances) == len(set(balances)), where
        markets = [e.market for e in events if type(e) is DepthUpdate]
        assert len(markets) == len(set(markets)), where

    def _apply_depth(self, event: DepthUpdate, where: str) -> None:
        assert event.depth_seq == self.depth_seq[event.market] + 1, where
        self.depth_seq[event.market] = event.depth_seq
        assert [p for p, _ in event.bids] == sorted((p for p, _ in event.bids), reverse=True), where
        assert [p for p, _ in event.asks] == sorted(p for p, _ in event.asks), where
        for levels, changes in zip(self.books[event.market], (event.bids, event.asks), strict=True):
            for price, quantity in changes:
                # "The levels of one market this command changed": each one listed did change.
                assert quantity >= 0 and levels.get(price, 0) != quantity, where
                if quantity == 0:
                    levels.pop(price, None)
                else:
                    levels[price] = quantity

    def check_state(self, engine: Engine, users: set[str], where: str) -> None:
        for user in users:
            for asset, balance in engine.balances(user).items():
                key = (user, asset)
                assert balance == self.balances.get(key, (0, 0)), f"{key} {where}"
                assert balance == self.last_balance.get(key, (0, 0)), f"{key} {where}"
        for market, (bids, asks) in self.books.items():
            expected = (self.depth_seq[market], sorted(bids.items(), reverse=True), sorted(asks.items()))
            actual = engine.depth(market, 10**6)
            assert (actual[0], list(actual[1]), list(actual[2])) == expected, f"{market} {where}"


@settings(max_examples=EXAMPLES, deadline=None)
@given(STREAMS)
def test_events_agree_with_state(scenario: Scenario) -> None:
    """After every command: the BalanceChanged deltas per (user, asset) sum to engine.balances() and the
    last one's figures equal it; DepthUpdates applied to empty books give engine.depth() exactly, with
    depth_seq one up per update; trade ids strictly increase; no Trade has the same user on both sides;
    and the events come in the order shared/events.py documents."""
    engine = new_engine(scenario)
    users = everyone(scenario)
    replay = EventReplay()
    for command in scenario.commands:
        events = engine.apply(command)
        replay.observe(engine, command, events)
        replay.check_state(engine, users, describe(command, events))


# ---------------------------------------------------------------------------------------------- 7


def _state_without_seq(engine: Engine) -> dict[str, object]:
    state = orjson.loads(dump(engine))
    del state["seq"]
    return state


@settings(max_examples=EXAMPLES, deadline=None)
@given(DEFAULT_RETENTION_STREAMS)
def test_rejected_command_changes_nothing_but_seq(scenario: Scenario) -> None:
    """Default retention (a day): no closed order is old enough to be forgotten within a stream."""
    engine = new_engine(scenario)
    for command in scenario.commands:
        before = _state_without_seq(engine)
        seq_before = engine.seq
        events = engine.apply(command)
        assert engine.seq == seq_before + 1
        if is_rejected(events):
            assert events == [events[0]], describe(command, events)
            assert _state_without_seq(engine) == before, describe(command, events)


@settings(max_examples=EXAMPLES, deadline=None)
@given(SHORT_RETENTION_STREAMS)
def test_rejected_command_changes_nothing_but_seq_and_retention(scenario: Scenario) -> None:
    """Short retention: a rejected command may still let time forget old closed orders, nothing more. The
    twin is the state before it, restored, fed a cancel-all of a user with no orders at the same time."""
    engine = new_engine(scenario)
    for command in scenario.commands:
        before = dump(engine)
        events = engine.apply(command)
        if is_rejected(events):
            twin = load(before, MARKETS_CONFIG)
            assert twin.apply(CancelAll("nobody", None, command.ts)) == []
            assert dump(engine) == dump(twin), describe(command, events)


# ---------------------------------------------------------------------------------------------- 8


def _check_placed_order(engine: Engine, command: PlaceOrder, events: list[Event], where: str) -> None:
    seq = engine.seq
    own = [e.order for e in events if type(e) is OrderUpdated and e.order.order_id == seq]
    assert len(own) == 1, where
    order = own[0]
    assert (order.user_id, order.market, order.side, order.order_type, order.price, order.quantity,
            order.client_order_id, order.created_at) == (
        command.user_id, command.market, command.side, command.order_type, command.price, command.quantity,
        command.client_order_id, command.ts), where
    trades = [e for e in events if type(e) is Trade]
    qpt = MARKETS_CONFIG.markets[command.market].quote_per_tick_lot
    assert all(t.taker_order_id == seq and t.taker_user_id == command.user_id for t in trades), where
    assert all(t.taker_side is command.side and t.market == command.market for t in trades), where
    assert all(t.quote_quantity == t.price * t.quantity * qpt and t.quantity > 0 for t in trades), where
    assert [(f.trade_id, f.price, f.quantity) for f in order.fills] == [
        (t.trade_id, t.price, t.quantity) for t in trades], where
    assert order.executed_quantity == sum(t.quantity for t in trades), where
    assert order.executed_quote == sum(t.quote_quantity for t in trades), where
    # Price-time priority, at the maker's price, never beyond the taker's limit.
    buy = command.side is Side.BUY
    walk = [(t.price if buy else -t.price, t.maker_order_id) for t in trades]
    assert walk == sorted(walk), where
    if command.price is not None:
        assert all(t.price <= command.price if buy else t.price >= command.price for t in trades), where
    assert (order.status is OrderStatus.FILLED) == (order.executed_quantity == order.quantity), where
    if order.status.is_open:
        assert command.order_type is OrderType.LIMIT and command.time_in_force is TimeInForce.GTC, where
        assert engine.get_order(command.user_id, seq) == order, where
    if command.time_in_force is TimeInForce.FOK and command.order_type is OrderType.LIMIT:
        assert order.status is OrderStatus.FILLED, where
    if command.post_only:
        assert not trades, where


@settings(max_examples=EXAMPLES, deadline=None)
@given(STREAMS)
def test_orders_behave_as_their_type_says(scenario: Scenario) -> None:
    """API.md "Orders": an accepted order's fills are its Trades, taken best price first then oldest maker
    first, at the maker's price and within its limit; FOK fills completely, postOnly never takes, only a GTC
    limit order rests; a cancel cancels the caller's open order, a cancel-all leaves none open."""
    engine = new_engine(scenario)
    for command in scenario.commands:
        events = engine.apply(command)
        if is_rejected(events):
            continue
        where = describe(command, events)
        if type(command) is PlaceOrder:
            _check_placed_order(engine, command, events, where)
        elif type(command) is CancelOrder:
            updated = [e.order for e in events if type(e) is OrderUpdated]
            assert [(o.order_id, o.user_id, o.status) for o in updated] == [
                (command.order_id, command.user_id, OrderStatus.CANCELLED)], where
            assert engine.get_order(command.user_id, command.order_id) == updated[0], where
        elif type(command) is CancelAll:
            updated = [e.order for e in events if type(e) is OrderUpdated]
            assert all(o.user_id == command.user_id and o.status is OrderStatus.CANCELLED
                       and command.market in (None, o.market) for o in updated), where
            assert engine.open_orders(command.user_id, command.market) == [], where
