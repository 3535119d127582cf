"""The DB writer's settings: defaults, and a refusal naming the variable for each bad value."""

from __future__ import annotations

import json

import pytest

from db_writer.config import load_config
from shared.config import ConfigError


def test_defaults():
    config = load_config({})
    assert config.common.database_url == "postgresql://postgres@127.0.0.1:5432/mudra"
    assert config.common.namespace == "mudra"
    assert (config.batch_size, config.consumer, config.health_every_s, config.claim_idle_ms,
            config.connections) == (20, "writer-1", 5, 60_000, 3)


def test_settings_are_read_from_the_environment():
    config = load_config({"DB_WRITER_BATCH_SIZE": "50", "DB_WRITER_CONSUMER": "w2",
                          "DB_WRITER_HEALTH_SECONDS": "1", "MUDRA_NAMESPACE": "x"})
    assert (config.batch_size, config.consumer, config.health_every_s, config.common.namespace) == (
        50, "w2", 1, "x")


@pytest.mark.parametrize("env, variable", [
    ({"DB_WRITER_BATCH_SIZE": "0"}, "DB_WRITER_BATCH_SIZE"),
    ({"DB_WRITER_BATCH_SIZE": "many"}, "DB_WRITER_BATCH_SIZE"),
    ({"DB_WRITER_HEALTH_SECONDS": "-1"}, "DB_WRITER_HEALTH_SECONDS"),
    ({"DB_WRITER_CLAIM_IDLE_MS": "10"}, "DB_WRITER_CLAIM_IDLE_MS"),
    ({"DB_WRITER_CONNECTIONS": "0"}, "DB_WRITER_CONNECTIONS"),
    ({"DB_WRITER_CONSUMER": "two words"}, "DB_WRITER_CONSUMER"),
    ({"DB_WRITER_CONSUMER": ""}, "DB_WRITER_CONSUMER"),
    ({"DATABASE_URL": "mysql://localhost/x"}, "DATABASE_URL"),
    ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432"}, "DATABASE_URL"),
    ({"REDIS_URL": "http://x"}, "REDIS_URL"),
    ({"MUDRA_NAMESPACE": "a b"}, "MUDRA_NAMESPACE"),
    ({"MUDRA_MARKETS": "/nonexistent.json"}, "MUDRA_MARKETS"),
])
def test_a_bad_value_is_refused_naming_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_config(env)


def test_a_market_whose_ticks_would_overflow_bigint_is_refused(tmp_path):
    path = tmp_path / "markets.json"
    path.write_text(json.dumps({
        "assets": {"INR": {"decimals": 18}, "TATA": {"decimals": 0}},
        "markets": [{"symbol": "TATA-INR", "base": "TATA", "quote": "INR", "tickSize": "0.000000000001",
                     "lotSize": "1", "minQuantity": "1"}]}))
    with pytest.raises(ConfigError, match="MUDRA_MARKETS: market TATA-INR"):
        load_config({"MUDRA_MARKETS": str(path)})
