"""Fan-out: one frame for all, slow and stalled clients (dropped or resumed), keepalive; nobody else waits."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.ws.conftest import ClientFactory, StartServer, eventually
from tests.integration.ws.engine_double import EngineDouble
from ws.protocol import text_frame
from ws.server import WsServer

pytestmark = pytest.mark.asyncio

M = "TATA-INR"


async def test_client_that_never_reads_is_dropped_while_others_get_everything(
        start_server: StartServer, client_factory: ClientFactory, engine: EngineDouble) -> None:
    server = await start_server(client_queue=50)
    fast = await client_factory(server)
    await fast.subscribe(f"trade@{M}")
    # the slow client: a tiny receive buffer, and never reads after its ack
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    slow_connection = await connect(f"ws://127.0.0.1:{server.port}/", sock=sock, max_queue=1,
                                    close_timeout=1)
    try:
        await slow_connection.send('{"method":"SUBSCRIBE","params":["trade@TATA-INR"],"id":1}')
        assert orjson.loads(await slow_connection.recv()) == {"id": 1, "result": None}
        received: list[int] = []

        async def read_fast() -> None:
            while True:
                event = await fast.recv(timeout=10)
                received.append(event["data"]["quantity"])
                if event["data"].get("last"):
                    return

        reader = asyncio.create_task(read_fast())
        published = 0
        while server.hub.clients_dropped == 0:
            assert published < 20_000, "the slow client was never dropped"
            frames = [engine.trade_frame(M, lots=published + i + 1, padding=4000) for i in range(50)]
            await engine.publish(M, *frames)
            published += len(frames)
            await asyncio.sleep(0.001)
        last = orjson.loads(engine.trade_frame(M, lots=published + 1))
        last["data"]["last"] = True
        await engine.publish(M, orjson.dumps(last))
        await reader
        assert received == [str(n) for n in range(1, published + 2)]  # all of them, in order
        await eventually(lambda: server.client_count == 1, timeout=10)
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    await slow_connection.recv()
        # 1008 when the close frame got through behind the backlog, none when the server had to abort
        assert closed.value.rcvd is None or closed.value.rcvd.code == 1008
    finally:
        await slow_connection.close()


async def test_client_not_answering_pings_is_dropped(start_server: StartServer, client_factory: ClientFactory
                                                     ) -> None:
    server = await start_server(ping_interval=0.2, ping_timeout=0.4)
    normal = await client_factory(server)  # the library answers pings for it
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        await writer.drain()
        async with asyncio.timeout(5):
            assert (await reader.readline()).startswith(b"HTTP/1.1 101")
            await eventually(lambda: server.client_count == 2)
            data = await reader.read()  # pings, then the close; never answered: EOF within ~0.6 s
        assert b"\x89" in data  # a ping frame (FIN + opcode 9) was sent
        writer.close()  # the server half-closed: finish the TCP close as any peer would
        await eventually(lambda: server.client_count == 1)
        await normal.subscribe(f"trade@{M}")  # the answering client is still connected
    finally:
        writer.close()
        await writer.wait_closed()


class RawClient:
    """A WebSocket client on a bare socket: handshake, masked requests, and the server's bytes as sent."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    @classmethod
    async def connect(cls, port: int, rcvbuf: int | None = None) -> RawClient:
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        client = cls(sock)
        key = base64.b64encode(os.urandom(16)).decode()
        await client.send_raw((f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        while b"\r\n\r\n" not in client.buffer:
            await client.read_some()
        head, _, client.buffer = client.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return client

    async def send_raw(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def request(self, message: bytes) -> None:
        """Send one masked text frame (payloads under 126 bytes)."""
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(message))
        await self.send_raw(bytes((0x81, 0x80 | len(message))) + mask + masked)

    async def read_some(self) -> None:
        async with asyncio.timeout(10):
            data = await asyncio.get_running_loop().sock_recv(self.sock, 1 << 20)
        assert data, "connection closed"
        self.buffer += data

    async def read_exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            await self.read_some()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def close(self) -> None:
        self.sock.close()


SUBSCRIBE_TRADES = b'{"method":"SUBSCRIBE","params":["trade@TATA-INR"],"id":1}'


async def test_every_subscriber_gets_the_same_frame_bytes(server: WsServer, engine: EngineDouble) -> None:
    clients = [await RawClient.connect(server.port) for _ in range(3)]
    try:
        ack = text_frame(b'{"id":1,"result":null}')
        for client in clients:
            await client.request(SUBSCRIBE_TRADES)
            assert await client.read_exactly(len(ack)) == ack
        # 7-bit, 16-bit and 64-bit payload lengths, in one Redis message
        frames = [engine.trade_frame(M, lots=1), engine.trade_frame(M, lots=2, padding=300),
                  engine.trade_frame(M, lots=3, padding=70_000)]
        await engine.publish(M, *frames)
        expected = b"".join(text_frame(frame) for frame in frames)
        received = [await client.read_exactly(len(expected)) for client in clients]
        assert received == [expected] * 3
    finally:
        for client in clients:
            client.close()


async def test_client_that_stalls_then_reads_gets_everything_in_order(
        start_server: StartServer, client_factory: ClientFactory, engine: EngineDouble) -> None:
    server = await start_server(client_queue=100_000)
    fast = await client_factory(server)
    await fast.subscribe(f"trade@{M}")
    stalled = await RawClient.connect(server.port, rcvbuf=4096)
    try:
        await stalled.request(SUBSCRIBE_TRADES)
        ack = text_frame(b'{"id":1,"result":null}')
        assert await stalled.read_exactly(len(ack)) == ack
        frames: list[bytes] = []
        # publish until the server's transport for the stalled client pauses (its socket is full)
        while not any(client.paused for client in server.hub.subscribers(f"trade@{M}")):
            assert len(frames) < 5_000, "the stalled client's transport never paused"
            batch = [engine.trade_frame(M, lots=len(frames) + i + 1, padding=2000) for i in range(20)]
            await engine.publish(M, *batch)
            frames += batch
            await asyncio.sleep(0.005)
        more = [engine.trade_frame(M, lots=len(frames) + i + 1, padding=2000) for i in range(50)]
        await engine.publish(M, *more)  # these wait in the client's list
        frames += more
        expected = b"".join(text_frame(frame) for frame in frames)
        assert await stalled.read_exactly(len(expected)) == expected  # reading resumes the transport
        for frame in frames:
            assert await fast.recv() == orjson.loads(frame)
        assert server.hub.clients_dropped == 0 and server.client_count == 2
    finally:
        stalled.close()
