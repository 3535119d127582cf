"""Hypothesis strategies for the matching engine: random command streams that hit the interesting paths.

A stream is built for a fresh engine, so the i-th command (1-based) gets seq i, and an order placed by it
has id i. Streams use 3-4 users and 2-3 of the shipped markets; prices sit in a narrow band so books
cross a lot; quantities are small; timestamps never decrease (several commands may share a millisecond).
Roughly one command in ten is invalid (bad price or quantity, unknown market or asset, bad user or
clientOrderId, ...) to exercise the rejections; clientOrderIds come from a small pool, so they get
reused. Cancels mostly name one of the same user's recent GTC orders (open, filled, expired or
rejected), some name any id in 1..seq (often another user's), some an id that never existed.

Commands are only ever built through their constructors (positional arguments, ``ts`` last), so the
strategies do not depend on how shared/commands.py implements them.
"""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from hypothesis import strategies as st

from engine.core import DAY_MS
from shared.commands import CancelAll, CancelOrder, Command, Deposit, PlaceOrder
from shared.markets import MarketsConfig, load_markets
from shared.types import OrderType, Side, TimeInForce
from tests.support.factories import T0

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[Any]], Any]

MARKETS_CONFIG: MarketsConfig = load_markets()  # the shipped markets file
MARKET_SYMBOLS: tuple[str, ...] = tuple(MARKETS_CONFIG.markets)
ASSETS: tuple[str, ...] = tuple(MARKETS_CONFIG.assets)
QUOTE = "INR"
USERS = ("alice", "bob", "carol", "dave")
USER_CHOICES = (USERS[:3], USERS)
MARKET_CHOICES = (MARKET_SYMBOLS, *itertools.combinations(MARKET_SYMBOLS, 2))
UNKNOWN_MARKET = "GOLD-INR"
UNKNOWN_ASSET = "GOLD"
PRICE_LOW, PRICE_HIGH = 990, 1010  # ticks
CLIENT_IDS = ("c1", "c2", "c3")
BAD_CLIENT_IDS = ("", "has space", "x" * 37)
SHORT_RETENTION_MS = 3_000  # a few commands' worth of time: closed orders and clientOrderIds get forgotten
MAX_STEP_MS = 1_000

_SOME_MARKET = MARKETS_CONFIG.markets[MARKET_SYMBOLS[0]]
_TOO_MANY_TICKS = _SOME_MARKET.max_price_ticks + 1
_TOO_MANY_LOTS = _SOME_MARKET.max_lots + 1


class Scenario(NamedTuple):
    users: tuple[str, ...]
    markets: tuple[str, ...]
    retention_ms: int
    commands: list[Command]


class Spec(NamedTuple):
    """A command before it has a place in a stream: its constructor's arguments without ``ts``.

    For a CancelOrder, ``args`` is (user, mode, value), resolved by ``materialise``: mode "own" names the
    value-th latest GTC limit order this user placed (the oldest if fewer, seq - value if none), "recent"
    seq - value, "any" 1 + value % seq, and "wild" an id that never was an order.
    """

    kind: type
    args: tuple[Any, ...]


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """Pick one strategy by weight; shrinks towards the first one (make it the common or simplest case)."""
    total = sum(weight for weight, _ in choices)

    @st.composite
    def pick(draw: Draw) -> T:
        roll = draw(st.integers(0, total - 1))
        for weight, strategy in choices:
            if roll < weight:
                return draw(strategy)
            roll -= weight
        raise AssertionError("unreachable")

    return pick()


def weighted_values(*choices: tuple[int, T]) -> st.SearchStrategy[T]:
    """Like ``weighted`` for plain values, in a single draw (cheaper; streams draw thousands of these)."""
    return st.sampled_from([value for weight, value in choices for _ in range(weight)])


def _spec(kind: type, *fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Spec]:
    return st.tuples(*fields).map(lambda args: Spec(kind, args))


