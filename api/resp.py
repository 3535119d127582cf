"""A minimal pipelined Redis connection for the API's two hot commands (RPUSH, BLMPOP).

redis-py's asyncio client costs ~60-100 us of Python per command (connection pool checkout, retry
wrapper, argument packing, a coroutine round trip per reply); at low concurrency the API sends one
RPUSH and wakes for one BLMPOP reply per HTTP request, so that was the largest fixed cost left on the
order path (bench/e2e_bench.py --only-fixed --profile; docs/benchmarks.md). This connection writes each
command as soon as it is made and resolves a future per reply straight from ``data_received`` (hiredis
parses), in the order the commands were sent: no task, no pool, no await on the write.

It speaks only what those commands need: AUTH and SELECT from the URL at connect, replies as hiredis
gives them (bytes, ints, lists; ``-ERR`` as :class:`ResponseError`). A lost connection fails every
unanswered command with :class:`ConnectionError` (a ``RedisError``: the API's 503 path); the caller
opens a new one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any, cast

import hiredis
from redis.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

__all__ = ["RespConnection", "encode_command"]


def encode_command(*args: bytes) -> bytes:
    """One RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n" % len(arg))
        parts.append(arg)
        parts.append(b"\r\n")
    return b"".join(parts)


class RespConnection(asyncio.Protocol):
    """One Redis connection; :meth:`send` writes a command and returns the future of its reply."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._lost: Exception | None = None

    @classmethod
    async def open(cls, url: str, timeout: float = 5.0, name: str | None = None) -> RespConnection:
        """Connect to the Redis of ``url`` (redis://, rediss://, unix://), AUTH and SELECT as it says;
        ``name`` is set with CLIENT SETNAME (what CLIENT LIST shows)."""
        params = parse_url(url)
        loop = asyncio.get_running_loop()
        kind = params.get("connection_class")
        try:
            async with asyncio.timeout(timeout):
                if kind is UnixDomainSocketConnection:
                    _, conn = await loop.create_unix_connection(cls, params["path"])
                else:
                    context = ssl.create_default_context() if kind is SSLConnection else None
                    _, conn = await loop.create_connection(
                        cls, params.get("host", "localhost"), params.get("port", 6379), ssl=context)
                replies = []
                password = params.get("password")
                if password is not None:
                    username = params.get("username")
                    auth = (b"AUTH", username.encode(), password.encode()) if username else (
                        b"AUTH", password.encode())
                    replies.append(conn.send(*auth))
                db = int(params.get("db", 0) or 0)
                if db:
                    replies.append(conn.send(b"SELECT", str(db).encode()))
                if name:
                    replies.append(conn.send(b"CLIENT", b"SETNAME", name.encode()))
                for reply in replies:
                    await reply
        except TimeoutError:
            raise RedisConnectionError(f"connecting to Redis timed out after {timeout} s") from None
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
        except BaseException:
            if "conn" in locals():
                conn.close()
            raise
        return conn

    # ------------------------------------------------------------------ use

    @property
    def usable(self) -> bool:
        return self._transport is not None and self._lost is None

    def send(self, *args: bytes) -> asyncio.Future[Any]:
        """Write one command now; the future gets its reply (or the error)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._lost is not None or self._transport is None:
            future.set_exception(RedisConnectionError(f"Redis connection lost: {self._lost}"))
            return future
        self._transport.write(encode_command(*args))
        self._waiting.append(future)
        return future

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have the same methods.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        try:
            reader.feed(data)
            while True:
                reply = reader.gets()
                if reply is False:
                    return
                if not self._waiting:  # nothing asked for it: the stream is out of step
                    raise hiredis.ProtocolError("a reply nobody asked for")
                future = self._waiting.popleft()
                if future.done():  # its caller gave up (cancelled); the reply still came in order
                    continue
                if isinstance(reply, hiredis.ReplyError):
                    future.set_exception(ResponseError(str(reply)))
                else:
                    future.set_result(reply)
        except hiredis.ProtocolError as exc:
            self._fail(RedisConnectionError(f"Redis protocol error: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"Redis connection lost: {exc or 'closed'}"))

    def _fail(self, error: Exception) -> None:
        if self._lost is None:
            self._lost = error
        waiting, self._waiting = self._waiting, deque()
        for future in waiting:
            if not future.done():
                future.set_exception(error)
