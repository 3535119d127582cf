"""Market data derived from a batch of engine events: WebSocket frames, tickers and current candles.

Pure: events and the batch time in, encoded frames and state out; the runner publishes them. The 24 h
ticker window and the current candles are state that survives restarts through the runner's snapshot.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson

from shared.events import DepthUpdate, Event, OrderUpdated, Trade
from shared.markets import Market
from shared.views import levels_view, order_json, trade_json

DAY_MS = 86_400_000
KLINE_INTERVALS: dict[str, int] = {"1s": 1_000, "1m": 60_000, "1h": 3_600_000}
PERCENT_STEP = Decimal("0.01")


class TickerWindow:
    """Trades of the last 24 h of one market, with O(1) amortised high/low (monotonic deques)."""

    def __init__(self) -> None:
        self.trades: deque[tuple[int, int, int, int]] = deque()  # (ts, price, lots, quote minor units)
        self._highs: deque[tuple[int, int, int]] = deque()  # (price, ts, n) decreasing prices
        self._lows: deque[tuple[int, int, int]] = deque()  # increasing prices
        self._n = 0  # running trade number, to expire the right deque entries
        self._first_n = 0  # number of the oldest trade in the window
        self.volume = 0
        self.quote_volume = 0

    def add(self, ts: int, price: int, lots: int, quote: int) -> None:
        n = self._n
        self._n += 1
        self.trades.append((ts, price, lots, quote))
        self.volume += lots
        self.quote_volume += quote
        while self._highs and self._highs[-1][0] <= price:
            self._highs.pop()
        self._highs.append((price, ts, n))
        while self._lows and self._lows[-1][0] >= price:
            self._lows.pop()
        self._lows.append((price, ts, n))

    def expire(self, now: int) -> bool:
        """Drop trades older than 24 h; True when anything was dropped."""
        horizon = now - DAY_MS
        dropped = False
        while self.trades and self.trades[0][0] <= horizon:
            _, _, lots, quote = self.trades.popleft()
            self.volume -= lots
            self.quote_volume -= quote
            self._first_n += 1
            dropped = True
        while self._highs and self._highs[0][2] < self._first_n:
            self._highs.popleft()
        while self._lows and self._lows[0][2] < self._first_n:
            self._lows.popleft()
        return dropped

    def view(self, market: Market, now: int, best_bid: int | None, best_ask: int | None) -> dict[str, Any]:
        """The ticker object of the contract."""
        fmt = market.format_price
        bid = None if best_bid is None else fmt(best_bid)
        ask = None if best_ask is None else fmt(best_ask)
        if not self.trades:
            return {"market": market.symbol, "lastPrice": None, "open": None, "high": None, "low": None,
                    "volume": "0", "quoteVolume": "0", "priceChange": None, "priceChangePercent": None,
                    "bestBid": bid, "bestAsk": ask, "trades": 0, "time": now}
        open_price = self.trades[0][1]
        last = self.trades[-1][1]
        percent = (Decimal(last - open_price) * 100 / Decimal(open_price)).quantize(
            PERCENT_STEP, rounding=ROUND_HALF_EVEN)
        if percent.is_zero():
            percent = abs(percent)  # "0.00", never "-0.00" for a tiny fall
        change = last - open_price
        return {
            "market": market.symbol,
            "lastPrice": fmt(last),
            "open": fmt(open_price),
            "high": fmt(self._highs[0][0]),
            "low": fmt(self._lows[0][0]),
            "volume": market.format_quantity(self.volume),
            "quoteVolume": market.format_quote(self.quote_volume),
            "priceChange": ("-" + fmt(-change)) if change < 0 else fmt(change),
            "priceChangePercent": str(percent),
            "bestBid": bid,
            "bestAsk": ask,
            "trades": len(self.trades),
            "time": now,
        }

    def to_state(self) -> list[list[int]]:
        return [list(t) for t in self.trades]

    @classmethod
    def from_state(cls, state: list[list[int]]) -> TickerWindow:
        window = cls()
        for ts, price, lots, quote in state:
            window.add(ts, price, lots, quote)
        return window


@dataclass(slots=True)
class Candle:
    open_time: int
    open: int
    high: int
    low: int
    close: int
    volume: int = 0
    quote_volume: int = 0
    trades: int = 0

    def view(self, market: Market, interval_ms: int) -> dict[str, Any]:
        fmt = market.format_price
        return {"openTime": self.open_time, "closeTime": self.open_time + interval_ms - 1,
                "open": fmt(self.open), "high": fmt(self.high), "low": fmt(self.low),
                "close": fmt(self.close), "volume": market.format_quantity(self.volume),
                "quoteVolume": market.format_quote(self.quote_volume), "trades": self.trades,
                "closed": False}


@dataclass(slots=True)
class BatchOutput:
    """What one batch publishes: frames per market channel, private order lines and state keys."""

    market_frames: dict[str, list[bytes]] = field(default_factory=dict)
    order_lines: list[bytes] = field(default_factory=list)
    trades: dict[str, list[bytes]] = field(default_factory=dict)  # public trade JSON, oldest first
    tickers: dict[str, bytes] = field(default_factory=dict)
    candles: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (market, interval) -> candle JSON
    depth_changed: set[str] = field(default_factory=set)


class MarketData:
    """Per-market derived state of one engine shard.

    Under load tickers are throttled (the contract allows it): while batches follow each other (``more``
    in :meth:`on_batch`) a market's ticker is computed and published at most once per
    ``ticker_interval_ms`` of batch time. A change inside the interval leaves the market in
    ``ticker_pending``; the next batch after the interval, the last batch of the burst, or
    :meth:`flush_tickers` (the runner calls it when idle, after :meth:`ticker_due_in`) publishes its
    latest state, so no change waits longer than the interval plus one loop turn and the last state is
    always published. 0 = every batch.
    """

    def __init__(self, markets: dict[str, Market], ticker_interval_ms: int = 0) -> None:
        self.markets = markets
        self.windows: dict[str, TickerWindow] = {m: TickerWindow() for m in markets}
        self.candles: dict[tuple[str, str], Candle] = {}
        self.ticker_interval_ms = ticker_interval_ms
        self.ticker_pending: set[str] = set()  # markets whose ticker changed since it was last published
        self._tickers_at = -(1 << 62)  # batch time of the last ticker publication

    def on_batch(self, events: list[Event], now: int, best: dict[str, tuple[int | None, int | None]],
                 rendered: dict[int, tuple[object, bytes]] | None = None, more: bool = False) -> BatchOutput:
        """Frames and state for a batch's events; ``best`` gives each market's (bid, ask) after it.

        ``more``: the caller already holds the next batch. Only then are changed tickers held back by
        the interval; the last batch of a burst publishes every pending one, so a client that waits
        for its reply before reading the ticker sees it current, as without throttling.

        ``rendered`` maps id() of an OrderState to (that OrderState, its JSON) when the caller already
        rendered it.
        """
        out = BatchOutput()
        depth: dict[str, tuple[int, int, dict[int, int], dict[int, int]]] = {}
        touched_tickers: set[str] = set()
        touched_candles: dict[tuple[str, str], None] = {}
        for event in events:
            if isinstance(event, Trade):
                self._on_trade(event, out, touched_candles)
                touched_tickers.add(event.market)
            elif isinstance(event, DepthUpdate):
                entry = depth.get(event.market)
                first = event.depth_seq if entry is None else entry[0]
                bids: dict[int, int] = {} if entry is None else entry[2]
                asks: dict[int, int] = {} if entry is None else entry[3]
                bids.update(event.bids)
                asks.update(event.asks)
                depth[event.market] = (first, event.depth_seq, bids, asks)
                touched_tickers.add(event.market)  # best bid/ask may have moved
            elif isinstance(event, OrderUpdated):
                order = event.order
                cached = rendered.get(id(order)) if rendered else None
                if cached is not None and cached[0] is order:
                    body = cached[1]
                else:
                    body = order_json(order, self.markets[order.market])
                out.order_lines.append(order.user_id.encode() + b'\t{"stream":"orders","data":' + body + b"}")
        for market, (first, last, bids, asks) in depth.items():
            m = self.markets[market]
            data = {"type": "update", "firstSequence": first, "sequence": last,
                    "bids": levels_view(sorted(bids.items(), reverse=True), m),
                    "asks": levels_view(sorted(asks.items()), m)}
            depth_frame = frame_bytes(f"depth@{market}", orjson.dumps(data))
            out.market_frames.setdefault(market, []).insert(0, depth_frame)
            out.depth_changed.add(market)
        for key in touched_candles:
            self._emit_candle(key, out)
        self.ticker_pending |= touched_tickers
        self._emit_tickers(now, best, out, not more)
        return out

    def ticker_due_in(self, now: int) -> int | None:
        """Milliseconds until the pending tickers may be published (0: now); None when none is pending."""
        if not self.ticker_pending:
            return None
        return max(0, self._tickers_at + self.ticker_interval_ms - now)

    def flush_tickers(self, now: int, best: dict[str, tuple[int | None, int | None]],
                      force: bool = False) -> BatchOutput:
        """The pending tickers when their interval has passed (or ``force``); empty output otherwise."""
        out = BatchOutput()
        self._emit_tickers(now, best, out, force)
        return out

    def _emit_tickers(self, now: int, best: dict[str, tuple[int | None, int | None]], out: BatchOutput,
                      force: bool = False) -> None:
        if not self.ticker_pending:
            return
        if not force and now - self._tickers_at < self.ticker_interval_ms:
            return
        for market in sorted(self.ticker_pending):
            self._ticker(market, now, best, out)
        self.ticker_pending.clear()
        self._tickers_at = now

    def refresh_tickers(self, now: int, best: dict[str, tuple[int | None, int | None]]) -> BatchOutput:
        """Tickers of markets whose 24 h window lost trades as time passed (called when idle)."""
        out = BatchOutput()
        for market, window in self.windows.items():
            if window.expire(now):
                self._ticker(market, now, best, out)
                self.ticker_pending.discard(market)
        return out

    def _on_trade(self, trade: Trade, out: BatchOutput, touched: dict[tuple[str, str], None]) -> None:
        market = self.markets[trade.market]
        view = trade_json(trade, market)
        out.trades.setdefault(trade.market, []).append(view)
        out.market_frames.setdefault(trade.market, []).append(frame_bytes(f"trade@{trade.market}", view))
        self.windows[trade.market].add(trade.ts, trade.price, trade.quantity, trade.quote_quantity)
        for interval, interval_ms in KLINE_INTERVALS.items():
            key = (trade.market, interval)
            open_time = trade.ts - trade.ts % interval_ms
            candle = self.candles.get(key)
            if candle is None or candle.open_time != open_time:
                if key in touched:  # publish the final state of the candle this batch closes
                    self._emit_candle(key, out)
                    del touched[key]
                candle = self.candles[key] = Candle(open_time, trade.price, trade.price, trade.price,
                                                    trade.price)
            candle.high = max(candle.high, trade.price)
            candle.low = min(candle.low, trade.price)
            candle.close = trade.price
            candle.volume += trade.quantity
            candle.quote_volume += trade.quote_quantity
            candle.trades += 1
            touched[key] = None

    def _emit_candle(self, key: tuple[str, str], out: BatchOutput) -> None:
        market, interval = key
        view = orjson.dumps(self.candles[key].view(self.markets[market], KLINE_INTERVALS[interval]))
        out.candles[key] = view
        out.market_frames.setdefault(market, []).append(frame_bytes(f"kline.{interval}@{market}", view))

    def _ticker(self, market: str, now: int, best: dict[str, tuple[int | None, int | None]],
                out: BatchOutput) -> None:
        window = self.windows[market]
        window.expire(now)
        bid, ask = best[market]
        view = orjson.dumps(window.view(self.markets[market], now, bid, ask))
        out.tickers[market] = view
        out.market_frames.setdefault(market, []).append(frame_bytes(f"ticker@{market}", view))

    def to_state(self) -> dict[str, Any]:
        return {
            "windows": {m: w.to_state() for m, w in self.windows.items()},
            "candles": [[m, i, c.open_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume,
                         c.trades] for (m, i), c in self.candles.items()],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        for market, trades in state.get("windows", {}).items():
            if market in self.windows:
                self.windows[market] = TickerWindow.from_state(trades)
        for m, i, *values in state.get("candles", []):
            if m in self.markets and i in KLINE_INTERVALS:
                self.candles[(m, i)] = Candle(*values)


def frame_bytes(stream: str, data_json: bytes) -> bytes:
    """A frame around already encoded data (encode once)."""
    return b'{"stream":"' + stream.encode() + b'","data":' + data_json + b"}"
