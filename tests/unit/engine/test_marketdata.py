"""MarketData.on_batch: merged depth diffs, trades, order lines, the rolling 24 h ticker and the candles.

Frames are parsed with orjson and compared with exact values.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson
import pytest

from engine.core import Engine
from engine.marketdata import DAY_MS, KLINE_INTERVALS, BatchOutput, MarketData
from engine.requests import RequestHandler
from shared.commands import Command
from shared.events import DepthUpdate, Event, OrderUpdated, Trade
from shared.markets import Market
from shared.types import Side
from shared.views import order_view
from shared.wire import Request
from tests.support.factories import T0, cancel_all, deposit, limit, market_order, markets

MARKET = "TATA-INR"
INFY = "INFY-INR"
HOUR = 3_600_000
MINUTE = 60_000
# An exact hour boundary (so also a minute and second boundary): 1_700_002_800_000 = 472_223 h.
H = 1_700_002_800_000
assert H % HOUR == 0

# ---------------------------------------------------------------------------------------------- helpers


def all_markets() -> dict[str, Market]:
    return markets().markets


def no_best() -> dict[str, tuple[int | None, int | None]]:
    return dict.fromkeys(all_markets(), (None, None))


def best_of(engine: Engine) -> dict[str, tuple[int | None, int | None]]:
    return {symbol: (book.best_bid(), book.best_ask()) for symbol, book in engine.books.items()}


def trade(ts: int, price: int, quantity: int, *, market: str = MARKET, taker: Side = Side.BUY,
          trade_id: int = 1) -> Trade:
    """A trade of a TATA-INR-like market (tick 0.01 INR, 1 paisa per tick x lot)."""
    return Trade(1, ts, market, trade_id, price, quantity, price * quantity, taker, 10, 11, "maker", "taker")


def frames(out: BatchOutput, market: str = MARKET) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in out.market_frames.get(market, [])]


def streams(out: BatchOutput, market: str = MARKET) -> list[str]:
    return [f["stream"] for f in frames(out, market)]


def data_of(out: BatchOutput, stream: str, market: str = MARKET) -> list[dict[str, Any]]:
    return [f["data"] for f in frames(out, market) if f["stream"] == stream]


def ticker_of(out: BatchOutput, market: str = MARKET) -> dict[str, Any]:
    [ticker] = data_of(out, f"ticker@{market}", market)
    assert orjson.loads(out.tickers[market]) == ticker
    return ticker


def run(engine: Engine, commands: list[Command]) -> list[Event]:
    events: list[Event] = []
    for command in commands:
        events.extend(engine.apply(command))
    return events


def funded_engine() -> Engine:
    engine = Engine(markets())
    for user in ("alice", "bob", "carol"):
        run(engine, [deposit(user, "INR", 100_000_000, T0), deposit(user, "TATA", 1_000, T0),
                     deposit(user, "INFY", 1_000, T0)])
    return engine


def empty_ticker(market: str, now: int, bid: str | None = None, ask: str | None = None) -> dict[str, Any]:
    return {"market": market, "lastPrice": None, "open": None, "high": None, "low": None, "volume": "0",
            "quoteVolume": "0", "priceChange": None, "priceChangePercent": None, "bestBid": bid,
            "bestAsk": ask, "trades": 0, "time": now}


def candle(open_time: int, interval_ms: int, o: str, h: str, low: str, c: str, volume: str, quote: str,
           trades: int) -> dict[str, Any]:
    return {"openTime": open_time, "closeTime": open_time + interval_ms - 1, "open": o, "high": h, "low": low,
            "close": c, "volume": volume, "quoteVolume": quote, "trades": trades, "closed": False}


# ---------------------------------------------------------------------------------------------- depth


def test_on_batch_depth_of_several_commands_merged_into_one_frame_with_absolute_quantities():
    engine = funded_engine()
    ts = T0 + 1
    events = run(engine, [
        limit("alice", "sell", 10_000, 3, ts=ts),  # depth 1: ask 100.00 = 3
        limit("alice", "sell", 10_001, 2, ts=ts),  # depth 2: ask 100.01 = 2
        limit("bob", "buy", 9_900, 1, ts=ts),  # depth 3: bid 99.00 = 1
        limit("bob", "buy", 9_950, 4, ts=ts),  # depth 4: bid 99.50 = 4
        limit("carol", "buy", 10_000, 3, ts=ts),  # depth 5: ask 100.00 gone
        limit("carol", "buy", 9_900, 1, ts=ts),  # depth 6: bid 99.00 = 2
    ])
    depth_events = [e for e in events if isinstance(e, DepthUpdate)]
    assert [d.depth_seq for d in depth_events] == [1, 2, 3, 4, 5, 6]
    out = MarketData(all_markets()).on_batch(events, ts, best_of(engine))
    assert data_of(out, "depth@TATA-INR") == [{
        "type": "update", "firstSequence": 1, "sequence": 6,
        "bids": [["99.50", "4"], ["99.00", "2"]],
        "asks": [["100.00", "0"], ["100.01", "2"]],
    }]
    assert out.depth_changed == {MARKET}


def test_on_batch_depth_sequences_continue_across_batches_without_gap():
    engine = funded_engine()
    md = MarketData(all_markets())
    first = md.on_batch(run(engine, [limit("alice", "sell", 10_000, 3), limit("alice", "sell", 10_100, 1)]),
                        T0, best_of(engine))
    second = md.on_batch(run(engine, [limit("bob", "buy", 10_000, 1), limit("bob", "buy", 9_000, 5),
                                      limit("alice", "sell", 10_100, 2)]), T0 + 1, best_of(engine))
    [d1] = data_of(first, "depth@TATA-INR")
    [d2] = data_of(second, "depth@TATA-INR")
    assert (d1["firstSequence"], d1["sequence"]) == (1, 2)
    assert (d2["firstSequence"], d2["sequence"]) == (3, 5)
    assert d2["bids"] == [["90.00", "5"]]
    assert d2["asks"] == [["100.00", "2"], ["101.00", "3"]]


def test_on_batch_depth_of_two_markets_one_frame_each_with_own_sequence():
    engine = funded_engine()
    events = run(engine, [
        limit("alice", "sell", 10_000, 3),
        limit("alice", "sell", 150_000, 2, market=INFY),
        limit("bob", "buy", 149_000, 1, market=INFY),
        limit("bob", "buy", 9_000, 7),
    ])
    out = MarketData(all_markets()).on_batch(events, T0, best_of(engine))
    assert data_of(out, "depth@TATA-INR") == [
        {"type": "update", "firstSequence": 1, "sequence": 2, "bids": [["90.00", "7"]],
         "asks": [["100.00", "3"]]}]
    assert data_of(out, "depth@INFY-INR", INFY) == [
        {"type": "update", "firstSequence": 1, "sequence": 2, "bids": [["1490.00", "1"]],
         "asks": [["1500.00", "2"]]}]
    assert out.depth_changed == {MARKET, INFY}
    assert "RELIANCE-INR" not in out.market_frames


def test_on_batch_depth_updates_merge_later_level_wins_and_sides_sorted_best_first():
    events: list[Event] = [
        DepthUpdate(1, T0, MARKET, 10, ((9_900, 5), (9_800, 1)), ((10_100, 2),)),
        DepthUpdate(2, T0, MARKET, 11, ((9_950, 3),), ((10_050, 1), (10_200, 9))),
        DepthUpdate(3, T0, MARKET, 12, ((9_900, 0), (9_990, 8)), ((10_100, 4), (10_050, 0))),
    ]
    out = MarketData(all_markets()).on_batch(events, T0, no_best())
    assert data_of(out, "depth@TATA-INR") == [{
        "type": "update", "firstSequence": 10, "sequence": 12,
        "bids": [["99.90", "8"], ["99.50", "3"], ["99.00", "0"], ["98.00", "1"]],
        "asks": [["100.50", "0"], ["101.00", "4"], ["102.00", "9"]],
    }]


def test_on_batch_depth_frame_bytes_are_compact_with_no_newline():
    events: list[Event] = [DepthUpdate(1, T0, MARKET, 1, ((9_900, 5),), ())]
    out = MarketData(all_markets()).on_batch(events, T0, no_best())
    raw = out.market_frames[MARKET][0]
    assert raw == (b'{"stream":"depth@TATA-INR","data":{"type":"update","firstSequence":1,"sequence":1,'
                   b'"bids":[["99.00","5"]],"asks":[]}}')


def test_on_batch_without_book_or_trade_changes_emits_no_market_frames():
    engine = funded_engine()
    events = run(engine, [deposit("dave", "INR", 100, T0), limit("dave", "sell", 10_000, 1)])  # rejected
    out = MarketData(all_markets()).on_batch(events, T0, best_of(engine))
    assert out.market_frames == {}
    assert out.depth_changed == set()
    assert out.tickers == {}
    assert out.candles == {}
    assert out.order_lines == []


def test_on_batch_frame_order_depth_then_trades_then_candles_then_ticker():
    engine = funded_engine()
    run(engine, [limit("alice", "sell", 10_000, 3)])
    events = run(engine, [limit("bob", "buy", 10_000, 1, ts=H + 5), limit("bob", "buy", 10_000, 1, ts=H + 5)])
    out = MarketData(all_markets()).on_batch(events, H + 5, best_of(engine))
    assert streams(out) == ["depth@TATA-INR", "trade@TATA-INR", "trade@TATA-INR", "kline.1s@TATA-INR",
                            "kline.1m@TATA-INR", "kline.1h@TATA-INR", "ticker@TATA-INR"]


# ---------------------------------------------------------------------------------------------- trades


def test_on_batch_trade_frames_and_public_trade_json_with_is_buyer_maker():
    engine = funded_engine()
    run(engine, [limit("alice", "sell", 10_000, 3), limit("alice", "buy", 9_000, 5)])
    ts = T0 + 10
    events = run(engine, [
        limit("bob", "buy", 10_000, 2, ts=ts),  # taker buys: buyer is taker
        market_order("carol", "sell", 4, ts=ts),  # taker sells into alice's bid: buyer is maker
    ])
    out = MarketData(all_markets()).on_batch(events, ts, best_of(engine))
    expected = [
        {"tradeId": "TATA-INR-1", "price": "100.00", "quantity": "2", "quoteQuantity": "200.00", "time": ts,
         "isBuyerMaker": False},
        {"tradeId": "TATA-INR-2", "price": "90.00", "quantity": "4", "quoteQuantity": "360.00", "time": ts,
         "isBuyerMaker": True},
    ]
    assert [orjson.loads(t) for t in out.trades[MARKET]] == expected
    assert data_of(out, "trade@TATA-INR") == expected
    trade_frames = [f for f in out.market_frames[MARKET] if f.startswith(b'{"stream":"trade@')]
    assert trade_frames == [b'{"stream":"trade@TATA-INR","data":' + t + b"}" for t in out.trades[MARKET]]


def test_on_batch_trades_of_other_market_go_to_its_own_channel():
    out = MarketData(all_markets()).on_batch([trade(T0, 150_000, 2, market=INFY, trade_id=7)], T0, no_best())
    assert list(out.trades) == [INFY]
    assert data_of(out, "trade@INFY-INR", INFY) == [
        {"tradeId": "INFY-INR-7", "price": "1500.00", "quantity": "2", "quoteQuantity": "3000.00", "time": T0,
         "isBuyerMaker": False}]
    assert MARKET not in out.market_frames


# ---------------------------------------------------------------------------------------------- orders


def test_on_batch_order_lines_user_tab_orders_frame_in_event_order():
    engine = funded_engine()
    ts = T0 + 3
    events = run(engine, [limit("alice", "sell", 10_000, 3, ts=ts, client_order_id="a-1"),
                          limit("bob", "buy", 10_000, 2, ts=ts)])
    out = MarketData(all_markets()).on_batch(events, ts, best_of(engine))
    lines = [line.split(b"\t", 1) for line in out.order_lines]
    assert [user for user, _ in lines] == [b"alice", b"alice", b"bob"]
    parsed = [orjson.loads(f) for _, f in lines]
    assert all(p["stream"] == "orders" for p in parsed)
    base = {"market": MARKET, "type": "limit", "price": "100.00", "timeInForce": "GTC", "postOnly": False,
            "createdAt": ts}
    assert [p["data"] for p in parsed] == [
        {**base, "orderId": "TATA-INR-10", "clientOrderId": "a-1", "kind": "sell", "quantity": "3",
         "executedQuantity": "0", "executedQuoteQuantity": "0.00", "fillStatus": "new", "fills": []},
        {**base, "orderId": "TATA-INR-10", "clientOrderId": "a-1", "kind": "sell", "quantity": "3",
         "executedQuantity": "2", "executedQuoteQuantity": "200.00", "fillStatus": "partially_filled",
         "fills": [{"tradeId": "TATA-INR-1", "price": "100.00", "quantity": "2"}]},
        {**base, "orderId": "TATA-INR-11", "clientOrderId": None, "kind": "buy", "quantity": "2",
         "executedQuantity": "2", "executedQuoteQuantity": "200.00", "fillStatus": "filled",
         "fills": [{"tradeId": "TATA-INR-1", "price": "100.00", "quantity": "2"}]},
    ]
    assert all(b"\n" not in line for line in out.order_lines)


def test_on_batch_cancel_all_gives_one_order_line_per_cancelled_order():
    engine = funded_engine()
    run(engine, [limit("alice", "sell", 10_000, 3), limit("alice", "sell", 150_000, 1, market=INFY)])
    events = run(engine, [deposit("bob", "INR", 1), cancel_all("alice", None)])
    out = MarketData(all_markets()).on_batch(events, T0, best_of(engine))
    statuses = [(u, orjson.loads(f)["data"]["orderId"], orjson.loads(f)["data"]["fillStatus"])
                for u, f in (line.split(b"\t", 1) for line in out.order_lines)]
    assert statuses == [(b"alice", "TATA-INR-10", "cancelled"), (b"alice", "INFY-INR-11", "cancelled")]


def test_on_batch_order_lines_with_replies_rendered_by_handler_match_each_orders_own_json():
    """The runner passes RequestHandler.rendered (reply JSON by id() of an OrderState) to on_batch. A batch
    that answers ``order`` queries and then fills resting orders must still send each maker its own order."""
    engine = funded_engine()
    handler = RequestHandler(engine)
    for i in range(10):  # makers' asks; each of alice's bids is queried below
        run(engine, [limit("bob", "sell", 10_000 + i, 1), limit("alice", "buy", 9_000 - i, 1)])
    handler.rendered.clear()
    events: list[Event] = []
    for i in range(10):
        query = handler.handle(Request("a:1", "r", "order", {"user": "alice", "market": MARKET,
                                                               "orderId": 11 + 2 * i}), T0 + 1)
        assert query.status == 200
        placed = handler.handle(Request("a:2", "r", "place", {
            "user": "carol", "market": MARKET, "side": "buy", "type": "limit", "price": 10_000 + i,
            "quantity": 1}), T0 + 1)
        assert placed.status == 201
        events.extend(placed.events)
    out = MarketData(all_markets()).on_batch(events, T0 + 1, best_of(engine), handler.rendered)
    split = [line.split(b"\t", 1) for line in out.order_lines]
    received = [(user, orjson.loads(f)["data"]) for user, f in split]
    expected = [(e.order.user_id.encode(), order_view(e.order, all_markets()[MARKET]))
                for e in events if isinstance(e, OrderUpdated)]
    assert [orjson.loads(orjson.dumps(d)) for _, d in expected] == [d for _, d in received]
    assert [u for u, _ in expected] == [u for u, _ in received]
    assert [d["orderId"] for u, d in received if u == b"bob"] == [f"TATA-INR-{10 + 2 * i}" for i in range(10)]


# ---------------------------------------------------------------------------------------------- ticker


def test_ticker_with_no_trades_has_null_prices_zero_volumes_and_best_prices():
    engine = funded_engine()
    events = run(engine, [limit("alice", "sell", 10_050, 3), limit("bob", "buy", 9_975, 1)])
    out = MarketData(all_markets()).on_batch(events, T0 + 7, best_of(engine))
    assert ticker_of(out) == empty_ticker(MARKET, T0 + 7, "99.75", "100.50")


def test_ticker_several_trades_exact_open_high_low_last_volumes_change():
    trades: list[Event] = [trade(T0, 8_000, 2), trade(T0 + 1, 8_350, 1), trade(T0 + 2, 7_925, 3),
                           trade(T0 + 3, 8_123, 4)]
    best = {**no_best(), MARKET: (8_100, 8_150)}
    out = MarketData(all_markets()).on_batch(trades, T0 + 3, best)
    # quote: 160.00 + 83.50 + 237.75 + 324.92 = 806.17; change 1.23 on 80.00 = 1.5375 %
    assert ticker_of(out) == {
        "market": MARKET, "lastPrice": "81.23", "open": "80.00", "high": "83.50", "low": "79.25",
        "volume": "10", "quoteVolume": "806.17", "priceChange": "1.23", "priceChangePercent": "1.54",
        "bestBid": "81.00", "bestAsk": "81.50", "trades": 4, "time": T0 + 3}


def test_ticker_negative_price_change_formatted_with_minus():
    trades: list[Event] = [trade(T0, 10_000, 1), trade(T0 + 1, 9_950, 1)]
    ticker = ticker_of(MarketData(all_markets()).on_batch(trades, T0 + 1, no_best()))
    assert ticker["priceChange"] == "-0.50"
    assert ticker["priceChangePercent"] == "-0.50"
    assert (ticker["open"], ticker["lastPrice"], ticker["high"], ticker["low"]) == (
        "100.00", "99.50", "100.00", "99.50")


def test_ticker_large_negative_change_and_percent():
    trades: list[Event] = [trade(T0, 123_456, 1), trade(T0 + 1, 3, 1)]
    ticker = ticker_of(MarketData(all_markets()).on_batch(trades, T0 + 1, no_best()))
    assert ticker["priceChange"] == "-1234.53"
    assert ticker["priceChangePercent"] == "-100.00"  # -99.9975... rounds to -100.00


def test_ticker_unchanged_price_zero_change():
    trades: list[Event] = [trade(T0, 10_000, 1), trade(T0 + 1, 10_100, 1), trade(T0 + 2, 10_000, 1)]
    ticker = ticker_of(MarketData(all_markets()).on_batch(trades, T0 + 2, no_best()))
    assert (ticker["priceChange"], ticker["priceChangePercent"]) == ("0.00", "0.00")


def test_ticker_percent_rounds_half_even_to_2_decimals():
    # 8.00 -> 8.01 is +0.125 %: half-even keeps 0.12; 8.00 -> 8.03 is +0.375 %: 0.38
    t1 = ticker_of(MarketData(all_markets()).on_batch([trade(T0, 800, 1), trade(T0, 801, 1)], T0, no_best()))
    t3 = ticker_of(MarketData(all_markets()).on_batch([trade(T0, 800, 1), trade(T0, 803, 1)], T0, no_best()))
    assert t1["priceChangePercent"] == "0.12"
    assert t3["priceChangePercent"] == "0.38"


def test_ticker_accumulates_over_batches():
    md = MarketData(all_markets())
    md.on_batch([trade(T0, 10_000, 2)], T0, no_best())
    out = md.on_batch([trade(T0 + HOUR, 10_200, 3)], T0 + HOUR, no_best())
    ticker = ticker_of(out)
    summary = (ticker["open"], ticker["lastPrice"], ticker["volume"], ticker["quoteVolume"], ticker["trades"])
    assert summary == ("100.00", "102.00", "5", "506.00", 2)
    assert (ticker["priceChange"], ticker["priceChangePercent"]) == ("2.00", "2.00")


def test_refresh_tickers_expires_trades_older_than_24h_and_high_low_follow_window():
    md = MarketData(all_markets())
    md.on_batch([trade(T0, 10_500, 1)], T0, no_best())
    md.on_batch([trade(T0 + 1_000, 9_500, 2)], T0 + 1_000, no_best())
    md.on_batch([trade(T0 + 2_000, 10_000, 3)], T0 + 2_000, no_best())
    assert md.refresh_tickers(T0 + DAY_MS - 1, no_best()).tickers == {}  # nothing old enough yet

    out = md.refresh_tickers(T0 + DAY_MS + 500, no_best())
    assert list(out.tickers) == [MARKET]
    assert ticker_of(out) == {
        "market": MARKET, "lastPrice": "100.00", "open": "95.00", "high": "100.00", "low": "95.00",
        "volume": "5", "quoteVolume": "490.00", "priceChange": "5.00", "priceChangePercent": "5.26",
        "bestBid": None, "bestAsk": None, "trades": 2, "time": T0 + DAY_MS + 500}

    out = md.refresh_tickers(T0 + DAY_MS + 1_500, no_best())
    ticker = ticker_of(out)
    assert (ticker["open"], ticker["high"], ticker["low"], ticker["lastPrice"]) == (
        "100.00", "100.00", "100.00", "100.00")
    assert (ticker["volume"], ticker["quoteVolume"], ticker["trades"]) == ("3", "300.00", 1)
    assert (ticker["priceChange"], ticker["priceChangePercent"]) == ("0.00", "0.00")

    assert md.refresh_tickers(T0 + DAY_MS + 1_600, no_best()).tickers == {}  # nothing dropped: no frame
    out = md.refresh_tickers(T0 + DAY_MS + 2_000, no_best())
    assert ticker_of(out) == empty_ticker(MARKET, T0 + DAY_MS + 2_000)


def test_refresh_tickers_window_boundary_exactly_24h_old_is_expired():
    md = MarketData(all_markets())
    md.on_batch([trade(T0, 10_000, 1), trade(T0 + 1, 10_100, 1)], T0 + 1, no_best())
    ticker = ticker_of(md.refresh_tickers(T0 + DAY_MS, no_best()))  # (now - 24 h, now]
    assert (ticker["trades"], ticker["open"]) == (1, "101.00")


def test_refresh_tickers_only_markets_that_lost_trades():
    md = MarketData(all_markets())
    md.on_batch([trade(T0, 10_000, 1), trade(T0 + HOUR, 150_000, 1, market=INFY)], T0 + HOUR, no_best())
    out = md.refresh_tickers(T0 + DAY_MS + 1, {**no_best(), MARKET: (9_000, None)})
    assert list(out.tickers) == [MARKET]
    assert ticker_of(out) == empty_ticker(MARKET, T0 + DAY_MS + 1, "90.00", None)
    assert INFY not in out.market_frames


def test_on_batch_new_trade_after_24h_ticker_contains_only_recent_trades():
    md = MarketData(all_markets())
    md.on_batch([trade(T0, 20_000, 9)], T0, no_best())
    out = md.on_batch([trade(T0 + DAY_MS + 5, 10_000, 1)], T0 + DAY_MS + 5, no_best())
    ticker = ticker_of(out)
    assert (ticker["open"], ticker["high"], ticker["low"], ticker["volume"], ticker["trades"]) == (
        "100.00", "100.00", "100.00", "1", 1)


def test_on_batch_depth_only_change_emits_ticker_with_new_best_prices():
    md = MarketData(all_markets())
    md.on_batch([trade(T0, 10_000, 1)], T0, no_best())
    out = md.on_batch([DepthUpdate(2, T0 + 9, MARKET, 1, ((9_990, 1),), ())], T0 + 9,
                      {**no_best(), MARKET: (9_990, None)})
    ticker = ticker_of(out)
    assert (ticker["bestBid"], ticker["bestAsk"], ticker["lastPrice"], ticker["time"]) == (
        "99.90", None, "100.00", T0 + 9)


def brute_ticker(trades: list[tuple[int, int, int]], now: int, bid: int | None, ask: int | None,
                 market: Market) -> dict[str, Any]:
    """The ticker recomputed from scratch over all trades (ts, price, lots) in (now - 24 h, now]."""
    window = [t for t in trades if t[0] > now - DAY_MS]
    fmt = market.format_price
    result = {"market": market.symbol, "bestBid": None if bid is None else fmt(bid),
              "bestAsk": None if ask is None else fmt(ask), "time": now}
    if not window:
        return {**result, "lastPrice": None, "open": None, "high": None, "low": None, "volume": "0",
                "quoteVolume": "0", "priceChange": None, "priceChangePercent": None, "trades": 0}
    prices = [p for _, p, _ in window]
    first, last = Decimal(fmt(prices[0])), Decimal(fmt(prices[-1]))
    percent = ((last - first) * 100 / first).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return {**result, "lastPrice": fmt(prices[-1]), "open": fmt(prices[0]), "high": fmt(max(prices)),
            "low": fmt(min(prices)), "volume": str(sum(q for _, _, q in window)),
            "quoteVolume": str(sum(Decimal(fmt(p)) * q for _, p, q in window).quantize(Decimal("0.01"))),
            "priceChange": str(last - first), "priceChangePercent": str(percent), "trades": len(window)}


def brute_candle(trades: list[tuple[int, int, int]], interval_ms: int, market: Market) -> dict[str, Any]:
    """The candle of the last trade's bucket, recomputed from scratch."""
    open_time = trades[-1][0] // interval_ms * interval_ms
    bucket = [t for t in trades if open_time <= t[0] < open_time + interval_ms]
    prices = [p for _, p, _ in bucket]
    fmt = market.format_price
    return candle(open_time, interval_ms, fmt(prices[0]), fmt(max(prices)), fmt(min(prices)), fmt(prices[-1]),
                  str(sum(q for _, _, q in bucket)),
                  str(sum(Decimal(fmt(p)) * q for _, p, q in bucket).quantize(Decimal("0.01"))), len(bucket))


