"""The WebSocket server's configuration, read from the environment once at start-up.

Names and defaults are the contract's (docs/api.md, Operations) plus the server's own knobs:

- ``WS_HOST`` / ``WS_PORT``: where to listen (``127.0.0.1:8001``);
- ``WS_CLIENT_QUEUE``: frames that may wait for one client before it counts as lagging and is
  disconnected (default 1000);
- ``WS_PING_INTERVAL`` / ``WS_PING_TIMEOUT``: keepalive, in seconds (20 and 60, as the contract says;
  tests shorten them);
- ``WS_WORKERS``: server processes sharing the port (``SO_REUSEPORT``: the kernel spreads connections
  over them), each with its own Redis subscription and book replicas (default 1; one per core to use
  several cores);
- the common ``REDIS_URL``, ``DATABASE_URL``, ``MUDRA_NAMESPACE`` and ``MUDRA_MARKETS``.

A bad value raises :class:`shared.config.ConfigError` naming the variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import ConfigError, env_int, env_port, env_str, load_common
from shared.markets import MarketsConfig

DEFAULT_CLIENT_QUEUE = 1000
MAX_CLIENT_QUEUE = 1_000_000
DEFAULT_PING_INTERVAL = 20.0
DEFAULT_PING_TIMEOUT = 60.0
MAX_WORKERS = 64
_MAX_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class WsConfig:
    host: str
    port: int
    redis_url: str
    database_url: str
    namespace: str
    markets: MarketsConfig
    client_queue: int
    ping_interval: float
    ping_timeout: float
    workers: int = 1


def env_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A positive duration in seconds (``"20"``, ``"0.5"``), at most an hour."""
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not math.isfinite(value) or value <= 0 or value > _MAX_SECONDS:
        raise ConfigError(f"{name} must be greater than 0 and at most {_MAX_SECONDS:g} seconds, not {raw!r}")
    return value


def load_config(environ: Mapping[str, str] | None = None) -> WsConfig:
    """Read and validate every setting; ConfigError names the first bad one."""
    env = os.environ if environ is None else environ
    common = load_common(env)
    return WsConfig(
        host=env_str(env, "WS_HOST", "127.0.0.1"),
        port=env_port(env, "WS_PORT", 8001),
        redis_url=common.redis_url,
        database_url=common.database_url,
        namespace=common.namespace,
        markets=common.markets,
        client_queue=env_int(env, "WS_CLIENT_QUEUE", DEFAULT_CLIENT_QUEUE, minimum=1,
                             maximum=MAX_CLIENT_QUEUE),
        ping_interval=env_seconds(env, "WS_PING_INTERVAL", DEFAULT_PING_INTERVAL),
        ping_timeout=env_seconds(env, "WS_PING_TIMEOUT", DEFAULT_PING_TIMEOUT),
        workers=env_int(env, "WS_WORKERS", 1, minimum=1, maximum=MAX_WORKERS),
    )
