"""The engine's side of docs/internals.md, played by the tests: real frames into the real Redis.

Keeps one integer book per market, publishes ``depth@M`` diffs (one merged frame per batch, as the
engine does), writes the ``{ns}:depth:<M>`` key when told to, and publishes trades, tickers and private
order frames rendered with shared/views.py. Everything goes through Redis exactly as the engine sends it.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import redis.asyncio as aioredis

from shared.events import OrderState, Trade
from shared.keys import Keys
from shared.markets import Market, MarketsConfig
from shared.types import OrderStatus, OrderType, Side, TimeInForce
from shared.views import levels_view, order_view, trade_view

T0 = 1_732_540_000_000


def frame(stream: str, data: Any) -> bytes:
    return orjson.dumps({"stream": stream, "data": data})


class MarketDouble:
    """One market's book and depth sequence."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.sequence = 0

    def change(self, changes: list[tuple[Side, int, int]]) -> bytes:
        """Apply (side, price ticks, new lots) one sequence number each; the merged diff frame."""
        first = self.sequence + 1
        merged: dict[Side, dict[int, int]] = {Side.BUY: {}, Side.SELL: {}}
        for side, price, lots in changes:
            self.sequence += 1
            book = self.bids if side is Side.BUY else self.asks
            if lots:
                book[price] = lots
            else:
                book.pop(price, None)
            merged[side][price] = lots
        return frame(f"depth@{self.market.symbol}", {
            "type": "update", "firstSequence": first, "sequence": self.sequence,
            "bids": levels_view(sorted(merged[Side.BUY].items(), reverse=True), self.market),
            "asks": levels_view(sorted(merged[Side.SELL].items()), self.market)})

    def depth(self) -> dict[str, Any]:
        """The depth key's / GET /depth's document."""
        return {"market": self.market.symbol, "sequence": self.sequence,
                "bids": levels_view(sorted(self.bids.items(), reverse=True), self.market),
                "asks": levels_view(sorted(self.asks.items()), self.market)}

    def random_changes(self, rng: random.Random, count: int) -> list[tuple[Side, int, int]]:
        """Random level changes around 100.00 that never cross the book (bids < 100.00 <= asks)."""
        changes = []
        for _ in range(count):
            side = rng.choice((Side.BUY, Side.SELL))
            price = rng.randint(9_000, 9_999) if side is Side.BUY else rng.randint(10_000, 10_999)
            book = self.bids if side is Side.BUY else self.asks
            lots = 0 if price in book and rng.random() < 0.4 else rng.randint(1, 500)
            changes.append((side, price, lots))
        return changes


class EngineDouble:
    """Publishes for every market of ``markets`` under ``namespace``."""

    def __init__(self, redis: aioredis.Redis, namespace: str, markets: MarketsConfig) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.markets = {symbol: MarketDouble(market) for symbol, market in markets.markets.items()}
        self._trade_id = 0

    def __getitem__(self, symbol: str) -> MarketDouble:
        return self.markets[symbol]

    async def publish(self, symbol: str, *frames: bytes) -> None:
        await self.redis.publish(self.keys.market_channel(symbol), b"\n".join(frames))

    async def update(self, symbol: str, changes: list[tuple[Side, int, int]],
                     write_key: bool = False) -> bytes:
        """One batch: publish its merged diff (and the key, in the same MULTI/EXEC, when asked)."""
        diff = self.markets[symbol].change(changes)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.publish(self.keys.market_channel(symbol), diff)
            if write_key:
                pipe.set(self.keys.depth(symbol), orjson.dumps(self.markets[symbol].depth()))
            await pipe.execute()
        return diff

    async def write_key(self, symbol: str) -> None:
        await self.redis.set(self.keys.depth(symbol), orjson.dumps(self.markets[symbol].depth()))

    def trade_frame(self, symbol: str, price: int = 10_000, lots: int = 1, padding: int = 0) -> bytes:
        """A ``trade@M`` frame; ``padding`` > 0 adds a field to make it that many bytes bigger."""
        market = self.markets[symbol].market
        self._trade_id += 1
        trade = Trade(self._trade_id, T0 + self._trade_id, symbol, self._trade_id, price, lots,
                      price * lots * market.quote_per_tick_lot, Side.BUY, 1, 2, "maker", "taker")
        data = trade_view(trade, market)
        if padding:
            data["pad"] = "x" * padding
        return frame(f"trade@{symbol}", data)

    async def trade(self, symbol: str, **kwargs: Any) -> bytes:
        trade = self.trade_frame(symbol, **kwargs)
        await self.publish(symbol, trade)
        return trade

    async def orders(self, *updates: tuple[str, int]) -> list[bytes]:
        """Publish order frames for (userId, order id) pairs in one message; the frames sent."""
        frames, lines = [], []
        for user_id, order_id in updates:
            market = self.markets["TATA-INR"].market
            order = OrderState(order_id, user_id, "TATA-INR", Side.BUY, OrderType.LIMIT, 10_000, 5, 0, 0,
                               OrderStatus.NEW, TimeInForce.GTC, False, None, T0, ())
            body = frame("orders", order_view(order, market))
            frames.append(body)
            lines.append(user_id.encode() + b"\t" + body)
        await self.redis.publish(self.keys.orders_channel(), b"\n".join(lines))
        return frames
