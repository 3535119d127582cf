"""market_maker/taker.py: the demo taker's pure decisions."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from market_maker.taker import MAX_LEAN_BPS, buy_chance_bps, next_delay, order_for, pick_market
from shared.types import Side

MARKETS = ["TATA-INR", "RELIANCE-INR", "INFY-INR"]


def run(seed: int, n: int = 300) -> list[object]:
    rng = random.Random(seed)
    out: list[object] = []
    for _ in range(n):
        market = pick_market(rng, MARKETS)
        out.append((next_delay(rng, Decimal(2)), order_for(rng, market, 10_000, (1, 10), 9_990, 10_010, 20)))
    return out


def test_decisions_replay_from_the_seed() -> None:
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_orders_are_in_range_and_use_every_market_and_side() -> None:
    orders = [o for _, o in run(5) if o is not None]  # type: ignore[misc]
    assert {o.market for o in orders} == set(MARKETS)  # type: ignore[attr-defined]
    assert {o.side for o in orders} == {Side.BUY, Side.SELL}  # type: ignore[attr-defined]
    assert {o.quantity for o in orders} == set(range(1, 11))  # type: ignore[attr-defined]


def test_delays_average_one_over_the_rate_and_are_capped() -> None:
    rng = random.Random(1)
    delays = [next_delay(rng, Decimal("2")) for _ in range(5_000)]
    assert 0.45 < sum(delays) / len(delays) < 0.55
    assert min(delays) >= 0 and max(delays) <= 5.0


def test_buy_chance_leans_towards_the_anchor() -> None:
    assert buy_chance_bps(10_000, 9_990, 10_010, 20) == 5_000  # mid at the anchor
    assert buy_chance_bps(10_000, 9_890, 9_910, 20) == 7_000  # 1% below: buy more (capped)
    assert buy_chance_bps(10_000, 10_040, 10_060, 20) == 4_000  # 0.5% above: sell more
    assert buy_chance_bps(10_000, 9_890, 9_910, 0) == 5_000  # no lean
    assert buy_chance_bps(10_000, None, None, 20) == 5_000


@given(st.integers(1, 10**9), st.one_of(st.none(), st.integers(1, 10**9)),
       st.one_of(st.none(), st.integers(1, 10**9)), st.integers(0, 1_000))
def test_buy_chance_stays_within_its_bounds(anchor: int, bid: int | None, ask: int | None, lean: int) -> None:
    assert 5_000 - MAX_LEAN_BPS <= buy_chance_bps(anchor, bid, ask, lean) <= 5_000 + MAX_LEAN_BPS


def test_no_order_against_an_empty_side() -> None:
    rng = random.Random(0)
    picks = [order_for(rng, "TATA-INR", 10_000, (1, 5), None, 10_010, 0) for _ in range(100)]
    assert all(o is None or o.side is Side.BUY for o in picks)
    assert any(o is None for o in picks) and any(o is not None for o in picks)
