"""Fan-out under a slow client, and keepalive: a lagging or silent client is dropped, nobody else waits."""

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
