"""ws/protocol.py: parsing and validating client messages, encoding replies."""

from __future__ import annotations

import orjson
import pytest
from websockets.frames import Frame, Opcode

from ws.protocol import (
    MAX_MESSAGE_BYTES,
    MAX_STREAMS_PER_REQUEST,
    Auth,
    Rejection,
    Subscribe,
    Unsubscribe,
    ack,
    error_reply,
    parse_message,
    split_stream,
    text_frame,
)

MARKETS = frozenset({"TATA-INR", "INFY-INR"})


def parse(message: str | bytes) -> object:
    return parse_message(message, MARKETS)


def rejected(message: str | bytes) -> Rejection:
    result = parse(message)
    assert isinstance(result, Rejection), result
    assert result.code == "INVALID_REQUEST"
    return result


def test_subscribe_every_stream_kind_parsed() -> None:
    streams = ["depth@TATA-INR", "trade@TATA-INR", "ticker@INFY-INR", "kline.1s@TATA-INR",
               "kline.1m@TATA-INR", "kline.1h@INFY-INR", "orders"]
    result = parse(orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}).decode())
    assert result == Subscribe(1, tuple(streams))


def test_unsubscribe_with_string_id_parsed() -> None:
    result = parse('{"method":"UNSUBSCRIBE","params":["trade@TATA-INR"],"id":"a-1"}')
    assert result == Unsubscribe("a-1", ("trade@TATA-INR",))


def test_auth_parsed() -> None:
    assert parse('{"method":"AUTH","params":{"apiKey":"k1"},"id":3}') == Auth(3, "k1")


def test_missing_id_is_null() -> None:
    assert parse('{"method":"SUBSCRIBE","params":["orders"]}') == Subscribe(None, ("orders",))


def test_duplicate_streams_deduplicated_in_order() -> None:
    result = parse('{"method":"SUBSCRIBE","params":["trade@TATA-INR","orders","trade@TATA-INR"],"id":1}')
    assert result == Subscribe(1, ("trade@TATA-INR", "orders"))


@pytest.mark.parametrize("stream", [
    "depth@NOPE-INR", "depth@", "depth", "foo@TATA-INR", "kline.5m@TATA-INR", "kline@TATA-INR",
    "DEPTH@TATA-INR", "depth@tata-inr", "ORDERS", "orders@TATA-INR", "", "@TATA-INR",
])
def test_unknown_stream_invalid_request_with_id(stream: str) -> None:
    result = rejected(orjson.dumps({"method": "SUBSCRIBE", "params": [stream], "id": 7}).decode())
    assert result.id == 7
    assert "unknown stream" in result.message


def test_unlisted_market_named_in_message() -> None:
    result = rejected('{"method":"SUBSCRIBE","params":["trade@NOPE-INR"],"id":1}')
    assert "NOPE-INR" in result.message


def test_one_bad_stream_rejects_whole_request() -> None:
    rejected('{"method":"SUBSCRIBE","params":["trade@TATA-INR","nope"],"id":1}')


@pytest.mark.parametrize("message", ["not json", "{", "", "[1,2]", "42", '"SUBSCRIBE"', "null",
                                     '{"method":"SUBSCRIBE","params":[],"id":1e400}'])
def test_unreadable_message_rejected_with_null_id(message: str) -> None:
    assert rejected(message).id is None


@pytest.mark.parametrize("request_id", [1.5, True, [1], {"a": 1}, "x" * 129])
def test_bad_id_rejected_with_null_id(request_id: object) -> None:
    message = orjson.dumps({"method": "SUBSCRIBE", "params": ["orders"], "id": request_id}).decode()
    assert rejected(message).id is None


@pytest.mark.parametrize("payload", [
    {"method": "SUBSCRIBE", "id": 5},
    {"method": "SUBSCRIBE", "params": "trade@TATA-INR", "id": 5},
    {"method": "SUBSCRIBE", "params": [], "id": 5},
    {"method": "SUBSCRIBE", "params": [1], "id": 5},
    {"method": "SUBSCRIBE", "params": [None], "id": 5},
    {"method": "SUBSCRIBE", "params": {"stream": "orders"}, "id": 5},
    {"method": "subscribe", "params": ["orders"], "id": 5},
    {"method": "LIST", "params": ["orders"], "id": 5},
    {"method": 1, "params": ["orders"], "id": 5},
    {"params": ["orders"], "id": 5},
    {"method": "SUBSCRIBE", "params": ["orders"], "id": 5, "extra": 1},
    {"method": "AUTH", "params": ["key"], "id": 5},
    {"method": "AUTH", "params": {"apiKey": 1}, "id": 5},
    {"method": "AUTH", "params": {"apiKey": ""}, "id": 5},
    {"method": "AUTH", "params": {"apiKey": "k", "other": 1}, "id": 5},
    {"method": "AUTH", "params": {}, "id": 5},
    {"method": "AUTH", "id": 5},
    {"method": "AUTH", "params": {"apiKey": "k" * 513}, "id": 5},
])
def test_wrong_shape_rejected_keeping_id(payload: dict[str, object]) -> None:
    assert rejected(orjson.dumps(payload).decode()).id == 5


def test_too_many_streams_rejected() -> None:
    streams = [f"trade@TATA-INR{'x' * i}" for i in range(MAX_STREAMS_PER_REQUEST + 1)]
    result = rejected(orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}).decode())
    assert f"at most {MAX_STREAMS_PER_REQUEST}" in result.message


def test_binary_frame_rejected() -> None:
    assert "binary" in rejected(b'{"method":"SUBSCRIBE","params":["orders"],"id":1}').message


def test_message_over_limit_rejected() -> None:
    padding = "x" * MAX_MESSAGE_BYTES
    result = rejected('{"method":"AUTH","params":{"apiKey":"' + padding + '"},"id":1}')
    assert result.id is None
    assert str(MAX_MESSAGE_BYTES) in result.message


def test_multibyte_message_over_limit_in_bytes_rejected() -> None:
    text = "€" * (MAX_MESSAGE_BYTES // 3 + 1)  # under the limit in characters, over it in UTF-8 bytes
    assert len(text) < MAX_MESSAGE_BYTES
    rejected('{"method":"AUTH","params":{"apiKey":"' + text + '"},"id":1}')


def test_deeply_nested_json_rejected_without_crash() -> None:
    rejected("[" * 5000 + "]" * 5000)


def test_replies_encoded() -> None:
    assert orjson.loads(ack(1)) == {"id": 1, "result": None}
    assert orjson.loads(ack(None)) == {"id": None, "result": None}
    assert orjson.loads(error_reply("x", "UNAUTHORIZED", "no")) == {
        "id": "x", "error": {"code": "UNAUTHORIZED", "message": "no"}}
    assert orjson.loads(Rejection(None, "INVALID_REQUEST", "bad").reply()) == {
        "id": None, "error": {"code": "INVALID_REQUEST", "message": "bad"}}


def test_split_stream() -> None:
    assert split_stream("kline.1m@TATA-INR") == ("kline.1m", "TATA-INR")
    assert split_stream("orders") is None


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_is_the_frame_websockets_sends(length: int) -> None:
    payload = b"x" * length
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected
