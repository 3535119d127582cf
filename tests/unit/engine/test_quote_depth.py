"""Market-data queries: depth (best first, aggregated, limit) and quote (walks the book, changes nothing)."""

from engine.core import QuoteResult
from engine.snapshot import dump
from shared.types import Side
from tests.support.factories import MARKET, fund, limit, market_order, new_engine, place

RICH = 10_000_000


def book():
    """asks 3 @ 100.00 (alice) + 2 @ 100.00 (carol), 4 @ 100.50, 5 @ 101.00; bids 2 @ 99.00, 3 @ 98.00."""
    engine = new_engine()
    for user in ("alice", "bob", "carol"):
        fund(engine, user, inr=RICH, tata=1_000)
    place(engine, limit("alice", "sell", 10_100, 5))
    place(engine, limit("alice", "sell", 10_000, 3))
    place(engine, limit("carol", "sell", 10_000, 2))
    place(engine, limit("alice", "sell", 10_050, 4))
    place(engine, limit("bob", "buy", 9_800, 3))
    place(engine, limit("bob", "buy", 9_900, 2))
    return engine


# ---------------------------------------------------------------------------------------------- depth


def test_depth_lists_levels_best_first_aggregated_with_sequence():
    seq, bids, asks = book().depth(MARKET, 100)
    assert seq == 6
    assert bids == [(9_900, 2), (9_800, 3)]
    assert asks == [(10_000, 5), (10_050, 4), (10_100, 5)]


def test_depth_limit_cuts_each_side_to_best_levels():
    engine = book()
    assert engine.depth(MARKET, 1) == (6, [(9_900, 2)], [(10_000, 5)])
    assert engine.depth(MARKET, 2) == (6, [(9_900, 2), (9_800, 3)], [(10_000, 5), (10_050, 4)])


def test_depth_of_empty_book():
    assert new_engine().depth("INFY-INR", 100) == (0, [], [])


# ---------------------------------------------------------------------------------------------- quote


def test_quote_buy_walks_asks_from_best():
    # 5 @ 100.00 + 2 @ 100.50 = 500.00 + 201.00
    assert book().quote(MARKET, Side.BUY, 7) == QuoteResult(7, 70_100, 10_050)


def test_quote_buy_within_first_level():
    assert book().quote(MARKET, Side.BUY, 4) == QuoteResult(4, 40_000, 10_000)


def test_quote_buy_exactly_whole_book():
    assert book().quote(MARKET, Side.BUY, 14) == QuoteResult(14, 50_000 + 40_200 + 50_500, 10_100)


def test_quote_sell_walks_bids_from_best():
    assert book().quote(MARKET, Side.SELL, 4) == QuoteResult(4, 2 * 9_900 + 2 * 9_800, 9_800)


def test_quote_on_thin_book_fillable_short_of_quantity():
    result = book().quote(MARKET, Side.SELL, 10)
    assert result == QuoteResult(5, 2 * 9_900 + 3 * 9_800, 9_800)
    assert result.fillable < 10


def test_quote_on_empty_book_has_no_worst_price_and_zero_quote():
    assert new_engine().quote(MARKET, Side.BUY, 5) == QuoteResult(0, 0, None)
    assert new_engine().quote(MARKET, Side.SELL, 5) == QuoteResult(0, 0, None)


def test_quote_on_one_sided_book_for_empty_side():
    engine = new_engine()
    fund(engine, "alice", tata=10)
    place(engine, limit("alice", "sell", 10_000, 5))
    assert engine.quote(MARKET, Side.SELL, 5) == QuoteResult(0, 0, None)


def test_quote_changes_nothing():
    engine = book()
    before = dump(engine)
    seq = engine.seq
    engine.quote(MARKET, Side.BUY, 1_000)
    engine.quote(MARKET, Side.SELL, 3)
    assert engine.seq == seq
    assert dump(engine) == before


def test_quote_matches_what_a_market_order_then_gets():
    engine = book()
    fund(engine, "dave", inr=RICH)
    quote = engine.quote(MARKET, Side.BUY, 8)
    oid, _ = place(engine, market_order("dave", "buy", 8))
    state = engine.get_order("dave", oid)
    assert (state.executed_quantity, state.executed_quote) == (quote.fillable, quote.quote_quantity)
    assert max(f.price for f in state.fills) == quote.worst_price
