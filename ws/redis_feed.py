"""The engine's market data and private order frames, from Redis pub/sub to the hub (docs/internals.md).

One connection PSUBSCRIBEs ``{ns}:md:*`` and SUBSCRIBEs ``{ns}:orders``. A message is one or more frames
separated by ``\\n``; a market frame is the exact WebSocket event, forwarded as the bytes received to the
subscribers of the stream it names. ``depth@M`` frames go through the market's
:class:`~ws.books.BookReplica` first: only diffs that follow the replica are forwarded, so subscribers
always see a contiguous stream. An ``orders`` line is ``<userId>\\t<frame>``.

Replica (re)loads follow the documented procedure: the pattern subscription is confirmed first, then
``{ns}:depth:<M>`` is read. Every confirmation of the pattern subscription (the first one, and the one
redis-py's reconnection produces) counts as a new feed *generation*: every replica is desynced and
reloaded, and a load started in an older generation is discarded. When a replica becomes synced, its
subscribers get a fresh snapshot (the first one for those who subscribed while it was loading, a reset
for the others), and the key is read once more a little later to catch a key that lagged behind diffs
already published before the subscription: the engine rewrites the key at most every 50 ms.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from shared.keys import Keys
from ws.books import BookError, BookReplica, Outcome, parse_diff
from ws.hub import Hub

log = logging.getLogger(__name__)

_STREAM_PREFIX = b'{"stream":"'
_DEPTH_PREFIX = "depth@"
#: Ping Redis when the feed was quiet this long; reconnect when nothing (not even a pong) came for 3x.
IDLE_PING_SECONDS = 5.0
#: After a sync, read the key again this much later (> the engine's 50 ms key throttle) ...
VERIFY_DELAY = 0.25
#: ... and if it is ahead of the replica, give in-flight diffs this long to catch up before reloading.
VERIFY_GRACE = 0.25
_MAX_RETRY_DELAY = 1.0


class FeedLost(ConnectionError):
    """Redis stopped answering on the pub/sub connection."""


def stream_of(frame: bytes) -> str | None:
    """The ``stream`` of a frame: sliced when it comes first, as orjson writes it; parsed otherwise."""
    if frame.startswith(_STREAM_PREFIX):
        end = frame.find(b'"', len(_STREAM_PREFIX))
        if end > 0:
            return frame[len(_STREAM_PREFIX):end].decode(errors="replace")
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    stream = message.get("stream") if isinstance(message, dict) else None
    return stream if isinstance(stream, str) else None


class RedisFeed:
    """Read the engine's frames from Redis and feed the hub and the book replicas."""

    def __init__(self, redis_url: str, keys: Keys, hub: Hub, books: Mapping[str, BookReplica]) -> None:
        self._keys = keys
        self._hub = hub
        self._books = books
        #: The pub/sub connection's CLIENT SETNAME, to find it in CLIENT LIST.
        self.client_name = f"{keys.ns}:ws-feed:{uuid.uuid4().hex[:12]}"
        self._sub_redis = aioredis.Redis.from_url(redis_url, socket_timeout=None, socket_keepalive=True,
                                                  client_name=self.client_name)
        self._redis = aioredis.Redis.from_url(redis_url, socket_timeout=5.0, socket_connect_timeout=5.0)
        self.generation = 0  # +1 at every (re)subscription and every lost connection
        self._loaders: dict[str, tuple[int, asyncio.Task[None]]] = {}  # market -> (generation, task)
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()  # set while subscribed (tests and health wait on it)
        self.frames_received = 0

    # --- lifecycle
    async def run(self) -> None:
        """Stay subscribed forever, reconnecting with a backoff after a lost connection."""
        delay = 0.1
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as exc:
                log.warning("redis feed lost: %s; reconnecting", exc)
            except Exception:  # a bug must not silence market data for good: log it, start afresh
                log.exception("redis feed failed; reconnecting")
            delay = 0.1 if self.connected.is_set() else min(delay * 2, 5.0)
            self._lost()
            await asyncio.sleep(delay)

    async def close(self) -> None:
        tasks = tuple(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._sub_redis.aclose()
        await self._redis.aclose()

    async def _session(self) -> None:
        pubsub = self._sub_redis.pubsub()
        try:
            await pubsub.psubscribe(self._keys.market_channel_pattern())
            await pubsub.subscribe(self._keys.orders_channel())
            await self._listen(pubsub)
        finally:
            await pubsub.aclose()

    async def _listen(self, pubsub: Any) -> None:
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=1.0)
            now = loop.time()
            if message is None:
                if now - last_heard > 3 * IDLE_PING_SECONDS:
                    raise FeedLost("no answer from Redis on the pub/sub connection")
                if now - last_heard > IDLE_PING_SECONDS and not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            last_heard, pinged = now, False
            kind = message["type"]
            if kind == "pmessage":
                self.on_market_data(message["data"])
            elif kind == "message":
                self.on_orders(message["data"])
            elif kind == "psubscribe":
                self._subscribed()

    # --- frames
    def on_market_data(self, data: bytes) -> None:
        """Route every frame of one ``{ns}:md:<M>`` message."""
        for frame in data.split(b"\n"):
            if not frame:
                continue
            self.frames_received += 1
            stream = stream_of(frame)
            if stream is None:
                log.error("market frame without a stream: %.200r", frame)
            elif stream.startswith(_DEPTH_PREFIX):
                self._on_depth(stream[len(_DEPTH_PREFIX):], frame)
            else:
                self._hub.publish(stream, frame)

    def on_orders(self, data: bytes) -> None:
        """Route every ``<userId>\\t<frame>`` line of one ``{ns}:orders`` message."""
        for line in data.split(b"\n"):
            if not line:
                continue
            user, tab, frame = line.partition(b"\t")
            if not tab or not user:
                log.error("orders line without a user id: %.200r", line)
                continue
            self.frames_received += 1
            self._hub.publish_orders(user.decode(errors="replace"), frame)

    def _on_depth(self, market: str, frame: bytes) -> None:
        book = self._books.get(market)
        if book is None:
            return  # a market this server does not list
        try:
            diff = parse_diff(frame)
        except BookError as exc:
            log.error("%s: bad depth frame (%s); reloading the book", market, exc)
            book.desync()
            self._resync(book)
            return
        outcome, forward = book.receive(diff)
        if outcome is Outcome.APPLIED and forward is not None:
            self._hub.publish(book.stream, forward)
        elif outcome is Outcome.GAP:
            log.warning("%s: depth gap (replica at %d, diff %d..%d); reloading", market,
                        book.sequence, diff.first, diff.last)
            self._resync(book)

    # --- replica (re)loads
    def _subscribed(self) -> None:
        """The pattern subscription is (re)confirmed: everything before it may be lost, reload all."""
        self.generation += 1  # loads of the older generation notice it and stop
        for book in self._books.values():
            book.desync()
            self._resync(book)
        self.connected.set()

    def _lost(self) -> None:
        self.connected.clear()
        self.generation += 1
        for book in self._books.values():
            book.desync()

    def _resync(self, book: BookReplica) -> None:
        current = self._loaders.get(book.market)
        if current is not None and current[0] == self.generation and not current[1].done():
            return  # a load of this generation is already retrying: it will see the new pending diffs
        self._loaders[book.market] = (self.generation, self._spawn(self._load(book, self.generation)))

    async def _load(self, book: BookReplica, generation: int) -> None:
        """Read the depth key until the replica is synced with it (the key may lag behind diffs)."""
        delay = 0.02
        while True:
            document = await self._read_key(book.market)
            if generation != self.generation:
                return  # the subscription was renewed meanwhile; a newer load runs
            if document is not _UNREADABLE:
                try:
                    if book.load(document):
                        self._synced(book, generation)
                        return
                except BookError as exc:
                    log.error("%s: bad depth key (%s); retrying", book.market, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_RETRY_DELAY)

    def _synced(self, book: BookReplica, generation: int) -> None:
        log.info("%s: book replica synced at sequence %d", book.market, book.sequence)
        if self._hub.has_subscribers(book.stream):
            self._hub.publish(book.stream, book.snapshot_frame())
        self._spawn(self._verify(book, generation))

    async def _verify(self, book: BookReplica, generation: int) -> None:
        """Reload when the key turns out newer than the replica and no diff brings the replica there."""
        await asyncio.sleep(VERIFY_DELAY)
        document = await self._read_key(book.market)
        if not isinstance(document, dict) or generation != self.generation or not book.synced:
            return
        key_sequence = document.get("sequence")
        if not isinstance(key_sequence, int) or key_sequence <= book.sequence:
            return
        await asyncio.sleep(VERIFY_GRACE)
        if generation == self.generation and book.synced and book.sequence < key_sequence:
            log.warning("%s: replica at %d behind the depth key at %d; reloading", book.market,
                        book.sequence, key_sequence)
            book.desync()
            self._resync(book)

    async def _read_key(self, market: str) -> Any:
        try:
            raw = await self._redis.get(self._keys.depth(market))
        except (RedisError, OSError) as exc:
            log.warning("%s: cannot read the depth key: %s", market, exc)
            return _UNREADABLE
        if raw is None:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.error("%s: depth key is not JSON", market)
            return _UNREADABLE

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


_UNREADABLE: Any = object()
