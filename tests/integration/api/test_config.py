"""The API's configuration: defaults, and refusing to start on a bad value (naming the variable)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from api.config import load_config
from shared.config import ConfigError
from tests.integration.api.conftest import ROOT, module_command


def test_defaults() -> None:
    config = load_config({})
    assert (config.host, config.port) == ("127.0.0.1", 8000)
    assert config.allow_signup and config.allow_deposit
    assert config.rate_limit_per_minute == 6000
    assert config.engine_timeout_ms == 3000
    assert config.common.namespace == "mudra"
    assert "TATA-INR" in config.common.markets.markets


def test_values_are_read() -> None:
    config = load_config({"API_HOST": "0.0.0.0", "API_PORT": "9000", "ALLOW_SIGNUP": "false",
                          "ALLOW_DEPOSIT": "0", "RATE_LIMIT_PER_MINUTE": "0", "ENGINE_TIMEOUT_MS": "250"})
    assert (config.host, config.port, config.allow_signup, config.allow_deposit) == ("0.0.0.0", 9000, False,
                                                                                      False)
    assert (config.rate_limit_per_minute, config.engine_timeout_ms) == (0, 250)


@pytest.mark.parametrize(("name", "value"), [
    ("RATE_LIMIT_PER_MINUTE", "lots"), ("RATE_LIMIT_PER_MINUTE", "-1"), ("ENGINE_TIMEOUT_MS", "0"),
    ("ENGINE_TIMEOUT_MS", "3s"), ("API_PORT", "70000"), ("API_PORT", "http"), ("ALLOW_SIGNUP", "maybe"),
    ("ALLOW_DEPOSIT", "2"), ("API_HOST", ""), ("REDIS_URL", "http://x"), ("DATABASE_URL", "mysql://x/y"),
    ("MUDRA_NAMESPACE", "has space"), ("MUDRA_MARKETS", "/no/such/file.json"),
    ("PUBLIC_WS_URL", "http://x:8001/"), ("PUBLIC_API_BASE", "api/v1"), ("WS_PORT", "0"),
])
def test_a_bad_value_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({name: value})


def run_api(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(module_command("api"), cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_process_refuses_a_bad_rate_limit() -> None:
    result = run_api({"RATE_LIMIT_PER_MINUTE": "fast"})
    assert result.returncode != 0
    assert "RATE_LIMIT_PER_MINUTE" in result.stderr


def test_process_refuses_a_bad_frontend_setting_cleanly() -> None:
    result = run_api({"PUBLIC_WS_URL": "http://not-a-websocket/"})
    assert result.returncode == 2
    assert "refusing to start" in result.stderr and "PUBLIC_WS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_process_refuses_a_bad_markets_file(tmp_path: Path) -> None:
    markets = tmp_path / "markets.json"
    markets.write_text('{"assets": {"INR": {"decimals": 2}}, "markets": [{"symbol": "TATA-INR",'
                       ' "base": "TATA", "quote": "INR", "tickSize": "0.01", "lotSize": "1",'
                       ' "minQuantity": "1"}]}')
    result = run_api({"MUDRA_MARKETS": str(markets)})
    assert result.returncode != 0
    assert "MUDRA_MARKETS" in result.stderr and "TATA" in result.stderr


def test_process_refuses_an_unrepresentable_grid(tmp_path: Path) -> None:
    markets = tmp_path / "markets.json"
    markets.write_text('{"assets": {"INR": {"decimals": 2}, "TATA": {"decimals": 0}}, "markets": [{"symbol":'
                       ' "TATA-INR", "base": "TATA", "quote": "INR", "tickSize": "0.001", "lotSize": "1",'
                       ' "minQuantity": "1"}]}')
    result = run_api({"MUDRA_MARKETS": str(markets)})
    assert result.returncode != 0
    assert "MUDRA_MARKETS" in result.stderr
