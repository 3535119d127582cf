"""The WebSocket server: connections and client requests (docs/api.md, WebSocket).

A connection's messages are handled one at a time, in order (so AUTH then SUBSCRIBE orders works when
sent back to back). Everything the server sends a client, replies included, goes through the hub into
the client's one ordered list of outgoing frames (ws/hub.py, ws/sender.py): an ack is queued before the
subscription is registered, and a ``depth@M`` snapshot in the same step as the registration, with no
await in between, so the snapshot and the diffs that follow line up exactly.

Choices where the contract is silent:

- per-message compression is off: it would compress every frame once per client, which defeats
  encoding it once;
- a client with ``WS_CLIENT_QUEUE`` frames waiting (its socket not keeping up) is closed with 1008
  (policy violation) and reason "client too slow";
- SUBSCRIBE to ``depth@M`` again sends a fresh snapshot (a client that saw a gap resubscribes);
- when the server's own replica loses sync (a lost Redis connection, a gap in the engine's feed), the
  ``depth@M`` subscribers get a new snapshot when it is synced again: a client treats every snapshot as a
  reset of its book;
- AUTH with an unknown key is UNAUTHORIZED and leaves the connection as it was; when the database
  cannot be asked, the reply is ``SERVICE_UNAVAILABLE`` (not a contract code: the contract has none for
  it) and the client may retry;
- ``GET /health`` (no upgrade) answers 200 ``ok``; any path other than ``/``, ``/ws`` and ``/health`` 404.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response

from shared.errors import ErrorCode
from shared.keys import Keys
from ws.auth import Authenticator, AuthUnavailable
from ws.books import BookReplica
from ws.config import WsConfig
from ws.hub import Client, Hub
from ws.protocol import (
    DEPTH,
    ORDERS_STREAM,
    Auth,
    Rejection,
    Subscribe,
    ack,
    error_reply,
    parse_message,
    split_stream,
)
from ws.redis_feed import RedisFeed
from ws.sender import FanoutConnection, WsClient

log = logging.getLogger(__name__)

WS_PATHS = frozenset({"/", "/ws"})
HEALTH_PATH = "/health"
#: Hard limit of one incoming message; above it the library closes with 1009. Between
#: protocol.MAX_MESSAGE_BYTES and this, the client gets an error reply and the connection stays open.
MAX_FRAME_BYTES = 2 * 1024 * 1024
#: Incoming frames buffered per connection before the library stops reading from its socket.
MAX_INCOMING_QUEUE = 8
CLOSE_TIMEOUT = 5.0
#: How long a lagging client gets to take the close frame (behind its backlog) before the TCP abort.
KICK_TIMEOUT = 2.0
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
SLOW_CLIENT_REASON = "client too slow"


class WsServer:
    """The ws service: a websockets server, the hub, the book replicas and the Redis feed."""

    def __init__(self, config: WsConfig, authenticator: Authenticator | None = None,
                 reuse_port: bool = False) -> None:
        self._config = config
        self._reuse_port = reuse_port  # one of several worker processes bound to the same port
        self._markets = frozenset(config.markets.markets)
        self.hub = Hub()
        self.books = {market: BookReplica(market) for market in sorted(self._markets)}
        self.feed = RedisFeed(config.redis_url, Keys(config.namespace), self.hub, self.books)
        self._auth = authenticator or Authenticator(config.database_url)
        self._server: Server | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._connections: dict[Client, ServerConnection] = {}
        self._closers: dict[Client, asyncio.Task[None]] = {}

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        assert self._server is not None, "not started"
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def client_count(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        """Reach the database, start the Redis feed, then listen."""
        await self._auth.start()
        self._feed_task = asyncio.create_task(self.feed.run())
        try:
            self._server = await serve(
                self._handle, self._config.host, self._config.port,
                process_request=self._check_path,
                ping_interval=self._config.ping_interval, ping_timeout=self._config.ping_timeout,
                close_timeout=CLOSE_TIMEOUT, max_size=MAX_FRAME_BYTES, max_queue=MAX_INCOMING_QUEUE,
                compression=None, create_connection=FanoutConnection, reuse_port=self._reuse_port,
            )
        except BaseException:
            await self._stop_feed()
            await self._auth.close()
            raise
        log.info("ws listening on %s:%d", self._config.host, self.port)

    async def stop(self) -> None:
        """Close every connection (1001), stop the feed and release Redis and the database."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._closers:
            await asyncio.gather(*self._closers.values(), return_exceptions=True)
        await self._stop_feed()
        await self._auth.close()

    async def _stop_feed(self) -> None:
        if self._feed_task is not None:
            self._feed_task.cancel()
            await asyncio.gather(self._feed_task, return_exceptions=True)
            self._feed_task = None
        await self.feed.close()

    # --- HTTP
    def _check_path(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path in WS_PATHS:
            return None
        if path == HEALTH_PATH and "upgrade" not in request.headers.get("Connection", "").lower():
            status = HTTPStatus.OK if self.feed.connected.is_set() else HTTPStatus.SERVICE_UNAVAILABLE
            return connection.respond(status, "ok\n" if status is HTTPStatus.OK else "redis down\n")
        return connection.respond(HTTPStatus.NOT_FOUND, "not found: connect to / or /ws\n")

    # --- connections
    async def _handle(self, connection: ServerConnection) -> None:
        assert isinstance(connection, FanoutConnection)
        client = WsClient(connection, self._config.client_queue, self._on_overflow)
        self._connections[client] = connection
        try:
            async for message in connection:
                await self._on_message(client, message)
                if client.dropped:
                    break
        except ConnectionClosed:
            pass
        finally:
            self.hub.remove(client)
            connection.client = None  # the two refer to each other: let reference counting free them
            closer = self._closers.pop(client, None)
            if closer is not None:
                await asyncio.gather(closer, return_exceptions=True)
            del self._connections[client]

    def _on_overflow(self, client: Client) -> None:
        connection = self._connections.get(client)
        if connection is not None and client not in self._closers:
            log.info("closing a lagging client %s", connection.remote_address)
            self._closers[client] = asyncio.create_task(self._kick(connection))

    async def _kick(self, connection: ServerConnection) -> None:
        try:
            async with asyncio.timeout(KICK_TIMEOUT):
                await connection.close(CloseCode.POLICY_VIOLATION, SLOW_CLIENT_REASON)
        except TimeoutError:
            connection.transport.abort()  # it does not read: the close frame cannot reach it either

    # --- requests
    async def _on_message(self, client: Client, message: str | bytes) -> None:
        request = parse_message(message, self._markets)
        if isinstance(request, Rejection):
            self.hub.send(client, request.reply())
        elif isinstance(request, Auth):
            await self._authenticate(client, request)
        elif isinstance(request, Subscribe):
            self._subscribe(client, request)
        else:
            for stream in request.streams:
                self.hub.unsubscribe(client, stream)
            self.hub.send(client, ack(request.id))

    def _subscribe(self, client: Client, request: Subscribe) -> None:
        """Ack, register and queue depth snapshots in one step: no await, so no frame slips between."""
        if ORDERS_STREAM in request.streams and client.user_id is None:
            self.hub.send(client, error_reply(request.id, ErrorCode.UNAUTHORIZED.value,
                                              "the orders stream needs a successful AUTH first"))
            return
        if not self.hub.send(client, ack(request.id)):
            return
        for stream in request.streams:
            self.hub.subscribe(client, stream)
            parts = split_stream(stream)
            if parts is not None and parts[0] == DEPTH:
                book = self.books[parts[1]]
                # unsynced: the snapshot is broadcast to every subscriber when the replica syncs
                if book.synced and not self.hub.send(client, book.snapshot_frame()):
                    return

    async def _authenticate(self, client: Client, request: Auth) -> None:
        try:
            user_id = await self._auth.user_for(request.api_key)
        except AuthUnavailable as exc:
            self.hub.send(client, error_reply(request.id, SERVICE_UNAVAILABLE, str(exc)))
            return
        if client.dropped:
            return
        if user_id is None:
            self.hub.send(client, error_reply(request.id, ErrorCode.UNAUTHORIZED.value, "unknown API key"))
            return
        self.hub.set_user(client, user_id)
        self.hub.send(client, ack(request.id))
