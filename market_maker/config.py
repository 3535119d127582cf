"""The market maker's configuration, read from the environment once at start-up (docs/market-maker.md).

Shared names from docs/api.md (Operations): ``API_HOST``/``API_PORT`` and ``WS_HOST``/``WS_PORT`` say where
the services listen (``MM_API_URL``/``MM_WS_URL`` override the derived URLs), ``MUDRA_MARKETS`` the markets
file. Everything else is ``MM_*``. Prices are read with the market's own grid (``Market.parse_price``),
sizes with its lot (``Market.parse_quantity``): integers from here on. A bad value raises
:class:`shared.config.ConfigError` naming the variable; ``python -m market_maker`` prints it and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from market_maker.strategy import StrategyParams, Walk, half_spread, level_step
from shared.config import ConfigError, env_bool, env_int, env_port, env_str, env_url
from shared.markets import Market, MarketsConfig, MarketsFileError, load_markets
from shared.money import ConversionError

#: Start prices of the shipped markets; any other market starts at DEFAULT_START_PRICE unless set.
SHIPPED_START_PRICES = {"TATA-INR": "100.00", "RELIANCE-INR": "2500.00", "INFY-INR": "1500.00"}
DEFAULT_START_PRICE = "100"
MAX_TAKER_RATE = Decimal(100)
_WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]")


@dataclass(frozen=True, slots=True)
class MarketPlan:
    """One quoted market: its grid and where its fair value starts (ticks)."""

    market: Market
    start_ticks: int
    size_lots: int
    taker_max_lots: int


@dataclass(frozen=True, slots=True)
class MakerConfig:
    api_url: str  # ends with /api/v1, no trailing slash
    ws_url: str
    exchange: MarketsConfig
    markets: tuple[MarketPlan, ...]
    strategy: StrategyParams
    max_spread_bps: int
    walk_interval_ms: int
    refresh_ms: int
    state_file: Path
    seed: int | None
    funds_per_market: int  # quote minor units the maker holds per market (base: the same value)
    topup_pct: int  # deposit back to the target when an asset falls below this % of it (0: never)
    keep_orders: bool
    taker_rate: Decimal  # taker orders per second, 0 = no taker
    taker_lean_bps: int
    maker_api_key: str | None
    taker_api_key: str | None
    request_timeout_s: float

    @property
    def quote_asset(self) -> str:
        return self.markets[0].market.quote.symbol


def load_config(environ: Mapping[str, str] | None = None, *, taker_rate: str | None = None,
                seed: int | None = None, keep_orders: bool | None = None) -> MakerConfig:
    """Read and check every setting; CLI values (when given) take precedence over MM_* variables."""
    env = os.environ if environ is None else environ
    try:
        exchange = load_markets(env.get("MUDRA_MARKETS") or None)
    except MarketsFileError as exc:
        raise ConfigError(f"MUDRA_MARKETS: {exc}") from exc
    strategy = StrategyParams(
        levels=env_int(env, "MM_LEVELS", 10, minimum=1, maximum=200),
        spread_bps=env_int(env, "MM_SPREAD_BPS", 20, minimum=1, maximum=5000),
        step_bps=env_int(env, "MM_LEVEL_STEP_BPS", 5, minimum=1, maximum=5000),
        walk=_walk(env),
        walk_bps=env_int(env, "MM_WALK_BPS", 10, minimum=0, maximum=1000),
        revert_bps=env_int(env, "MM_REVERT_BPS", 100, minimum=0, maximum=10_000),
        max_skew_bps=env_int(env, "MM_MAX_SKEW_BPS", 10, minimum=0, maximum=1000),
    )
    max_spread_bps = env_int(env, "MM_MAX_SPREAD_BPS", 50, minimum=1, maximum=10_000)
    markets = _markets(env, exchange, strategy, max_spread_bps)
    quotes = {plan.market.quote.symbol for plan in markets}
    if len(quotes) != 1:
        raise ConfigError(f"MM_MARKETS: the quoted markets must share one quote asset, not {sorted(quotes)}")
    quote_asset = markets[0].market.quote
    return MakerConfig(
        api_url=_api_url(env),
        ws_url=_ws_url(env),
        exchange=exchange,
        markets=markets,
        strategy=strategy,
        max_spread_bps=max_spread_bps,
        walk_interval_ms=env_int(env, "MM_WALK_INTERVAL_MS", 1000, minimum=10, maximum=3_600_000),
        refresh_ms=env_int(env, "MM_REFRESH_MS", 500, minimum=50, maximum=60_000),
        state_file=_state_file(env),
        seed=seed if seed is not None else _optional_int(env, "MM_SEED"),
        funds_per_market=_amount(env, "MM_FUNDS_PER_MARKET", "10000000", quote_asset.parse_amount),
        topup_pct=env_int(env, "MM_TOPUP_PCT", 25, minimum=0, maximum=100),
        keep_orders=keep_orders if keep_orders is not None else env_bool(env, "MM_KEEP_ORDERS", False),
        taker_rate=_taker_rate(taker_rate if taker_rate is not None else env.get("MM_TAKER_RATE", "0"),
                               "--taker-rate" if taker_rate is not None else "MM_TAKER_RATE"),
        taker_lean_bps=env_int(env, "MM_TAKER_LEAN", 20, minimum=0, maximum=1000),
        maker_api_key=env.get("MM_API_KEY") or None,
        taker_api_key=env.get("MM_TAKER_API_KEY") or None,
        request_timeout_s=env_int(env, "MM_REQUEST_TIMEOUT_MS", 10_000, minimum=100, maximum=600_000) / 1000,
    )


def _walk(env: Mapping[str, str]) -> Walk:
    raw = env.get("MM_WALK", Walk.REVERT.value).strip().lower()
    try:
        return Walk(raw)
    except ValueError:
        raise ConfigError(f"MM_WALK must be 'revert' or 'random', not {raw!r}") from None


def _markets(env: Mapping[str, str], exchange: MarketsConfig, strategy: StrategyParams,
             max_spread_bps: int) -> tuple[MarketPlan, ...]:
    raw = env.get("MM_MARKETS", "").strip()
    if raw and raw.lower() != "all":
        names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
        unknown = [name for name in names if name not in exchange.markets]
        if unknown or not names:
            raise ConfigError(f"MM_MARKETS: unknown market(s) {', '.join(unknown) or raw!r}")
    else:
        names = list(exchange.markets)
    prices = {**SHIPPED_START_PRICES, **_start_prices(env, exchange)}
    size = env.get("MM_SIZE", "10")
    taker_size = env.get("MM_TAKER_MAX_SIZE", size)
    plans = []
    for name in names:
        market = exchange.markets[name]
        price = prices.get(name, DEFAULT_START_PRICE)
        try:
            start = market.parse_price(price)
        except ConversionError as exc:
            raise ConfigError(f"MM_START_PRICES: {name} start price {price!r} {exc.reason}") from None
        plan = MarketPlan(market, start, _lots(market, "MM_SIZE", size),
                          _lots(market, "MM_TAKER_MAX_SIZE", taker_size))
        _check_bound(plan, strategy, max_spread_bps)
        plans.append(plan)
    return tuple(plans)


def _start_prices(env: Mapping[str, str], exchange: MarketsConfig) -> dict[str, str]:
    """``MM_START_PRICES=TATA-INR=100.00,INFY-INR=1500``."""
    prices: dict[str, str] = {}
    for item in env.get("MM_START_PRICES", "").split(","):
        if not item.strip():
            continue
        name, sep, price = item.partition("=")
        name = name.strip()
        if not sep or name not in exchange.markets:
            raise ConfigError(
                f"MM_START_PRICES: expected MARKET=PRICE of a listed market, not {item.strip()!r}")
        prices[name] = price.strip()
    return prices


def _lots(market: Market, name: str, value: str) -> int:
    try:
        return market.parse_quantity(value.strip())
    except ConversionError as exc:
        raise ConfigError(f"{name}: {value!r} {exc.reason} (market {market.symbol})") from None


def _check_bound(plan: MarketPlan, strategy: StrategyParams, max_spread_bps: int) -> None:
    """Refuse a bound the ladder cannot keep: quoted spread plus two eaten levels, the fair value 10% off."""
    start = plan.start_ticks
    worst = 2 * half_spread(start, strategy) + 2 * level_step(start, strategy)
    # The ladder's scale is re-centred when the fair value moves 10% away (strategy.RESCALE_PCT): the
    # spread in ticks may then be up to 11/10 of what it is for the fair value it is measured against.
    if worst * 10_000 * 11 > max_spread_bps * start * 10:
        raise ConfigError(
            f"MM_MAX_SPREAD_BPS={max_spread_bps} is too tight for {plan.market.symbol}: the quoted spread "
            f"plus two eaten levels is {worst} ticks at {plan.market.format_price(start)}; raise it or lower "
            "MM_SPREAD_BPS / MM_LEVEL_STEP_BPS")
    if 2 * (half_spread(start, strategy) + strategy.levels * level_step(start, strategy)) >= start:
        raise ConfigError(f"MM_LEVELS x MM_LEVEL_STEP_BPS: the bid ladder of {plan.market.symbol} would "
                          "reach half its start price; use fewer or closer levels")


def _amount(env: Mapping[str, str], name: str, default: str, parse: Callable[[object], int]) -> int:
    raw = env.get(name, default).strip()
    try:
        return parse(raw)
    except ConversionError as exc:
        raise ConfigError(f"{name}: {raw!r} {exc.reason}") from None


def _taker_rate(raw: str, name: str) -> Decimal:
    try:
        rate = Decimal(raw.strip())
    except InvalidOperation:
        raise ConfigError(f"{name} must be a number of orders per second, not {raw!r}") from None
    if not rate.is_finite() or rate < 0 or rate > MAX_TAKER_RATE:
        raise ConfigError(f"{name} must be from 0 to {MAX_TAKER_RATE} orders per second, not {raw!r}")
    return rate


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    if env.get(name) is None or not env[name].strip():
        return None
    return env_int(env, name, 0)


def _connect_host(host: str) -> str:
    """Where to reach a service that listens on ``host`` (a wildcard bind is reached on loopback)."""
    if host in _WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _api_url(env: Mapping[str, str]) -> str:
    if env.get("MM_API_URL"):
        return env_url(env, "MM_API_URL", "", ("http", "https")).rstrip("/")
    host = _connect_host(env_str(env, "API_HOST", "127.0.0.1"))
    return f"http://{host}:{env_port(env, 'API_PORT', 8000)}/api/v1"


def _ws_url(env: Mapping[str, str]) -> str:
    if env.get("MM_WS_URL"):
        return env_url(env, "MM_WS_URL", "", ("ws", "wss"))
    host = _connect_host(env_str(env, "WS_HOST", "127.0.0.1"))
    return f"ws://{host}:{env_port(env, 'WS_PORT', 8001)}/"


def _state_file(env: Mapping[str, str]) -> Path:
    raw = env.get("MM_STATE_FILE")
    if raw is not None:
        if not raw.strip():
            raise ConfigError("MM_STATE_FILE must not be empty")
        return Path(raw).expanduser()
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "e-mudra-bajar" / "market_maker.json"