def _stocks(markets: Sequence[str]) -> list[str]:
    return sorted({MARKETS_CONFIG.markets[m].base.symbol for m in markets})


# ---------------------------------------------------------------------------------------------- fields

_PRICES = weighted(
    (40, st.integers(PRICE_LOW, PRICE_HIGH)),
    (1, st.sampled_from([0, -1, _TOO_MANY_TICKS, None])),  # INVALID_PRICE
)
_QUANTITIES = weighted(
    (40, st.integers(1, 8)),
    (2, st.integers(50, 5_000)),  # valid, but mostly more than anyone can pay for
    (1, st.sampled_from([0, -2, _TOO_MANY_LOTS])),  # INVALID_QUANTITY
)
_CLIENT_IDS = weighted_values((30, None), *((4, c) for c in CLIENT_IDS), *((1, c) for c in BAD_CLIENT_IDS))
_TIME_IN_FORCE = weighted_values((6, TimeInForce.GTC), (2, TimeInForce.IOC), (2, TimeInForce.FOK))
_POST_ONLY = weighted_values((4, False), (1, True))
_SIDES = st.sampled_from(Side)
_STEPS = st.integers(0, MAX_STEP_MS)  # 0: the same millisecond as the previous command


def _users(users: Sequence[str]) -> st.SearchStrategy[str]:
    return weighted_values(*((12, u) for u in users), (1, ""))  # "" is not a valid user id


def _markets(markets: Sequence[str]) -> st.SearchStrategy[str]:
    return weighted_values(*((12, m) for m in markets), (1, UNKNOWN_MARKET))


# ---------------------------------------------------------------------------------------------- commands


def deposits(users: Sequence[str], markets: Sequence[str]) -> st.SearchStrategy[Spec]:
    inr = _spec(Deposit, _users(users), st.just(QUOTE),
                weighted((3, st.sampled_from([50_000, 10_000, 2_000])), (2, st.integers(1, 60_000))))
    stock = _spec(Deposit, _users(users), st.sampled_from(_stocks(markets)),
                  weighted((3, st.sampled_from([10, 3])), (2, st.integers(1, 25))))
    bad = _spec(Deposit, st.sampled_from(users), st.sampled_from([QUOTE, UNKNOWN_ASSET, *_stocks(markets)]),
                st.sampled_from([0, -5, 10**15]))  # unknown asset or INVALID_QUANTITY
    return weighted((10, inr), (10, stock), (1, bad))


def limit_orders(users: Sequence[str], markets: Sequence[str]) -> st.SearchStrategy[Spec]:
    return _spec(PlaceOrder, _users(users), _markets(markets), _SIDES, st.just(OrderType.LIMIT), _PRICES,
                 _QUANTITIES, _TIME_IN_FORCE, _POST_ONLY, _CLIENT_IDS)


def market_orders(users: Sequence[str], markets: Sequence[str]) -> st.SearchStrategy[Spec]:
    price = weighted_values((20, None), (1, 1000))  # a price: INVALID_PRICE
    return _spec(PlaceOrder, _users(users), _markets(markets), _SIDES, st.just(OrderType.MARKET), price,
                 _QUANTITIES, st.just(TimeInForce.GTC), st.just(False), _CLIENT_IDS)


def cancels(users: Sequence[str]) -> st.SearchStrategy[Spec]:
    user = st.sampled_from(users)
    return weighted(
        (8, _spec(CancelOrder, user, st.just("own"), weighted_values((3, 1), (2, 2), (1, 3), (1, 4)))),
        (3, _spec(CancelOrder, user, st.just("recent"), st.integers(1, 8))),
        (4, _spec(CancelOrder, user, st.just("any"), st.integers(0, 10**6))),
        (1, _spec(CancelOrder, user, st.just("wild"), st.sampled_from([0, -1, 50, 10**12]))),
    )


