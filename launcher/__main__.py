"""``python -m launcher`` (what ``make run`` runs): the whole exchange in one terminal.

Exit status: 0 after Ctrl-C/SIGTERM; 1 when Redis/PostgreSQL are missing (the message says what to
install), a port is taken, a service cannot be started or the exchange is not healthy in time; 2 on a bad
flag or configuration value, or when a service refuses its configuration.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from launcher import probes, stores
from launcher.config import LauncherConfig, display_host, parse
from launcher.infra import redact
from launcher.logs import LogSink, use_colour
from launcher.policy import RestartPolicy
from launcher.services import STAGE_ENGINE, banner, child_env, exchange_services
from launcher.supervisor import EXIT_FAILED, Supervisor
from shared.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SERVICE_NAMES = ("redis", "postgres", "engine", "api", "ws", "db_writer", "market_maker")


def market_maker_available() -> bool:
    try:
        return importlib.util.find_spec("market_maker.__main__") is not None
    except ImportError:
        return False


async def launch(config: LauncherConfig, environ: Mapping[str, str], sink: LogSink) -> int:
    for variable, host, port in (("API_PORT", config.api_host, config.api_port),
                                 ("WS_PORT", config.ws_host, config.ws_port)):
        if not probes.port_free(host, port):
            sink.say(f"{host}:{port} is already in use (another exchange running?): stop it, or choose "
                     f"another port with {variable}=...")
            return EXIT_FAILED
    found = await stores.resolve(config, environ, sink)
    if found.problems:
        for problem in found.problems:
            sink.say(f"cannot start: {problem}")
        return EXIT_FAILED
    # A server given by URL may still be starting (docker-compose, a fresh VM): wait for it. Local ones
    # answered the probe already; private ones are the supervisor's first stage.
    given = [(found.redis_url, 6379, "Redis")] if found.redis_origin == "REDIS_URL" else []
    if found.database_origin == "DATABASE_URL":
        given.append((found.database_url, 5432, "PostgreSQL"))
    for url, port, what in given:
        if not await stores.wait_reachable(url, port, what, config.start_timeout, sink):
            return EXIT_FAILED
    sink.say(f"Redis: {redact(found.redis_url)} ({found.redis_origin}); PostgreSQL: "
             f"{redact(found.database_url)} ({found.database_origin})")
    env = child_env(environ, config, found.redis_url, found.database_url)
    specs, notes = exchange_services(config, sys.executable, env, market_maker_available())
    for note in notes:
        sink.say(note)
    host = display_host(config.api_host)
    lines = banner(config, host, f"{redact(found.redis_url)} ({found.redis_origin})",
                   f"{redact(found.database_url)} ({found.database_origin})",
                   (ROOT / "frontend" / "out" / "index.html").exists())

    def ready() -> None:
        for line in lines:
            sink.say(line)

    supervisor = Supervisor(sink, RestartPolicy(), config.stop_timeout, config.start_timeout,
                            health_host=host.strip("[]"))
    prepare = {STAGE_ENGINE: lambda: stores.create_database(found.database_url, sink)}
    return await supervisor.run([*found.specs, *specs], ready, prepare)


def main(argv: Sequence[str] | None = None) -> int:
    environ = dict(os.environ)
    sink = LogSink(sys.stdout, SERVICE_NAMES, use_colour(sys.stdout, environ))
    try:
        config = parse(sys.argv[1:] if argv is None else argv, environ)
    except ConfigError as exc:
        print(f"launcher: configuration error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(launch(config, environ, sink))


if __name__ == "__main__":
    sys.exit(main())
