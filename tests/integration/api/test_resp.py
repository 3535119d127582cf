"""api/resp.py against the real Redis, on asyncio's loop and on uvloop (what `python -m api` runs)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
import redis
import uvloop
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from api.engine_client import EngineClient
from api.resp import RespConnection, encode_command
from shared.keys import Keys
from shared.markets import load_markets
from shared.wire import decode_request, encode_reply
from tests.support.redis_ns import REDIS_URL, delete_namespace, new_namespace


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Awaitable[None]], None]:
    def runner(main: Awaitable[None]) -> None:
        if request.param == "uvloop":
            uvloop.run(main)  # type: ignore[arg-type]
        else:
            asyncio.run(main)  # type: ignore[arg-type]

    return runner


def test_encode_command() -> None:
    assert encode_command(b"RPUSH", b"k", b"") == b"*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$0\r\n\r\n"


def test_pipelined_replies_come_back_in_order(run: Callable[[Awaitable[None]], None],
                                              sync_redis: redis.Redis) -> None:
    key = f"{new_namespace('resp')}:list"

    async def main() -> None:
        conn = await RespConnection.open(REDIS_URL)
        try:
            futures = [conn.send(b"RPUSH", key.encode(), str(i).encode()) for i in range(200)]
            assert await asyncio.gather(*futures) == list(range(1, 201))
            popped = await conn.send(b"BLMPOP", b"0", b"1", key.encode(), b"LEFT", b"COUNT", b"500")
            assert popped == [key.encode(), [str(i).encode() for i in range(200)]]
            assert await conn.send(b"PING") == b"PONG"
        finally:
            conn.close()

    try:
        run(main())
    finally:
        sync_redis.delete(key)


def test_an_error_reply_fails_only_its_command(run: Callable[[Awaitable[None]], None]) -> None:
    async def main() -> None:
        conn = await RespConnection.open(REDIS_URL)
        try:
            bad = conn.send(b"NOSUCHCOMMAND")
            good = conn.send(b"ECHO", b"still here")
            with pytest.raises(ResponseError, match="unknown command"):
                await bad
            assert await good == b"still here"
        finally:
            conn.close()

    run(main())


def test_the_database_of_the_url_is_selected(run: Callable[[Awaitable[None]], None]) -> None:
    key = f"resp-db-{uuid.uuid4().hex}"
    other = redis.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/5")

    async def main() -> None:
        conn = await RespConnection.open(REDIS_URL.rsplit("/", 1)[0] + "/5")
        try:
            assert await conn.send(b"SET", key.encode(), b"v") == b"OK"
        finally:
            conn.close()

    try:
        run(main())
        assert other.get(key) == b"v"
    finally:
        other.delete(key)
        other.close()


def test_a_lost_connection_fails_what_waits_and_refuses_more(run: Callable[[Awaitable[None]], None],
                                                             sync_redis: redis.Redis) -> None:
    async def main() -> None:
        conn = await RespConnection.open(REDIS_URL)
        name = f"resp-kill-{uuid.uuid4().hex[:8]}"
        assert await conn.send(b"CLIENT", b"SETNAME", name.encode()) == b"OK"
        blocked = conn.send(b"BLMPOP", b"0", b"1", f"{name}:never".encode(), b"LEFT")
        await asyncio.sleep(0.05)
        assert await asyncio.to_thread(sync_redis.client_kill_filter, skipme=True,
                                       **_by_name(sync_redis, name)) == 1
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(blocked, 5)
        assert not conn.usable
        with pytest.raises(RedisConnectionError):
            await conn.send(b"PING")

    run(main())


def test_unreachable_redis_is_a_connection_error(run: Callable[[Awaitable[None]], None]) -> None:
    async def main() -> None:
        with pytest.raises(RedisConnectionError):
            await RespConnection.open("redis://127.0.0.1:1/0", timeout=2)

    run(main())


def test_the_engine_client_reconnects_after_losing_redis(run: Callable[[Awaitable[None]], None],
                                                          sync_redis: redis.Redis) -> None:
    """Both of the client's connections killed: the requests in flight fail (503 in the API), the next
    ones go through on new connections. The "engine" here is the test, answering on the reply list."""
    namespace = new_namespace("resp")
    keys = Keys(namespace)

    async def engine_answers(count: int) -> None:
        """Pop ``count`` requests of the shard and answer each with status 200 and its op as body."""
        client = Redis.from_url(REDIS_URL)
        try:
            for _ in range(count):
                _, raw = await client.blpop([keys.engine_in("s1")], timeout=5)  # type: ignore[misc]
                request = decode_request(raw)
                await client.rpush(request.reply, encode_reply(request.id, 200, request.op.encode()))
        finally:
            await client.aclose()

    async def main() -> None:
        aredis = Redis.from_url(REDIS_URL)
        engine = EngineClient(aredis, REDIS_URL, keys, 3000, load_markets())
        await engine.start()
        try:
            answering = asyncio.create_task(engine_answers(2))
            reply = await engine.request("s1", "ping")
            assert (reply.status, reply.body) == (200, b"ping")
            # Kill both connections of this client (the reply reader and the pusher), named by its id.
            killed = 0
            for client in await aredis.client_list():
                if client.get("name", "").startswith(f"mudra-api-{engine.api_id}-"):
                    killed += await aredis.client_kill_filter(_id=client["id"])
            assert killed == 2
            await asyncio.sleep(0.1)
            reply = await engine.request("s1", "ping")  # a fresh pusher; the reader reconnected
            assert (reply.status, reply.body) == (200, b"ping")
            await answering
        finally:
            await engine.close()
            await aredis.aclose()

    try:
        run(main())
    finally:
        delete_namespace(sync_redis, namespace)


def _by_name(client: redis.Redis, name: str) -> dict[str, str]:
    ids = [str(c["id"]) for c in client.client_list() if c.get("name") == name]
    assert len(ids) == 1, ids
    return {"_id": ids[0]}