def cancel_alls(users: Sequence[str], markets: Sequence[str]) -> st.SearchStrategy[Spec]:
    market = weighted_values(*((2, m) for m in markets), (4, None), (1, UNKNOWN_MARKET))
    return _spec(CancelAll, st.sampled_from(users), market)


@functools.cache
def commands(users: tuple[str, ...], markets: tuple[str, ...]) -> st.SearchStrategy[Spec]:
    """Any one command. Cached per (users, markets): building strategies costs more than drawing them."""
    return weighted(
        (8, limit_orders(users, markets)),
        (3, deposits(users, markets)),
        (3, market_orders(users, markets)),
        (3, cancels(users)),
        (1, cancel_alls(users, markets)),
    )


_INR_OPENING = weighted_values((2, 0), (8, 100_000), (4, 30_000), (4, 8_000))  # 0: no deposit
_STOCK_OPENING = weighted_values((2, 0), (10, 20), (6, 6))


@st.composite
def opening_deposits(draw: Draw, users: tuple[str, ...], markets: tuple[str, ...]) -> list[Spec]:
    """Generous deposits, most (user, asset) pairs funded, so that the stream after them trades. No deposit
    is the shrink target, so a minimal example keeps only the deposits it needs."""
    result = []
    for user in users:
        for asset in (QUOTE, *_stocks(markets)):
            amount = draw(_INR_OPENING if asset == QUOTE else _STOCK_OPENING)
            if amount:
                result.append(Spec(Deposit, (user, asset, amount)))
    return result


# ---------------------------------------------------------------------------------------------- streams


def _resolve(mode: str, value: int, seq: int, placed: list[int]) -> int:
    if mode == "own":
        return placed[-min(value, len(placed))] if placed else seq - value
    if mode == "recent":
        return seq - value
    if mode == "any":
        return 1 + value % seq
    return seq + value if value == 50 else value


def materialise(steps: Sequence[tuple[Spec, int]]) -> list[Command]:
    """Build the commands: timestamps T0 + running sum of the steps, cancels' order ids resolved."""
    result: list[Command] = []
    placed: dict[str, list[int]] = defaultdict(list)  # user -> seqs of their GTC limit orders (may rest)
    ts = T0
    for seq, (spec, step) in enumerate(steps, start=1):
        ts += step
        if spec.kind is CancelOrder:
            user, mode, value = spec.args
            result.append(CancelOrder(user, _resolve(mode, value, seq, placed[user]), ts))
            continue
        if spec.kind is PlaceOrder and spec.args[3] is OrderType.LIMIT and spec.args[6] is TimeInForce.GTC:
            placed[spec.args[0]].append(seq)
        result.append(spec.kind(*spec.args, ts))
    return result


def _sized_list(draw: Draw, elements: st.SearchStrategy[T], min_size: int, max_size: int) -> list[T]:
    # Hypothesis' lists average only a handful of elements; drawing the length first gives long streams.
    size = draw(st.integers(min_size, max_size))
    return draw(st.lists(elements, min_size=size, max_size=size))


@st.composite
def scenarios(draw: Draw, *, min_size: int = 1, max_size: int = 60,
              short_retention: bool | None = False) -> Scenario:
    """Users, markets, the engine's closed-order retention and a command stream for a fresh engine.

    ``short_retention``: False keeps the default (a day, never reached within a stream), True uses
    SHORT_RETENTION_MS, None lets hypothesis choose.
    """
    users = draw(st.sampled_from(USER_CHOICES))
    markets = draw(st.sampled_from(MARKET_CHOICES))
    if short_retention is None:
        short_retention = draw(st.booleans())
    retention = SHORT_RETENTION_MS if short_retention else DAY_MS
    opening = [(spec, 1) for spec in draw(opening_deposits(users, markets))]
    body = _sized_list(draw, st.tuples(commands(users, markets), _STEPS), min_size, max_size)
    return Scenario(users, markets, retention, materialise(opening + body))
