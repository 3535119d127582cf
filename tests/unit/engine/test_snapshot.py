"""Snapshot: dump/load round trip, identical continuation, refusal of other markets or formats."""

import random

import orjson
import pytest

from engine.invariants import check_invariants
from engine.snapshot import SnapshotError, dump, load, state_hash
from shared.commands import Command
from shared.errors import ErrorCode
from shared.events import encode_events
from shared.markets import parse_markets
from shared.types import Side, TimeInForce
from tests.support.factories import (
    T0,
    apply_ok,
    apply_rejected,
    cancel,
    cancel_all,
    deposit,
    limit,
    market_order,
    markets,
    new_engine,
    place,
)

RETENTION = 1_000


def scripted_commands() -> list[Command]:
    """A stream touching every feature: deposits, resting, partial fills, IOC/FOK/postOnly, market orders,
    self-trade, cancels, clientOrderIds, rejections, several markets and retention expiry."""
    ts = T0
    return [
        deposit("alice", "INR", 5_000_000, ts), deposit("alice", "TATA", 300, ts),
        deposit("bob", "INR", 5_000_000, ts), deposit("bob", "TATA", 300, ts),
        deposit("carol", "INR", 600_000, ts), deposit("carol", "INFY", 50, ts),
        limit("alice", "sell", 10_100, 10, client_order_id="a-1", ts=ts + 1),
        limit("alice", "sell", 10_000, 5, ts=ts + 2),
        limit("bob", "buy", 9_900, 7, client_order_id="b-1", ts=ts + 3),
        limit("bob", "buy", 10_050, 8, ts=ts + 4),  # fills 5 @ 100.00, rests 3
        limit("carol", "buy", 10_100, 4, tif=TimeInForce.IOC, ts=ts + 5),
        limit("carol", "buy", 10_100, 50, tif=TimeInForce.FOK, ts=ts + 6),  # UNFILLABLE
        limit("carol", "sell", 9_000, 1, market="INFY-INR", post_only=True, ts=ts + 7),
        market_order("carol", "buy", 3, market="INFY-INR", ts=ts + 8),  # self-trade
        limit("bob", "sell", 10_050, 2, ts=ts + 9),  # self-trade with own bid
        cancel("bob", 9, ts=ts + 10),
        cancel("alice", 9, ts=ts + 11),  # ORDER_NOT_FOUND
        limit("bob", "buy", 9_000, 1, client_order_id="b-1", ts=ts + 12),  # duplicate
        market_order("alice", "sell", 4, ts=ts + 13),
        limit("bob", "buy", 10_200, 20, ts=ts + 14),
        cancel_all("alice", "TATA-INR", ts=ts + 15),
        deposit("dave", "RELIANCE", 10, ts=ts + 16),
        limit("dave", "sell", 250_000, 10, market="RELIANCE-INR", ts=ts + 17),
        market_order("bob", "buy", 2, market="RELIANCE-INR", ts=ts + 18),
        deposit("bob", "INR", 1, ts=ts + 2_000),  # past retention: forgets closed orders
        limit("bob", "buy", 9_000, 1, client_order_id="b-1", ts=ts + 2_001),  # b-1 was forgotten: accepted
        limit("carol", "buy", 9_500, 2, ts=ts + 2_002),
        cancel_all("bob", ts=ts + 2_003),
        limit("alice", "sell", 9_000, 3, ts=ts + 2_004),
        market_order("carol", "sell", 1, ts=ts + 2_005),
    ]


def random_commands(seed: int, count: int) -> list[Command]:
    rng = random.Random(seed)
    users = ["u1", "u2", "u3", "u4"]
    commands: list[Command] = [deposit(u, a, 2_000_000 if a == "INR" else 200, T0)
                               for u in users for a in ("INR", "TATA")]
    ts = T0
    for _ in range(count):
        ts += rng.choice([0, 1, 50, 400])
        user = rng.choice(users)
        roll = rng.random()
        if roll < 0.6:
            commands.append(limit(user, rng.choice([Side.BUY, Side.SELL]), rng.randint(9_980, 10_020),
                                  rng.randint(1, 9), tif=rng.choice(list(TimeInForce)),
                                  post_only=rng.random() < 0.1,
                                  client_order_id=rng.choice([None, None, f"c{rng.randint(1, 30)}"]), ts=ts))
        elif roll < 0.7:
            commands.append(market_order(user, rng.choice([Side.BUY, Side.SELL]), rng.randint(1, 12), ts=ts))
        elif roll < 0.95:
            commands.append(cancel(user, rng.randint(1, len(commands) + 1), ts=ts))
        else:
            commands.append(cancel_all(user, rng.choice([None, "TATA-INR"]), ts=ts))
    return commands