@pytest.mark.parametrize("seed", range(6))
def test_ticker_and_candles_random_trades_and_expiries_match_brute_force(seed):
    rng = random.Random(seed)
    config = all_markets()
    md = MarketData(config)
    symbols = [MARKET, INFY]
    history: dict[str, list[tuple[int, int, int]]] = {m: [] for m in symbols}
    best = {**no_best(), MARKET: (9_000, 11_000), INFY: (None, 150_000)}
    in_window = dict.fromkeys(symbols, 0)
    now = T0
    trade_id = 0
    checked_tickers = checked_refreshes = 0
    for _ in range(1_500):
        gap = rng.choice([0, 0, 1, 999, 1_000, 59_999, 60_000, rng.randrange(HOUR), rng.randrange(6 * HOUR),
                          rng.randrange(30 * HOUR)])
        now += gap
        if rng.random() < 0.75:
            events: list[Event] = []
            touched: set[str] = set()
            level = rng.choice([9_990, 10_000, 10_500, 8_000])
            for _ in range(rng.randint(1, 6)):
                market = rng.choice(symbols)
                price = rng.randint(level - 12, level + 12) * (15 if market == INFY else 1)
                lots = rng.randint(1, 50)
                ts = now - rng.choice([0, 0, 0, 1])  # trades of a batch may share or precede ``now``
                ts = max(ts, max((t[0] for t in history[market][-1:]), default=ts))
                trade_id += 1
                events.append(trade(ts, price, lots, market=market, trade_id=trade_id))
                history[market].append((ts, price, lots))
                touched.add(market)
            out = md.on_batch(events, now, best)
            assert set(out.tickers) == touched
            for market in touched:
                m = config[market]
                bid, ask = best[market]
                assert ticker_of(out, market) == brute_ticker(history[market], now, bid, ask, m)
                checked_tickers += 1
                for interval, interval_ms in KLINE_INTERVALS.items():
                    expected = brute_candle(history[market], interval_ms, m)
                    assert orjson.loads(out.candles[(market, interval)]) == expected
                    assert data_of(out, f"kline.{interval}@{market}", market)[-1] == expected
                in_window[market] = sum(1 for t in history[market] if t[0] > now - DAY_MS)
        else:
            out = md.refresh_tickers(now, best)
            for market in symbols:
                count = sum(1 for t in history[market] if t[0] > now - DAY_MS)
                if count < in_window[market]:
                    bid, ask = best[market]
                    expected = brute_ticker(history[market], now, bid, ask, config[market])
                    assert ticker_of(out, market) == expected
                    checked_refreshes += 1
                else:
                    assert market not in out.tickers
                in_window[market] = count
        for market in symbols:  # trades older than any future window or candle: keep the check fast
            history[market] = [t for t in history[market] if t[0] > now - DAY_MS - HOUR]
    assert checked_tickers > 500
    assert checked_refreshes > 20


