"""With the market maker and random taker flow running for 30 s, every market stays quoted and tight."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import httpx

from tests.integration.market_maker.conftest import MARKETS, check_alive, depth, maker_env, wait_quoted
from tests.support.services import Exchange

LEVELS = 10
MIN_LEVELS = 5
MAX_SPREAD_BPS = 50
SECONDS = 30


def trade_count(exchange: Exchange, market: str) -> int:
    response = httpx.get(f"{exchange.api_url}/trades", params={"market": market, "limit": "1000"}, timeout=5)
    return len(response.json())


def test_thirty_seconds_of_taker_flow_keep_five_levels_a_side_and_the_spread_bound(
        exchange: Exchange, tmp_path: Path) -> None:
    env = maker_env(exchange, tmp_path, MM_LEVELS=str(LEVELS), MM_MAX_SPREAD_BPS=str(MAX_SPREAD_BPS))
    exchange.spawn("market_maker", ["--taker-rate", "5", "--seed", "11"], env)
    wait_quoted(exchange, LEVELS)
    trades_before = {market: trade_count(exchange, market) for market in MARKETS}
    samples: list[tuple[str, int, int, Decimal]] = []  # market, bids, asks, spread in bps
    bests: dict[str, set[str]] = {market: set() for market in MARKETS}
    start = time.monotonic()
    for second in range(1, SECONDS + 1):
        time.sleep(max(0.0, start + second - time.monotonic()))
        for market in MARKETS:
            book = depth(exchange, market)
            bids, asks = book["bids"], book["asks"]
            spread_bps = Decimal("Infinity")
            if bids and asks:
                bid, ask = Decimal(bids[0][0]), Decimal(asks[0][0])
                assert bid < ask, f"{market} crossed at {second} s: {bid} >= {ask}"
                spread_bps = (ask - bid) * 20_000 / (ask + bid)  # of the mid
                bests[market].add(bids[0][0])
            samples.append((market, len(bids), len(asks), spread_bps))
    check_alive(exchange)

    min_levels = min(min(bids, asks) for _, bids, asks, _ in samples)
    max_spread = max(spread for *_, spread in samples)
    trades = {market: trade_count(exchange, market) - trades_before[market] for market in MARKETS}
    print(f"\n{len(samples)} samples over {SECONDS} s: min levels on a side {min_levels}, "
          f"max spread {max_spread:.2f} bps (bound {MAX_SPREAD_BPS}), trades {trades}, "
          f"distinct best bids {({m: len(b) for m, b in bests.items()})}")
    assert len(samples) == SECONDS * len(MARKETS)
    bad_levels = [s for s in samples if min(s[1], s[2]) < MIN_LEVELS]
    assert not bad_levels, f"fewer than {MIN_LEVELS} levels: {bad_levels}"
    bad_spread = [s for s in samples if s[3] > MAX_SPREAD_BPS]
    assert not bad_spread, f"spread above {MAX_SPREAD_BPS} bps: {bad_spread}"
    # The flow was real: the taker traded on every market, and the quotes moved with the fair value.
    assert all(count >= 10 for count in trades.values()), trades
    assert all(len(prices) >= 2 for prices in bests.values()), bests
