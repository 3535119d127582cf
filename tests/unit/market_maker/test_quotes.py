"""market_maker/quotes.py: desired vs resting -> the fewest cancels and places; exact parsing."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market_maker.quotes import LiveOrder, Plan, live_order, own_mid, plan, split
from market_maker.strategy import FairValue, Holdings, Quote, StrategyParams, Walk, ladder, start
from shared.markets import load_markets
from shared.money import ConversionError
from shared.types import Side

TATA = load_markets().markets["TATA-INR"]
PARAMS = StrategyParams(levels=10, spread_bps=20, step_bps=5, walk=Walk.REVERT, walk_bps=10,
                        revert_bps=100, max_skew_bps=10)
RICH = Holdings(100_000, 10_000_000_00)
_ids = itertools.count(1)


def resting(quotes: tuple[Quote, ...] | list[Quote], remaining: int | None = None) -> list[LiveOrder]:
    return [LiveOrder(f"TATA-INR-{next(_ids)}", "TATA-INR", q.side, q.price,
                      q.quantity if remaining is None else remaining) for q in quotes]


def apply(live: list[LiveOrder], diff: Plan) -> list[tuple[Side, int, int]]:
    """The book of own orders after the plan: (side, price, remaining)."""
    gone = {o.order_id for o in diff.cancels}
    return sorted([(o.side, o.price, o.remaining) for o in live if o.order_id not in gone]
                  + [(q.side, q.price, q.quantity) for q in diff.places])


def test_nothing_moved_means_no_request() -> None:
    desired = ladder(start(10_000), RICH, PARAMS, TATA, 10)
    diff = plan(desired, resting(desired))
    assert diff.empty


def test_a_one_step_move_replaces_one_level_per_side() -> None:
    before = ladder(FairValue(10_000, 10_000, 10_000), RICH, PARAMS, TATA, 10)
    after = ladder(FairValue(10_005, 10_000, 10_000), RICH, PARAMS, TATA, 10)
    live = resting(before)
    diff = plan(after, live)
    assert sorted((o.side, o.price) for o in diff.cancels) == [(Side.BUY, 9_945), (Side.SELL, 10_010)]
    assert sorted((q.side, q.price) for q in diff.places) == [(Side.BUY, 9_995), (Side.SELL, 10_060)]
    assert apply(live, diff) == sorted((q.side, q.price, q.quantity) for q in after)


def test_a_fresh_start_places_everything_best_first() -> None:
    desired = ladder(start(10_000), RICH, PARAMS, TATA, 10)
    diff = plan(desired, [])
    assert diff.cancels == () and diff.places == desired


def test_duplicates_keep_the_oldest_and_cancel_the_rest() -> None:
    desired = ladder(start(10_000), RICH, PARAMS, TATA, 10)
    live = resting(desired)
    twins = resting(desired[:3])  # a retry or an earlier run left three doubles behind (newer)
    diff = plan(desired, live + twins)
    assert diff.cancels == tuple(twins) and diff.places == ()


def test_orders_off_the_ladder_are_cancelled() -> None:
    desired = ladder(start(10_000), RICH, PARAMS, TATA, 10)
    strays = resting([Quote(Side.BUY, 9_000, 10), Quote(Side.SELL, 10_012, 10), Quote(Side.SELL, 9_990, 10)])
    diff = plan(desired, strays)
    assert set(diff.cancels) == set(strays) and diff.places == desired


@pytest.mark.parametrize(("remaining", "kept"), [(10, True), (5, True), (4, False), (1, False), (11, False)])
def test_an_eaten_level_is_refilled_only_when_mostly_gone(remaining: int, kept: bool) -> None:
    quote = Quote(Side.SELL, 10_010, 10)
    live = resting([quote], remaining=remaining)
    diff = plan((quote,), live)
    assert diff.empty is kept
    if not kept:
        assert diff.cancels == tuple(live) and diff.places == (quote,)


quote_st = st.builds(Quote, st.sampled_from(Side), st.integers(9_900, 10_100), st.integers(1, 20))


@given(st.lists(quote_st, max_size=30), st.lists(st.tuples(quote_st, st.integers(1, 20)), max_size=40))
def test_the_plan_turns_any_book_into_exactly_the_desired_one(desired_raw: list[Quote],
                                                                live_raw: list[tuple[Quote, int]]) -> None:
    desired = list({(q.side, q.price): q for q in desired_raw}.values())  # one quote per level, as ladder()
    live = [LiveOrder(f"TATA-INR-{i}", "TATA-INR", q.side, q.price, left)
            for i, (q, left) in enumerate(live_raw)]
    diff = plan(desired, live)
    after = apply(live, diff)
    levels = Counter((side, price) for side, price, _ in after)
    assert set(levels) == {(q.side, q.price) for q in desired}
    assert all(count == 1 for count in levels.values())  # never a duplicate left behind
    # Only what had to change changed: every kept order serves its level as it is.
    kept = [o for o in live if o not in diff.cancels]
    for order in kept:
        quote = next(q for q in desired if (q.side, q.price) == (order.side, order.price))
        assert quote.quantity <= 2 * order.remaining and order.remaining <= quote.quantity
    assert diff == plan(desired, live)  # deterministic


def test_live_order_reads_the_api_object_exactly() -> None:
    view = {"orderId": "TATA-INR-42", "clientOrderId": "mm-1", "market": "TATA-INR", "kind": "sell",
            "type": "limit", "price": "100.15", "quantity": "10", "executedQuantity": "3",
            "executedQuoteQuantity": "300.45", "fillStatus": "partially_filled"}
    assert live_order(view, TATA) == LiveOrder("TATA-INR-42", "TATA-INR", Side.SELL, 10_015, 7, "mm-1")
    assert live_order({**view, "executedQuantity": "0"}, TATA).remaining == 10
    with pytest.raises(ConversionError):
        live_order({**view, "price": "100.155"}, TATA)


def test_own_mid() -> None:
    orders = resting([Quote(Side.BUY, 9_990, 1), Quote(Side.BUY, 9_985, 1), Quote(Side.SELL, 10_011, 1)])
    assert own_mid(orders) == 10_000
    assert own_mid(orders[:2]) is None


def test_a_shift_sends_its_new_levels_together_with_the_cancels() -> None:
    before = ladder(FairValue(10_000, 10_000, 10_000), RICH, PARAMS, TATA, 10)
    after = ladder(FairValue(10_005, 10_000, 10_000), RICH, PARAMS, TATA, 10)
    diff = plan(after, resting(before))
    early, late = split(diff.places, diff.cancels, RICH, TATA)
    assert early == diff.places and late == ()


def test_places_that_cross_or_reuse_a_cancelled_price_or_need_its_funds_wait() -> None:
    cancels = resting([Quote(Side.SELL, 10_010, 10), Quote(Side.BUY, 9_990, 2)])
    places = (Quote(Side.BUY, 10_010, 10), Quote(Side.BUY, 10_000, 10), Quote(Side.BUY, 9_990, 10),
              Quote(Side.SELL, 9_990, 10), Quote(Side.SELL, 10_020, 10), Quote(Side.SELL, 10_030, 10))
    early, late = split(places, cancels, Holdings(base_lots=15, quote_minor=100_000), TATA)
    # 10_010 crosses the ask being cancelled; 9_990 reuses a cancelled bid's price (the book would show
    # both), the sell at 9_990 crosses it; 10_030 needs base the cancels free (15 lots free: one ask).
    assert early == (Quote(Side.BUY, 10_000, 10), Quote(Side.SELL, 10_020, 10))
    assert late == (Quote(Side.BUY, 10_010, 10), Quote(Side.BUY, 9_990, 10), Quote(Side.SELL, 9_990, 10),
                    Quote(Side.SELL, 10_030, 10))
    assert split(places[1:2], [], Holdings(0, 99_999), TATA) == ((), places[1:2])  # 1000.00 INR short by 0.01


@given(st.lists(quote_st, max_size=20), st.lists(quote_st, max_size=20), st.integers(0, 10**7),
       st.integers(0, 100))
def test_early_places_never_cross_a_cancelled_order_nor_overspend(places: list[Quote], cancelled: list[Quote],
                                                                  quote_free: int, base_free: int) -> None:
    cancels = resting(cancelled)
    early, late = split(places, cancels, Holdings(base_free, quote_free), TATA)
    assert sorted(early + late) == sorted(places)
    for q in early:
        if q.side is Side.BUY:
            assert all(o.price > q.price for o in cancels if o.side is Side.SELL)
        else:
            assert all(o.price < q.price for o in cancels if o.side is Side.BUY)
        assert (q.side, q.price) not in {(o.side, o.price) for o in cancels}
    assert sum(q.price * q.quantity for q in early if q.side is Side.BUY) <= quote_free
    assert sum(q.quantity for q in early if q.side is Side.SELL) <= base_free
