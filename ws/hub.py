"""Subscriptions and fan-out: who gets which frame, without letting a slow client hold the others back.

Fan-out offers the *same* bytes object to every subscriber: nothing is encoded per client and nothing is
awaited. Each client has a bounded queue of frames drained in order by one writer task; the connection's
client class (ws/sender.py) writes a frame to the socket at once instead when nothing is ahead of it.
Replies and events take the same way, so an ack always precedes the events it enables. A client whose
queue is full is lagging: it is removed from every stream at once and its ``on_overflow`` callback
closes the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from ws.protocol import ORDERS_STREAM


class Client:
    """One connection as the hub sees it: its queue, its streams and its authenticated user."""

    __slots__ = ("dropped", "on_overflow", "queue", "streams", "user_id")

    def __init__(self, queue_size: int, on_overflow: Callable[[Client], None]) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self.streams: set[str] = set()
        self.user_id: str | None = None
        self.dropped = False
        self.on_overflow = on_overflow

    def offer(self, frame: bytes) -> bool:
        """Take ``frame`` without waiting; False when the client is lagging (queue full) or dropped."""
        if self.dropped:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True


class Hub:
    """Stream name -> subscribed clients, plus user id -> clients subscribed to ``orders``."""

    def __init__(self) -> None:
        self._streams: dict[str, set[Client]] = {}
        self._orders: dict[str, set[Client]] = {}
        self.clients_dropped = 0

    # --- subscriptions
    def subscribe(self, client: Client, stream: str) -> None:
        if stream == ORDERS_STREAM:
            if client.user_id is None:
                raise ValueError("orders needs an authenticated client")
            self._orders.setdefault(client.user_id, set()).add(client)
        else:
            self._streams.setdefault(stream, set()).add(client)
        client.streams.add(stream)

    def unsubscribe(self, client: Client, stream: str) -> None:
        client.streams.discard(stream)
        if stream == ORDERS_STREAM:
            if client.user_id is not None:
                _discard(self._orders, client.user_id, client)
        else:
            _discard(self._streams, stream, client)

    def set_user(self, client: Client, user_id: str) -> None:
        """Authenticate ``client`` as ``user_id``; an ``orders`` subscription follows the new identity."""
        subscribed = ORDERS_STREAM in client.streams
        if subscribed:
            self.unsubscribe(client, ORDERS_STREAM)
        client.user_id = user_id
        if subscribed:
            self.subscribe(client, ORDERS_STREAM)

    def remove(self, client: Client) -> None:
        """Forget ``client`` entirely (it disconnected or lagged)."""
        for stream in tuple(client.streams):
            self.unsubscribe(client, stream)

    def subscribers(self, stream: str) -> frozenset[Client]:
        return frozenset(self._streams.get(stream, ()))

    def has_subscribers(self, stream: str) -> bool:
        return stream in self._streams

    # --- fan-out
    def publish(self, stream: str, frame: bytes) -> int:
        """Queue ``frame`` for every subscriber of ``stream``; return how many got it."""
        clients = self._streams.get(stream)
        return self._fan_out(clients, frame) if clients else 0

    def publish_orders(self, user_id: str, frame: bytes) -> int:
        """Queue a private ``orders`` frame for the connections of ``user_id`` subscribed to it."""
        clients = self._orders.get(user_id)
        return self._fan_out(clients, frame) if clients else 0

    def send(self, client: Client, frame: bytes) -> bool:
        """Queue one frame (a reply, a snapshot) for one client; a full queue drops the client."""
        if client.offer(frame):
            return True
        self.drop(client)
        return False

    def drop(self, client: Client) -> None:
        """Disconnect a lagging client: unsubscribe it now, let its owner close the connection."""
        if client.dropped:
            return
        client.dropped = True
        self.clients_dropped += 1
        self.remove(client)
        client.on_overflow(client)

    def _fan_out(self, clients: Iterable[Client], frame: bytes) -> int:
        lagging: list[Client] | None = None
        delivered = 0
        for client in clients:
            if client.offer(frame):
                delivered += 1
            else:
                lagging = lagging or []
                lagging.append(client)
        if lagging:  # dropped after the loop: dropping changes the set being iterated
            for client in lagging:
                self.drop(client)
        return delivered


def _discard(index: dict[str, set[Client]], key: str, client: Client) -> None:
    clients = index.get(key)
    if clients is not None:
        clients.discard(client)
        if not clients:
            del index[key]
