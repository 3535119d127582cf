"""Which Redis and PostgreSQL the exchange uses, decided from the environment and what the probes found.

In order: ``REDIS_URL`` / ``DATABASE_URL`` when set (used as given); otherwise a server answering on the
local default port (127.0.0.1:6379 / :5432); otherwise a private instance started under the data folder
when the server binaries are installed; otherwise a message saying exactly what to install. ``--private``
skips the local probe. Everything here is pure except the binary look-up, which only reads directories.
"""

from __future__ import annotations

import enum
import glob
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

LOCAL_REDIS = ("127.0.0.1", 6379)
LOCAL_POSTGRES = ("127.0.0.1", 5432)
POSTGRES_USER = "postgres"
DATABASE_NAME = "mudra"
POSTGRES_GLOB = "/usr/lib/postgresql/*/bin"

REDIS_INSTALL = ("install Redis (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install "
                 "redis), or set REDIS_URL=redis://HOST:PORT/0 to use a running one")
POSTGRES_INSTALL = ("install PostgreSQL (Debian/Ubuntu: sudo apt-get install -y postgresql; macOS: brew "
                    "install postgresql@15), or set DATABASE_URL=postgresql://USER@HOST:PORT/mudra to use "
                    "a running one")


class ProbeState(enum.Enum):
    UP = "up"  # answers like the server we expect, and lets us in
    DOWN = "down"  # nothing listens
    UNUSABLE = "unusable"  # something listens but we cannot use it (wrong protocol, password needed, ...)


@dataclass(frozen=True, slots=True)
class Probe:
    state: ProbeState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Use:
    """Use a server that is already running."""

    url: str
    origin: str  # "REDIS_URL", "DATABASE_URL" or "local"


@dataclass(frozen=True, slots=True)
class StartPrivate:
    """Start a private instance of this server under the data folder."""

    binary: str  # redis-server, or the PostgreSQL bin directory (initdb and postgres)


@dataclass(frozen=True, slots=True)
class Missing:
    """Nothing usable: the launcher prints ``message`` and exits non-zero."""

    message: str


Choice = Use | StartPrivate | Missing


def local_redis_url() -> str:
    return f"redis://{LOCAL_REDIS[0]}:{LOCAL_REDIS[1]}/0"


def local_database_url() -> str:
    return f"postgresql://{POSTGRES_USER}@{LOCAL_POSTGRES[0]}:{LOCAL_POSTGRES[1]}/{DATABASE_NAME}"


def private_redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def private_database_url(port: int) -> str:
    return f"postgresql://{POSTGRES_USER}@127.0.0.1:{port}/{DATABASE_NAME}"


def choose(env_name: str, env_url: str | None, private: bool, probe: Callable[[], Probe],
           local_url: str, binary: str | None, what: str, install: str) -> Choice:
    """The decision for one server; ``probe`` (of the local default port) is only called when needed."""
    if env_url:
        return Use(env_url, env_name)
    if not private:
        found = probe()
        if found.state is ProbeState.UP:
            return Use(local_url, "local")
        if found.state is ProbeState.UNUSABLE:
            return Missing(f"{what}: {found.detail}; set {env_name} to a {what} the exchange can use")
    if binary is not None:
        return StartPrivate(binary)
    where = "--private asked for a private instance" if private else "nothing answers on the default port"
    return Missing(f"{what}: {env_name} is not set, {where}, and its server is not installed: {install}")


def find_redis_server(path: str | None) -> str | None:
    """``redis-server`` on ``path`` (the PATH value), or None."""
    return shutil.which("redis-server", path=path)


def find_postgres_bin(path: str | None, extra_globs: Sequence[str] = (POSTGRES_GLOB,)) -> str | None:
    """A directory holding both ``initdb`` and ``postgres``: PATH first, then the newest Debian version.

    Debian puts only wrappers on PATH and the real binaries in /usr/lib/postgresql/<version>/bin; a
    symlinked ``initdb`` on PATH counts when ``postgres`` sits next to the file it points to.
    """
    candidates: list[str] = []
    initdb = shutil.which("initdb", path=path)
    if initdb:
        candidates += [os.path.dirname(initdb), os.path.dirname(os.path.realpath(initdb))]
    for pattern in extra_globs:
        candidates += sorted(glob.glob(pattern), key=_version_key, reverse=True)
    for directory in candidates:
        if all(os.access(os.path.join(directory, name), os.X_OK) for name in ("initdb", "postgres")):
            return directory
    return None


def _version_key(directory: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", directory)) or (0,)


def redis_argv(binary: str, port: int, data_dir: Path) -> list[str]:
    """A foreground redis-server on 127.0.0.1:``port``, its AOF under ``data_dir`` (docs/operations.md)."""
    return [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
            "--logfile", ""]


def initdb_argv(bin_dir: str, data_dir: Path) -> list[str]:
    return [os.path.join(bin_dir, "initdb"), "-D", str(data_dir), "-U", POSTGRES_USER, "--auth=trust",
            "--encoding=UTF8"]


def postgres_argv(bin_dir: str, data_dir: Path, port: int) -> list[str]:
    """A foreground postgres on 127.0.0.1:``port``, TCP only (a socket path under a deep folder can be too
    long for a Unix socket, and nothing here needs one)."""
    return [os.path.join(bin_dir, "postgres"), "-D", str(data_dir), "-p", str(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]


def postgres_run_user(euid: int, user_exists: Callable[[str], bool]) -> str | Missing | None:
    """The user to run a private PostgreSQL as: itself when not root (None); PostgreSQL refuses root."""
    if euid != 0:
        return None
    if user_exists(POSTGRES_USER):
        return POSTGRES_USER
    return Missing("PostgreSQL refuses to run as root and there is no 'postgres' user to run it as: run the "
                   "launcher as an ordinary user, or set DATABASE_URL")


def classify_redis_reply(reply: bytes, where: str) -> Probe:
    """What one line of reply to ``PING`` says about the server at ``where``."""
    if reply.startswith(b"+PONG"):
        return Probe(ProbeState.UP)
    if reply.startswith((b"-NOAUTH", b"-WRONGPASS", b"-ERR AUTH")):
        return Probe(ProbeState.UNUSABLE, f"Redis at {where} wants a password")
    if reply.startswith(b"-"):
        text = reply.decode("utf-8", "replace").strip()
        return Probe(ProbeState.UNUSABLE, f"Redis at {where} refused PING: {text}")
    return Probe(ProbeState.UNUSABLE, f"something listens on {where} but does not answer PING like Redis")


def redact(url: str) -> str:
    """``url`` without its password, for printing."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, hostpart = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in userinfo else ''}@{hostpart}"
