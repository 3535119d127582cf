"""The market maker's loop: read the exchange, ask the pure strategy, send the difference.

One cycle (every MM_REFRESH_MS, or at once when the ``orders`` stream reports a fill):

1. resolve placements whose outcome is unknown (a timeout, a 503): POST them again with the same
   clientOrderId until the exchange answers for sure (201, or 409 with the order it already has);
2. ``GET /orders`` and ``GET /balances``: the exchange's state is the only truth, so every cycle is a
   re-sync, and whatever a crash or an older run left behind is seen;
3. advance each market's fair value by the walk steps due, compute the desired ladder, diff it
   against the resting orders (``quotes.plan``);
4. cancel, and place (postOnly GTC limit orders, each with a fresh clientOrderId): together where that
   is safe, else after the cancels (``quotes.split``).

Any ``Unavailable`` ends the cycle; the loop backs off exponentially and the next cycle re-syncs. So a
restart of the engine, the API or the WebSocket server costs quotes for the outage, never duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from market_maker import account, quotes, strategy, taker
from market_maker.client import ApiError, Backoff, RestClient, Unavailable
from market_maker.config import MakerConfig, MarketPlan
from market_maker.strategy import FairValue, Holdings, Quote
from shared.types import Side

log = logging.getLogger("market_maker")

#: Walk steps taken at most in one go after a long stall (an outage): the walk does not race to catch up.
MAX_CATCH_UP_STEPS = 60
#: Shortest pause between cycles, so a burst of fills does not turn into a burst of cycles.
MIN_CYCLE_GAP_S = 0.05
#: Seconds between attempts to top an account up by deposit (also after deposits were refused).
TOPUP_EVERY_S = account.FORBIDDEN_RETRY_S
#: Seconds between two lines of counters in the log.
STATS_EVERY_S = 60.0
#: The same rejection code is logged at most once per this many seconds.
LOG_EVERY_S = 10.0


class AccountLost(Exception):
    """The exchange answered 401 to a key that worked: it forgot the account (a fresh database)."""


@dataclass(slots=True)
class Counters:
    cycles: int = 0
    placed: int = 0
    cancelled: int = 0
    rejected: int = 0


class ClientIds:
    """clientOrderIds unique over this process (a random session part) and across its retries."""

    def __init__(self, prefix: str) -> None:
        self._prefix = f"{prefix}-{secrets.token_hex(4)}-"
        self._next = 0

    def __call__(self) -> str:
        self._next += 1
        return f"{self._prefix}{self._next}"


class Throttle:
    """Log a recurring message at most once per LOG_EVERY_S per key."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._last[key] = now
            return True
        return False


def funding_targets(config: MakerConfig) -> dict[str, int]:
    """Minor units each account aims to hold: MM_FUNDS_PER_MARKET of quote per market, and of each base
    as many lots as that buys at the start price."""
    targets = {config.quote_asset: config.funds_per_market * len(config.markets)}
    for plan in config.markets:
        market = plan.market
        lots = config.funds_per_market // (plan.start_ticks * market.quote_per_tick_lot)
        targets[market.base.symbol] = targets.get(market.base.symbol, 0) + lots * market.base_per_lot
    return targets


