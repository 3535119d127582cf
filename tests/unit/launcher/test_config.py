from pathlib import Path

import pytest

from launcher.config import display_host, parse
from shared.config import ConfigError


def test_defaults_follow_the_contract():
    config = parse([], {})
    assert (config.api_host, config.api_port, config.ws_host, config.ws_port) == ("127.0.0.1", 8000,
                                                                                  "127.0.0.1", 8001)
    assert config.redis_url is None and config.database_url is None
    assert config.market_maker and config.taker_rate == "2"
    assert config.data_dir == Path(".mudra-data") and not config.private


def test_flags_and_environment():
    config = parse(["--no-market-maker", "--taker-rate", "0.5", "--private", "--data-dir", "/d"],
                   {"API_PORT": "9000", "WS_PORT": "9001", "REDIS_URL": "redis://r:1/0",
                    "DATABASE_URL": "postgresql://u@h/db", "MUDRA_DATA_DIR": "/ignored"})
    assert not config.market_maker and config.taker_rate == "0.5" and config.private
    assert config.data_dir == Path("/d")
    assert (config.api_port, config.ws_port) == (9000, 9001)
    assert config.redis_url == "redis://r:1/0" and config.database_url == "postgresql://u@h/db"


def test_data_dir_from_the_environment():
    assert parse([], {"MUDRA_DATA_DIR": "/srv/mudra"}).data_dir == Path("/srv/mudra")


def test_empty_urls_count_as_unset():
    config = parse([], {"REDIS_URL": "", "DATABASE_URL": ""})
    assert config.redis_url is None and config.database_url is None


@pytest.mark.parametrize(("argv", "env", "named"), [
    (["--taker-rate", "fast"], {}, "--taker-rate"),
    (["--taker-rate", "-1"], {}, "--taker-rate"),
    (["--taker-rate", "nan"], {}, "--taker-rate"),
    (["--stop-timeout", "0"], {}, "--stop-timeout"),
    ([], {"API_PORT": "70000"}, "API_PORT"),
    ([], {"WS_PORT": "x"}, "WS_PORT"),
    ([], {"API_PORT": "9000", "WS_PORT": "9000"}, "must differ"),
])
def test_bad_values_are_refused_by_name(argv, env, named):
    with pytest.raises(ConfigError, match=named):
        parse(argv, env)


def test_unknown_flag_exits_like_argparse():
    with pytest.raises(SystemExit) as exc:
        parse(["--bogus"], {})
    assert exc.value.code == 2


@pytest.mark.parametrize(("host", "shown"), [("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"),
                                             ("10.0.0.5", "10.0.0.5"), ("::1", "[::1]")])
def test_display_host(host, shown):
    assert display_host(host) == shown
