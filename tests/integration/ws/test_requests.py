"""Client requests over a real connection: acks, routing by stream, malformed messages, AUTH and orders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
import pytest
from websockets.exceptions import InvalidStatus

from shared.types import Side
from tests.integration.ws.conftest import Client, ClientFactory
from tests.integration.ws.engine_double import EngineDouble
from ws.server import WsServer

pytestmark = pytest.mark.asyncio

NewKey = Callable[[str], Awaitable[str]]


async def test_subscribe_and_unsubscribe_acked(client: Client) -> None:
    await client.send({"method": "SUBSCRIBE", "params": ["trade@TATA-INR", "ticker@TATA-INR"], "id": 1})
    assert await client.recv() == {"id": 1, "result": None}
    await client.send({"method": "UNSUBSCRIBE", "params": ["trade@TATA-INR"], "id": "two"})
    assert await client.recv() == {"id": "two", "result": None}
    await client.send({"method": "UNSUBSCRIBE", "params": ["kline.1m@INFY-INR"]})  # not subscribed: fine
    assert await client.recv() == {"id": None, "result": None}


async def test_events_only_for_subscribed_streams(client: Client, engine: EngineDouble) -> None:
    await client.subscribe("trade@TATA-INR")
    await engine.publish("INFY-INR", engine.trade_frame("INFY-INR"))
    await engine.publish("TATA-INR", b'{"stream":"ticker@TATA-INR","data":{"market":"TATA-INR"}}')
    wanted = engine.trade_frame("TATA-INR")
    await engine.publish("TATA-INR", wanted)
    assert await client.recv() == orjson.loads(wanted)
    await client.request("UNSUBSCRIBE", ["trade@TATA-INR"])
    await client.subscribe("kline.1m@TATA-INR")
    await engine.trade("TATA-INR")
    candle = b'{"stream":"kline.1m@TATA-INR","data":{"openTime":0,"closed":false}}'
    await engine.publish("TATA-INR", candle)
    assert await client.recv() == orjson.loads(candle)  # the trade after UNSUBSCRIBE never came
    await client.silent()


async def test_frames_of_one_message_forwarded_in_order_bytes_unchanged(client: Client,
                                                                        engine: EngineDouble) -> None:
    await client.subscribe("trade@TATA-INR", "ticker@TATA-INR")
    frames = [engine.trade_frame("TATA-INR"), b'{"stream":"ticker@TATA-INR","data":{"x":1}}',
              engine.trade_frame("TATA-INR")]
    await engine.publish("TATA-INR", *frames)
    for expected in frames:
        async with asyncio.timeout(5):
            assert (await client.connection.recv(decode=False)) == expected


async def test_ack_comes_before_the_first_event(server: WsServer, client_factory: ClientFactory,
                                                engine: EngineDouble) -> None:
    stop = asyncio.Event()

    async def publish_forever() -> None:
        while not stop.is_set():
            await engine.trade("TATA-INR")
            await asyncio.sleep(0)

    publisher = asyncio.create_task(publish_forever())
    try:
        for round_number in range(20):
            client = await client_factory(server, max_queue=None)  # reads on: closes fast at teardown
            await client.send({"method": "SUBSCRIBE", "params": ["trade@TATA-INR"], "id": round_number})
            assert await client.recv() == {"id": round_number, "result": None}
            assert (await client.recv())["stream"] == "trade@TATA-INR"
    finally:
        stop.set()
        await publisher


@pytest.mark.parametrize(("message", "reply_id"), [
    ("this is not json", None),
    ("{", None),
    ("[]", None),
    ('{"method":"SUBSCRIBE","params":"trade@TATA-INR","id":4}', 4),
    ('{"method":"SUBSCRIBE","params":[42],"id":5}', 5),
    ('{"method":"SUBSCRIBE","params":["trade@TATA-INR"],"id":{"no":1}}', None),
    ('{"method":"SUBSCRIBE","params":["nope@TATA-INR"],"id":6}', 6),
    ('{"method":"SUBSCRIBE","params":["trade@NOPE-INR"],"id":7}', 7),
    ('{"method":"PING","id":8}', 8),
    ('{"method":"AUTH","params":{"apiKey":5},"id":9}', 9),
])
async def test_malformed_message_error_reply_and_connection_usable(client: Client, message: str,
                                                                   reply_id: object) -> None:
    await client.send(message)
    reply = await client.recv()
    assert reply["id"] == reply_id
    assert reply["error"]["code"] == "INVALID_REQUEST"
    assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
    await client.subscribe("trade@TATA-INR")


async def test_unknown_stream_subscribes_nothing(client: Client, engine: EngineDouble) -> None:
    reply = await client.request("SUBSCRIBE", ["trade@TATA-INR", "bogus"])
    assert reply["error"]["code"] == "INVALID_REQUEST"
    await engine.trade("TATA-INR")
    await client.silent()


async def test_binary_frame_error_reply(client: Client) -> None:
    await client.send(b'{"method":"SUBSCRIBE","params":["trade@TATA-INR"],"id":1}')
    reply = await client.recv()
    assert reply["id"] is None and reply["error"]["code"] == "INVALID_REQUEST"
    await client.subscribe("trade@TATA-INR")


async def test_one_megabyte_message_error_reply_and_connection_usable(client: Client) -> None:
    await client.send('{"method":"SUBSCRIBE","params":["' + "x" * 1_000_000 + '"],"id":1}')
    reply = await client.recv()
    assert reply["id"] is None and reply["error"]["code"] == "INVALID_REQUEST"
    assert "larger than" in reply["error"]["message"]
    await client.subscribe("trade@TATA-INR")


async def test_orders_without_auth_unauthorized(client: Client) -> None:
    reply = await client.request("SUBSCRIBE", ["orders", "trade@TATA-INR"])
    assert reply["error"]["code"] == "UNAUTHORIZED"
    await client.subscribe("trade@TATA-INR")  # the connection stays usable


async def test_auth_with_unknown_key_unauthorized(client: Client, api_keys: NewKey) -> None:
    reply = await client.request("AUTH", {"apiKey": "not-a-key"})
    assert reply["error"]["code"] == "UNAUTHORIZED"
    assert (await client.request("SUBSCRIBE", ["orders"]))["error"]["code"] == "UNAUTHORIZED"


async def test_auth_then_orders_only_for_that_user(server: WsServer, client_factory: ClientFactory,
                                                   engine: EngineDouble, api_keys: NewKey) -> None:
    alice, alice_again, bob, anonymous = [await client_factory(server) for _ in range(4)]
    alice_key, bob_key = await api_keys("u-alice"), await api_keys("u-bob")
    for connection, key in ((alice, alice_key), (alice_again, alice_key), (bob, bob_key)):
        assert await connection.request("AUTH", {"apiKey": key}) == {"id": 1, "result": None}
        await connection.subscribe("orders")
    await anonymous.subscribe("trade@TATA-INR")
    sent = await engine.orders(("u-alice", 1), ("u-bob", 2), ("u-carol", 3), ("u-alice", 4))
    for connection in (alice, alice_again):
        assert [await connection.recv(), await connection.recv()] == [orjson.loads(sent[0]),
                                                                      orjson.loads(sent[3])]
    assert await bob.recv() == orjson.loads(sent[1])
    for connection in (alice, alice_again, bob, anonymous):
        await connection.silent(0.1)
    assert orjson.loads(sent[0])["data"]["orderId"] == "TATA-INR-1"


async def test_auth_and_subscribe_sent_back_to_back(client: Client, engine: EngineDouble,
                                                    api_keys: NewKey) -> None:
    key = await api_keys("u-fast")
    await client.send({"method": "AUTH", "params": {"apiKey": key}, "id": 1})
    await client.send({"method": "SUBSCRIBE", "params": ["orders"], "id": 2})
    assert await client.recv() == {"id": 1, "result": None}
    assert await client.recv() == {"id": 2, "result": None}
    sent = await engine.orders(("u-fast", 9))
    assert await client.recv() == orjson.loads(sent[0])


async def test_unsubscribe_orders_stops_private_frames(client: Client, engine: EngineDouble,
                                                       api_keys: NewKey) -> None:
    await client.request("AUTH", {"apiKey": await api_keys("u-x")})
    await client.subscribe("orders")
    await client.request("UNSUBSCRIBE", ["orders"])
    await engine.orders(("u-x", 1))
    await client.silent()


@pytest.mark.parametrize("path", ["/", "/ws", "/?x=1"])
async def test_both_paths_accepted(server: WsServer, client_factory: ClientFactory, path: str) -> None:
    client = await client_factory(server, path)
    await client.subscribe("trade@TATA-INR")


async def test_other_path_refused_with_404(server: WsServer, client_factory: ClientFactory) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await client_factory(server, "/nope")
    assert refused.value.response.status_code == 404


async def test_health_answers_ok(server: WsServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    async with asyncio.timeout(5):
        status = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert status.startswith(b"HTTP/1.1 200")


async def test_garbage_on_the_redis_channels_is_skipped(client: Client, engine: EngineDouble,
                                                        api_keys: NewKey) -> None:
    await client.request("AUTH", {"apiKey": await api_keys("u-g")})
    await client.subscribe("trade@TATA-INR", "depth@TATA-INR", "orders")
    assert (await client.recv())["data"]["type"] == "snapshot"
    good = engine.trade_frame("TATA-INR")
    await engine.publish("TATA-INR", b"garbage", b"", b'{"no":"stream"}', good)
    assert await client.recv() == orjson.loads(good)
    await engine.redis.publish(engine.keys.orders_channel(), b"no tab here\n\tno user")
    sent = await engine.orders(("u-g", 1))
    assert await client.recv() == orjson.loads(sent[0])
    await engine.publish("TATA-INR", b'{"stream":"depth@TATA-INR","data":{"type":"update"}}')
    diff = await engine.update("TATA-INR", [(Side.BUY, 9_000, 1), (Side.SELL, 11_000, 2)], write_key=True)
    # the malformed diff made the server reload its book: a fresh snapshot (at 0 or 2), diffs again
    event = await client.recv()
    assert event["data"]["type"] == "snapshot"
    if event["data"]["sequence"] == 0:
        assert await client.recv() == orjson.loads(diff)
    else:
        assert event["data"]["sequence"] == 2
        assert event["data"]["bids"] == [["90.00", "1"]]
