"""AUTH against the API's real table: keys made by the API, a hex-text variant, a missing database."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import asyncpg
import orjson
import pytest

from api.auth import AuthStore
from tests.integration.ws.conftest import Client, ClientFactory, StartServer
from tests.integration.ws.engine_double import EngineDouble
from ws.server import WsServer

pytestmark = pytest.mark.asyncio


async def test_key_created_by_the_api_authenticates(fresh_database: Callable[[], str],
                                                    start_server: StartServer, client_factory: ClientFactory,
                                                    engine: EngineDouble) -> None:
    url = fresh_database()
    store = await AuthStore.open(url)  # the API's own schema and key creation
    try:
        user_id, api_key = await store.create_user()
    finally:
        await store.close()
    server = await start_server(database_url=url)
    client = await client_factory(server)
    assert await client.request("AUTH", {"apiKey": api_key}) == {"id": 1, "result": None}
    await client.subscribe("orders")
    sent = await engine.orders((user_id, 5))
    assert await client.recv() == orjson.loads(sent[0])
    assert (await client.request("AUTH", {"apiKey": api_key + "x"}))["error"]["code"] == "UNAUTHORIZED"


async def test_api_starting_after_ws_uses_the_table_ws_created(fresh_database: Callable[[], str],
                                                               start_server: StartServer,
                                                               client_factory: ClientFactory) -> None:
    url = fresh_database()  # does not exist yet: the ws service creates the database and the table
    server = await start_server(database_url=url)
    store = await AuthStore.open(url)
    try:
        _, api_key = await store.create_user()
    finally:
        await store.close()
    client = await client_factory(server)
    assert await client.request("AUTH", {"apiKey": api_key}) == {"id": 1, "result": None}


async def test_hex_text_key_hash_table_works(fresh_database: Callable[[], str], start_server: StartServer,
                                             client_factory: ClientFactory) -> None:
    url = fresh_database()
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE api_keys (key_hash text PRIMARY KEY, user_id text NOT NULL, "
                           "created_at timestamptz NOT NULL DEFAULT now())")
        await conn.execute("INSERT INTO api_keys VALUES ($1, $2)",
                           hashlib.sha256(b"hex-key").hexdigest(), "u-hex")
    finally:
        await conn.close()
    client = await client_factory(await start_server(database_url=url))
    assert await client.request("AUTH", {"apiKey": "hex-key"}) == {"id": 1, "result": None}


async def test_database_gone_gives_service_unavailable_and_connection_stays(client: Client,
                                                                            server: WsServer) -> None:
    await server._auth.close()  # as if PostgreSQL went away
    reply = await client.request("AUTH", {"apiKey": "anything"})
    assert reply["error"]["code"] == "SERVICE_UNAVAILABLE"
    await client.subscribe("trade@TATA-INR")