# ---------------------------------------------------------------------------------------------- candles


def test_candles_bucket_boundaries_open_time_floor_close_time_interval_minus_one():
    ts = H + 3_723_456  # 1 h 2 min 3.456 s after H
    out = MarketData(all_markets()).on_batch([trade(ts, 10_000, 2)], ts, no_best())
    assert data_of(out, "kline.1s@TATA-INR") == [
        candle(H + 3_723_000, 1_000, "100.00", "100.00", "100.00", "100.00", "2", "200.00", 1)]
    assert data_of(out, "kline.1m@TATA-INR") == [
        candle(H + 3_720_000, MINUTE, "100.00", "100.00", "100.00", "100.00", "2", "200.00", 1)]
    assert data_of(out, "kline.1h@TATA-INR") == [
        candle(H + HOUR, HOUR, "100.00", "100.00", "100.00", "100.00", "2", "200.00", 1)]
    [one_second] = data_of(out, "kline.1s@TATA-INR")
    assert (one_second["openTime"], one_second["closeTime"]) == (1_700_006_523_000, 1_700_006_523_999)
    assert {key: orjson.loads(value) for key, value in out.candles.items()} == {
        (MARKET, "1s"): one_second,
        (MARKET, "1m"): data_of(out, "kline.1m@TATA-INR")[0],
        (MARKET, "1h"): data_of(out, "kline.1h@TATA-INR")[0],
    }


