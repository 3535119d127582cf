"""market_maker/strategy.py: the pure fair value walk and ladder, in integers."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from market_maker.strategy import (
    FairValue,
    Holdings,
    Quote,
    StrategyParams,
    Walk,
    advance,
    div_round,
    half_spread,
    ladder,
    level_step,
    skew,
    start,
)
from shared.markets import load_markets
from shared.types import Side

TATA = load_markets().markets["TATA-INR"]
PARAMS = StrategyParams(levels=10, spread_bps=20, step_bps=5, walk=Walk.REVERT, walk_bps=10,
                        revert_bps=100, max_skew_bps=10)
RICH = Holdings(base_lots=100_000, quote_minor=10_000_000_00)  # 1e5 TATA and 1e7 INR: flat at 100.00


def bids(quotes: tuple[Quote, ...]) -> list[int]:
    return [q.price for q in quotes if q.side is Side.BUY]


def asks(quotes: tuple[Quote, ...]) -> list[int]:
    return [q.price for q in quotes if q.side is Side.SELL]


def test_div_round_is_half_even_and_exact() -> None:
    assert [div_round(n, 2) for n in (-3, -1, 1, 3, 5)] == [-2, 0, 0, 2, 2]
    assert div_round(7, 3) == 2 and div_round(8, 3) == 3 and div_round(-8, 3) == -3
    assert div_round(10**30 + 1, 10**30) == 1


def test_ladder_at_100_is_the_exact_grid() -> None:
    quotes = ladder(start(10_000), RICH, PARAMS, TATA, 10)
    assert bids(quotes) == [9_990 - 5 * i for i in range(10)]  # 99.90, 99.85, ... best first
    assert asks(quotes) == [10_010 + 5 * i for i in range(10)]  # 100.10, 100.15, ...
    assert {q.quantity for q in quotes} == {10}


def test_ladder_sizes_spread_and_step_for_the_price() -> None:
    reliance = load_markets().markets["RELIANCE-INR"]
    state = start(250_000)  # 2500.00
    quotes = ladder(state, Holdings(10_000, 10**12), PARAMS, reliance, 3)
    assert asks(quotes)[0] - bids(quotes)[0] == 500  # 20 bps of 2500.00 = 5.00
    assert asks(quotes)[1] - asks(quotes)[0] == 125  # 5 bps = 1.25


def test_small_fair_moves_change_no_price() -> None:
    base = ladder(start(10_000), RICH, PARAMS, TATA, 10)
    for fair in (9_998, 9_999, 10_001, 10_002):
        assert ladder(FairValue(fair, 10_000, 10_000), RICH, PARAMS, TATA, 10) == base
    moved = ladder(FairValue(10_003, 10_000, 10_000), RICH, PARAMS, TATA, 10)
    assert bids(moved)[0] == bids(base)[0] + 5 and asks(moved)[0] == asks(base)[0] + 5


def test_long_base_lowers_the_ladder_and_short_raises_it() -> None:
    state = start(10_000)
    long_base = Holdings(base_lots=300_000, quote_minor=10_000_000_00)
    short_base = Holdings(base_lots=20_000, quote_minor=10_000_000_00)
    assert skew(state, RICH, PARAMS, TATA) == 0
    assert skew(state, long_base, PARAMS, TATA) == -5  # 10 bps * (3-1)/(3+1)
    assert skew(state, short_base, PARAMS, TATA) == 7  # 10 bps * (1-0.2)/(1+0.2), rounded
    assert bids(ladder(state, long_base, PARAMS, TATA, 10))[0] == 9_985
    assert asks(ladder(state, short_base, PARAMS, TATA, 10))[0] == 10_015  # centre 10_007 -> 10_005


@given(st.integers(0, 10**9), st.integers(0, 10**13))
def test_skew_is_bounded_by_max_skew(base_lots: int, quote_minor: int) -> None:
    value = skew(start(10_000), Holdings(base_lots, quote_minor), PARAMS, TATA)
    assert -10 <= value <= 10


def test_ladder_quotes_only_what_the_holdings_cover() -> None:
    quotes = ladder(start(10_000), Holdings(base_lots=35, quote_minor=3_000_00), PARAMS, TATA, 10)
    assert len(asks(quotes)) == 3  # 35 lots: three asks of 10
    assert len(bids(quotes)) == 3  # 3,000 INR: three bids of 10 at about 100.00 (the fourth would not fit)
    cost = sum(q.price * q.quantity * TATA.quote_per_tick_lot for q in quotes if q.side is Side.BUY)
    assert cost <= 3_000_00
    assert ladder(start(10_000), Holdings(0, 0), PARAMS, TATA, 10) == ()


params_st = st.builds(StrategyParams, levels=st.integers(1, 30), spread_bps=st.integers(1, 500),
                      step_bps=st.integers(1, 100), walk=st.sampled_from(Walk),
                      walk_bps=st.integers(0, 200), revert_bps=st.integers(0, 10_000),
                      max_skew_bps=st.integers(0, 200))


@given(params_st, st.integers(100, 10**8), st.integers(-50, 50), st.integers(0, 10**7),
       st.integers(0, 10**14), st.integers(1, 100))
def test_ladder_properties(params: StrategyParams, scale: int, offset_pct: int, base_lots: int,
                           quote_minor: int, size: int) -> None:
    fair = max(1, scale + scale * offset_pct // 1000)
    state = FairValue(fair, scale, scale)
    quotes = ladder(state, Holdings(base_lots, quote_minor), params, TATA, size)
    b, a = bids(quotes), asks(quotes)
    step, half = level_step(scale, params), half_spread(scale, params)
    assert len(b) <= params.levels and len(a) <= params.levels
    assert b == sorted(b, reverse=True) and a == sorted(a) and len(set(b)) == len(b)
    assert all(p >= 1 for p in b) and all(p <= TATA.max_price_ticks for p in a)
    if b and a:
        assert b[0] < a[0]
        assert a[0] - b[0] == 2 * half  # exactly the configured spread
    assert all(x - y == step for x, y in itertools.pairwise(b))  # the exact grid
    assert all(y - x == step for x, y in itertools.pairwise(a))
    # Both sides hang off one centre on the step grid.
    centre = (b[0] + half) if b else (a[0] - half) if a else 0
    assert centre % step == 0
    assert sum(q.price * q.quantity for q in quotes if q.side is Side.BUY) <= quote_minor
    assert len(a) * size <= base_lots


def test_advance_is_deterministic_for_a_seed() -> None:
    def walk(seed: int) -> list[int]:
        rng, state, fairs = random.Random(seed), start(10_000), []
        for _ in range(200):
            state = advance(state, PARAMS, rng, TATA.max_price_ticks)
            fairs.append(state.fair)
        return fairs

    assert walk(7) == walk(7)
    assert walk(7) != walk(8)
    assert len(set(walk(7))) > 10  # it does move


def test_revert_pulls_towards_the_anchor_and_random_does_not() -> None:
    quiet = replace(PARAMS, walk_bps=0)
    state = FairValue(12_000, 10_000, 12_000)
    for _ in range(100):
        previous, state = state, advance(state, quiet, random.Random(0), TATA.max_price_ticks)
        assert 10_000 <= state.fair <= previous.fair
    assert state.fair < 10_800
    drifting = advance(FairValue(12_000, 10_000, 12_000), replace(quiet, walk=Walk.RANDOM), random.Random(0),
                       TATA.max_price_ticks)
    assert drifting.fair == 12_000


@given(st.integers(0, 2**32), st.sampled_from(Walk), st.integers(1, 2_000))
def test_walk_stays_within_ten_times_the_anchor(seed: int, walk: Walk, walk_bps: int) -> None:
    params = replace(PARAMS, walk=walk, walk_bps=walk_bps, revert_bps=0)
    rng, state = random.Random(seed), start(10_000)
    for _ in range(50):
        state = advance(state, params, rng, TATA.max_price_ticks)
        assert 1_000 <= state.fair <= 100_000
        assert abs(state.fair - state.scale) * 10 <= state.scale


def test_scale_follows_the_fair_value_only_past_ten_percent() -> None:
    params = replace(PARAMS, walk_bps=0, walk=Walk.RANDOM)
    rng = random.Random(0)
    assert advance(FairValue(10_900, 10_000, 10_000), params, rng, 10**9).scale == 10_000
    assert advance(FairValue(11_001, 10_000, 10_000), params, rng, 10**9).scale == 11_001
