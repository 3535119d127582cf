"""The API's asynchronous client of the engine shards (docs/internals.md, "Request / reply").

Each API process has one reply list, ``Keys.replies(api_id)``, and one background task that pops it
(``BLMPOP`` on its own connection with no socket timeout) and resolves the waiting request's future by
its id. A request is ``RPUSH``ed on the ``in`` list of the shard that owns its market or asset, all the
requests of one event-loop turn in one command per shard. Both hot commands go over
:class:`api.resp.RespConnection` (raw RESP, replies resolved from the protocol callback) rather than
redis-py, whose per-command cost was the largest part of the API's CPU per order at low load. The
market/asset -> shard map is the hash ``Keys.shards()``, re-read when a market or asset is missing
from it or a shard did not answer. No answer within the timeout -> 503 ENGINE_UNAVAILABLE: the engine
may still apply the request later, which API.md allows ("may or may not have been applied").
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.errors import ApiError
from api.redis_values import to_bytes
from api.resp import RespConnection
from shared.errors import ErrorCode
from shared.keys import Keys
from shared.markets import MarketsConfig
from shared.wire import WireError, decode_reply, encode_request

log = logging.getLogger("api.engine")

_POP_BATCH = 256
_RETRY_DELAY_S = 0.5


class EngineReply:
    """One reply: the HTTP status and the JSON body bytes, to return as they are."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class EngineClient:
    """Send requests to the engine shards and wait for their replies."""

    def __init__(self, redis: Redis, redis_url: str, keys: Keys, timeout_ms: int,
                 markets: MarketsConfig) -> None:
        self.api_id = secrets.token_hex(8)
        self._redis = redis
        self._redis_url = redis_url
        self._keys = keys
        self._reply_key = keys.replies(self.api_id)
        self._timeout = timeout_ms / 1000
        self._counter = itertools.count(1)
        self._pending: dict[str, asyncio.Future[EngineReply]] = {}
        self._shards: dict[str, str] = {}
        traded = {a.symbol for market in markets.markets.values() for a in (market.base, market.quote)}
        self._names = frozenset([*markets.markets, *(f"asset:{a}" for a in traded)])
        self._reader: asyncio.Task[None] | None = None
        self._popper: RespConnection | None = None  # the reader's connection (blocked in BLMPOP)
        self._pusher: RespConnection | None = None  # RPUSHes; opened on first use and after a loss
        self._connecting: asyncio.Task[RespConnection] | None = None
        # Requests waiting to be pushed, per shard; flushed with one RPUSH per shard once per loop turn.
        self._outbox: dict[str, _Outgoing] = {}
        self._flush_scheduled = False
        self._flushes: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_replies(), name=f"engine-replies-{self.api_id}")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        for task in [*self._flushes, self._connecting]:
            if task is not None:
                task.cancel()
        for conn in (self._popper, self._pusher):
            if conn is not None:
                conn.close()
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._reply_key)

    # ------------------------------------------------------------------ routing

    async def shard_for_market(self, market: str) -> str:
        return await self._owner(market)

    async def shard_for_asset(self, asset: str) -> str:
        return await self._owner(f"asset:{asset}")

    async def ownership(self) -> dict[str, str]:
        """Owner of every market and ``asset:<A>`` of this exchange (the map re-read when one is missing).

        ENGINE_UNAVAILABLE while any of them has no shard: an answer merged from the shards there are
        would silently leave out the missing one's orders or show its assets as zero.
        """
        missing = self._names.difference(self._shards)
        if missing:
            await self.refresh_shards()
            missing = self._names.difference(self._shards)
            if missing:
                raise _unavailable(f"no engine shard owns {', '.join(sorted(missing))}")
        return {name: self._shards[name] for name in self._names}

    async def all_shards(self) -> list[str]:
        """Every shard owning a market or asset of this exchange (stale entries of others ignored)."""
        return sorted(set((await self.ownership()).values()))

    async def refresh_shards(self) -> None:
        raw = await self._redis.hgetall(self._keys.shards())
        self._shards = {to_bytes(key).decode(): to_bytes(value).decode() for key, value in raw.items()}

    async def _owner(self, name: str) -> str:
        shard = self._shards.get(name)
        if shard is None:
            await self.refresh_shards()
            shard = self._shards.get(name)
            if shard is None:
                raise _unavailable(f"no engine shard owns {name}")
        return shard

    # ------------------------------------------------------------------ requests

    async def request(self, shard: str, op: str, timeout: float | None = None, **fields: Any) -> EngineReply:
        """Send one request to ``shard`` and wait for its reply; ApiError(ENGINE_UNAVAILABLE) on timeout.

        A failed push (Redis unreachable) raises its ``RedisError``, which the API answers with 503 too.
        """
        request_id = f"{self.api_id}:{next(self._counter)}"
        loop = asyncio.get_running_loop()
        future: asyncio.Future[EngineReply] = loop.create_future()
        self._pending[request_id] = future
        wait = self._timeout if timeout is None else timeout
        # The engine refuses the request once the wait is over, so a late engine never applies it.
        deadline = time.time_ns() // 1_000_000 + int(wait * 1000)
        self._enqueue(shard, encode_request(request_id, self._reply_key, op, deadline=deadline, **fields),
                      future)
        timer = loop.call_later(wait, _expire, future)
        try:
            return await future
        except _Expired:
            self._shards = {}  # the shard may have moved; re-read the map on the next request
            raise _unavailable(f"the engine did not answer in time ({op})") from None
        finally:
            timer.cancel()
            self._pending.pop(request_id, None)

    def _enqueue(self, shard: str, request: bytes, future: asyncio.Future[EngineReply]) -> None:
        """Queue a request for the shard; a failed push fails ``future`` with the push's error.

        All requests made in one event-loop turn go out in one RPUSH per shard: under load that is one
        Redis command for many requests, and the engine then takes them in one batch (measured with
        bench/e2e_bench.py: ~25% less API CPU per request).
        """
        outgoing = self._outbox.get(shard)
        if outgoing is None:
            outgoing = self._outbox[shard] = _Outgoing()
        outgoing.requests.append(request)
        outgoing.futures.append(future)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Push the outbox: written at once on a live connection, else after (re)connecting."""
        self._flush_scheduled = False
        outbox, self._outbox = self._outbox, {}
        pusher = self._pusher
        if pusher is not None and pusher.usable:
            self._push(pusher, outbox)
            return
        task = asyncio.create_task(self._connect_and_push(outbox))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _connect_and_push(self, outbox: dict[str, _Outgoing]) -> None:
        try:
            if self._connecting is None:  # one connect at a time; later flushes wait for the same one
                self._connecting = asyncio.create_task(
                    RespConnection.open(self._redis_url, name=f"mudra-api-{self.api_id}-push"))
                self._connecting.add_done_callback(self._connected)
            pusher = await asyncio.shield(self._connecting)
        except Exception as exc:  # every request of this push sees the error (RedisError -> 503)
            for outgoing in outbox.values():
                outgoing.fail(exc)
            return
        self._push(pusher, outbox)

    def _connected(self, task: asyncio.Task[RespConnection]) -> None:
        self._connecting = None
        if not task.cancelled() and task.exception() is None:
            self._pusher = task.result()

    def _push(self, pusher: RespConnection, outbox: dict[str, _Outgoing]) -> None:
        for shard, outgoing in outbox.items():
            pushed = pusher.send(b"RPUSH", self._keys.engine_in(shard).encode(), *outgoing.requests)
            pushed.add_done_callback(outgoing.settle)

    async def _read_replies(self) -> None:
        pop = (b"BLMPOP", b"0", b"1", self._reply_key.encode(), b"LEFT", b"COUNT", str(_POP_BATCH).encode())
        while True:
            try:
                if self._popper is None or not self._popper.usable:
                    self._popper = await RespConnection.open(self._redis_url,
                                                             name=f"mudra-api-{self.api_id}-replies")
                popped = await self._popper.send(*pop)
            except RedisError as exc:
                log.warning("reading engine replies failed, retrying: %s", exc)
                await asyncio.sleep(_RETRY_DELAY_S)
                continue
            except Exception:  # a bug here must not silence every later reply: log it and go on
                log.exception("unexpected error while reading engine replies")
                await asyncio.sleep(_RETRY_DELAY_S)
                continue
            if popped:  # [key, [reply, ...]]
                _, replies = popped
                for raw in replies:
                    if isinstance(raw, bytes):
                        self._resolve(raw)

    def _resolve(self, raw: bytes) -> None:
        try:
            request_id, status, body = decode_reply(raw)
        except WireError as exc:
            log.error("dropping a malformed engine reply: %s", exc)
            return
        future = self._pending.get(request_id)
        if future is not None and not future.done():
            future.set_result(EngineReply(status, body))


class _Outgoing:
    """The requests of one loop turn for one shard, and their callers' futures."""

    __slots__ = ("futures", "requests")

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.futures: list[asyncio.Future[EngineReply]] = []

    def settle(self, pushed: asyncio.Future[Any]) -> None:
        """Done callback of the RPUSH: on failure, every request of it fails with the error."""
        if pushed.cancelled():
            self.fail(RedisError("the push was cancelled"))
        elif (exc := pushed.exception()) is not None:
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        for future in self.futures:
            if not future.done():
                future.set_exception(exc)


class _Expired(Exception):
    """The engine's answer did not come within the request's wait."""


def _expire(future: asyncio.Future[EngineReply]) -> None:
    if not future.done():
        future.set_exception(_Expired())


def _unavailable(message: str) -> ApiError:
    return ApiError(ErrorCode.ENGINE_UNAVAILABLE, message)