@pytest.mark.parametrize(("offset", "open_1s", "open_1m", "open_1h"), [
    (0, 0, 0, 0),
    (999, 0, 0, 0),
    (1_000, 1_000, 0, 0),
    (59_999, 59_000, 0, 0),
    (60_000, 60_000, 60_000, 0),
    (HOUR - 1, HOUR - 1_000, HOUR - MINUTE, 0),
    (HOUR, HOUR, HOUR, HOUR),
])
def test_candles_open_time_at_edges(offset, open_1s, open_1m, open_1h):
    out = MarketData(all_markets()).on_batch([trade(H + offset, 10_000, 1)], H + offset, no_best())
    assert [data_of(out, f"kline.{i}@TATA-INR")[0]["openTime"] for i in ("1s", "1m", "1h")] == [
        H + open_1s, H + open_1m, H + open_1h]
    assert [data_of(out, f"kline.{i}@TATA-INR")[0]["closeTime"] for i in ("1s", "1m", "1h")] == [
        H + open_1s + 999, H + open_1m + MINUTE - 1, H + open_1h + HOUR - 1]


def test_candles_ohlcv_exact_with_several_trades_in_one_bucket():
    trades: list[Event] = [trade(H + 100, 10_000, 2), trade(H + 200, 10_250, 1), trade(H + 300, 9_975, 4),
                           trade(H + 400, 10_010, 3)]
    out = MarketData(all_markets()).on_batch(trades, H + 400, no_best())
    # 200.00 + 102.50 + 399.00 + 300.30 = 1001.80
    for interval, interval_ms in KLINE_INTERVALS.items():
        assert data_of(out, f"kline.{interval}@TATA-INR") == [
            candle(H, interval_ms, "100.00", "102.50", "99.75", "100.10", "10", "1001.80", 4)]


