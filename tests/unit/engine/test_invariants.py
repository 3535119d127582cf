"""check_invariants: passes on real states and really fails on a broken one (so the helpers can fail)."""

import orjson
import pytest

from engine.invariants import InvariantError, check_invariants
from engine.snapshot import dump, load
from tests.support.factories import fund, limit, markets, new_engine, place


def engine_with_orders():
    engine = new_engine()
    fund(engine, "alice", inr=1_000_000, tata=100)
    fund(engine, "bob", inr=1_000_000, tata=100)
    place(engine, limit("alice", "sell", 10_000, 5))
    place(engine, limit("bob", "buy", 9_900, 5))
    place(engine, limit("bob", "buy", 10_000, 2))
    return engine


def test_check_invariants_passes_on_fresh_engine():
    check_invariants(new_engine())


def test_check_invariants_passes_after_trading():
    check_invariants(engine_with_orders())


def test_check_invariants_detects_lock_not_matching_open_orders():
    state = orjson.loads(dump(engine_with_orders()))
    state["accounts"]["bob"]["INR"][1] += 1
    with pytest.raises(InvariantError):
        check_invariants(load(orjson.dumps(state), markets()))


def test_check_invariants_detects_negative_available():
    state = orjson.loads(dump(engine_with_orders()))
    state["accounts"]["bob"]["TATA"][0] = -1
    with pytest.raises(InvariantError):
        check_invariants(load(orjson.dumps(state), markets()))
