"""Configuration every service shares, read from the environment once at start-up.

Each service adds its own settings in ``<service>/config.py`` with the helpers here. A bad value raises
:class:`ConfigError` naming the variable; the service's ``__main__`` prints it and exits non-zero.
Names and defaults are the contract's (docs/api.md, Operations).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.markets import MarketsConfig, MarketsFileError, load_markets

_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


def env_str(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, default)
    if value == "":
        raise ConfigError(f"{name} must not be empty")
    return value


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0,
            maximum: int | None = None) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ConfigError(f"{name} must be at least {minimum}{upper}, not {value}")
    return value


def env_port(environ: Mapping[str, str], name: str, default: int) -> int:
    return env_int(environ, name, default, minimum=1, maximum=65535)


def env_url(environ: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = env_str(environ, name, default)
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.hostname or parts.path):
        raise ConfigError(f"{name} must be a {' or '.join(schemes)} URL, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class CommonConfig:
    redis_url: str
    database_url: str
    namespace: str
    markets: MarketsConfig


def load_common(environ: Mapping[str, str] | None = None) -> CommonConfig:
    """REDIS_URL, DATABASE_URL, MUDRA_NAMESPACE and the markets file (MUDRA_MARKETS)."""
    env = os.environ if environ is None else environ
    namespace = env_str(env, "MUDRA_NAMESPACE", "mudra")
    if not _NAMESPACE.fullmatch(namespace):
        raise ConfigError(f"MUDRA_NAMESPACE must be 1-64 of A-Z a-z 0-9 _ . -, not {namespace!r}")
    try:
        markets = load_markets(env.get("MUDRA_MARKETS") or None)
    except MarketsFileError as exc:
        raise ConfigError(f"MUDRA_MARKETS: {exc}") from exc
    return CommonConfig(
        redis_url=env_url(env, "REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix")),
        database_url=env_url(env, "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/mudra",
                             ("postgresql", "postgres")),
        namespace=namespace,
        markets=markets,
    )