def test_candles_continue_over_batches_in_same_bucket():
    md = MarketData(all_markets())
    md.on_batch([trade(H + 10, 10_000, 1)], H + 10, no_best())
    out = md.on_batch([trade(H + 20, 9_900, 2), trade(H + 30, 10_100, 1)], H + 30, no_best())
    assert data_of(out, "kline.1s@TATA-INR") == [
        candle(H, 1_000, "100.00", "101.00", "99.00", "101.00", "4", "399.00", 3)]


def test_candles_batch_crossing_bucket_edge_emits_final_old_candle_then_new():
    md = MarketData(all_markets())
    md.on_batch([trade(H + 59_000, 10_000, 1)], H + 59_000, no_best())
    out = md.on_batch([trade(H + 59_500, 10_300, 2), trade(H + 59_999, 9_900, 1),
                       trade(H + 60_000, 10_100, 5), trade(H + 60_001, 10_200, 1)], H + 60_001, no_best())
    # 1m: old candle (all 3 trades of minute 0, incl. the previous batch's) then the new minute
    assert data_of(out, "kline.1m@TATA-INR") == [
        candle(H, MINUTE, "100.00", "103.00", "99.00", "99.00", "4", "405.00", 3),
        candle(H + MINUTE, MINUTE, "101.00", "102.00", "101.00", "102.00", "6", "607.00", 2),
    ]
    # 1s: second 59 then second 60
    assert data_of(out, "kline.1s@TATA-INR") == [
        candle(H + 59_000, 1_000, "100.00", "103.00", "99.00", "99.00", "4", "405.00", 3),
        candle(H + 60_000, 1_000, "101.00", "102.00", "101.00", "102.00", "6", "607.00", 2),
    ]
    # 1h: one candle with everything
    assert data_of(out, "kline.1h@TATA-INR") == [
        candle(H, HOUR, "100.00", "103.00", "99.00", "102.00", "10", "1012.00", 5)]
    # the state keys hold the current (new) candles
    assert orjson.loads(out.candles[(MARKET, "1m")])["openTime"] == H + MINUTE
    assert orjson.loads(out.candles[(MARKET, "1s")])["openTime"] == H + 60_000


