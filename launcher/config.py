"""The launcher's settings: command-line flags plus the environment variables of docs/api.md."""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.config import ConfigError, env_port, env_str

DEFAULT_DATA_DIR = ".mudra-data"
DEFAULT_TAKER_RATE = "2"


@dataclass(frozen=True, slots=True)
class LauncherConfig:
    api_host: str
    api_port: int
    ws_host: str
    ws_port: int
    redis_url: str | None  # REDIS_URL when set: used as it is, nothing probed or started
    database_url: str | None  # DATABASE_URL, likewise
    data_dir: Path  # private Redis/PostgreSQL instances keep their files here
    market_maker: bool
    taker_rate: str  # passed to ``python -m market_maker --taker-rate``
    private: bool  # start private Redis/PostgreSQL even when local ones answer
    stop_timeout: float  # seconds between SIGTERM and SIGKILL at shutdown
    start_timeout: float  # seconds the exchange may take to become healthy before the launcher gives up


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m launcher",
        description="Start the whole exchange (Redis and PostgreSQL if needed, engine, API, WebSocket "
        "server, DB writer, market maker) with prefixed logs; Ctrl-C stops it. Ports, URLs and "
        "the namespace come from the environment (docs/api.md, Operations).",
    )
    parser.add_argument("--no-market-maker", action="store_true", help="do not start the market maker")
    parser.add_argument("--taker-rate", default=None, metavar="N",
                        help=f"the market maker's --taker-rate (default {DEFAULT_TAKER_RATE})")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help=f"folder of private Redis/PostgreSQL instances (env MUDRA_DATA_DIR, "
                        f"default {DEFAULT_DATA_DIR})")
    parser.add_argument("--private", action="store_true",
                        help="start private Redis/PostgreSQL under the data folder even if local ones "
                        "run (REDIS_URL/DATABASE_URL still win)")
    parser.add_argument("--stop-timeout", type=float, default=10.0, metavar="S",
                        help="seconds a service gets to stop before SIGKILL (default 10)")
    parser.add_argument("--start-timeout", type=float, default=120.0, metavar="S",
                        help="seconds the exchange may take to become healthy (default 120)")
    return parser


def parse(argv: Sequence[str], environ: Mapping[str, str]) -> LauncherConfig:
    """Read flags and environment; raise ConfigError naming a bad value (argparse exits 2 on bad flags)."""
    args = _parser().parse_args(list(argv))
    taker_rate = args.taker_rate if args.taker_rate is not None else DEFAULT_TAKER_RATE
    try:
        rate = float(taker_rate)
    except ValueError:
        raise ConfigError(f"--taker-rate must be a number, not {taker_rate!r}") from None
    if not math.isfinite(rate) or rate < 0:
        raise ConfigError(f"--taker-rate must be a number >= 0, not {taker_rate!r}")
    for flag, value in (("--stop-timeout", args.stop_timeout), ("--start-timeout", args.start_timeout)):
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{flag} must be a positive number of seconds, not {value}")
    data_dir = args.data_dir or environ.get("MUDRA_DATA_DIR") or DEFAULT_DATA_DIR
    api_port = env_port(environ, "API_PORT", 8000)
    ws_port = env_port(environ, "WS_PORT", 8001)
    if api_port == ws_port:
        raise ConfigError(f"API_PORT and WS_PORT must differ (both {api_port})")
    return LauncherConfig(
        api_host=env_str(environ, "API_HOST", "127.0.0.1"),
        api_port=api_port,
        ws_host=env_str(environ, "WS_HOST", "127.0.0.1"),
        ws_port=ws_port,
        redis_url=environ.get("REDIS_URL") or None,
        database_url=environ.get("DATABASE_URL") or None,
        data_dir=Path(data_dir),
        market_maker=not args.no_market_maker,
        taker_rate=taker_rate,
        private=args.private,
        stop_timeout=args.stop_timeout,
        start_timeout=args.start_timeout,
    )


def display_host(host: str) -> str:
    """The host to put in a URL a person opens: a wildcard bind address is reached via 127.0.0.1."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
