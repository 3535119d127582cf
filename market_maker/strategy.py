"""The quoting strategy, pure: state and holdings in, the desired ladder of quotes out.

No I/O, no clock, no randomness of its own: the caller passes the ``random.Random`` to draw from (seeded
from configuration) and decides when a walk step is due, so a run is replayable from its seed and the
sequence of calls. Integers throughout: prices in ticks, sizes in lots, money in quote minor units.

The maths (docs/market-maker.md has the long form):

- fair value ``f`` walks one step per interval: ``f += d + u`` with ``u`` uniform in ``[-v, v]``,
  ``v = max(1, f * walk_bps / 10^4)``, and ``d = round((anchor - f) * revert_bps / 10^4)`` in the
  mean-reverting mode (0 in the random walk); ``f`` stays within a factor of 10 of the anchor;
- the ladder is sized for a ``scale`` price that follows ``f`` only when ``f`` moves more than
  RESCALE_PCT away, so spread and level step do not change with every small move: half spread
  ``H = ceil(scale * spread_bps / 2 / 10^4)``, level step ``s = max(1, scale * step_bps / 10^4)``;
- inventory skew ``k = -round(max_skew * (B - Q) / (B + Q))`` where ``B`` is the base held valued at
  ``f`` and ``Q`` the quote held for this market, ``max_skew = scale * max_skew_bps / 10^4``: long
  base lowers both sides (sells sooner, buys later), short base raises them;
- the centre ``c = round((f + k) / s) * s`` is on a grid of ``s`` ticks, so a move of ``f`` smaller
  than a step changes no price at all; bids ``c - H - i*s``, asks ``c + H + i*s``, ``i < levels``: the
  quoted spread is exactly ``2H``;
- a level is quoted only while the holdings cover it (bids: quote for price x size, asks: base), best
  levels first, so no order is ever refused for its balance.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from shared.markets import Market
from shared.types import Side

BPS = 10_000
#: The ladder's scale follows the fair value once it is more than this many percent away.
RESCALE_PCT = 10
#: The fair value stays within this factor of its anchor (both ways).
FAIR_RANGE = 10


class Walk(StrEnum):
    REVERT = "revert"  # mean-reverting towards the anchor (start price)
    RANDOM = "random"  # a plain random walk


@dataclass(frozen=True, slots=True)
class StrategyParams:
    levels: int  # per side
    spread_bps: int  # quoted spread, best ask - best bid, in bps of the scale price
    step_bps: int  # distance between levels, in bps of the scale price (at least one tick)
    walk: Walk
    walk_bps: int  # largest fair-value move per step, bps
    revert_bps: int  # share of the distance to the anchor closed per step (revert mode), bps
    max_skew_bps: int  # largest inventory skew, bps


@dataclass(frozen=True, slots=True)
class FairValue:
    """One market's strategy state."""

    fair: int  # ticks
    anchor: int  # ticks: the start price, where the mean-reverting walk pulls
    scale: int  # ticks: the price spread and step are sized for


@dataclass(frozen=True, slots=True, order=True)
class Quote:
    side: Side
    price: int  # ticks
    quantity: int  # lots


@dataclass(frozen=True, slots=True)
class Holdings:
    """What one market's quotes may use: totals (available + locked in own orders)."""

    base_lots: int
    quote_minor: int


def div_round(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half to even, exactly (denominator > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def half_spread(scale: int, params: StrategyParams) -> int:
    return max(1, -(-scale * params.spread_bps // (2 * BPS)))


def level_step(scale: int, params: StrategyParams) -> int:
    return max(1, scale * params.step_bps // BPS)


def start(anchor: int) -> FairValue:
    """The state of a market quoted for the first time."""
    return FairValue(anchor, anchor, anchor)


def resume(anchor: int, fair: int) -> FairValue:
    """The state after a restart that found the maker's own quotes centred on ``fair``."""
    return FairValue(fair, anchor, fair)


def advance(state: FairValue, params: StrategyParams, rng: random.Random, max_ticks: int) -> FairValue:
    """Take one walk step (one draw from ``rng``)."""
    fair = state.fair
    reach = max(1, fair * params.walk_bps // BPS) if params.walk_bps else 0
    noise = rng.randint(-reach, reach) if reach else 0
    drift = div_round((state.anchor - fair) * params.revert_bps, BPS) if params.walk is Walk.REVERT else 0
    low = max(1, state.anchor // FAIR_RANGE)
    high = min(max_ticks, state.anchor * FAIR_RANGE)
    fair = min(high, max(low, fair + drift + noise))
    scale = state.scale
    if abs(fair - scale) * 100 > scale * RESCALE_PCT:
        scale = fair
    return FairValue(fair, state.anchor, scale)


def skew(state: FairValue, holdings: Holdings, params: StrategyParams, market: Market) -> int:
    """Ticks to shift the ladder by: negative when long base, positive when short."""
    base_value = holdings.base_lots * state.fair * market.quote_per_tick_lot
    total = base_value + holdings.quote_minor
    if total <= 0:
        return 0
    max_skew = state.scale * params.max_skew_bps // BPS
    return -div_round(max_skew * (base_value - holdings.quote_minor), total)


def ladder(state: FairValue, holdings: Holdings, params: StrategyParams, market: Market,
           size: int) -> tuple[Quote, ...]:
    """The desired quotes: bids best (highest) first, then asks best (lowest) first."""
    step = level_step(state.scale, params)
    half = half_spread(state.scale, params)
    centre = div_round(state.fair + skew(state, holdings, params, market), step) * step
    quotes: list[Quote] = []
    cost = 0
    for i in range(params.levels):
        price = centre - half - i * step
        cost += price * size * market.quote_per_tick_lot
        if price < 1 or cost > holdings.quote_minor:
            break
        quotes.append(Quote(Side.BUY, price, size))
    for i in range(params.levels):
        price = centre + half + i * step
        if price > market.max_price_ticks or (i + 1) * size > holdings.base_lots:
            break
        quotes.append(Quote(Side.SELL, price, size))
    return tuple(quotes)
