"""ws/config.py: settings from the environment, refusals naming the variable."""

from __future__ import annotations

import pytest

from shared.config import ConfigError
from ws.config import load_config


def test_defaults() -> None:
    config = load_config({})
    assert (config.host, config.port) == ("127.0.0.1", 8001)
    assert config.client_queue == 1000
    assert config.workers == 1
    assert (config.ping_interval, config.ping_timeout) == (20.0, 60.0)
    assert config.namespace == "mudra"
    assert "TATA-INR" in config.markets.markets


def test_values_read() -> None:
    config = load_config({"WS_HOST": "0.0.0.0", "WS_PORT": "9001", "WS_CLIENT_QUEUE": "5",
                          "WS_PING_INTERVAL": "0.5", "WS_PING_TIMEOUT": "2", "MUDRA_NAMESPACE": "t-1",
                          "WS_WORKERS": "2"})
    assert config.workers == 2
    assert (config.host, config.port, config.client_queue) == ("0.0.0.0", 9001, 5)
    assert (config.ping_interval, config.ping_timeout, config.namespace) == (0.5, 2.0, "t-1")


@pytest.mark.parametrize(("name", "value"), [
    ("WS_PORT", "abc"), ("WS_PORT", "0"), ("WS_PORT", "70000"), ("WS_HOST", ""),
    ("WS_CLIENT_QUEUE", "0"), ("WS_CLIENT_QUEUE", "x"), ("WS_PING_INTERVAL", "0"), ("WS_WORKERS", "0"),
    ("WS_WORKERS", "many"), ("WS_WORKERS", "65"),
    ("WS_PING_INTERVAL", "nan"), ("WS_PING_TIMEOUT", "-1"), ("WS_PING_TIMEOUT", "soon"),
    ("REDIS_URL", "http://x"), ("DATABASE_URL", "mysql://x"), ("MUDRA_NAMESPACE", "a b"),
    ("MUDRA_MARKETS", "/nonexistent/markets.json"),
])
def test_bad_value_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config({name: value})
