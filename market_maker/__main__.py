"""``python -m market_maker [--taker-rate N] [--seed S] [--keep-orders]``: quote every market until stopped.

SIGINT/SIGTERM stop it cleanly: its open orders are cancelled (unless --keep-orders / MM_KEEP_ORDERS).
A bad configuration value makes it exit 2 with a message naming the variable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import secrets
import signal
import sys

import httpx

from market_maker.account import StateFile
from market_maker.client import Backoff, OrderFeed, RestClient
from market_maker.config import MakerConfig, load_config
from market_maker.service import Maker, Taker
from shared.config import ConfigError

log = logging.getLogger("market_maker")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m market_maker",
        description="Quote every market of the exchange as an ordinary user (docs/market-maker.md).")
    parser.add_argument("--taker-rate", metavar="N", help="taker market orders per second from a second "
                        "account (default MM_TAKER_RATE or 0: none)")
    parser.add_argument("--seed", type=int, help="seed of the fair-value walk and the taker (default MM_SEED "
                        "or a random one, logged)")
    parser.add_argument("--keep-orders", action="store_true", default=None,
                        help="leave the open orders on the book on exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="market_maker: %(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = load_config(taker_rate=args.taker_rate, seed=args.seed, keep_orders=args.keep_orders)
    except ConfigError as exc:
        print(f"market_maker: refusing to start: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(serve(config))


async def serve(config: MakerConfig) -> int:
    """Run the maker (and the taker, if any) until SIGINT/SIGTERM, then clean up."""
    seed = config.seed if config.seed is not None else secrets.randbits(32)
    log.info("quoting %s at %s (ws %s), %d levels, spread %d bps, seed %d (MM_SEED or --seed replays it)",
             ",".join(p.market.symbol for p in config.markets), config.api_url, config.ws_url,
             config.strategy.levels, config.strategy.spread_bps, seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    state = StateFile(config.state_file)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=config.request_timeout_s, limits=limits) as http:
        maker = Maker(config, RestClient(http, config.api_url), random.Random(seed),
                      random.Random(f"{seed}:io"), state)
        feed = OrderFeed(config.ws_url, lambda: maker.rest.api_key, maker.wake.set, maker.wake.set,
                         Backoff(random.Random(f"{seed}:ws")))
        tasks = [asyncio.create_task(maker.run(), name="maker")]
        if config.taker_rate > 0:
            taker = Taker(config, RestClient(http, config.api_url), random.Random(f"{seed}:taker"),
                          random.Random(f"{seed}:taker-io"), state)
            tasks.append(asyncio.create_task(taker.run(), name="taker"))
        feed_task: asyncio.Task[None] | None = None
        stopper = asyncio.create_task(stop.wait())
        status = 0
        while not stop.is_set():
            if feed_task is None and maker.rest.api_key:
                feed_task = asyncio.create_task(feed.run(), name="ws")
                tasks.append(feed_task)
            done, _ = await asyncio.wait([*tasks, stopper], timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
            failed = [task for task in done if task is not stopper]
            if failed:
                for task in failed:  # a bug: say so and stop, the launcher restarts us
                    log.error("%s stopped: %r", task.get_name(), task.exception())
                status = 1
                stop.set()
        log.info("stopping (%d cycles, %d placed, %d cancelled)", maker.counters.cycles,
                 maker.counters.placed, maker.counters.cancelled)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await maker.shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
