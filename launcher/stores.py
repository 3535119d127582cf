"""Resolve Redis and PostgreSQL (``infra`` decides, this module probes and prepares private instances)."""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from launcher import infra, probes
from launcher.config import LauncherConfig
from launcher.infra import Missing, StartPrivate, Use
from launcher.logs import LineSplitter, LogSink
from launcher.services import STAGE_STORES, Ready, ServiceSpec
from shared.database import database_name, ensure_database


@dataclass
class Stores:
    redis_url: str = ""
    database_url: str = ""
    redis_origin: str = ""
    database_origin: str = ""
    specs: list[ServiceSpec] = field(default_factory=list)  # private instances to run
    problems: list[str] = field(default_factory=list)  # what is missing; non-empty means do not start


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


async def resolve(config: LauncherConfig, environ: Mapping[str, str], sink: LogSink) -> Stores:
    """Decide both stores, and initialise a private PostgreSQL cluster when one is needed."""
    path = environ.get("PATH")
    # Probe only what the decision needs: a given URL or --private skips the local server.
    redis_probe = pg_probe = None
    if not (config.redis_url or config.private):
        redis_probe = await probes.probe_redis(*infra.LOCAL_REDIS)
    if not (config.database_url or config.private):
        pg_probe = await probes.probe_postgres(*infra.LOCAL_POSTGRES)
    redis = infra.choose("REDIS_URL", config.redis_url, config.private, lambda: _given(redis_probe),
                         infra.local_redis_url(), infra.find_redis_server(path), "Redis", infra.REDIS_INSTALL)
    postgres = infra.choose("DATABASE_URL", config.database_url, config.private, lambda: _given(pg_probe),
                            infra.local_database_url(), infra.find_postgres_bin(path), "PostgreSQL",
                            infra.POSTGRES_INSTALL)
    stores = Stores()
    stores.problems = [choice.message for choice in (redis, postgres) if isinstance(choice, Missing)]
    if stores.problems:  # say everything that is missing at once, and prepare nothing
        return stores
    data_dir = config.data_dir.resolve()
    env = dict(environ)
    if isinstance(redis, Use):
        stores.redis_url, stores.redis_origin = redis.url, redis.origin
    elif isinstance(redis, StartPrivate):
        port = probes.free_port(infra.LOCAL_REDIS[1])
        directory = data_dir / "redis"
        directory.mkdir(parents=True, exist_ok=True)
        stores.redis_url = infra.private_redis_url(port)
        stores.redis_origin = f"private, data in {directory}"
        stores.specs.append(ServiceSpec("redis", tuple(infra.redis_argv(redis.binary, port, directory)),
                                        STAGE_STORES, env, Ready.REDIS, port))
    if isinstance(postgres, Use):
        stores.database_url, stores.database_origin = postgres.url, postgres.origin
    elif isinstance(postgres, StartPrivate):
        spec = await _private_postgres(postgres.binary, data_dir / "postgres", env, sink, stores)
        if spec is not None:
            stores.specs.append(spec)
    return stores


def _given(probe: infra.Probe | None) -> infra.Probe:
    assert probe is not None, "infra.choose probes only when neither the URL nor --private is given"
    return probe


async def _private_postgres(bin_dir: str, directory: Path, env: dict[str, str], sink: LogSink,
                            stores: Stores) -> ServiceSpec | None:
    user = infra.postgres_run_user(os.geteuid(), _user_exists)
    if isinstance(user, Missing):
        stores.problems.append(user.message)
        return None
    if user is not None:
        blocked = _first_closed_parent(directory, user)
        if blocked is not None:
            stores.problems.append(f"PostgreSQL runs as user {user} (it refuses root), which cannot enter "
                                   f"{blocked}: choose another data folder (--data-dir or MUDRA_DATA_DIR)")
            return None
    if not (directory / "PG_VERSION").exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        sink.say(f"creating a PostgreSQL cluster in {directory}")
        if await _run(infra.initdb_argv(bin_dir, directory), env, user, sink, "initdb") != 0:
            stores.problems.append(f"initdb failed for {directory} (its output is above)")
            return None
    port = probes.free_port(infra.LOCAL_POSTGRES[1])
    stores.database_url = infra.private_database_url(port)
    stores.database_origin = f"private, data in {directory}"
    # SIGINT is PostgreSQL's "fast" shutdown (SIGTERM would wait for every client to leave); only the
    # postmaster gets it, and it stops its own backends.
    return ServiceSpec("postgres", tuple(infra.postgres_argv(bin_dir, directory, port)), STAGE_STORES, env,
                       Ready.POSTGRES, port, stop_signal=signal.SIGINT, signal_group=False, user=user)


def _first_closed_parent(directory: Path, user: str) -> Path | None:
    """The first existing parent of ``directory`` that ``user`` may not enter (its x bit is off for them)."""
    entry = pwd.getpwnam(user)
    for parent in reversed(directory.parents):
        if not parent.exists():
            break
        st = parent.stat()
        if st.st_uid == entry.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid == entry.pw_gid:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            return parent
    return None


async def _run(argv: list[str], env: dict[str, str], user: str | None, sink: LogSink, name: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, user=user, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    splitter = LineSplitter()
    while chunk := await proc.stdout.read(65536):
        for line in splitter.feed(chunk):
            sink.line(name, line)
    for line in splitter.flush():
        sink.line(name, line)
    return await proc.wait()


async def create_database(database_url: str, sink: LogSink) -> None:
    """Create the exchange's database before the services start, so they do not race to create it.

    Each service would create it too (shared.database.ensure_database, which tolerates the race); doing
    it once here keeps their first start quiet. A failure here is only logged: the services then try
    themselves and say what is wrong.
    """
    try:
        if await ensure_database(database_url, timeout=10):
            sink.say(f"created database {database_name(database_url)}")
    except (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        sink.say(f"could not create the database of {infra.redact(database_url)} ahead of the services: "
                 f"{exc!r}")


async def wait_reachable(url: str, default_port: int, what: str, timeout: float, sink: LogSink) -> bool:
    """Wait until the server of a given URL accepts TCP connections (a Unix socket URL is not checked)."""
    address = probes.url_address(url, default_port)
    if address is None:
        return True
    deadline = time.monotonic() + timeout
    noted = False
    while not await probes.tcp_open(*address):
        if time.monotonic() >= deadline:
            sink.say(f"{what} at {infra.redact(url)} did not answer within {timeout:g} s")
            return False
        if not noted:
            sink.say(f"waiting for {what} at {address[0]}:{address[1]}")
            noted = True
        await asyncio.sleep(0.5)
    return True
