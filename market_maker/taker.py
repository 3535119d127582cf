"""The demo taker's decisions, pure: which market, which side, how much, and when the next order comes.

The taker sends market orders from a second account so that trades happen and charts move. It leans
towards the anchor (the market's start price): below it buying is likelier, above it selling. That makes
it price-sensitive, so the maker's inventory skew (lower quotes when long, higher when short) actually
brings its inventory back, as it would with real takers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.types import Side

BPS = 10_000
#: The buy chance stays within 50% +- this (bps).
MAX_LEAN_BPS = 3_000
#: The longest pause drawn, in mean inter-arrival times (exponential draws have a long tail).
MAX_PAUSE_FACTOR = 10


@dataclass(frozen=True, slots=True)
class TakerOrder:
    market: str
    side: Side
    quantity: int  # lots


def next_delay(rng: random.Random, rate: Decimal) -> float:
    """Seconds until the next taker order: Poisson arrivals at ``rate`` per second (rate > 0)."""
    mean = 1 / float(rate)  # a pause, not money: float is fine here
    return min(rng.expovariate(float(rate)), MAX_PAUSE_FACTOR * mean)


def pick_market(rng: random.Random, markets: Sequence[str]) -> str:
    return markets[rng.randrange(len(markets))]


def buy_chance_bps(anchor: int, best_bid: int | None, best_ask: int | None, lean: int) -> int:
    """Chance of a buy, in bps: 5000 at the anchor, +``lean`` bps per bps the mid is below it."""
    if best_bid is None and best_ask is None:
        return BPS // 2
    mid2 = (best_bid or best_ask or 0) + (best_ask or best_bid or 0)  # twice the mid
    deviation_bps = (2 * anchor - mid2) * BPS // (2 * anchor)
    return BPS // 2 + max(-MAX_LEAN_BPS, min(MAX_LEAN_BPS, deviation_bps * lean))


def order_for(rng: random.Random, market: str, anchor: int, lots: tuple[int, int], best_bid: int | None,
              best_ask: int | None, lean: int) -> TakerOrder | None:
    """The next market order on ``market``, or None when the side it picks has nothing to trade with."""
    side = Side.BUY if rng.randrange(BPS) < buy_chance_bps(anchor, best_bid, best_ask, lean) else Side.SELL
    quantity = rng.randint(*lots)  # (min, max) lots
    if (best_ask if side is Side.BUY else best_bid) is None:
        return None
    return TakerOrder(market, side, quantity)
