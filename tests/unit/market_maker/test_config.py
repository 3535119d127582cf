"""market_maker/config.py: defaults that work against the local services; refusals name the variable."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from market_maker.config import load_config
from market_maker.strategy import Walk
from shared.config import ConfigError


def test_defaults_quote_every_shipped_market_against_the_local_services() -> None:
    config = load_config({"HOME": "/home/u"})
    assert config.api_url == "http://127.0.0.1:8000/api/v1"
    assert config.ws_url == "ws://127.0.0.1:8001/"
    assert [p.market.symbol for p in config.markets] == ["TATA-INR", "RELIANCE-INR", "INFY-INR"]
    assert [p.start_ticks for p in config.markets] == [10_000, 250_000, 150_000]
    assert {p.size_lots for p in config.markets} == {10}
    assert config.strategy.levels == 10 and config.strategy.walk is Walk.REVERT
    assert config.max_spread_bps == 50 and config.taker_rate == 0 and config.seed is None
    assert config.state_file == Path("/home/u/.local/state/e-mudra-bajar/market_maker.json")
    assert config.funds_per_market == 10_000_000_00 and not config.keep_orders


def test_values_are_read() -> None:
    config = load_config({
        "API_HOST": "0.0.0.0", "API_PORT": "9000", "WS_HOST": "ex.local", "WS_PORT": "9001",
        "MM_MARKETS": "INFY-INR, TATA-INR", "MM_LEVELS": "6", "MM_SPREAD_BPS": "30", "MM_LEVEL_STEP_BPS": "2",
        "MM_MAX_SPREAD_BPS": "60", "MM_SIZE": "3", "MM_START_PRICES": "TATA-INR=250.50", "MM_WALK": "random",
        "MM_SEED": "42", "MM_STATE_FILE": "/tmp/x.json", "MM_TAKER_RATE": "0.5", "MM_KEEP_ORDERS": "true"})
    assert config.api_url == "http://127.0.0.1:9000/api/v1" and config.ws_url == "ws://ex.local:9001/"
    assert [(p.market.symbol, p.start_ticks, p.size_lots) for p in config.markets] == [
        ("INFY-INR", 150_000, 3), ("TATA-INR", 25_050, 3)]
    assert (config.strategy.levels, config.strategy.spread_bps, config.strategy.step_bps) == (6, 30, 2)
    assert config.strategy.walk is Walk.RANDOM and config.seed == 42 and config.keep_orders
    assert config.taker_rate == Decimal("0.5") and config.state_file == Path("/tmp/x.json")


def test_url_overrides_and_command_line_win() -> None:
    config = load_config({"MM_API_URL": "http://h:1/api/v1/", "MM_WS_URL": "ws://h:2/ws", "MM_SEED": "1",
                          "MM_TAKER_RATE": "3"}, taker_rate="2", seed=9, keep_orders=True)
    assert (config.api_url, config.ws_url) == ("http://h:1/api/v1", "ws://h:2/ws")
    assert (config.taker_rate, config.seed, config.keep_orders) == (Decimal(2), 9, True)


@pytest.mark.parametrize(("name", "value"), [
    ("MM_LEVELS", "0"), ("MM_LEVELS", "ten"), ("MM_SPREAD_BPS", "-1"), ("MM_LEVEL_STEP_BPS", "0"),
    ("MM_MARKETS", "NOPE-INR"), ("MM_MARKETS", ","), ("MM_SIZE", "0"), ("MM_SIZE", "1.5"),
    ("MM_START_PRICES", "TATA-INR=100.001"), ("MM_START_PRICES", "NOPE-INR=1"),
    ("MM_START_PRICES", "TATA-INR"),
    ("MM_WALK", "brownian"), ("MM_MAX_SPREAD_BPS", "30"), ("MM_TAKER_RATE", "-1"), ("MM_TAKER_RATE", "lots"),
    ("MM_TAKER_RATE", "NaN"), ("MM_API_URL", "ftp://h/"), ("MM_WS_URL", "http://h/"), ("API_PORT", "0"),
    ("WS_PORT", "x"), ("MM_SEED", "abc"), ("MM_FUNDS_PER_MARKET", "0.001"), ("MM_STATE_FILE", ""),
    ("MM_KEEP_ORDERS", "maybe"), ("MUDRA_MARKETS", "/nonexistent/markets.json"), ("MM_TAKER_MAX_SIZE", "0"),
    ("MM_REFRESH_MS", "1"),
])
def test_a_bad_value_is_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({name: value})
    assert name in str(caught.value)


def test_a_ladder_reaching_half_the_price_is_refused() -> None:
    with pytest.raises(ConfigError, match="MM_LEVELS x MM_LEVEL_STEP_BPS"):
        load_config({"MM_LEVELS": "150", "MM_LEVEL_STEP_BPS": "40", "MM_MAX_SPREAD_BPS": "10000"})


def test_a_bad_command_line_rate_names_the_flag() -> None:
    with pytest.raises(ConfigError, match="--taker-rate"):
        load_config({}, taker_rate="fast")
