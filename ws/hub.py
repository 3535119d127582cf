"""Subscriptions and fan-out: who gets which frame, without letting a slow client hold the others back.

Every event is framed once: :func:`ws.protocol.text_frame` builds the WebSocket frame, which is the same
bytes for every client (a server's frames are not masked), and the hub appends that one bytes object to
each subscriber's list of outgoing frames. Nothing is encoded per client, nothing is awaited, and no
task or queue exists per client. One callback at the end of the event-loop turn flushes every client that
got something: a client's frames go to its socket in one write (joined when there are several, as when
one engine batch carries a trade, a ticker and candles).

A client whose socket does not keep up (its transport paused writing: the buffer is above its
high-water mark) keeps its frames in the list until the transport resumes. When the list holds
``limit`` frames the client is lagging: it is removed from every stream at once and its ``on_overflow``
callback closes the connection; the others never wait for it.

Replies and events take the same way, so an ack always precedes the events it enables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from ws.protocol import ORDERS_STREAM, text_frame

#: Frames joined into one socket write when a backlog is flushed (bounds the size of one write).
MAX_WRITE_BATCH = 256


class Client:
    """One connection as the hub sees it: its outgoing frames, its streams and its authenticated user.

    Sans I/O: :meth:`write` is the subclass's (ws/sender.py binds it to a socket); ``paused`` follows the
    socket's flow control, and :meth:`resume` flushes what waited.
    """

    __slots__ = ("dropped", "limit", "on_overflow", "out", "paused", "scheduled", "streams", "user_id")

    def __init__(self, limit: int, on_overflow: Callable[[Client], None]) -> None:
        self.out: list[bytes] = []  # framed, not yet written; at most ``limit``
        self.limit = limit
        self.paused = False
        self.scheduled = False  # in the hub's list of clients to flush at the end of this loop turn
        self.streams: set[str] = set()
        self.user_id: str | None = None
        self.dropped = False
        self.on_overflow = on_overflow

    def write(self, data: bytes) -> None:
        """Hand ``data`` (whole frames) to the connection."""
        raise NotImplementedError

    def flush(self) -> None:
        """Write the waiting frames in order, unless the socket is paused (resuming flushes again)."""
        out = self.out
        while out and not self.paused:
            if len(out) == 1:
                data = out[0]
                out.clear()
            elif len(out) <= MAX_WRITE_BATCH:
                data = b"".join(out)
                out.clear()
            else:
                data = b"".join(out[:MAX_WRITE_BATCH])
                del out[:MAX_WRITE_BATCH]
            self.write(data)  # may pause the socket: the rest then waits for resume()

    def resume(self) -> None:
        """The socket takes data again: write what waited."""
        self.paused = False
        self.flush()


class Hub:
    """Stream name -> subscribed clients, plus user id -> clients subscribed to ``orders``.

    ``schedule`` runs a callback soon, after the current one (default: the running loop's ``call_soon``).
    """

    def __init__(self, schedule: Callable[[Callable[[], None]], object] | None = None) -> None:
        self._streams: dict[str, set[Client]] = {}
        self._orders: dict[str, set[Client]] = {}
        self._dirty: list[Client] = []  # clients with frames to write at the end of this loop turn
        self._schedule = schedule
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
        """Forget ``client`` entirely (it disconnected or lagged); what it had not been sent is discarded."""
        for stream in tuple(client.streams):
            self.unsubscribe(client, stream)
        client.out.clear()

    def subscribers(self, stream: str) -> frozenset[Client]:
        return frozenset(self._streams.get(stream, ()))

    def has_subscribers(self, stream: str) -> bool:
        return stream in self._streams

    # --- fan-out
    def publish(self, stream: str, frame: bytes) -> int:
        """Frame ``frame`` once and queue it for every subscriber of ``stream``; return how many got it."""
        clients = self._streams.get(stream)
        return self._fan_out(clients, text_frame(frame)) if clients else 0

    def publish_orders(self, user_id: str, frame: bytes) -> int:
        """Queue a private ``orders`` frame for the connections of ``user_id`` subscribed to it."""
        clients = self._orders.get(user_id)
        return self._fan_out(clients, text_frame(frame)) if clients else 0

    def send(self, client: Client, frame: bytes) -> bool:
        """Queue one frame (a reply, a snapshot) for one client; a full list drops the client."""
        if client.dropped:
            return False
        if len(client.out) >= client.limit:
            self.drop(client)
            return False
        client.out.append(text_frame(frame))
        if not client.scheduled:
            client.scheduled = True
            self._mark(client)
        return True

    def drop(self, client: Client) -> None:
        """Disconnect a lagging client: unsubscribe it now, let its owner close the connection."""
        if client.dropped:
            return
        client.dropped = True
        self.clients_dropped += 1
        self.remove(client)
        client.on_overflow(client)

    def flush(self) -> None:
        """Write what this loop turn queued, one socket write per client (run by the scheduled callback)."""
        dirty, self._dirty = self._dirty, []
        for client in dirty:
            client.scheduled = False
            client.flush()

    def _mark(self, client: Client) -> None:
        dirty = self._dirty
        if not dirty:
            self._schedule_flush()
        dirty.append(client)

    def _schedule_flush(self) -> None:
        if self._schedule is not None:
            self._schedule(self.flush)
        else:
            asyncio.get_running_loop().call_soon(self.flush)

    def _fan_out(self, clients: Collection[Client], wire: bytes) -> int:
        dirty = self._dirty
        if not dirty:
            self._schedule_flush()
        lagging: list[Client] | None = None
        for client in clients:  # the hot loop: one append per subscriber, nothing else in the common case
            out = client.out
            if len(out) < client.limit:
                out.append(wire)
                if not client.scheduled:
                    client.scheduled = True
                    dirty.append(client)
            else:
                lagging = lagging or []
                lagging.append(client)
        if not lagging:
            return len(clients)
        for client in lagging:  # dropped after the loop: dropping changes the set being iterated
            self.drop(client)
        return len(clients) - len(lagging)


def _discard(index: dict[str, set[Client]], key: str, client: Client) -> None:
    clients = index.get(key)
    if clients is not None:
        clients.discard(client)
        if not clients:
            del index[key]
