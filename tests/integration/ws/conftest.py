"""Fixtures for the WebSocket server against the real Redis and PostgreSQL.

Each test gets its own MUDRA_NAMESPACE (``test-<uuid>``) and the session its own database
(``mudra_ws_test_<uuid>``, dropped at the end). Servers run in-process on a free port.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from shared.markets import load_markets
from tests.integration.ws.engine_double import EngineDouble
from ws.config import WsConfig
from ws.server import WsServer

REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"mudra_ws_test_{uuid.uuid4().hex[:16]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest_asyncio.fixture
async def redis_client(namespace: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def ws_config(namespace: str, database_url: str) -> WsConfig:
    return WsConfig(host="127.0.0.1", port=0, redis_url=REDIS_URL, database_url=database_url,
                    namespace=namespace, markets=load_markets(), client_queue=1000,
                    ping_interval=20.0, ping_timeout=60.0)


@pytest.fixture
def engine(redis_client: aioredis.Redis, namespace: str, ws_config: WsConfig) -> EngineDouble:
    return EngineDouble(redis_client, namespace, ws_config.markets)


StartServer = Callable[..., Awaitable[WsServer]]


@pytest_asyncio.fixture
async def start_server(ws_config: WsConfig) -> AsyncIterator[StartServer]:
    servers: list[WsServer] = []

    async def start(**overrides: Any) -> WsServer:
        server = WsServer(replace(ws_config, **overrides))
        await server.start()
        servers.append(server)
        await eventually(lambda: all(book.synced for book in server.books.values()))
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest_asyncio.fixture
async def server(start_server: StartServer) -> WsServer:
    return await start_server()


async def eventually(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds (polling), or fail."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


class Client:
    """A test's WebSocket client: JSON in and out, with timeouts."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._next_id = 0

    async def send(self, message: Any) -> None:
        if not isinstance(message, (str, bytes)):
            message = orjson.dumps(message).decode()
        await self.connection.send(message)

    async def recv(self, timeout: float = TIMEOUT) -> Any:
        async with asyncio.timeout(timeout):
            return orjson.loads(await self.connection.recv())

    async def request(self, method: str, params: Any) -> Any:
        """Send a request with a fresh id; return the next message (its reply) after checking the id."""
        self._next_id += 1
        await self.send({"method": method, "params": params, "id": self._next_id})
        reply = await self.recv()
        assert reply.get("id") == self._next_id, reply
        return reply

    async def subscribe(self, *streams: str) -> None:
        reply = await self.request("SUBSCRIBE", list(streams))
        assert reply == {"id": self._next_id, "result": None}

    async def silent(self, timeout: float = 0.2) -> None:
        """Assert that nothing arrives within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                message = await self.connection.recv()
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {message!r}")


ClientFactory = Callable[..., Awaitable[Client]]


@pytest_asyncio.fixture
async def client_factory() -> AsyncIterator[ClientFactory]:
    connections: list[ClientConnection] = []

    async def open_client(server: WsServer | int, path: str = "/", **kwargs: Any) -> Client:
        port = server if isinstance(server, int) else server.port
        kwargs.setdefault("close_timeout", 1.0)
        connection = await connect(f"ws://127.0.0.1:{port}{path}", open_timeout=TIMEOUT, **kwargs)
        connections.append(connection)
        return Client(connection)

    yield open_client
    await asyncio.gather(*(connection.close() for connection in connections))


@pytest_asyncio.fixture
async def client(server: WsServer, client_factory: ClientFactory) -> Client:
    return await client_factory(server)


@pytest_asyncio.fixture
async def api_keys(database_url: str, server: WsServer) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """``await api_keys(user_id)`` -> a new API key of that user (in the table the server created)."""
    conn = await asyncpg.connect(database_url)

    async def new_key(user_id: str) -> str:
        api_key = uuid.uuid4().hex
        await conn.execute("INSERT INTO api_keys (key_hash, user_id) VALUES ($1, $2)",
                           hashlib.sha256(api_key.encode()).digest(), user_id)
        return api_key

    yield new_key
    await conn.close()


@pytest_asyncio.fixture
async def fresh_database() -> AsyncIterator[Callable[[], str]]:
    """``fresh_database()`` -> the URL of a database name nobody uses yet; dropped at teardown."""
    names: list[str] = []

    def new_url() -> str:
        names.append(f"mudra_ws_test_{uuid.uuid4().hex[:16]}")
        return f"postgresql://postgres@127.0.0.1:5432/{names[-1]}"

    yield new_url
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
