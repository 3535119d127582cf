"""The API service's configuration, read from the environment once at start-up (docs/api.md, Operations).

A bad value raises :class:`shared.config.ConfigError` naming the variable; ``python -m api`` prints it
and exits non-zero, so a misconfigured API never starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.config import (
    CommonConfig,
    ConfigError,
    env_bool,
    env_int,
    env_port,
    env_str,
    env_url,
    load_common,
)

DEFAULT_RATE_LIMIT_PER_MINUTE = 6000
DEFAULT_ENGINE_TIMEOUT_MS = 3000
DEFAULT_FRONTEND_DIR = Path(__file__).resolve().parents[1] / "frontend" / "out"


@dataclass(frozen=True, slots=True)
class FrontendSettings:
    """Where the browser UI's build is and what ``/config.json`` tells it (api/frontend.py)."""

    directory: Path
    ws_port: int
    public_ws_url: str | None  # None: derived from the request's host
    public_api_base: str


@dataclass(frozen=True, slots=True)
class ApiConfig:
    common: CommonConfig
    host: str
    port: int
    allow_signup: bool
    allow_deposit: bool
    rate_limit_per_minute: int  # 0 turns the limit off
    engine_timeout_ms: int
    frontend: FrontendSettings


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
        frontend=load_frontend_settings(env),
    )


def load_frontend_settings(environ: Mapping[str, str] | None = None) -> FrontendSettings:
    """FRONTEND_DIR, PUBLIC_WS_URL, PUBLIC_API_BASE and WS_PORT (raises ConfigError on a bad one)."""
    env = os.environ if environ is None else environ
    public_ws_url = None
    if env.get("PUBLIC_WS_URL"):
        public_ws_url = env_url(env, "PUBLIC_WS_URL", "", ("ws", "wss"))
    api_base = env_str(env, "PUBLIC_API_BASE", "/api/v1").rstrip("/")
    if not (api_base.startswith("/") or api_base.startswith(("http://", "https://"))):
        raise ConfigError(f"PUBLIC_API_BASE must be a path or an http(s) URL, not {api_base!r}")
    return FrontendSettings(directory=Path(env_str(env, "FRONTEND_DIR", str(DEFAULT_FRONTEND_DIR))),
                            ws_port=env_port(env, "WS_PORT", 8001), public_ws_url=public_ws_url,
                            public_api_base=api_base)
