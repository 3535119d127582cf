"""kill -9 the engine, the API, the WebSocket server and the maker itself while it quotes under taker
flow: each time it recovers, re-syncs from GET /orders and leaves exactly one ladder, never a duplicate.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

from tests.integration.market_maker.conftest import (
    MARKETS,
    check_alive,
    maker_env,
    maker_key,
    open_orders,
    wait_quoted,
)
from tests.support.services import Exchange

LEVELS = 6
WATCH_S = 3.0


Ladder = tuple[dict[str, int], list[tuple[str, str, str]]]


def ladder_state(exchange: Exchange, api_key: str) -> Ladder | None:
    """(open orders per market, (market, side, price) held by more than one order), None if unanswered."""
    orders = open_orders(exchange, api_key)
    if orders is None:
        return None
    per_market = Counter(order["market"] for order in orders)
    levels = Counter((order["market"], order["kind"], order["price"]) for order in orders)
    return {market: per_market[market] for market in MARKETS}, [key for key, n in levels.items() if n > 1]


def wait_settled(exchange: Exchange, api_key: str, what: str, timeout: float = 40) -> None:
    """Until the maker holds exactly its ladder (2 x LEVELS per market); then, for WATCH_S, never a price
    twice on a side (a duplicate quote) and never more than the ladder plus what one shift adds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        check_alive(exchange)
        last = ladder_state(exchange, api_key)
        if last is not None and not last[1] and all(n == 2 * LEVELS for n in last[0].values()):
            break
        assert time.monotonic() < deadline, (
            f"{what}: not settled, last {last}: {exchange.log('market_maker')}")
        time.sleep(0.1)
    watch_until = time.monotonic() + WATCH_S
    while time.monotonic() < watch_until:
        state = ladder_state(exchange, api_key)
        assert state is not None, f"{what}: the exchange stopped answering"
        counts, duplicates = state
        assert not duplicates, f"{what}: duplicate quotes {duplicates}"
        assert all(n <= 2 * LEVELS + 4 for n in counts.values()), f"{what}: stray quotes {counts}"
        time.sleep(0.05)


def wait_log(exchange: Exchange, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in exchange.log("market_maker"):
        assert time.monotonic() < deadline, f"no {text!r} in {exchange.log('market_maker')}"
        time.sleep(0.1)


def test_restarts_of_every_service_leave_exactly_one_ladder_of_the_same_account(
        exchange: Exchange, tmp_path: Path) -> None:
    # A fast walk and refresh: the maker is always replacing orders, so the kills land mid-flight.
    env = maker_env(exchange, tmp_path, MM_LEVELS=str(LEVELS), MM_WALK_INTERVAL_MS="200", MM_REFRESH_MS="200",
                    MM_WALK_BPS="20")
    args = ["--taker-rate", "3", "--seed", "5"]
    exchange.spawn("market_maker", args, env)
    account = maker_key(tmp_path, exchange)
    wait_quoted(exchange, LEVELS)
    wait_settled(exchange, account["apiKey"], "start")

    for service in ("engine", "api", "ws"):
        exchange.kill(service)
        # Longer than the API's engine timeout (3 s): the maker meets 503 ENGINE_UNAVAILABLE, or refused
        # connections, and requests it sent may still be applied after the restart.
        time.sleep(4.0)
        exchange.restart(service)
        wait_settled(exchange, account["apiKey"], f"after kill -9 of {service}")
    wait_log(exchange, "subscribed to orders again")  # the orders stream came back after the ws restart
    assert "exchange unavailable" in exchange.log("market_maker")

    # The maker itself: the same account again, its earlier quotes taken over, still one ladder.
    exchange.kill("market_maker")
    exchange.spawn("market_maker", args, env)
    wait_log(exchange, f"maker: trading as {account['userId']}")
    wait_log(exchange, "resumes from its own quotes")
    assert maker_key(tmp_path, exchange) == account
    wait_settled(exchange, account["apiKey"], "after kill -9 of the maker")

    # A clean stop cancels every order it has.
    proc = exchange.procs["market_maker"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert open_orders(exchange, account["apiKey"]) == []