def test_candles_batch_crossing_two_edges_emits_each_closed_candle_once():
    trades: list[Event] = [trade(H + 500, 10_000, 1), trade(H + 1_500, 10_100, 1),
                           trade(H + 2_500, 10_200, 1)]
    out = MarketData(all_markets()).on_batch(trades, H + 2_500, no_best())
    assert [(c["openTime"], c["close"], c["trades"]) for c in data_of(out, "kline.1s@TATA-INR")] == [
        (H, "100.00", 1), (H + 1_000, "101.00", 1), (H + 2_000, "102.00", 1)]
    assert len(data_of(out, "kline.1m@TATA-INR")) == 1


def test_candles_new_bucket_in_later_batch_starts_fresh_without_reemitting_old():
    md = MarketData(all_markets())
    md.on_batch([trade(H + 10, 10_000, 7)], H + 10, no_best())
    out = md.on_batch([trade(H + HOUR + 10, 9_000, 1)], H + HOUR + 10, no_best())
    for interval, interval_ms in KLINE_INTERVALS.items():
        assert data_of(out, f"kline.{interval}@TATA-INR") == [
            candle(H + HOUR, interval_ms, "90.00", "90.00", "90.00", "90.00", "1", "90.00", 1)]


def test_candles_of_two_markets_are_independent():
    out = MarketData(all_markets()).on_batch(
        [trade(H + 5, 10_000, 1), trade(H + 6, 150_000, 2, market=INFY)], H + 6, no_best())
    assert data_of(out, "kline.1m@INFY-INR", INFY) == [
        candle(H, MINUTE, "1500.00", "1500.00", "1500.00", "1500.00", "2", "3000.00", 1)]
    assert data_of(out, "kline.1m@TATA-INR") == [
        candle(H, MINUTE, "100.00", "100.00", "100.00", "100.00", "1", "100.00", 1)]


