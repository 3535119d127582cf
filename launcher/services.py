"""What the launcher starts, in which order, and how it knows each stage is ready."""

from __future__ import annotations

import enum
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from launcher.config import LauncherConfig


class Ready(enum.Enum):
    """How the supervisor knows a service is up before it starts the next stage."""

    STARTED = "started"  # nothing to check: the process runs
    REDIS = "redis"  # answers PING on its port
    POSTGRES = "postgres"  # accepts a connection on its port
    HTTP_HEALTH = "http"  # GET /api/v1/health answers 200 (Redis reachable, engine answers)
    TCP = "tcp"  # accepts a TCP connection on its port


# Stages start in this order; each waits until the one before it is ready. Shutdown runs in reverse.
STAGE_STORES = 0  # private Redis / PostgreSQL
STAGE_ENGINE = 1
STAGE_SERVICES = 2  # api, ws, db_writer
STAGE_CLIENTS = 3  # market maker


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    stage: int
    env: Mapping[str, str] = field(default_factory=dict)  # the whole environment of the child
    ready: Ready = Ready.STARTED
    port: int | None = None  # what REDIS / POSTGRES / HTTP_HEALTH / TCP readiness checks
    stop_signal: int = signal.SIGTERM
    signal_group: bool = True  # deliver the stop signal to the child's whole process group
    user: str | None = None  # run as this user (PostgreSQL refuses root)


def child_env(base: Mapping[str, str], config: LauncherConfig, redis_url: str,
              database_url: str) -> dict[str, str]:
    """The caller's environment plus the resolved URLs and ports, so every service agrees on them."""
    env = dict(base)
    env.update({
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "API_HOST": config.api_host,
        "API_PORT": str(config.api_port),
        "WS_HOST": config.ws_host,
        "WS_PORT": str(config.ws_port),
        "PYTHONUNBUFFERED": "1",  # output reaches the log as it is written, not in 8 KiB blocks
    })
    # The market maker keeps its accounts' API keys in a state file; with the demo's data, not in ~/.local.
    env.setdefault("MM_STATE_FILE", os.path.join(os.path.abspath(config.data_dir), "market_maker.json"))
    return env


def exchange_services(config: LauncherConfig, python: str, env: Mapping[str, str],
                      market_maker_available: bool) -> tuple[list[ServiceSpec], list[str]]:
    """The exchange's own services, and notes about what was left out (and why)."""

    def module(name: str, stage: int, *args: str, ready: Ready = Ready.STARTED,
               port: int | None = None) -> ServiceSpec:
        return ServiceSpec(name, (python, "-m", name, *args), stage, env, ready, port)

    specs = [
        module("engine", STAGE_ENGINE),
        module("api", STAGE_SERVICES, ready=Ready.HTTP_HEALTH, port=config.api_port),
        module("ws", STAGE_SERVICES, ready=Ready.TCP, port=config.ws_port),
        module("db_writer", STAGE_SERVICES),
    ]
    notes: list[str] = []
    if not config.market_maker:
        notes.append("market_maker: not started (--no-market-maker)")
    elif not market_maker_available:
        notes.append("market_maker: not started, the package has no __main__ yet; the book stays empty "
                     "until someone trades")
    else:
        specs.append(module("market_maker", STAGE_CLIENTS, "--taker-rate", config.taker_rate))
    return specs, notes


def stages(specs: Sequence[ServiceSpec]) -> list[list[ServiceSpec]]:
    """The specs grouped by stage, first stage first."""
    by_stage: dict[int, list[ServiceSpec]] = {}
    for spec in specs:
        by_stage.setdefault(spec.stage, []).append(spec)
    return [by_stage[stage] for stage in sorted(by_stage)]


def banner(config: LauncherConfig, host: str, redis: str, database: str,
           frontend_built: bool) -> list[str]:
    """The lines printed once the exchange is healthy."""
    base = f"http://{host}:{config.api_port}"
    lines = [
        "E-Mudra-Bajar is running",
        f"  open      {base}/" + ("" if frontend_built else "   (frontend not built: run `make frontend`)"),
        f"  REST API  {base}/api/v1   (OpenAPI docs {base}/docs)",
        f"  WebSocket ws://{host}:{config.ws_port}/",
        f"  Redis     {redis}",
        f"  Postgres  {database}",
        "Ctrl-C stops everything.",
    ]
    return lines