class Maker:
    """The quoting account and its loop."""

    def __init__(self, config: MakerConfig, rest: RestClient, rng: random.Random, io_rng: random.Random,
                 state_file: account.StateFile) -> None:
        self.config = config
        self.rest = rest
        self.rng = rng
        self.plans = {plan.market.symbol: plan for plan in config.markets}
        self.states: dict[str, FairValue] = {}
        self.unresolved: dict[str, dict[str, Any]] = {}  # clientOrderId -> the POST body
        self.wake = asyncio.Event()
        self.backoff = Backoff(io_rng)
        self.ids = ClientIds("mm")
        self.counters = Counters()
        self.state_file = state_file
        self.targets = funding_targets(config)
        self._last_walk: float | None = None
        self._last_topup = 0.0
        self._healthy = True
        self._throttle = Throttle()
        self._last_report = time.monotonic()

    async def setup(self) -> None:
        """Find or create the account and fund it (demo deposits)."""
        await account.ensure_account(self.rest, "maker", self.state_file, self.config.maker_api_key,
                                     self.backoff)
        await account.fund(self.rest, "maker", self.targets, 100, self.config.exchange.assets, self.backoff)
        self._last_topup = time.monotonic()

    async def run(self) -> None:
        """Quote until cancelled."""
        await self.setup()
        loop = asyncio.get_running_loop()
        while True:
            self.wake.clear()
            try:
                await self.cycle(loop.time())
                delay = self.config.refresh_ms / 1000
                if not self._healthy:
                    log.info("maker: the exchange answers again; re-synced from GET /orders")
                self._healthy = True
                self.backoff.reset()
                self._report()
            except Unavailable as exc:
                delay = self.backoff.next(exc.retry_after)
                if self._healthy:
                    log.warning("maker: exchange unavailable (%s); backing off, re-syncing when back", exc)
                self._healthy = False
            except ApiError as exc:  # a refusal of a read: unexpected, but no reason to stop quoting
                delay = self.backoff.next()
                log.error("maker: %s; retrying in %.1f s", exc, delay)
            except AccountLost:
                log.warning("maker: the exchange no longer knows the account; setting it up again")
                self.states.clear()
                self.unresolved.clear()
                await self.setup()
                continue
            await asyncio.sleep(MIN_CYCLE_GAP_S)
            with contextlib.suppress(TimeoutError):  # a fill, or the orders stream back, cuts it short
                await asyncio.wait_for(self.wake.wait(), max(0.0, delay - MIN_CYCLE_GAP_S))

    def _report(self) -> None:
        """A line of counters every STATS_EVERY_S, so an operator sees it is alive and how busy it is."""
        now = time.monotonic()
        if now - self._last_report < STATS_EVERY_S:
            return
        self._last_report = now
        c = self.counters
        fairs = ", ".join(f"{symbol} {self.plans[symbol].market.format_price(state.fair)}"
                          for symbol, state in self.states.items())
        log.info("maker: %d cycles, %d placed, %d cancelled, %d refused; fair values %s", c.cycles, c.placed,
                 c.cancelled, c.rejected, fairs)

    async def cycle(self, now: float) -> None:
        """One read-decide-act round (see the module doc)."""
        self.counters.cycles += 1
        await self._resolve()
        orders, balances = await asyncio.gather(self._call(self.rest.open_orders()),
                                                self._call(self.rest.balances()))
        live, strays = self._live(orders)
        held = account.totals(balances, self.config.exchange.assets)
        free = account.available(balances, self.config.exchange.assets)
        if not self.states:
            self._start_states(live)
        self._walk(now)
        await self._topup(held)
        cancels = list(strays)
        early: list[tuple[int, str, Quote]] = []
        late: list[tuple[int, str, Quote]] = []
        n, quote_asset = len(self.plans), self.config.quote_asset  # the quote asset is shared evenly
        for symbol, plan in self.plans.items():
            market = plan.market
            base = market.base.symbol
            holdings = Holdings(held.get(base, 0) // market.base_per_lot, held.get(quote_asset, 0) // n)
            desired = strategy.ladder(self.states[symbol], holdings, self.config.strategy, market,
                                      plan.size_lots)
            diff = quotes.plan(desired, live.get(symbol, []))
            cancels.extend(diff.cancels)
            available = Holdings(free.get(base, 0) // market.base_per_lot, free.get(quote_asset, 0) // n)
            now_places, then_places = quotes.split(diff.places, diff.cancels, available, market)
            early.extend(_ranked(symbol, now_places))
            late.extend(_ranked(symbol, then_places))
        results = await asyncio.gather(*(self._cancel(order) for order in cancels),
                                       *(self._place(symbol, quote) for _, symbol, quote in sorted(early)),
                                       return_exceptions=True)
        _raise_first(results)
        await self._place_all(sorted(late))

    # -- reading -------------------------------------------------------------------------------------

    def _live(self, orders: list[dict[str, Any]]) -> tuple[dict[str, list[quotes.LiveOrder]],
                                                            list[quotes.LiveOrder]]:
        live: dict[str, list[quotes.LiveOrder]] = {}
        strays: list[quotes.LiveOrder] = []
        for view in orders:
            market = self.config.exchange.markets.get(str(view.get("market")))
            if market is None or view.get("price") is None:
                continue  # not a resting limit order of a market this exchange lists: nothing to do
            order = quotes.live_order(view, market)
            if market.symbol in self.plans:
                live.setdefault(market.symbol, []).append(order)
            else:
                strays.append(order)  # a market this run does not quote (MM_MARKETS changed)
        return live, strays

    def _start_states(self, live: dict[str, list[quotes.LiveOrder]]) -> None:
        for symbol, plan in self.plans.items():
            mid = quotes.own_mid(live.get(symbol, []))
            if mid is None:
                self.states[symbol] = strategy.start(plan.start_ticks)
            else:
                self.states[symbol] = strategy.resume(plan.start_ticks, mid)
                log.info("maker: %s resumes from its own quotes around %s (%d open orders)", symbol,
                         plan.market.format_price(mid), len(live[symbol]))

    def _walk(self, now: float) -> None:
        interval = self.config.walk_interval_ms / 1000
        if self._last_walk is None:
            self._last_walk = now
            return
        steps = int((now - self._last_walk) // interval)
        if steps <= 0:
            return
        self._last_walk += steps * interval
        for _ in range(min(steps, MAX_CATCH_UP_STEPS)):
            for symbol, plan in self.plans.items():  # a fixed order: replayable from the seed
                self.states[symbol] = strategy.advance(self.states[symbol], self.config.strategy, self.rng,
                                                       plan.market.max_price_ticks)

    async def _topup(self, held: dict[str, int]) -> None:
        if not self.config.topup_pct or time.monotonic() - self._last_topup < TOPUP_EVERY_S:
            return
        if account.deposits_needed(self.targets, held, self.config.topup_pct):
            self._last_topup = time.monotonic()
            held.update(await account.fund(self.rest, "maker", self.targets, self.config.topup_pct,
                                           self.config.exchange.assets, self.backoff))

    # -- acting --------------------------------------------------------------------------------------

    async def _resolve(self) -> None:
        """Re-send every placement of unknown outcome with its clientOrderId until it is known.

        A re-send that places the order (201: the first one never reached the engine) made a quote of
        an earlier cycle, at a price that may be long gone after an outage: it is cancelled at once and
        this cycle places what it wants. Left in place until this cycle's cancels, such quotes briefly
        put the account above its ladder (seen after a kill -9 of the API: up to 7 extra per market).
        """
        for cid, body in list(self.unresolved.items()):
            try:
                order = await self._call(self.rest.place(body))
            except ApiError as exc:
                if exc.code not in ("DUPLICATE_CLIENT_ORDER_ID", "WOULD_CROSS", "INSUFFICIENT_BALANCE"):
                    self._rejected(body["market"], exc)
            else:
                self.counters.placed += 1
                if isinstance(order, dict) and isinstance(order.get("orderId"), str):
                    await self._cancel_id(order["orderId"], body["market"])
            self.unresolved.pop(cid, None)

    async def _cancel(self, order: quotes.LiveOrder) -> None:
        await self._cancel_id(order.order_id, order.market)

    async def _cancel_id(self, order_id: str, market: str) -> None:
        try:
            await self._call(self.rest.cancel(order_id))
            self.counters.cancelled += 1
        except ApiError as exc:
            if exc.code not in ("ORDER_NOT_FOUND", "ORDER_NOT_OPEN"):  # filled or gone already: fine
                self._rejected(market, exc)

    async def _place_all(self, places: list[tuple[int, str, Quote]]) -> None:
        results = await asyncio.gather(*(self._place(symbol, quote) for _, symbol, quote in places),
                                       return_exceptions=True)
        _raise_first(results)

    async def _place(self, symbol: str, quote: Quote) -> None:
        market = self.plans[symbol].market
        cid = self.ids()
        body = {"market": symbol, "kind": quote.side.value, "type": "limit",
                "price": market.format_price(quote.price), "quantity": market.format_quantity(quote.quantity),
                "timeInForce": "GTC", "postOnly": True, "clientOrderId": cid}
        self.unresolved[cid] = body  # until the exchange has answered for sure
        try:
            await self._call(self.rest.place(body))
            self.counters.placed += 1
        except ApiError as exc:
            if exc.code != "DUPLICATE_CLIENT_ORDER_ID":
                self._rejected(symbol, exc)
        self.unresolved.pop(cid, None)

    async def _call(self, request: Any) -> Any:
        try:
            return await request
        except ApiError as exc:
            if exc.status == 401:
                raise AccountLost() from exc
            raise

    def _rejected(self, symbol: str, exc: ApiError) -> None:
        self.counters.rejected += 1
        if self._throttle.allow(exc.code):
            log.warning("maker: %s refused: %s (logged once per %.0f s)", symbol, exc, LOG_EVERY_S)

    async def shutdown(self) -> None:
        """Cancel every open order of the account (unless MM_KEEP_ORDERS / --keep-orders)."""
        if self.config.keep_orders or not self.rest.api_key:
            log.info("maker: leaving its orders on the book (keep-orders)")
            return
        for attempt in range(2 if self.unresolved else 1):
            if attempt:
                await asyncio.sleep(1.0)  # a placement of unknown outcome may still land: sweep again
            try:
                cancelled = await asyncio.wait_for(self.rest.cancel_all(), 10)
                log.info("maker: cancelled its %d open orders", len(cancelled))
            except (Unavailable, ApiError, TimeoutError) as exc:
                log.warning("maker: could not cancel its open orders on exit: %s", exc)
                return


def _ranked(symbol: str, places: Iterable[Quote]) -> list[tuple[int, str, Quote]]:
    """(rank on its side, market, quote): sorted, the best levels of every market go first."""
    rank = dict.fromkeys(Side, 0)
    ranked = []
    for quote in places:  # each side best first, as ladder() lists them
        ranked.append((rank[quote.side], symbol, quote))
        rank[quote.side] += 1
    return ranked


def _raise_first(results: list[Any]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result


class Taker:
    """The demo taker: market orders from a second account at ``--taker-rate`` per second."""

    def __init__(self, config: MakerConfig, rest: RestClient, rng: random.Random, io_rng: random.Random,
                 state_file: account.StateFile) -> None:
        self.config = config
        self.rest = rest
        self.rng = rng
        self.backoff = Backoff(io_rng)
        self.ids = ClientIds("tk")
        self.state_file = state_file
        self.targets = funding_targets(config)
        self.plans: dict[str, MarketPlan] = {plan.market.symbol: plan for plan in config.markets}
        self.sent = 0
        self._throttle = Throttle()
        self._last_fund = 0.0

    async def run(self) -> None:
        await account.ensure_account(self.rest, "taker", self.state_file, self.config.taker_api_key,
                                     self.backoff)
        await account.fund(self.rest, "taker", self.targets, 100, self.config.exchange.assets, self.backoff)
        self._last_fund = time.monotonic()
        symbols = list(self.plans)
        while True:
            await asyncio.sleep(taker.next_delay(self.rng, self.config.taker_rate))
            try:
                await self._one(taker.pick_market(self.rng, symbols))
                self.backoff.reset()
            except Unavailable as exc:
                delay = self.backoff.next(exc.retry_after)
                if self._throttle.allow("unavailable"):
                    log.warning("taker: %s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
            except ApiError as exc:
                if exc.code == "INSUFFICIENT_BALANCE":
                    if time.monotonic() - self._last_fund >= TOPUP_EVERY_S:
                        self._last_fund = time.monotonic()
                        await account.fund(self.rest, "taker", self.targets, 100,
                                           self.config.exchange.assets, self.backoff)
                elif self._throttle.allow(exc.code):
                    log.warning("taker: refused: %s", exc)
                if exc.status == 401:
                    await account.ensure_account(self.rest, "taker", self.state_file, None, self.backoff)

    async def _one(self, symbol: str) -> None:
        plan = self.plans[symbol]
        market = plan.market
        bid, ask = await self.rest.top_of_book(symbol)
        order = taker.order_for(self.rng, symbol, plan.start_ticks, (market.min_lots, plan.taker_max_lots),
                                None if bid is None else market.parse_price(bid),
                                None if ask is None else market.parse_price(ask), self.config.taker_lean_bps)
        if order is None:
            return
        body = {"market": symbol, "kind": order.side.value, "type": "market",
                "quantity": market.format_quantity(order.quantity), "clientOrderId": self.ids()}
        # The same body (and clientOrderId) until the exchange answers for sure: never a second order.
        try:
            await account.retrying(lambda: self.rest.place(body), self.backoff, "taker: placing")
        except ApiError as exc:
            if exc.code != "DUPLICATE_CLIENT_ORDER_ID":  # 409: an earlier attempt got through
                raise
        self.sent += 1