# ---------------------------------------------------------------------------------------------- state


def outputs(out: BatchOutput) -> tuple[Any, ...]:
    return (out.market_frames, out.order_lines, out.trades, out.tickers, out.candles, out.depth_changed)


def test_to_state_load_state_roundtrip_gives_identical_subsequent_output():
    engine = funded_engine()
    original = MarketData(all_markets())
    first_batches = [
        (run(engine, [limit("alice", "sell", 10_000, 10, ts=H + 100),
                      limit("bob", "buy", 10_000, 2, ts=H + 100)]), H + 100),
        (run(engine, [limit("alice", "sell", 150_000, 5, market=INFY, ts=H + 59_500),
                      limit("bob", "buy", 150_000, 1, market=INFY, ts=H + 59_500),
                      limit("carol", "buy", 10_000, 3, ts=H + 59_500)]), H + 59_500),
    ]
    for events, now in first_batches:
        original.on_batch(events, now, best_of(engine))
    state = orjson.loads(orjson.dumps(original.to_state()))  # stored as JSON in the snapshot
    restored = MarketData(all_markets())
    restored.load_state(state)
    assert restored.to_state() == original.to_state()

    later = [
        (run(engine, [limit("bob", "buy", 10_000, 1, ts=H + 59_700)]), H + 59_700),  # same buckets
        (run(engine, [limit("carol", "buy", 10_000, 2, ts=H + 60_100),  # next minute
                      market_order("bob", "buy", 1, market=INFY, ts=H + 60_100)]), H + 60_100),
        (run(engine, [limit("bob", "sell", 9_000, 1, ts=H + DAY_MS + 60_000)]), H + DAY_MS + 60_000),
    ]
    for events, now in later:
        assert outputs(restored.on_batch(events, now, best_of(engine))) == outputs(
            original.on_batch(events, now, best_of(engine)))
    for now in (H + DAY_MS + 60_050, H + DAY_MS + 60_150, H + 2 * DAY_MS + 60_000):
        assert outputs(restored.refresh_tickers(now, best_of(engine))) == outputs(
            original.refresh_tickers(now, best_of(engine)))
    assert restored.to_state() == original.to_state()


def test_to_state_is_plain_json_of_windows_and_candles():
    md = MarketData(all_markets())
    md.on_batch([trade(H + 5, 10_000, 2), trade(H + 1_005, 10_100, 1)], H + 1_005, no_best())
    state = md.to_state()
    assert state["windows"][MARKET] == [[H + 5, 10_000, 2, 20_000], [H + 1_005, 10_100, 1, 10_100]]
    assert state["windows"][INFY] == []
    assert sorted(map(tuple, state["candles"])) == sorted([
        (MARKET, "1s", H + 1_000, 10_100, 10_100, 10_100, 10_100, 1, 10_100, 1),
        (MARKET, "1m", H, 10_000, 10_100, 10_000, 10_100, 3, 30_100, 2),
        (MARKET, "1h", H, 10_000, 10_100, 10_000, 10_100, 3, 30_100, 2),
    ])
    assert orjson.loads(orjson.dumps(state)) == state


def test_load_state_ignores_unknown_markets_and_intervals():
    md = MarketData(all_markets())
    md.load_state({"windows": {"NOPE-INR": [[H, 1, 1, 1]], MARKET: [[H, 10_000, 1, 10_000]]},
                   "candles": [["NOPE-INR", "1m", H, 1, 1, 1, 1, 1, 1, 1],
                               [MARKET, "5m", H, 1, 1, 1, 1, 1, 1, 1],
                               [MARKET, "1m", H, 10_000, 10_000, 10_000, 10_000, 1, 10_000, 1]]})
    assert set(md.windows) == set(all_markets())
    assert list(md.candles) == [(MARKET, "1m")]
    out = md.on_batch([trade(H + 10, 10_200, 1)], H + 10, no_best())
    assert data_of(out, "kline.1m@TATA-INR") == [
        candle(H, MINUTE, "100.00", "102.00", "100.00", "102.00", "2", "202.00", 2)]
    ticker = ticker_of(out)
    assert (ticker["open"], ticker["trades"], ticker["volume"]) == ("100.00", 2, "2")


# ------------------------------------------------------------------------------------- ticker throttling


def test_throttled_ticker_first_change_is_published_at_once():
    md = MarketData(all_markets(), ticker_interval_ms=50)
    out = md.on_batch([trade(T0, 10_000, 1)], T0, no_best(), more=True)
    assert ticker_of(out)["lastPrice"] == "100.00"
    assert md.ticker_pending == set()
    assert md.ticker_due_in(T0) is None


