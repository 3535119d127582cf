"""Asking the network what runs: Redis and PostgreSQL probes, free and busy ports."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from urllib.parse import urlsplit

import asyncpg

from launcher.infra import POSTGRES_USER, Probe, ProbeState, classify_redis_reply


async def probe_redis(host: str, port: int, timeout: float = 1.0) -> Probe:
    """Send ``PING`` to ``host:port`` and classify the answer."""
    where = f"{host}:{port}"
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return Probe(ProbeState.DOWN, f"nothing answers on {where} ({exc or type(exc).__name__})")
    try:
        writer.write(b"PING\r\n")
        reply = await asyncio.wait_for(reader.readline(), timeout)
    except (OSError, TimeoutError):
        reply = b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return classify_redis_reply(reply, where)


async def probe_postgres(host: str, port: int, timeout: float = 2.0) -> Probe:
    """Connect as ``postgres`` to the ``postgres`` database of ``host:port`` without a password."""
    where = f"{host}:{port}"
    try:
        conn = await asyncpg.connect(host=host, port=port, user=POSTGRES_USER, database="postgres",
                                     timeout=timeout, ssl=False)
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError) as exc:
        return Probe(ProbeState.DOWN, f"nothing answers on {where} ({exc or type(exc).__name__})")
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        return Probe(ProbeState.UNUSABLE, f"PostgreSQL at {where} does not let user postgres in "
                     f"without a password ({exc})")
    except Exception as exc:  # a protocol error from something that is not PostgreSQL, among others
        return Probe(ProbeState.UNUSABLE, f"cannot use {where} as PostgreSQL: {exc!r}")
    await conn.close()
    return Probe(ProbeState.UP)


async def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when ``host:port`` accepts a TCP connection."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def url_address(url: str, default_port: int) -> tuple[str, int] | None:
    """The TCP host and port a Redis/PostgreSQL URL points at (None for a Unix socket)."""
    parts = urlsplit(url)
    if parts.scheme == "unix" or not parts.hostname:
        return None
    return parts.hostname, parts.port or default_port


def port_free(host: str, port: int) -> bool:
    """True when a server could bind ``host:port`` now (the check a service does when it starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int) -> int:
    """``preferred`` when it is free on 127.0.0.1, else a port the OS picks."""
    if port_free("127.0.0.1", preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
