"""A hub client bound to a websockets connection: its frames go straight to the socket's transport.

The hub (ws/hub.py) frames each event once and, at the end of the event-loop turn, asks every client
that got something to flush: :meth:`WsClient.write` hands the already-framed bytes to the transport in
one call, as websockets' own ``broadcast()`` does after framing (which it does once per client; here the
frame is built once for all). No task and no ``await`` per client: the transport's buffer is the only
buffer besides the client's bounded list of frames.

Flow control: :class:`FanoutConnection` is the server's connection class (``serve(create_connection=)``);
when the transport pauses writing (its buffer above websockets' ``write_limit``, 32 KiB by default) the
client stops writing and keeps its frames, and when the transport resumes it writes them, in order. A
client that keeps ``limit`` frames waiting is dropped by the hub.

Frames written here and the library's own frames (pings, pongs, close) share the transport; each write
is whole frames, so they interleave only at frame boundaries. Nothing is written once the connection is
no longer OPEN (a data frame after a close frame would break the protocol).

Measured with bench/ws_fanout_bench.py (docs/benchmarks.md): most of the server's remaining cost per
delivery is the ``write`` system call on the client's socket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from ws.hub import Client

log = logging.getLogger(__name__)


class FanoutConnection(ServerConnection):
    """A ServerConnection that tells its hub client when the transport pauses and resumes writing."""

    client: WsClient | None = None

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.client is not None:
            self.client.paused = True

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.client is not None:
            self.client.resume()


class WsClient(Client):
    """One websockets connection as a hub client."""

    __slots__ = ("_protocol", "_transport", "connection")

    def __init__(self, connection: FanoutConnection, limit: int,
                 on_overflow: Callable[[Client], None]) -> None:
        super().__init__(limit, on_overflow)
        self.connection = connection
        self._protocol = connection.protocol
        self._transport = connection.transport
        self.paused = connection.paused
        connection.client = self

    def write(self, data: bytes) -> None:
        """Write whole frames to the transport while the connection is open; drop them otherwise."""
        transport = self._transport
        if self._protocol.state is not State.OPEN or transport.is_closing():
            return  # closing: what was not written is lost with the connection anyway
        try:
            transport.write(data)
        except Exception:  # never let one broken socket stop the flush of the others
            log.exception("cannot write to %s", self.connection.remote_address)