def test_throttled_ticker_changes_inside_the_interval_wait_and_the_last_state_is_published():
    md = MarketData(all_markets(), ticker_interval_ms=50)
    md.on_batch([trade(T0, 10_000, 1)], T0, no_best(), more=True)
    out = md.on_batch([trade(T0 + 10, 10_100, 2)], T0 + 10, no_best(), more=True)
    assert MARKET not in out.tickers and "ticker@" + MARKET not in streams(out)
    assert data_of(out, f"trade@{MARKET}")  # trades, depth and candles are never held back
    md.on_batch([trade(T0 + 30, 10_200, 3)], T0 + 30, no_best(), more=True)
    assert md.ticker_pending == {MARKET}
    assert md.ticker_due_in(T0 + 30) == 20
    assert md.flush_tickers(T0 + 49, no_best()).tickers == {}  # not yet due
    out = md.flush_tickers(T0 + 50, {**no_best(), MARKET: (10_150, None)})
    ticker = ticker_of(out)
    assert (ticker["lastPrice"], ticker["volume"], ticker["trades"], ticker["bestBid"], ticker["time"]) == (
        "102.00", "6", 3, "101.50", T0 + 50)
    assert md.ticker_pending == set() and md.ticker_due_in(T0 + 50) is None
    assert md.flush_tickers(T0 + 500, no_best()).tickers == {}  # nothing changed since


def test_throttled_ticker_is_published_by_the_next_batch_after_the_interval_with_every_pending_market():
    md = MarketData(all_markets(), ticker_interval_ms=50)
    md.on_batch([trade(T0, 10_000, 1)], T0, no_best(), more=True)
    md.on_batch([trade(T0 + 5, 150_000, 1, market=INFY)], T0 + 5, no_best(), more=True)
    out = md.on_batch([trade(T0 + 60, 10_300, 1)], T0 + 60, no_best(), more=True)
    assert set(out.tickers) == {MARKET, INFY}
    assert ticker_of(out, INFY)["lastPrice"] == "1500.00"
    assert ticker_of(out)["lastPrice"] == "103.00"


def test_the_last_batch_of_a_burst_publishes_every_pending_ticker_at_once():
    md = MarketData(all_markets(), ticker_interval_ms=50)
    md.on_batch([trade(T0, 10_000, 1)], T0, no_best(), more=True)
    md.on_batch([trade(T0 + 5, 150_000, 1, market=INFY)], T0 + 5, no_best(), more=True)
    assert md.ticker_pending == {INFY}
    out = md.on_batch([trade(T0 + 6, 10_100, 1)], T0 + 6, no_best())  # nothing taken after it
    assert set(out.tickers) == {MARKET, INFY}
    assert (ticker_of(out)["lastPrice"], ticker_of(out)["time"]) == ("101.00", T0 + 6)
    assert md.ticker_pending == set()


def test_flush_tickers_force_publishes_pending_before_the_interval():
    md = MarketData(all_markets(), ticker_interval_ms=50)
    md.on_batch([trade(T0, 10_000, 1)], T0, no_best(), more=True)
    md.on_batch([trade(T0 + 1, 10_100, 1)], T0 + 1, no_best(), more=True)
    assert ticker_of(md.flush_tickers(T0 + 2, no_best(), force=True))["lastPrice"] == "101.00"


def reference_ticker(md: MarketData, market: str, now: int,
                     best: dict[str, tuple[int | None, int | None]]) -> dict[str, Any]:
    out = BatchOutput()
    md._ticker(market, now, best, out)
    return orjson.loads(out.tickers[market])


def test_throttled_tickers_follow_every_change_within_the_interval_and_end_on_the_unthrottled_state():
    """Random batches; between them the runner's idle loop flushes when ``ticker_due_in`` says so. Every
    change is published within the interval, each published ticker equals the unthrottled one at that
    time, and the last published one equals the final state."""
    rng = random.Random(7)
    interval = 50
    throttled = MarketData(all_markets(), ticker_interval_ms=interval)
    reference = MarketData(all_markets())  # unthrottled, same trades
    best = no_best()
    now = T0
    changed_at: dict[str, int] = {}  # market -> time of its oldest change not published yet
    last_published: dict[str, dict[str, Any]] = {}
    published = flushes = 0

    def check(out: BatchOutput, at: int) -> None:
        nonlocal published
        for market, ticker in out.tickers.items():
            assert orjson.loads(ticker) == reference_ticker(reference, market, at, best)
            assert at - changed_at.pop(market) <= interval
            last_published[market] = orjson.loads(ticker)
            published += 1

    for trade_id in range(1, 3_000):
        next_batch = now + rng.choice([0, 1, 3, 10, 20, 49, 50, 51, 200])
        due = throttled.ticker_due_in(now)
        if due is not None and now + due < next_batch:  # idle until then: the loop wakes and flushes
            now += due
            check(throttled.flush_tickers(now, best), now)
            flushes += 1
        now = next_batch
        market = rng.choice([MARKET, INFY])
        events: list[Event] = [trade(now, rng.randint(9_000, 11_000), rng.randint(1, 9), market=market,
                                     trade_id=trade_id)]
        reference.on_batch(events, now, best)
        changed_at.setdefault(market, now)
        more = rng.random() < 0.9  # the runner holds the next batch: throttled; else the burst ends
        check(throttled.on_batch(events, now, best, more=more), now)
        if not more:
            assert not throttled.ticker_pending
        assert set(changed_at) == throttled.ticker_pending
    due = throttled.ticker_due_in(now)
    if due is not None:
        now += due
        check(throttled.flush_tickers(now, best), now)
    assert not throttled.ticker_pending and not changed_at
    for market in (MARKET, INFY):
        final = reference_ticker(reference, market, now, best)
        assert {k: v for k, v in last_published[market].items() if k != "time"} == {
            k: v for k, v in final.items() if k != "time"}
    assert published > 500 and flushes > 100
