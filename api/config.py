"""The API service's configuration, read from the environment once at start-up (docs/api.md, Operations).

A bad value raises :class:`shared.config.ConfigError` naming the variable; ``python -m api`` prints it
and exits non-zero, so a misconfigured API never starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import CommonConfig, env_bool, env_int, env_port, env_str, load_common

DEFAULT_RATE_LIMIT_PER_MINUTE = 6000
DEFAULT_ENGINE_TIMEOUT_MS = 3000


@dataclass(frozen=True, slots=True)
class ApiConfig:
    common: CommonConfig
    host: str
    port: int
    allow_signup: bool
    allow_deposit: bool
    rate_limit_per_minute: int  # 0 turns the limit off
    engine_timeout_ms: int


def load_config(environ: Mapping[str, str] | None = None) -> ApiConfig:
    """Read and check every setting of the API service (raises ConfigError on a bad one)."""
    env = os.environ if environ is None else environ
    return ApiConfig(
        common=load_common(env),
        host=env_str(env, "API_HOST", "127.0.0.1"),
        port=env_port(env, "API_PORT", 8000),
        allow_signup=env_bool(env, "ALLOW_SIGNUP", True),
        allow_deposit=env_bool(env, "ALLOW_DEPOSIT", True),
        rate_limit_per_minute=env_int(env, "RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE),
        engine_timeout_ms=env_int(env, "ENGINE_TIMEOUT_MS", DEFAULT_ENGINE_TIMEOUT_MS, minimum=1,
                                  maximum=600_000),
    )