def run(engine, commands):
    events = []
    for command in commands:
        events.extend(engine.apply(command))
        check_invariants(engine)
    return events


def test_dump_load_round_trip_gives_equal_bytes_and_state_hash():
    engine = new_engine(RETENTION)
    run(engine, scripted_commands())
    data = dump(engine)
    restored = load(data, markets())
    check_invariants(restored)
    assert dump(restored) == data
    assert state_hash(restored) == state_hash(engine)


def test_dump_of_fresh_engine_round_trips():
    engine = new_engine()
    restored = load(dump(engine), markets())
    assert state_hash(restored) == state_hash(engine)


def test_state_hash_differs_when_state_differs():
    one, two = new_engine(), new_engine()
    apply_ok(one, deposit("bob", "INR", 1))
    apply_ok(two, deposit("bob", "INR", 2))
    assert state_hash(one) != state_hash(two)


def test_dump_is_deterministic_for_same_commands():
    one, two = new_engine(RETENTION), new_engine(RETENTION)
    run(one, scripted_commands())
    run(two, scripted_commands())
    assert dump(one) == dump(two)


def test_restored_engine_answers_queries_like_original():
    engine = new_engine(RETENTION)
    run(engine, scripted_commands()[:21])
    restored = load(dump(engine), markets())
    for user in ("alice", "bob", "carol", "dave"):
        assert restored.balances(user) == engine.balances(user)
        assert restored.open_orders(user) == engine.open_orders(user)
        for order_id in range(1, engine.seq + 1):
            assert restored.get_order(user, order_id) == engine.get_order(user, order_id)
    for symbol in engine.markets:
        assert restored.depth(symbol, 100) == engine.depth(symbol, 100)
    assert (restored.seq, restored.retention_ms) == (engine.seq, RETENTION)


@pytest.mark.parametrize("split", range(len(scripted_commands()) + 1))
def test_restored_engine_continues_with_byte_identical_events(split):
    commands = scripted_commands()
    uninterrupted = new_engine(RETENTION)
    run(uninterrupted, commands[:split])
    expected = encode_events(run(uninterrupted, commands[split:]))

    first = new_engine(RETENTION)
    run(first, commands[:split])
    restored = load(dump(first), markets())
    assert encode_events(run(restored, commands[split:])) == expected
    assert state_hash(restored) == state_hash(uninterrupted)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_restored_engine_continues_identically_on_random_stream(seed):
    commands = random_commands(seed, 400)
    split = len(commands) // 2
    uninterrupted = new_engine(RETENTION)
    run(uninterrupted, commands[:split])
    expected = encode_events(run(uninterrupted, commands[split:]))
    restored = load(dump(_replay(commands[:split])), markets())
    assert encode_events(run(restored, commands[split:])) == expected
    assert state_hash(restored) == state_hash(uninterrupted)


def _replay(commands):
    engine = new_engine(RETENTION)
    run(engine, commands)
    return engine


def test_restored_engine_keeps_client_order_id_reservations():
    engine = new_engine()
    apply_ok(engine, deposit("bob", "INR", 100_000))
    oid, _ = place(engine, limit("bob", "buy", 10_000, 1, client_order_id="keep", tif=TimeInForce.IOC))
    restored = load(dump(engine), markets())
    rejected = apply_rejected(restored, limit("bob", "buy", 10_000, 1, client_order_id="keep"),
                              ErrorCode.DUPLICATE_CLIENT_ORDER_ID)
    assert rejected.order_id == oid


def test_load_with_different_markets_raises_snapshot_error():
    engine = new_engine()
    run(engine, scripted_commands()[:8])
    fewer = markets().subset(["TATA-INR"])
    with pytest.raises(SnapshotError):
        load(dump(engine), fewer)


def test_load_with_extra_market_raises_snapshot_error():
    engine = new_engine()
    other = parse_markets({
        "assets": {"INR": {"decimals": 2}, "TATA": {"decimals": 0}, "RELIANCE": {"decimals": 0},
                   "INFY": {"decimals": 0}, "WIPRO": {"decimals": 0}},
        "markets": [{"symbol": s, "base": s.split("-")[0], "quote": "INR", "tickSize": "0.01",
                     "lotSize": "1", "minQuantity": "1"}
                    for s in ("TATA-INR", "RELIANCE-INR", "INFY-INR", "WIPRO-INR")],
    })
    with pytest.raises(SnapshotError):
        load(dump(engine), other)


def test_load_of_other_format_version_raises_snapshot_error():
    state = orjson.loads(dump(new_engine()))
    state["version"] = 999
    with pytest.raises(SnapshotError):
        load(orjson.dumps(state), markets())
